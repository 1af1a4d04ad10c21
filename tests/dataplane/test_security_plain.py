"""SASL/PLAIN: message parsing (RFC 4616) and passwords checked against the SCRAM credential store."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.net.sasl.plain import SaslMechanismPlain

from dataplane.security import scram
from dataplane.security.plain import PlainMessage, authenticate_plain, parse_plain
from dataplane.security.scram import SCRAM_SHA_256, SCRAM_SHA_512, AuthenticationFailed

STORE = {
    "alice": {"SCRAM-SHA-256": scram.derive_credential(SCRAM_SHA_256, "alice-pw")},
    "bob": {"SCRAM-SHA-512": scram.derive_credential(SCRAM_SHA_512, "bob-pw")},
    "carol": {
        "SCRAM-SHA-256": scram.derive_credential(SCRAM_SHA_256, "carol-pw"),
        "SCRAM-SHA-512": scram.derive_credential(SCRAM_SHA_512, "carol-pw", iterations=8192),
    },
}


def _lookup(user: str) -> dict:
    return STORE.get(user, {})


def test_parse_plain_messages() -> None:
    assert parse_plain(b"\0alice\0pw") == PlainMessage("", "alice", "pw")
    assert parse_plain(b"alice\0alice\0p\xc3\xa4ss") == PlainMessage("alice", "alice", "p\u00e4ss")
    assert parse_plain("\0I\u00adX\0pw".encode()).username == "IX"
    assert "pw" not in repr(parse_plain(b"\0alice\0pw"))


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (b"", "separated by NUL"),
        (b"alice", "separated by NUL"),
        (b"\0alice", "separated by NUL"),
        (b"\0alice\0pw\0extra", "separated by NUL"),
        (b"\0\0pw", "username not specified"),
        (b"\0alice\0", "password not specified"),
        (b"bob\0alice\0pw", "different from username"),
        (b"\0al\xffice\0pw", "not UTF-8"),
        (b"\0al\x07ice\0pw", "prohibited character"),
    ],
)
def test_malformed_plain_messages(message: bytes, reason: str) -> None:
    with pytest.raises(AuthenticationFailed, match=reason):
        parse_plain(message)


@pytest.mark.parametrize(
    ("user", "password"), [("alice", "alice-pw"), ("bob", "bob-pw"), ("carol", "carol-pw")]
)
def test_plain_passwords_check_against_scram_credentials(user: str, password: str) -> None:
    assert authenticate_plain(f"\0{user}\0{password}".encode(), _lookup) == user


def test_kafka_python_plain_client_bytes() -> None:
    client = SaslMechanismPlain(
        sasl_plain_username="alice", sasl_plain_password="alice-pw", security_protocol="SASL_SSL"
    )
    assert authenticate_plain(client.auth_bytes(), _lookup) == "alice"


def test_wrong_password_and_unknown_user_fail_alike() -> None:
    failures = []
    for message in (b"\0alice\0wrong", b"\0mallory\0wrong"):
        with pytest.raises(AuthenticationFailed) as failure:
            authenticate_plain(message, _lookup)
        failures.append(str(failure.value))
    assert failures[0] == failures[1] == "Authentication failed: Invalid username or password"


def test_a_failing_lookup_is_an_authentication_failure() -> None:
    def broken(user: str) -> dict:
        raise OSError("store is away")

    with pytest.raises(AuthenticationFailed, match="could not be obtained"):
        authenticate_plain(b"\0alice\0alice-pw", broken)


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=40))
def test_arbitrary_bytes_only_ever_raise_authentication_failed(message: bytes) -> None:
    with contextlib.suppress(AuthenticationFailed):
        parse_plain(message)
