"""A cluster's own CA: the certificates it issues verify as they should and carry a real TLS
handshake (python's ssl) with the broker as server and the control plane as client."""

from __future__ import annotations

import ipaddress
import shlex
import socket
import ssl
import stat
import threading
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaException
from confluent_kafka.admin import AdminClient
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from clusters import pki
from tests.controlplane.conftest import cluster_payload
from tests.support.cluster_rows import create_local_cluster
from tests.support.platform import Platform
from tests.support.waiting import wait_until


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


# --- the control plane's side, in process: settings, certificates, connection info ------------


def _local_cluster(security_protocol: str):
    """A cluster row with two brokers at known addresses, as provisioning leaves it."""
    from clusters.models import Node, NodeRole
    from clusters.services import cluster_ca_create

    cluster = create_local_cluster("orders", broker_count=2, security_protocol=security_protocol)
    if cluster.is_secured:
        cluster_ca_create(cluster=cluster)
    Node.objects.bulk_create(
        Node(cluster=cluster, role=NodeRole.BROKER, index=i, host=f"127.0.16.{i + 1}", port=9092)
        for i in range(2)
    )
    return cluster


def test_plaintext_clusters_are_reached_on_the_client_port(django_db: str) -> None:
    from clusters.kafka import client_config

    cluster = _local_cluster("PLAINTEXT")
    assert client_config(cluster) == {"bootstrap.servers": "127.0.16.1:9092,127.0.16.2:9092"}
    assert client_config(cluster, brokers=[1]) == {"bootstrap.servers": "127.0.16.2:9092"}


def test_the_control_plane_is_a_mutual_tls_client_of_the_internal_listener(django_db: str) -> None:
    from cryptography.hazmat.primitives import serialization

    from clusters.kafka import client_config

    cluster = _local_cluster("SASL_SSL")
    settings = client_config(cluster)
    assert settings["bootstrap.servers"] == "127.0.16.1:9093,127.0.16.2:9093"
    assert settings["security.protocol"] == "SSL"
    assert settings["ssl.ca.pem"] == cluster.ca.certificate_pem
    certificate = _certificate(settings["ssl.certificate.pem"])
    assert certificate.subject.rfc4514_string() == "CN=controlplane"
    certificate.verify_directly_issued_by(_certificate(settings["ssl.ca.pem"]))
    key = serialization.load_pem_private_key(settings["ssl.key.pem"].encode(), password=None)
    assert key.public_key() == certificate.public_key()
    # Both keys are stored encrypted.
    assert "PRIVATE KEY" not in cluster.ca.key_encrypted + cluster.ca.client_key_encrypted
    assert "-----BEGIN PRIVATE KEY-----" in cluster.ca.key_pem()


def test_a_broker_keeps_its_certificate_until_its_address_changes(django_db: str) -> None:
    from clusters.models import NodeRole
    from provisioning.workflows import broker_tls_host_vars

    cluster = _local_cluster("SASL_SSL")
    node = cluster.nodes.get(role=NodeRole.BROKER, index=0)
    first = broker_tls_host_vars(node)
    assert first["tls_ca_pem"] == cluster.ca.certificate_pem
    assert first["tls_keystore_pem"].count("-----BEGIN CERTIFICATE-----") == 2
    assert "PRIVATE KEY" not in node.key_encrypted and node.certificate_pem
    assert broker_tls_host_vars(node) == first, "re-runs write the same files"
    node.host = "127.0.16.9"
    moved = broker_tls_host_vars(node)
    assert moved["tls_keystore_pem"] != first["tls_keystore_pem"]
    assert pki.certificate_hosts(node.certificate_pem) == {"127.0.16.9", "orders-b0"}


def test_deleting_the_nodes_drops_every_key(django_db: str) -> None:
    from clusters.models import ClusterCA, NodeRole
    from provisioning.workflows import StepContext, broker_tls_host_vars, destroy_nodes

    cluster = _local_cluster("SASL_SSL")
    for node in cluster.nodes.filter(role=NodeRole.BROKER):
        broker_tls_host_vars(node)
    destroy_nodes(StepContext(cluster=cluster, log=lambda line: None))
    assert not ClusterCA.objects.filter(cluster=cluster).exists()
    assert set(cluster.nodes.values_list("certificate_pem", "key_encrypted")) == {("", "")}


