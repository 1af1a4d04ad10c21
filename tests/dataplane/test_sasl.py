"""SASL on a real broker process with real clients: SCRAM-SHA-256/512 and PLAIN on a SASL_PLAINTEXT
listener, users managed with AlterUserScramCredentials, failures refused, counted and survived.

One broker serves the module: a SASL_PLAINTEXT listener (what clients bootstrap from) and a
PLAINTEXT one that the admin client uses to create users before anyone can log in.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import kafka
import kafka.admin
import kafka.errors
import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient, ScramCredentialInfo, ScramMechanism
from confluent_kafka.admin import UserScramCredentialUpsertion as UserScramCredentialUpsertionC
from kafka.admin import UserScramCredentialDeletion, UserScramCredentialUpsertion

from tests.support.broker import HOST, BrokerProcess
from tests.support.broker_metrics import broker_metric
from tests.support.kafka_clients import (
    ROUND_TRIPS,
    ClientAuth,
    confluent_round_trip,
    kafka_python_round_trip,
    produce_until_refused,
)
from tests.support.ports import free_port
from tests.support.scram_users import create_scram_users
from tests.support.wire import API_VERSIONS, METADATA, WireClient

TIMEOUT = 15.0
MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]
USERS = {"alice": "alice-secret", "bob": "b0b=,secret"}  # '=' and ',' need SCRAM escaping


class SaslBroker:
    def __init__(self, process: BrokerProcess, plaintext_port: int, metrics_port: int) -> None:
        self.process = process
        self.sasl = process.bootstrap
        self.plaintext = f"{HOST}:{plaintext_port}"
        self.metrics_port = metrics_port

    def failed_authentications(self) -> float:
        return broker_metric(self.metrics_port, "dataplane_failed_authentication_total")


@pytest.fixture(scope="module")
def sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SaslBroker]:
    plaintext_port, metrics_port = free_port(), free_port()
    process = BrokerProcess(Path(tmp_path_factory.mktemp("sasl")))
    process.overrides.update(
        {
            "listeners": f"SASL_PLAINTEXT://{HOST}:{process.port},PLAINTEXT://{HOST}:{plaintext_port}",
            "sasl.enabled.mechanisms": ",".join(MECHANISMS),
            "connection.failed.authentication.delay.ms": 200,
            "metrics.listener": f"{HOST}:{metrics_port}",
        }
    )
    process.start()
    broker = SaslBroker(process, plaintext_port, metrics_port)
    errors = create_scram_users(broker.plaintext, USERS, ("SCRAM-SHA-256", "SCRAM-SHA-512"))
    assert errors == {user: None for user in USERS}
    yield broker
    process.kill()


def sasl_auth(mechanism: str, user: str = "alice", password: str | None = None) -> ClientAuth:
    return ClientAuth(
        "SASL_PLAINTEXT", mechanism=mechanism, user=user, password=password or USERS[user]
    )


@pytest.mark.parametrize("mechanism", MECHANISMS)
@pytest.mark.parametrize("client", list(ROUND_TRIPS))
def test_clients_produce_and_consume_after_authenticating(
    sasl_broker: SaslBroker, client: str, mechanism: str, topic_name: str
) -> None:
    failures = sasl_broker.failed_authentications()
    user = "bob" if mechanism == "SCRAM-SHA-512" else "alice"
    values = ROUND_TRIPS[client](sasl_broker.sasl, sasl_auth(mechanism, user), topic_name)
    assert values == [b"m0", b"m1", b"m2"]
    assert sasl_broker.failed_authentications() == failures


def kcat_options(mechanism: str, user: str, password: str) -> list[str]:
    settings = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanisms": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }
    return [arg for key, value in settings.items() for arg in ("-X", f"{key}={value}")]


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kcat_produces_and_consumes_with_scram(
    sasl_broker: SaslBroker, mechanism: str, topic_name: str
) -> None:
    # Debian 12's kcat runs librdkafka 2.0, whose client-final message repeats the client nonce.
    failures = sasl_broker.failed_authentications()
    user = "bob" if mechanism == "SCRAM-SHA-512" else "alice"
    kcat = [
        "kcat",
        "-b",
        sasl_broker.sasl,
        "-t",
        topic_name,
        *kcat_options(mechanism, user, USERS[user]),
    ]
    subprocess.run([*kcat, "-P"], input=b"k1\nk2\n", check=True, timeout=TIMEOUT)
    consumed = subprocess.run(
        [*kcat, "-C", "-o", "beginning", "-c", "2", "-e"],
        capture_output=True,
        check=True,
        timeout=TIMEOUT,
    )
    assert consumed.stdout.split() == [b"k1", b"k2"]
    assert sasl_broker.failed_authentications() == failures


def test_kcat_with_a_wrong_password_is_refused(sasl_broker: SaslBroker) -> None:
    failures = sasl_broker.failed_authentications()
    options = kcat_options("SCRAM-SHA-256", "alice", "not-her-password")
    listed = subprocess.run(
        ["kcat", "-b", sasl_broker.sasl, "-L", "-m", "3", *options],
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert listed.returncode != 0
    assert b"invalid credentials with SASL mechanism SCRAM-SHA-256" in listed.stderr
    assert sasl_broker.failed_authentications() > failures
    assert sasl_broker.process.alive


def test_confluent_kafka_with_a_wrong_password_gets_an_authentication_error(
    sasl_broker: SaslBroker, topic_name: str
) -> None:
    failures = sasl_broker.failed_authentications()
    auth = sasl_auth("SCRAM-SHA-256", "alice", "not-her-password")
    producer, errors = produce_until_refused(sasl_broker.sasl, auth, topic_name)
    assert errors and errors[0].code() == KafkaError._AUTHENTICATION, errors
    assert "Authentication failed" in errors[0].str()
    assert producer.flush(0) == 1  # nothing went out
    assert sasl_broker.failed_authentications() > failures
    assert sasl_broker.process.alive


@pytest.mark.parametrize(
    ("mechanism", "user"),
    [("SCRAM-SHA-256", "alice"), ("SCRAM-SHA-512", "nobody"), ("PLAIN", "alice")],
)
def test_kafka_python_with_a_wrong_password_or_unknown_user_is_refused(
    sasl_broker: SaslBroker, mechanism: str, user: str, caplog: pytest.LogCaptureFixture
) -> None:
    failures = sasl_broker.failed_authentications()
    # kafka-python retries the bootstrap until its timeout, logging the broker's answer each time.
    with pytest.raises(kafka.errors.KafkaError):
        kafka.KafkaProducer(
            bootstrap_servers=sasl_broker.sasl,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism=mechanism,
            sasl_plain_username=user,
            sasl_plain_password="wrong",
            bootstrap_timeout_ms=2000,
        )
    assert "SaslAuthenticationFailedError" in caplog.text
    # The message is the same whether or not the user exists.
    assert f"invalid credentials with SASL mechanism {mechanism}" in caplog.text
    assert sasl_broker.failed_authentications() > failures
    assert sasl_broker.process.alive


def test_a_request_before_authentication_closes_the_connection(sasl_broker: SaslBroker) -> None:
    host, _, port = sasl_broker.sasl.rpartition(":")
    with WireClient(host, int(port)) as client:
        # ApiVersions is served before authentication: clients ask it first.
        assert (
            client.request(
                API_VERSIONS, 3, {"client_software_name": "t", "client_software_version": "1"}
            )["error_code"]
            == 0
        )
        client.send(
            METADATA,
            12,
            {
                "topics": None,
                "allow_auto_topic_creation": False,
                "include_topic_authorized_operations": False,
            },
        )
        assert client.wait_closed()
    assert "Metadata request before SASL authentication" in sasl_broker.process.log_text()
    # The PLAINTEXT listener serves without authentication.
    host, _, port = sasl_broker.plaintext.rpartition(":")
    with WireClient(host, int(port)) as client:
        response = client.request(
            METADATA,
            12,
            {
                "topics": None,
                "allow_auto_topic_creation": False,
                "include_topic_authorized_operations": False,
            },
        )
        # Each listener advertises its own address for this broker.
        assert [(b["host"], b["port"]) for b in response["brokers"]] == [(host, int(port))]


def test_describe_user_scram_credentials_lists_mechanisms_and_iterations(
    sasl_broker: SaslBroker,
) -> None:
    admin = kafka.admin.KafkaAdminClient(
        bootstrap_servers=sasl_broker.sasl, **sasl_auth("SCRAM-SHA-256").kafka_python()
    )
    try:
        described = admin.describe_user_scram_credentials()
        assert set(described) >= set(USERS)
        infos = described["alice"]["credential_infos"]
        assert [(int(i["mechanism"]), i["iterations"]) for i in infos] == [(1, 4096), (2, 4096)]
        assert set(admin.describe_user_scram_credentials([])) == set(described)  # empty: all
        missing = admin.describe_user_scram_credentials(["nobody"])
        assert "does not exist" in missing["nobody"]["error"]
    finally:
        admin.close()


def test_alter_user_scram_credentials_validates_as_kafka_does(sasl_broker: SaslBroker) -> None:
    admin = kafka.admin.KafkaAdminClient(bootstrap_servers=sasl_broker.plaintext)
    try:
        result = admin.alter_user_scram_credentials(
            [
                UserScramCredentialUpsertion("few", "SCRAM-SHA-256", "p", iterations=4095),
                UserScramCredentialUpsertion("many", "SCRAM-SHA-256", "p", iterations=16385),
                UserScramCredentialDeletion("nobody", "SCRAM-SHA-512"),
                UserScramCredentialUpsertion("twice", "SCRAM-SHA-256", "p"),
                UserScramCredentialDeletion("twice", "SCRAM-SHA-256"),
                UserScramCredentialUpsertion("carol", "SCRAM-SHA-512", "c", iterations=8192),
            ]
        )
        assert result == {
            "few": "Too few iterations",
            "many": "Too many iterations",
            "nobody": "Attempt to delete a user credential that does not exist",
            "twice": "A user credential cannot be altered twice in the same request",
            "carol": None,
        }
        described = admin.describe_user_scram_credentials(["carol", "few", "twice"])
        assert [
            (int(i["mechanism"]), i["iterations"]) for i in described["carol"]["credential_infos"]
        ] == [(2, 8192)]
        assert described["few"]["error"] and described["twice"]["error"]
        # carol logs in with her new credential; deleted, she is gone from Describe.
        assert kafka_python_round_trip(
            sasl_broker.sasl, sasl_auth("SCRAM-SHA-512", "carol", "c"), "carol.topic"
        ) == [b"m0", b"m1", b"m2"]
        assert admin.alter_user_scram_credentials(
            [UserScramCredentialDeletion("carol", "SCRAM-SHA-512")]
        ) == {"carol": None}
        assert (
            "does not exist" in admin.describe_user_scram_credentials(["carol"])["carol"]["error"]
        )
    finally:
        admin.close()


def test_confluent_kafka_admin_manages_users_over_sasl(
    sasl_broker: SaslBroker, topic_name: str
) -> None:
    admin = AdminClient(
        {
            "bootstrap.servers": sasl_broker.sasl,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "bob",
            "sasl.password": USERS["bob"],
        }
    )
    dave = f"dave.{topic_name}"
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 10000)
    futures = admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertionC(dave, info, b"dave-secret")]
    )
    futures[dave].result(TIMEOUT)
    described = admin.describe_user_scram_credentials([dave])[dave].result(TIMEOUT)
    assert [(c.mechanism, c.iterations) for c in described.scram_credential_infos] == [
        (ScramMechanism.SCRAM_SHA_256, 10000)
    ]
    values = confluent_round_trip(
        sasl_broker.sasl, sasl_auth("SCRAM-SHA-256", dave, "dave-secret"), topic_name
    )
    assert values == [b"m0", b"m1", b"m2"]
