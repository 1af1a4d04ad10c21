"""One connection's SASL state on a SASL listener: handshake, then the mechanism's exchange.

Sans-IO: the SaslHandshake and SaslAuthenticate handlers feed it tokens and get tokens back; the
connection asks it which requests it may serve and whether it must close.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from dataplane.protocol.errors import ErrorCode
from dataplane.security.plain import authenticate_plain
from dataplane.security.scram import (
    MECHANISMS,
    AuthenticationFailed,
    ScramCredential,
    ScramServer,
)

API_VERSIONS_KEY = 18
SASL_HANDSHAKE_KEY = 17
SASL_AUTHENTICATE_KEY = 36
# What a client may ask before it has authenticated (Kafka's SaslServerAuthenticator).
UNAUTHENTICATED_APIS = frozenset((API_VERSIONS_KEY, SASL_HANDSHAKE_KEY, SASL_AUTHENTICATE_KEY))

CredentialsLookup = Callable[[str], Mapping[str, ScramCredential]]


def fake_salt_secret(cluster_id: str) -> bytes:
    """The secret an unknown user's fake SCRAM salt is derived from.

    It must be the same on every broker and across restarts: a per-process secret would give an
    unknown user a different salt on each broker while a real user's salt stays put, telling the two
    apart. The cluster id is stable cluster-wide; it is not secret, but a client only learns it
    after authenticating on a SASL listener.
    """
    return hmac.digest(b"dataplane scram fake salt", cluster_id.encode(), hashlib.sha256)


class SaslError(Exception):
    """The exchange cannot go on: `code` goes to the client, then the connection is closed."""

    def __init__(self, code: ErrorCode, message: str, username: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.username = username


class SaslSession:
    """States: handshake → authenticate → complete, or failed (the connection must close)."""

    def __init__(self, mechanisms: list[str], lookup: CredentialsLookup, secret: bytes) -> None:
        self.mechanisms = mechanisms
        self._lookup = lookup
        self._secret = secret
        self.state = "handshake"
        self.mechanism = ""
        self._scram: ScramServer | None = None
        self._scram_started = False
        self.principal: str | None = None  # "User:<name>" once authenticated

    @property
    def authenticated(self) -> bool:
        return self.state == "complete"

    def may_serve(self, api_key: int) -> bool:
        return self.authenticated or (self.state != "failed" and api_key in UNAUTHENTICATED_APIS)

    def handshake(self, mechanism: str) -> None:
        """Choose the mechanism. Raises SaslError (ILLEGAL_SASL_STATE, UNSUPPORTED_SASL_MECHANISM)."""
        if self.state != "handshake":
            self._fail(ErrorCode.ILLEGAL_SASL_STATE, f"unexpected SaslHandshake: {self.state}")
        if mechanism not in self.mechanisms:
            self._fail(
                ErrorCode.UNSUPPORTED_SASL_MECHANISM,
                f"Unsupported SASL mechanism {mechanism}",
            )
        self.mechanism = mechanism
        if mechanism in MECHANISMS:
            self._scram = ScramServer(
                mechanism, lambda user: self._lookup(user).get(mechanism), secret=self._secret
            )
        self.state = "authenticate"

    def authenticate(self, token: bytes) -> bytes:
        """Take one client token, return the server's. Raises SaslError: ILLEGAL_SASL_STATE out of
        turn, SASL_AUTHENTICATION_FAILED (with a message that never says whether the user exists)."""
        if self.state != "authenticate":
            self._fail(ErrorCode.ILLEGAL_SASL_STATE, f"unexpected SaslAuthenticate: {self.state}")
        try:
            if self._scram is None:
                user = authenticate_plain(token, self._lookup, secret=self._secret)
                self._complete(user)
                return b""
            if not self._scram_started:
                self._scram_started = True
                return self._scram.first(token)
            reply = self._scram.final(token)
            assert self._scram.username is not None
            self._complete(self._scram.username)
            return reply
        except AuthenticationFailed as exc:
            claimed = (
                self._scram.claimed_username if self._scram is not None else _plain_username(token)
            )
            self.state = "failed"
            raise SaslError(
                ErrorCode.SASL_AUTHENTICATION_FAILED,
                "Authentication failed during authentication due to invalid credentials with "
                f"SASL mechanism {self.mechanism}",
                claimed,
            ) from exc

    def _complete(self, user: str) -> None:
        self.principal = f"User:{user}"
        self.state = "complete"

    def _fail(self, code: ErrorCode, message: str) -> None:
        self.state = "failed"
        raise SaslError(code, message)


def _plain_username(token: bytes) -> str | None:
    # For the log only: the authcid of a PLAIN message, if it has one.
    parts = bytes(token).split(b"\0")
    return parts[1].decode("utf-8", "replace") if len(parts) == 3 else None