def test_connection_info_before_the_cluster_runs(django_db: str) -> None:
    from clusters.connection import connection_info

    info = connection_info(_local_cluster("SASL_SSL"))
    assert info.bootstrap_servers == "" and info.ca_required
    assert "<bootstrap servers>" in info.snippets["confluent_kafka"]
    assert '"sasl.mechanism": "SCRAM-SHA-512"' in info.snippets["confluent_kafka"]


# --- end to end: a default cluster, from nothing to SCRAM clients over TLS ----------------------


def _fill(snippet: str, username: str, password: str) -> str:
    return snippet.replace("<username>", username).replace("<password>", password)


def _reachable(settings: dict[str, str]) -> bool:
    """Whether a client with these settings gets the cluster's metadata."""
    admin = AdminClient({**settings, "socket.timeout.ms": 5000, "log_level": 0})
    try:
        admin.list_topics(timeout=8)
    except KafkaException:
        return False
    return True


def _consume_all(settings: dict[str, str], topic: str, count: int) -> list[bytes]:
    """`count` records of `topic` from the start, as the group shop-readers (which commits none)."""
    consumer = Consumer(
        {
            **settings,
            "group.id": "shop-readers",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    try:
        wait_until(
            lambda: (
                values.extend(m.value() for m in consumer.consume(100, 1.0) if not m.error())
                or len(values) >= count
            ),
            60,
            f"{count} records of {topic} to be consumed over SASL_SSL",
        )
    finally:
        consumer.close()
    return values


@pytest.mark.timeout(900)
def test_a_default_cluster_serves_scram_clients_over_tls(
    platform: Platform, tenant: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = platform.api(tenant["token"])
    name = f"secured-{uuid.uuid4().hex[:6]}"
    payload = cluster_payload(name, brokers=2)
    del payload["security_protocol"]
    refused = api.post("/clusters/", json={**payload, "security_protocol": "SSL"})
    assert refused.status_code == 400 and "security_protocol" in refused.json()["errors"]

    created = api.post("/clusters/", json=payload)
    assert created.status_code == 202, created.text
    assert created.json()["cluster"]["security_protocol"] == "SASL_SSL"
    cluster_id = created.json()["cluster"]["id"]
    try:
        # The create operation's round trip ran over the INTERNAL listener with mutual TLS, and
        # replication between the two brokers too (a record written with acks=all, RF 2).
        operation = platform.wait_operation(api, created.json()["operation"]["id"], timeout=300)
        assert operation["state"] == "succeeded", (operation, platform.describe_failure())
        step_logs = "\n".join(s["log"] for s in operation["steps"])
        assert "(RF 2): record written and read back" in step_logs
        assert "PRIVATE KEY" not in step_logs

        cluster = api.get(f"/clusters/{cluster_id}/").json()
        info = api.get(f"/clusters/{cluster_id}/connection/").json()
        assert info["bootstrap_servers"] == cluster["bootstrap_servers"] != ""
        assert info["security_protocol"] == "SASL_SSL"
        assert info["sasl_mechanisms"] == ["SCRAM-SHA-256", "SCRAM-SHA-512"]
        assert info["ca_required"] is True
        assert set(info["snippets"]) == {"confluent_kafka", "kafka_python", "kcat"}
        assert all(
            server in snippet
            for server in info["bootstrap_servers"].split(",")
            for snippet in info["snippets"].values()
        )

        ca = api.get(info["ca_certificate_url"])
        assert ca.status_code == 200, ca.text
        assert ca.headers["content-type"] == "application/x-pem-file"
        assert ca.text.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE" not in ca.text
        (tmp_path / "ca.pem").write_text(ca.text)

        # Each broker holds its keystore privately and the CA beside it.
        rows = platform.sql(
            "SELECT provider_ref FROM clusters_node WHERE cluster_id = %s AND role = 'broker'",
            cluster_id,
        )
        for (node_dir,) in rows:
            keystore = Path(node_dir) / "conf" / "keystore.pem"
            assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
            assert "PRIVATE KEY" in keystore.read_text()
            assert (Path(node_dir) / "conf" / "ca.pem").read_text() == ca.text

        # The control plane manages topics as a super user over its own listener.
        topic = api.post(
            f"/clusters/{cluster_id}/topics/", json={"name": "orders", "partitions": 2}
        )
        assert topic.status_code == 201, topic.text
        user = api.post(f"/clusters/{cluster_id}/users/", json={"name": "shop"})
        assert user.status_code == 201, user.text
        password = user.json()["password"]
        for preset in (
            {"preset": "producer", "principal": "User:shop", "topic_prefix": "orders"},
            {
                "preset": "consumer",
                "principal": "User:shop",
                "topic_prefix": "orders",
                "group": "shop-readers",
            },
        ):
            granted = api.post(f"/clusters/{cluster_id}/acls/presets/", json=preset)
            assert granted.status_code == 201, granted.text

        # The snippets work as pasted, with the CA file beside them.
        monkeypatch.chdir(tmp_path)
        namespace: dict = {}
        exec(_fill(info["snippets"]["confluent_kafka"], "shop", password), namespace)
        settings = namespace["config"]
        producer = namespace["producer"]
        failures: list = []
        for i in range(100):
            producer.produce(
                "orders", f"order-{i}".encode(), on_delivery=lambda e, _m: e and failures.append(e)
            )
        assert producer.flush(60) == 0 and failures == []
        assert sorted(_consume_all(settings, "orders", 100)) == sorted(
            f"order-{i}".encode() for i in range(100)
        )

        namespace = {}
        exec(_fill(info["snippets"]["kafka_python"], "shop", password), namespace)
        sent = namespace["producer"].send("orders", b"from kafka-python").get(timeout=30)
        assert sent.topic == "orders"
        namespace["producer"].close()

        # kcat's -X settings are librdkafka's: the same settings reach the cluster.
        kcat = shlex.split(_fill(info["snippets"]["kcat"], "shop", password), comments=True)
        assert kcat[:3] == ["kcat", "-b", info["bootstrap_servers"]]
        kcat_settings = dict(kcat[i + 1].split("=", 1) for i in range(len(kcat)) if kcat[i] == "-X")
        assert _reachable({"bootstrap.servers": kcat[2], **kcat_settings})

        # A client that does not trust the cluster's CA, one with a wrong password, and one
        # speaking PLAINTEXT to the client port all get nothing.
        (tmp_path / "other-ca.pem").write_text(pki.create_ca("another").certificate_pem)
        assert _reachable(settings)
        assert not _reachable({**settings, "ssl.ca.location": str(tmp_path / "other-ca.pem")})
        assert not _reachable({**settings, "sasl.password": "not-" + password})
        assert not _reachable({"bootstrap.servers": info["bootstrap_servers"]})

        # Scale out: the new broker gets a certificate of its own, partitions move over mutual
        # TLS; then a rolling restart over the INTERNAL listener. Every record is still there.
        for change, body in (("scale", {"broker_count": 3}), ("restart", {})):
            started = api.post(f"/clusters/{cluster_id}/{change}/", json=body)
            assert started.status_code == 202, started.text
            done = platform.wait_operation(api, started.json()["id"], timeout=400)
            assert done["state"] == "succeeded", (done, platform.describe_failure())
            assert "PRIVATE KEY" not in "\n".join(step["log"] for step in done["steps"])
        (new_node_dir,) = platform.sql(
            "SELECT provider_ref FROM clusters_node WHERE cluster_id = %s AND role = 'broker' "
            "AND index = 2",
            cluster_id,
        )[0]
        new_keystore = Path(new_node_dir) / "conf" / "keystore.pem"
        assert stat.S_IMODE(new_keystore.stat().st_mode) == 0o600
        assert new_keystore.read_text() not in {
            (Path(node_dir) / "conf" / "keystore.pem").read_text() for (node_dir,) in rows
        }
        assert sorted(_consume_all(settings, "orders", 101)) == sorted(
            [*(f"order-{i}".encode() for i in range(100)), b"from kafka-python"]
        )
    finally:
        deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": name})
        assert deleted.status_code == 202, deleted.text
        assert platform.wait_operation(api, deleted.json()["id"])["state"] == "succeeded"


def test_a_plaintext_cluster_has_no_ca(platform: Platform, tenant: dict[str, str]) -> None:
    api = platform.api(tenant["token"])
    name = f"plain-{uuid.uuid4().hex[:6]}"
    created = api.post("/clusters/", json=cluster_payload(name))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    try:
        assert created.json()["cluster"]["security_protocol"] == "PLAINTEXT"
        info = api.get(f"/clusters/{cluster_id}/connection/").json()
        assert info["security_protocol"] == "PLAINTEXT" and info["sasl_mechanisms"] == []
        assert info["ca_required"] is False and info["ca_certificate_url"] is None
        assert "security.protocol" not in info["snippets"]["confluent_kafka"]
        missing = api.get(f"/clusters/{cluster_id}/ca.pem")
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        platform.wait_operation(api, created.json()["operation"]["id"], timeout=300)
    finally:
        deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": name})
        assert deleted.status_code == 202, deleted.text
        platform.wait_operation(api, deleted.json()["id"])
