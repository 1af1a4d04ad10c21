"""The per-connection SASL state machine and the listener settings, without sockets."""

from __future__ import annotations

import pytest

from dataplane.broker.authentication import (
    API_VERSIONS_KEY,
    SASL_AUTHENTICATE_KEY,
    SaslError,
    SaslSession,
    fake_salt_secret,
)
from dataplane.config import BrokerConfig, ConfigError
from dataplane.protocol.errors import ErrorCode
from dataplane.security.scram import SCRAM_SHA_512, derive_credential

METADATA_KEY = 3
CREDENTIALS = {"alice": {"SCRAM-SHA-512": derive_credential(SCRAM_SHA_512, "secret")}}


def session(mechanisms: tuple[str, ...] = ("SCRAM-SHA-256", "PLAIN")) -> SaslSession:
    return SaslSession(
        list(mechanisms), lambda user: CREDENTIALS.get(user, {}), fake_salt_secret("c")
    )


def test_plain_login_sets_the_principal_and_opens_every_api() -> None:
    s = session()
    assert s.may_serve(API_VERSIONS_KEY) and not s.may_serve(METADATA_KEY)
    s.handshake("PLAIN")
    assert s.authenticate(b"\0alice\0secret") == b""
    assert s.authenticated and s.principal == "User:alice"
    assert s.may_serve(METADATA_KEY)


@pytest.mark.parametrize("user", ["alice", "nobody"])
def test_a_failed_login_says_nothing_about_the_user_and_fails_the_session(user: str) -> None:
    s = session()
    s.handshake("PLAIN")
    with pytest.raises(SaslError) as failed:
        s.authenticate(f"\0{user}\0wrong".encode())
    assert failed.value.code == ErrorCode.SASL_AUTHENTICATION_FAILED
    assert str(failed.value) == (
        "Authentication failed during authentication due to invalid credentials with SASL "
        "mechanism PLAIN"
    )
    assert failed.value.username == user  # for the broker's log only
    assert not s.may_serve(SASL_AUTHENTICATE_KEY)


def test_mechanisms_not_enabled_and_steps_out_of_turn_are_refused() -> None:
    with pytest.raises(SaslError) as unsupported:
        session().handshake("SCRAM-SHA-512")
    assert unsupported.value.code == ErrorCode.UNSUPPORTED_SASL_MECHANISM
    with pytest.raises(SaslError) as early:
        session().authenticate(b"n,,n=alice,r=abc")
    assert early.value.code == ErrorCode.ILLEGAL_SASL_STATE
    s = session()
    s.handshake("SCRAM-SHA-256")
    with pytest.raises(SaslError) as twice:
        s.handshake("SCRAM-SHA-256")
    assert twice.value.code == ErrorCode.ILLEGAL_SASL_STATE


def test_an_unknown_users_scram_salt_is_the_same_on_every_broker() -> None:
    def server_first(secret_from: str) -> bytes:
        s = SaslSession(["SCRAM-SHA-256"], lambda _user: {}, fake_salt_secret(secret_from))
        s.handshake("SCRAM-SHA-256")
        return s.authenticate(b"n,,n=nobody,r=abc").split(b",", 1)[1]

    assert server_first("cluster") == server_first("cluster") != server_first("other")


def test_listener_settings_are_checked() -> None:
    config = BrokerConfig.from_mapping(
        {"listeners": "SASL_PLAINTEXT://127.0.0.1:0,PLAINTEXT://127.0.0.1:0"}
    )
    assert config.security_protocol("SASL_PLAINTEXT") == "SASL_PLAINTEXT"
    assert config.sasl_mechanisms == ["SCRAM-SHA-256", "SCRAM-SHA-512"]
    assert config.inter_broker_listener_name == "SASL_PLAINTEXT"
    assert config["connection.failed.authentication.delay.ms"] == 1000
    for bad, why in [
        ({"listeners": "CLIENT://h:1"}, "not in listener.security.protocol.map"),
        ({"listeners": "SSL://h:1"}, "ssl.keystore.location: required"),
        ({"sasl.enabled.mechanisms": "GSSAPI"}, "GSSAPI not supported"),
        ({"inter.broker.listener.name": "OTHER"}, "is not a listener"),
        (
            {"listeners": "SASL_PLAINTEXT://h:1", "zookeeper.connect": "z:2181"},
            "must be PLAINTEXT or SSL",
        ),
    ]:
        with pytest.raises(ConfigError, match=why):
            BrokerConfig.from_mapping(bad)
    custom = BrokerConfig.from_mapping(
        {
            "listeners": "CLIENT://h:1,BROKER://h:2",
            "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,BROKER:PLAINTEXT",
            "inter.broker.listener.name": "BROKER",
            "zookeeper.connect": "z:2181",
        }
    )
    assert custom.security_protocol("CLIENT") == "SASL_PLAINTEXT"
    assert custom.inter_broker_listener_name == "BROKER"
