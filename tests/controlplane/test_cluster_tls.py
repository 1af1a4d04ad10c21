"""A cluster's own CA: the certificates it issues verify as they should and carry a real TLS
handshake (python's ssl) with the broker as server and the control plane as client."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from clusters import pki


def _certificate(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


@pytest.fixture(scope="module")
def ca() -> pki.KeyPair:
    return pki.create_ca("orders CA")


def test_the_ca_may_sign_leaf_certificates_only(ca: pki.KeyPair) -> None:
    certificate = _certificate(ca.certificate_pem)
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign and usage.crl_sign
    assert certificate.subject == certificate.issuer
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert (certificate.not_valid_after_utc - certificate.not_valid_before_utc).days >= 3650


def test_a_broker_certificate_is_cn_broker_for_its_host_and_name(ca: pki.KeyPair) -> None:
    issued = pki.issue_broker_certificate(ca, host="127.0.16.7", name="orders-b0")
    certificate = _certificate(issued.certificate_pem)
    assert certificate.subject.rfc4514_string() == "CN=broker"
    assert certificate.issuer == _certificate(ca.certificate_pem).subject
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.16.7")]
    assert san.get_values_for_type(x509.DNSName) == ["orders-b0"]
    assert pki.certificate_hosts(issued.certificate_pem) == {"127.0.16.7", "orders-b0"}
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # The CA's signature holds.
    certificate.verify_directly_issued_by(_certificate(ca.certificate_pem))
    with pytest.raises(ValueError):
        pki.issue_broker_certificate(ca, host="", name="orders-b0")


def test_another_ca_of_the_same_name_did_not_sign_it(ca: pki.KeyPair) -> None:
    impostor = pki.create_ca("orders CA")
    issued = pki.issue_broker_certificate(ca, host="127.0.16.7", name="orders-b0")
    with pytest.raises(InvalidSignature):
        _certificate(issued.certificate_pem).verify_directly_issued_by(
            _certificate(impostor.certificate_pem)
        )


def test_the_control_plane_certificate_is_a_client_certificate(ca: pki.KeyPair) -> None:
    issued = pki.issue_client_certificate(ca)
    certificate = _certificate(issued.certificate_pem)
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        "controlplane"
    )
    assert certificate.subject.rfc4514_string() == "CN=controlplane"
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    certificate.verify_directly_issued_by(_certificate(ca.certificate_pem))


def _serve_once(context: ssl.SSLContext, listener: socket.socket, seen: dict) -> None:
    connection, _ = listener.accept()
    try:
        with context.wrap_socket(connection, server_side=True) as tls:
            seen["peer"] = tls.getpeercert()
            tls.sendall(b"hello")
    except (ssl.SSLError, OSError) as exc:
        seen["error"] = exc


def _handshake(
    tmp_path: Path, ca: pki.KeyPair, client: pki.KeyPair | None, trusted_ca: str, host: str
) -> tuple[dict, bytes]:
    """A TLS server on `host` with a broker certificate (client certificates required) and a
    client trusting `trusted_ca` that presents `client`; what each end saw."""
    broker = pki.issue_broker_certificate(ca, host="127.0.0.1", name="orders-b0")
    keystore = tmp_path / "keystore.pem"
    keystore.write_text(pki.keystore_pem(broker, ca.certificate_pem))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(keystore)
    server_context.load_verify_locations(cadata=ca.certificate_pem)
    server_context.verify_mode = ssl.CERT_REQUIRED

    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cadata=trusted_ca)
    if client is not None:
        client_file = tmp_path / "client.pem"
        client_file.write_text(client.certificate_pem + client.key_pem)
        client_context.load_cert_chain(client_file)

    seen: dict = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:
        server = threading.Thread(target=_serve_once, args=(server_context, listener, seen))
        server.start()
        try:
            with (
                socket.create_connection(listener.getsockname(), timeout=10) as raw,
                client_context.wrap_socket(raw, server_hostname=host) as tls,
            ):
                received = tls.recv(5)
        finally:
            server.join(10)
    return seen, received


def test_broker_and_control_plane_complete_a_mutual_tls_handshake(
    tmp_path: Path, ca: pki.KeyPair
) -> None:
    seen, received = _handshake(
        tmp_path, ca, pki.issue_client_certificate(ca), ca.certificate_pem, "127.0.0.1"
    )
    assert received == b"hello"
    assert seen["peer"]["subject"] == ((("commonName", "controlplane"),),)


def test_a_client_that_does_not_trust_the_ca_refuses_the_broker(
    tmp_path: Path, ca: pki.KeyPair
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(
            tmp_path,
            ca,
            pki.issue_client_certificate(ca),
            pki.create_ca("another").certificate_pem,
            "127.0.0.1",
        )


def test_the_broker_certificate_does_not_hold_for_another_address(
    tmp_path: Path, ca: pki.KeyPair
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
        _handshake(tmp_path, ca, pki.issue_client_certificate(ca), ca.certificate_pem, "127.0.0.2")


def test_the_broker_refuses_a_client_certificate_from_another_ca(
    tmp_path: Path, ca: pki.KeyPair
) -> None:
    stranger = pki.issue_client_certificate(pki.create_ca("another"))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _handshake(tmp_path, ca, stranger, ca.certificate_pem, "127.0.0.1")
