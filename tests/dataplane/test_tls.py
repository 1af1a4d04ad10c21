"""TLS on a real broker process with real clients: SSL, SASL_SSL (SCRAM-SHA-256/512, PLAIN) and
mutual TLS listeners; untrusted brokers, untrusted or missing client certificates and wrong passwords
refused, counted and survived; hostname verification against the certificates' IP SANs; unusable key
material stops the broker at startup with a clear message.

One broker serves the module with four listeners: PLAINTEXT (to create users), SSL (no client
certificate asked), SASL_SSL, and MTLS (SSL with ssl.client.auth=required, set per listener).
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType

from dataplane.config import BrokerConfig, ConfigError
from dataplane.security.tls import principal_from_certificate
from tests.support.broker import HOST, BrokerProcess
from tests.support.broker_metrics import broker_metric
from tests.support.certs import CertificateAuthority, IssuedCertificate
from tests.support.kafka_clients import ROUND_TRIPS, ClientAuth, produce_until_refused
from tests.support.ports import free_port
from tests.support.scram_users import create_scram_users
from tests.support.wire import API_VERSIONS, WireClient

TIMEOUT = 15.0
MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]
USERS = {"alice": "alice-secret"}
API_VERSIONS_BODY = {"client_software_name": "t", "client_software_version": "1"}


class TlsBroker:
    def __init__(
        self,
        process: BrokerProcess,
        ports: dict[str, int],
        metrics_port: int,
        ca: CertificateAuthority,
        client: IssuedCertificate,
    ) -> None:
        self.process = process
        self.ports = ports
        self.metrics_port = metrics_port
        self.ca = ca
        self.client = client

    def bootstrap(self, listener: str) -> str:
        return f"{HOST}:{self.ports[listener]}"

    def failed_authentications(self) -> float:
        return broker_metric(self.metrics_port, "dataplane_failed_authentication_total")

    def wait_failed_authentications_above(self, before: float) -> float:
        deadline = time.monotonic() + TIMEOUT
        while (now := self.failed_authentications()) <= before and time.monotonic() < deadline:
            time.sleep(0.1)
        return now


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    directory = Path(tmp_path_factory.mktemp("tls"))
    ca = CertificateAuthority(directory / "ca")
    broker_cert = ca.issue("broker", "broker", key_password="keystore-secret")
    client_cert = ca.issue("client", "client", organization="Example")
    process = BrokerProcess(directory)
    ports = {
        "PLAINTEXT": process.port,
        "SSL": free_port(),
        "SASL_SSL": free_port(),
        "MTLS": free_port(),
        "REQUESTED": free_port(),
    }
    metrics_port = free_port()
    process.overrides.update(
        {
            "listeners": ",".join(f"{name}://{HOST}:{port}" for name, port in ports.items()),
            "listener.security.protocol.map": (
                "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,MTLS:SSL,REQUESTED:SSL"
            ),
            "ssl.keystore.location": broker_cert.keystore,
            "ssl.key.password": "keystore-secret",
            "ssl.truststore.location": ca.truststore,
            "listener.name.mtls.ssl.client.auth": "required",
            "listener.name.requested.ssl.client.auth": "requested",
            "sasl.enabled.mechanisms": ",".join(MECHANISMS),
            "connection.failed.authentication.delay.ms": 200,
            "group.initial.rebalance.delay.ms": 0,
            "metrics.listener": f"{HOST}:{metrics_port}",
        }
    )
    process.start()
    errors = create_scram_users(process.bootstrap, USERS, ("SCRAM-SHA-256", "SCRAM-SHA-512"))
    assert errors == {user: None for user in USERS}
    yield TlsBroker(process, ports, metrics_port, ca, client_cert)
    process.kill()
    assert "keystore-secret" not in process.log_text()


@pytest.mark.parametrize("client", list(ROUND_TRIPS))
def test_clients_produce_and_consume_over_ssl(
    tls_broker: TlsBroker, client: str, topic_name: str
) -> None:
    failures = tls_broker.failed_authentications()
    auth = ClientAuth("SSL", tls_broker.ca.truststore)
    values = ROUND_TRIPS[client](tls_broker.bootstrap("SSL"), auth, topic_name)
    assert values == [b"m0", b"m1", b"m2"]
    assert tls_broker.failed_authentications() == failures


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("client", list(ROUND_TRIPS))
def test_clients_produce_and_consume_over_sasl_ssl(
    tls_broker: TlsBroker, client: str, mechanism: str, topic_name: str
) -> None:
    auth = ClientAuth(
        "SASL_SSL",
        tls_broker.ca.truststore,
        mechanism=mechanism,
        user="alice",
        password=USERS["alice"],
    )
    values = ROUND_TRIPS[client](tls_broker.bootstrap("SASL_SSL"), auth, topic_name)
    assert values == [b"m0", b"m1", b"m2"]


@pytest.mark.parametrize("client", list(ROUND_TRIPS))
def test_clients_produce_and_consume_with_a_client_certificate(
    tls_broker: TlsBroker, client: str, topic_name: str
) -> None:
    auth = ClientAuth("SSL", tls_broker.ca.truststore, tls_broker.client)
    values = ROUND_TRIPS[client](tls_broker.bootstrap("MTLS"), auth, topic_name)
    assert values == [b"m0", b"m1", b"m2"]


@pytest.mark.parametrize(
    ("listener", "mechanism"),
    [("MTLS", None), ("SASL_SSL", "SCRAM-SHA-256"), ("SASL_SSL", "SCRAM-SHA-512")],
)
def test_kcat_produces_and_consumes(
    tls_broker: TlsBroker, listener: str, mechanism: str | None, topic_name: str
) -> None:
    if mechanism is None:
        auth = ClientAuth("SSL", tls_broker.ca.truststore, tls_broker.client)
    else:
        # Debian 12's kcat (librdkafka 2.0) repeats the client nonce in its SCRAM client-final.
        auth = ClientAuth(
            "SASL_SSL",
            tls_broker.ca.truststore,
            mechanism=mechanism,
            user="alice",
            password=USERS["alice"],
        )
    options = [arg for key, value in auth.confluent().items() for arg in ("-X", f"{key}={value}")]
    bootstrap = ["-b", tls_broker.bootstrap(listener), "-t", topic_name]
    subprocess.run(
        ["kcat", *bootstrap, *options, "-P"], input=b"k1\nk2\n", check=True, timeout=TIMEOUT
    )
    consumed = subprocess.run(
        ["kcat", *bootstrap, *options, "-C", "-o", "beginning", "-c", "2", "-e"],
        capture_output=True,
        check=True,
        timeout=TIMEOUT,
    )
    assert consumed.stdout.split() == [b"k1", b"k2"]


def test_a_client_that_does_not_trust_the_broker_is_refused(
    tls_broker: TlsBroker, tmp_path: Path, topic_name: str
) -> None:
    failures = tls_broker.failed_authentications()
    stranger = CertificateAuthority(tmp_path / "stranger", "Stranger CA")
    producer, errors = produce_until_refused(
        tls_broker.bootstrap("SSL"), ClientAuth("SSL", stranger.truststore), topic_name
    )
    assert errors and errors[0].code() in (KafkaError._SSL, KafkaError._TRANSPORT), errors
    assert "certificate verify failed" in errors[0].str()
    assert producer.flush(0) == 1  # nothing went out
    # The broker sees the client's alert: a failed handshake, counted and logged.
    assert tls_broker.wait_failed_authentications_above(failures) > failures
    assert "TLS handshake failed" in tls_broker.process.log_text()
    assert tls_broker.process.alive


def _tls_client(
    tls_broker: TlsBroker, listener: str, certificate: IssuedCertificate | None
) -> WireClient:
    context = ssl.create_default_context(cafile=tls_broker.ca.truststore)
    if certificate is not None:
        context.load_cert_chain(certificate.certificate, certificate.key)
    client = WireClient(HOST, tls_broker.ports[listener])
    client.sock = context.wrap_socket(client.sock, server_hostname=HOST)
    return client


def _refused_after_handshake(client: WireClient) -> bool:
    """Under TLS 1.3 the server checks the client certificate after the client has finished its
    side of the handshake: the refusal shows as an alert or a close on the first exchange."""
    try:
        client.request(API_VERSIONS, 3, API_VERSIONS_BODY)
    except (ssl.SSLError, ConnectionError, OSError):
        return True
    return False


def test_a_client_certificate_from_another_ca_is_refused_under_required(
    tls_broker: TlsBroker, tmp_path: Path
) -> None:
    failures = tls_broker.failed_authentications()
    stranger = CertificateAuthority(tmp_path / "stranger", "Stranger CA")
    forged = stranger.issue("forged", "client")
    with _tls_client(tls_broker, "MTLS", forged) as client:
        assert _refused_after_handshake(client)
    assert tls_broker.wait_failed_authentications_above(failures) > failures
    # The same certificate is not needed on the SSL listener, where none is asked for.
    with _tls_client(tls_broker, "SSL", forged) as client:
        assert client.request(API_VERSIONS, 3, API_VERSIONS_BODY)["error_code"] == 0
    assert tls_broker.process.alive


def test_no_client_certificate_is_refused_under_required(tls_broker: TlsBroker) -> None:
    failures = tls_broker.failed_authentications()
    with _tls_client(tls_broker, "MTLS", None) as client:
        assert _refused_after_handshake(client)
    assert tls_broker.wait_failed_authentications_above(failures) > failures
    with _tls_client(tls_broker, "MTLS", tls_broker.client) as client:
        assert client.request(API_VERSIONS, 3, API_VERSIONS_BODY)["error_code"] == 0


def test_a_requested_client_certificate_is_optional_but_checked(
    tls_broker: TlsBroker, tmp_path: Path
) -> None:
    for certificate in (None, tls_broker.client):
        with _tls_client(tls_broker, "REQUESTED", certificate) as client:
            assert client.request(API_VERSIONS, 3, API_VERSIONS_BODY)["error_code"] == 0
    failures = tls_broker.failed_authentications()
    forged = CertificateAuthority(tmp_path / "stranger", "Stranger CA").issue("forged", "client")
    with _tls_client(tls_broker, "REQUESTED", forged) as client:
        assert _refused_after_handshake(client)
    assert tls_broker.wait_failed_authentications_above(failures) > failures


def test_plaintext_bytes_on_a_tls_listener_do_not_take_the_broker_down(
    tls_broker: TlsBroker,
) -> None:
    failures = tls_broker.failed_authentications()
    with WireClient(HOST, tls_broker.ports["SSL"]) as client:
        client.send(API_VERSIONS, 3, API_VERSIONS_BODY)
        assert client.wait_closed()
    assert tls_broker.wait_failed_authentications_above(failures) > failures
    with _tls_client(tls_broker, "SSL", None) as client:
        assert client.request(API_VERSIONS, 3, API_VERSIONS_BODY)["error_code"] == 0


def test_wrong_sasl_password_over_sasl_ssl_is_refused(
    tls_broker: TlsBroker, topic_name: str
) -> None:
    failures = tls_broker.failed_authentications()
    auth = ClientAuth(
        "SASL_SSL",
        tls_broker.ca.truststore,
        mechanism="SCRAM-SHA-256",
        user="alice",
        password="wrong",
    )
    producer, errors = produce_until_refused(tls_broker.bootstrap("SASL_SSL"), auth, topic_name)
    assert errors and errors[0].code() == KafkaError._AUTHENTICATION, errors
    assert producer.flush(0) == 1
    assert tls_broker.failed_authentications() > failures
    assert tls_broker.process.alive


def test_hostname_verification_checks_the_ip_san(tls_broker: TlsBroker) -> None:
    context = ssl.create_default_context(cafile=tls_broker.ca.truststore)
    address = (HOST, tls_broker.ports["SSL"])
    for name in ("127.0.0.1", "localhost"):  # the broker certificate's IP and DNS SANs
        with (
            socket.create_connection(address, timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with (
        socket.create_connection(address, timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError, match=r"IP address mismatch"),
    ):
        context.wrap_socket(raw, server_hostname="127.0.0.2")


def test_tls_older_than_1_2_is_refused(tls_broker: TlsBroker) -> None:
    context = ssl.create_default_context(cafile=tls_broker.ca.truststore)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection((HOST, tls_broker.ports["SSL"]), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=HOST) as tls,
    ):
        assert tls.version() == "TLSv1.2"
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    with (
        socket.create_connection((HOST, tls_broker.ports["SSL"]), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
    ):
        context.wrap_socket(raw, server_hostname=HOST)


def test_the_key_password_is_described_as_sensitive(tls_broker: TlsBroker) -> None:
    admin = AdminClient({"bootstrap.servers": tls_broker.bootstrap("PLAINTEXT")})
    resource = ConfigResource(ResourceType.BROKER, "0")
    entries = admin.describe_configs([resource])[resource].result(TIMEOUT)
    password = entries["ssl.key.password"]
    assert password.is_sensitive and password.value is None
    assert entries["ssl.keystore.location"].value.endswith("broker.keystore.pem")


def test_the_admin_cli_speaks_mutual_tls_from_a_command_config(
    tls_broker: TlsBroker, tmp_path: Path
) -> None:
    properties = tmp_path / "client.properties"

    def cluster_command() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "dataplane",
                "cluster",
                "--bootstrap-server",
                tls_broker.bootstrap("MTLS"),
                "--command-config",
                str(properties),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    properties.write_text(
        "security.protocol=SSL\n"
        f"ssl.truststore.location={tls_broker.ca.truststore}\n"
        f"ssl.keystore.location={tls_broker.client.keystore}\n"
    )
    answered = cluster_command()
    assert answered.returncode == 0, answered.stderr
    assert "broker" in answered.stdout.lower()
    # Without a client certificate the MTLS listener refuses it: an error, not a traceback.
    properties.write_text(
        f"security.protocol=SSL\nssl.truststore.location={tls_broker.ca.truststore}\n"
    )
    refused = cluster_command()
    assert refused.returncode == 1 and "dataplane cluster:" in refused.stderr
    assert "Traceback" not in refused.stderr
    properties.write_text("security.protocol=SASL_SSL\n")
    unsupported = cluster_command()
    assert unsupported.returncode == 1
    assert "security.protocol: SASL_SSL is not supported here" in unsupported.stderr


# --- principals ---------------------------------------------------------------------------------


def test_the_principal_is_the_subject_dn_most_specific_rdn_first(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path)
    # Encoded as O=Example, CN=client; Java's X500Principal.getName() writes CN first.
    assert principal_from_certificate(ca.issue("c", "client", organization="Example").der) == (
        "User:CN=client,O=Example"
    )
    assert principal_from_certificate(ca.issue("b", "broker").der) == "User:CN=broker"
    assert principal_from_certificate(ca.issue("e", "a,b+c", organization="X").der) == (
        "User:CN=a\\,b\\+c,O=X"
    )
    assert principal_from_certificate(None) == "User:ANONYMOUS"


def test_the_certificate_subject_is_the_principal_the_authorizer_sees(tmp_path: Path) -> None:
    ca = CertificateAuthority(tmp_path / "ca")
    broker_cert = ca.issue("broker", "broker")
    admin_cert = ca.issue("admin", "client", organization="Example")
    other_cert = ca.issue("other", "other")
    process = BrokerProcess(tmp_path)
    process.overrides.update(
        {
            "listeners": f"MTLS://{HOST}:{process.port}",
            "listener.security.protocol.map": "MTLS:SSL",
            "ssl.keystore.location": broker_cert.keystore,
            "ssl.truststore.location": ca.truststore,
            "ssl.client.auth": "required",
            "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
            "super.users": "User:CN=client,O=Example",
        }
    )
    process.start()
    try:

        def create(certificate: IssuedCertificate, topic: str) -> None:
            auth = ClientAuth("SSL", ca.truststore, certificate)
            admin = AdminClient({"bootstrap.servers": process.bootstrap, **auth.confluent()})
            admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(TIMEOUT)

        create(admin_cert, "made.by.the.super.user")
        with pytest.raises(KafkaException) as raised:
            create(other_cert, "refused")
        assert raised.value.args[0].code() in (
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        )
        denied = [r for r in process.log_records() if r.get("msg") == "request denied"]
        assert denied and {r["principal"] for r in denied} == {"User:CN=other"}
    finally:
        process.kill()


# --- startup errors -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificateAuthority, Path]:
    directory = Path(tmp_path_factory.mktemp("material"))
    return CertificateAuthority(directory / "ca"), directory


def _ssl_config(**settings: object) -> BrokerConfig:
    return BrokerConfig.from_mapping(
        {
            "listeners": f"SSL://{HOST}:0",
            **{k.replace("_", "."): str(v) for k, v in settings.items()},
        }
    )


def test_a_tls_listener_needs_a_keystore() -> None:
    with pytest.raises(ConfigError, match=r"listener SSL: ssl.keystore.location: required"):
        _ssl_config()


def test_an_unreadable_keystore_is_named(material: tuple[CertificateAuthority, Path]) -> None:
    _ca, directory = material
    with pytest.raises(ConfigError, match=r"ssl.keystore.location: cannot read .*No such file"):
        _ssl_config(ssl_keystore_location=directory / "missing.pem")


def test_a_key_that_does_not_match_the_certificate_is_refused(
    material: tuple[CertificateAuthority, Path],
) -> None:
    ca, directory = material
    one, other = ca.issue("one", "one"), ca.issue("other", "other")
    mismatched = directory / "mismatched.pem"
    mismatched.write_bytes(one.certificate.read_bytes() + other.key.read_bytes())
    with pytest.raises(ConfigError, match=r"not a usable PEM keystore.*KEY_VALUES_MISMATCH"):
        _ssl_config(ssl_keystore_location=mismatched)
    garbage = directory / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match=r"not a usable PEM keystore"):
        _ssl_config(ssl_keystore_location=garbage)


def test_an_encrypted_key_needs_its_password(material: tuple[CertificateAuthority, Path]) -> None:
    ca, _directory = material
    locked = ca.issue("locked", "broker", key_password="right")
    for password in ("", "wrong"):
        with pytest.raises(ConfigError, match=r"ssl.keystore.location") as raised:
            _ssl_config(ssl_keystore_location=locked.keystore, ssl_key_password=password)
        assert "wrong" not in str(raised.value).replace("ssl.key.password", "")
    _ssl_config(ssl_keystore_location=locked.keystore, ssl_key_password="right")


def test_tls_settings_are_checked(material: tuple[CertificateAuthority, Path]) -> None:
    ca, directory = material
    keystore = ca.issue("checked", "broker").keystore
    with pytest.raises(ConfigError, match=r"ssl.client.auth: 'sometimes' is not one of"):
        _ssl_config(ssl_keystore_location=keystore, ssl_client_auth="sometimes")
    with pytest.raises(ConfigError, match=r"ssl.truststore.location: required with"):
        _ssl_config(ssl_keystore_location=keystore, ssl_client_auth="required")
    with pytest.raises(ConfigError, match=r"TLSv1.1 is not allowed"):
        _ssl_config(ssl_keystore_location=keystore, ssl_enabled_protocols="TLSv1.1,TLSv1.2")
    with pytest.raises(ConfigError, match=r"ssl.keystore.type: 'JKS' is not supported"):
        _ssl_config(ssl_keystore_location=keystore, ssl_keystore_type="JKS")
    bad_truststore = directory / "bad-truststore.pem"
    bad_truststore.write_text("nothing here\n")
    with pytest.raises(ConfigError, match=r"ssl.truststore.location: .* no usable PEM CA"):
        _ssl_config(
            ssl_keystore_location=keystore,
            ssl_truststore_location=bad_truststore,
            ssl_client_auth="requested",
        )


def test_per_listener_settings_override_the_broker_wide_ones(
    material: tuple[CertificateAuthority, Path],
) -> None:
    ca, directory = material
    keystore = ca.issue("listeners", "broker").keystore
    config = BrokerConfig.from_mapping(
        {
            "listeners": f"CLIENT://{HOST}:0,INTERNAL://{HOST}:0",
            "listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SSL",
            "ssl.keystore.location": str(keystore),
            "ssl.truststore.location": str(ca.truststore),
            "listener.name.internal.ssl.client.auth": "required",
        }
    )
    assert config.tls_settings("CLIENT").client_auth == "none"
    assert config.tls_settings("INTERNAL").client_auth == "required"
    assert config.ssl_server_context("INTERNAL").verify_mode == ssl.CERT_REQUIRED
    assert config.ssl_server_context("CLIENT").verify_mode == ssl.CERT_NONE
    with pytest.raises(ConfigError, match=r"listener INTERNAL: ssl.keystore.location: cannot"):
        BrokerConfig.from_mapping(
            {
                "listeners": f"CLIENT://{HOST}:0,INTERNAL://{HOST}:0",
                "listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SSL",
                "ssl.keystore.location": str(keystore),
                "listener.name.internal.ssl.keystore.location": str(directory / "gone.pem"),
            }
        )


def test_the_broker_refuses_to_start_with_unusable_key_material(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "dataplane",
            "serve",
            "--override",
            f"listeners=SSL://{HOST}:0",
            "--override",
            f"ssl.keystore.location={tmp_path / 'missing.pem'}",
            "--override",
            f"log.dirs={tmp_path / 'logs'}",
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2
    assert "invalid configuration: listener SSL: ssl.keystore.location: cannot read" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


def test_the_inter_broker_listener_may_be_ssl_but_not_sasl(
    material: tuple[CertificateAuthority, Path],
) -> None:
    ca, _directory = material
    keystore = ca.issue("inter-broker", "broker").keystore
    settings = {
        "listeners": f"CLIENT://{HOST}:0,INTERNAL://{HOST}:0",
        "listener.security.protocol.map": "CLIENT:SASL_SSL,INTERNAL:SSL",
        "zookeeper.connect": f"{HOST}:2181",
        "ssl.keystore.location": str(keystore),
    }
    with pytest.raises(ConfigError, match=r"'CLIENT' uses SASL_SSL; .* must be PLAINTEXT or SSL"):
        BrokerConfig.from_mapping({**settings, "inter.broker.listener.name": "CLIENT"})
    # Followers verify their leaders: an SSL inter-broker listener needs a truststore.
    with pytest.raises(ConfigError, match=r"listener INTERNAL: ssl.truststore.location: required"):
        BrokerConfig.from_mapping({**settings, "inter.broker.listener.name": "INTERNAL"})
    config = BrokerConfig.from_mapping(
        {
            **settings,
            "inter.broker.listener.name": "INTERNAL",
            "ssl.truststore.location": str(ca.truststore),
        }
    )
    context = config.ssl_client_context("INTERNAL")
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
