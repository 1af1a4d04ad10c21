"""SASL/PLAIN (RFC 4616) checked against the SCRAM credential store, so one store serves both.

A PLAIN password is verified by deriving the SCRAM keys from it with the stored salt and iteration
count and comparing StoredKey, as a SCRAM client would have proved it. Like Kafka's PlainSaslServer,
the authzid must be empty or equal to the user name, and neither user name nor password may be empty;
unlike RFC 4616 (but like Kafka) the 255-byte limit on each part is not enforced, so any password a
SCRAM client may use works here too.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dataplane.security.saslprep import SaslprepError, saslprep
from dataplane.security.scram import (
    DEFAULT_ITERATIONS,
    PROCESS_SECRET,
    SCRAM_SHA_256,
    SCRAM_SHA_512,
    AuthenticationFailed,
    ScramCredential,
    credential_from_salted_password,
    salted_password,
)

# A user's SCRAM credentials by mechanism name ("SCRAM-SHA-256", ...); empty for an unknown user.
CredentialsLookup = Callable[[str], Mapping[str, ScramCredential]]

# The strongest mechanism the user has is the one checked.
_PREFERENCE = (SCRAM_SHA_512, SCRAM_SHA_256)


@dataclass(frozen=True)
class PlainMessage:
    authzid: str
    username: str
    password: str = field(repr=False)


def parse_plain(message: bytes) -> PlainMessage:
    """Split `[authzid] NUL authcid NUL passwd`; the user name comes back SASLprep-normalised.

    Raises AuthenticationFailed with the reason when the message is malformed.
    """
    try:
        text = bytes(message).decode("utf-8")
    except UnicodeDecodeError:
        raise AuthenticationFailed("invalid SASL/PLAIN message: not UTF-8") from None
    parts = text.split("\0")
    if len(parts) != 3:
        raise AuthenticationFailed(
            "invalid SASL/PLAIN message: expected authzid, user name and password separated by NUL"
        )
    authzid, username, password = parts
    if not username:
        raise AuthenticationFailed("Authentication failed: username not specified")
    if not password:
        raise AuthenticationFailed("Authentication failed: password not specified")
    try:
        username = saslprep(username)
        authzid = saslprep(authzid) if authzid else ""
    except SaslprepError as exc:
        raise AuthenticationFailed(f"invalid SASL/PLAIN user name: {exc}") from None
    if authzid and authzid != username:
        raise AuthenticationFailed(
            "Authentication failed: Client requested an authorization id that is different from username"
        )
    return PlainMessage(authzid, username, password)


def authenticate_plain(
    message: bytes, lookup: CredentialsLookup, *, secret: bytes = PROCESS_SECRET
) -> str:
    """Check a PLAIN message against the user's SCRAM credentials; return the authenticated user name.

    An unknown user costs the same key derivation as a known one (with a credential derived from
    `secret`) and fails with the same message as a wrong password: AuthenticationFailed.
    """
    plain = parse_plain(message)
    try:
        credentials = lookup(plain.username)
    except Exception as exc:
        raise AuthenticationFailed(
            "Authentication failed: credentials could not be obtained"
        ) from exc
    mechanism, credential = next(
        ((m, credentials[m.name]) for m in _PREFERENCE if m.name in credentials),
        (SCRAM_SHA_512, None),
    )
    known = credential is not None
    if credential is None:
        credential = _fake_credential(plain.username, secret)
    derived = credential_from_salted_password(
        mechanism,
        salted_password(mechanism, plain.password, credential.salt, credential.iterations),
        credential.salt,
        credential.iterations,
    )
    if not hmac.compare_digest(derived.stored_key, credential.stored_key) or not known:
        raise AuthenticationFailed("Authentication failed: Invalid username or password")
    return plain.username


def _fake_credential(username: str, secret: bytes) -> ScramCredential:
    key = SCRAM_SHA_512.hmac(secret, b"plain\0" + username.encode())
    return ScramCredential(key[:16], key, key, DEFAULT_ITERATIONS)
