"""A certificate authority per cluster: the CA itself, broker certificates (servers on every
listener and clients between brokers) and the control plane's client certificate. Pure functions
over PEM text; storing the keys (encrypted) is the caller's business."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=825)
# Certificates start a little in the past so that a peer whose clock lags still accepts them.
CLOCK_SKEW = datetime.timedelta(minutes=5)
BROKER_COMMON_NAME = "broker"
CONTROLPLANE_COMMON_NAME = "controlplane"


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, both PEM (the key unencrypted PKCS#8)."""

    certificate_pem: str
    key_pem: str


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def create_ca(common_name: str) -> KeyPair:
    """A self-signed CA that may sign leaf certificates only (path length 0)."""
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "streamplane"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    now = _now()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(certificate.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


def _san(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _issue(
    ca: KeyPair,
    *,
    common_name: str,
    hosts: list[str],
    usages: list[x509.ObjectIdentifier],
) -> KeyPair:
    ca_certificate = x509.load_pem_x509_certificate(ca.certificate_pem.encode())
    ca_key = serialization.load_pem_private_key(ca.key_pem.encode(), password=None)
    key = _new_key()
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + LEAF_VALIDITY, ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_certificate.public_key()),
            critical=False,
        )
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_san(hosts)), critical=False)
    certificate = builder.sign(ca_key, hashes.SHA256())
    return KeyPair(certificate.public_bytes(serialization.Encoding.PEM).decode(), _key_pem(key))


def issue_broker_certificate(ca: KeyPair, *, host: str, name: str) -> KeyPair:
    """A broker's certificate: subject CN=broker, valid for `host` (an IP address or DNS name) and
    the node's `name`; it serves every listener and identifies the broker to the other brokers."""
    if not host:
        raise ValueError("a broker certificate needs the node's host")
    return _issue(
        ca,
        common_name=BROKER_COMMON_NAME,
        hosts=list(dict.fromkeys([host, name])),
        usages=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    )


def issue_client_certificate(ca: KeyPair, common_name: str = CONTROLPLANE_COMMON_NAME) -> KeyPair:
    """A client certificate with subject CN=`common_name` (the principal User:CN=<name>)."""
    return _issue(ca, common_name=common_name, hosts=[], usages=[ExtendedKeyUsageOID.CLIENT_AUTH])


def certificate_hosts(certificate_pem: str) -> set[str]:
    """The IP addresses and DNS names a certificate is valid for."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} | set(
        san.get_values_for_type(x509.DNSName)
    )


def keystore_pem(leaf: KeyPair, ca_certificate_pem: str) -> str:
    """One PEM file as Kafka's PEM keystore holds it: the certificate chain, then the private key."""
    return leaf.certificate_pem + ca_certificate_pem + leaf.key_pem
