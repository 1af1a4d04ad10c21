"""SASL/SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), server side, as Kafka implements it (KIP-84).

The credential store holds, per user and mechanism, only the salt, the iteration count, StoredKey and
ServerKey; never the password. In ZooKeeper they live where Kafka keeps them:

    /config/users/<URL-encoded user name>
    {"version":1,"config":{"SCRAM-SHA-256":"salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=4096"}}

so credentials made by Kafka's tools (kafka-configs.sh --alter --add-config 'SCRAM-SHA-256=[...]') work here.

Where this server is stricter than Kafka, on purpose:
- An unknown user is not refused at the first message (Kafka refuses it there, which tells a client
  whether the user exists). It gets a salt and iteration count derived from the user name and a server
  secret, so asking twice gives the same answer, and fails at the proof like a wrong password does.
- The channel-binding attribute of the final message must be the base64 of the gs2 header (RFC 5802
  section 5.1); Kafka does not check it.
- The `tokenauth` extension (delegation tokens) is refused rather than honoured: there are no tokens here.
- User names are SASLprep-normalised (RFC 4013). Passwords are not: Kafka's clients and brokers hash the
  password's UTF-8 bytes as they are, and credentials must stay interchangeable with theirs.

Where it is more lenient than Kafka 4: the client-final nonce librdkafka sent before 2.6.1 (its
client nonce, then the whole nonce again) is accepted, so Debian 12's kcat can log in. No other
mismatch is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, unquote_plus

from dataplane.security.saslprep import SaslprepError, saslprep


class AuthenticationFailed(Exception):
    """A SASL exchange failed.

    The message is safe to send to the client: it never depends on whether the user exists.
    """


@dataclass(frozen=True)
class ScramMechanism:
    name: str
    hash_name: str
    # The int8 code DescribeUserScramCredentials and AlterUserScramCredentials use on the wire.
    kafka_type: int
    min_iterations: int = 4096
    max_iterations: int = 16384

    def hmac(self, key: bytes, message: bytes) -> bytes:
        return hmac.digest(key, message, self.hash_name)

    def hash(self, data: bytes) -> bytes:
        return hashlib.new(self.hash_name, data).digest()

    @property
    def digest_size(self) -> int:
        return hashlib.new(self.hash_name).digest_size


SCRAM_SHA_256 = ScramMechanism("SCRAM-SHA-256", "sha256", 1)
SCRAM_SHA_512 = ScramMechanism("SCRAM-SHA-512", "sha512", 2)
MECHANISMS: dict[str, ScramMechanism] = {m.name: m for m in (SCRAM_SHA_256, SCRAM_SHA_512)}
DEFAULT_ITERATIONS = 4096


def mechanism_named(name: str) -> ScramMechanism:
    """The SCRAM mechanism called `name` ("SCRAM-SHA-256", "SCRAM-SHA-512"); ValueError otherwise."""
    try:
        return MECHANISMS[name]
    except KeyError:
        raise ValueError(f"unsupported SCRAM mechanism {name!r}") from None


def mechanism_of_type(kafka_type: int) -> ScramMechanism:
    """The SCRAM mechanism with the given wire code (1 = SHA-256, 2 = SHA-512); ValueError otherwise."""
    for mechanism in MECHANISMS.values():
        if mechanism.kafka_type == kafka_type:
            return mechanism
    raise ValueError(f"unknown SCRAM mechanism type {kafka_type}")


@dataclass(frozen=True)
class ScramCredential:
    salt: bytes
    stored_key: bytes = field(repr=False)
    server_key: bytes = field(repr=False)
    iterations: int


CredentialLookup = Callable[[str], ScramCredential | None]


# -------------------------------------------------------------------------------------------------
# Deriving credentials
# -------------------------------------------------------------------------------------------------


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = digits[rest] + out
        if not value:
            return out


def random_salt() -> bytes:
    """A salt of the shape Kafka makes: the ASCII base-36 digits of a random 130-bit number."""
    return _base36(secrets.randbits(130)).encode()


def salted_password(
    mechanism: ScramMechanism, password: str, salt: bytes, iterations: int
) -> bytes:
    """Hi(password, salt, i) of RFC 5802: PBKDF2 with the mechanism's HMAC."""
    return hashlib.pbkdf2_hmac(mechanism.hash_name, password.encode(), salt, iterations)


def credential_from_salted_password(
    mechanism: ScramMechanism, salted: bytes, salt: bytes, iterations: int
) -> ScramCredential:
    """The stored form of a salted password (what AlterUserScramCredentials sends)."""
    client_key = mechanism.hmac(salted, b"Client Key")
    return ScramCredential(
        salt=salt,
        stored_key=mechanism.hash(client_key),
        server_key=mechanism.hmac(salted, b"Server Key"),
        iterations=iterations,
    )


def derive_credential(
    mechanism: ScramMechanism,
    password: str,
    *,
    iterations: int = DEFAULT_ITERATIONS,
    salt: bytes | None = None,
) -> ScramCredential:
    """Stored credentials for `password` with a fresh random salt (or `salt`).

    Raises ValueError when `iterations` is outside the mechanism's range (4096..16384, as in Kafka).
    """
    if not mechanism.min_iterations <= iterations <= mechanism.max_iterations:
        raise ValueError(
            f"iterations must be between {mechanism.min_iterations} and "
            f"{mechanism.max_iterations} for {mechanism.name}, not {iterations}"
        )
    salt = random_salt() if salt is None else salt
    return credential_from_salted_password(
        mechanism, salted_password(mechanism, password, salt, iterations), salt, iterations
    )


# -------------------------------------------------------------------------------------------------
# Kafka's stored formats
# -------------------------------------------------------------------------------------------------

_CREDENTIAL_KEYS = ("salt", "stored_key", "server_key", "iterations")
USER_CONFIG_ROOT = "/config/users"


def format_credential(credential: ScramCredential) -> str:
    """Kafka's ScramCredentialUtils.credentialToString: `salt=..,stored_key=..,server_key=..,iterations=N`."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return (
        f"salt={b64(credential.salt)},stored_key={b64(credential.stored_key)},"
        f"server_key={b64(credential.server_key)},iterations={credential.iterations}"
    )


def parse_credential(text: str) -> ScramCredential:
    """Kafka's ScramCredentialUtils.credentialFromString; ValueError when `text` is not one."""
    props: dict[str, str] = {}
    for token in text.split(","):
        key, sep, value = token.partition("=")
        if not key or not sep:
            raise ValueError(f"Credentials not valid: {text}")
        props[key] = value
    if sorted(props) != sorted(_CREDENTIAL_KEYS):
        raise ValueError(f"Credentials not valid: {text}")
    try:
        salt, stored_key, server_key = (
            base64.b64decode(props[key], validate=True) for key in _CREDENTIAL_KEYS[:3]
        )
        iterations = int(props["iterations"])
    except (binascii.Error, ValueError):
        raise ValueError(f"Credentials not valid: {text}") from None
    return ScramCredential(salt, stored_key, server_key, iterations)


def sanitize_user(name: str) -> str:
    """Kafka's Sanitizer.sanitize: the URL-encoding that makes a user name a znode name."""
    # Java's URLEncoder leaves only [A-Za-z0-9.*_-] alone and Kafka then encodes '*' too.
    return quote(name, safe="").replace("~", "%7E")


def desanitize_user(node_name: str) -> str:
    """Kafka's Sanitizer.desanitize (URLDecoder: '+' is a space); ValueError on bad UTF-8 escapes."""
    return unquote_plus(node_name, errors="strict")


def user_config_path(username: str) -> str:
    """`/config/users/<sanitized name>`, the znode holding a user's SCRAM credentials (and quotas)."""
    return f"{USER_CONFIG_ROOT}/{sanitize_user(username)}"


def parse_user_config(data: bytes | None) -> dict[str, str]:
    """The config map of a /config/users/<name> znode (empty for an absent or empty znode).

    Raises ValueError when the data is not Kafka's `{"version":1,"config":{...}}` JSON.
    """
    if not data:
        return {}
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"user config is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ValueError("user config is not a JSON object")
    config = document.get("config", {})
    if not isinstance(config, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in config.items()
    ):
        raise ValueError("user config's 'config' is not a map of strings")
    return dict(config)


def format_user_config(config: Mapping[str, str]) -> bytes:
    """The znode data Kafka writes for a user's config map."""
    return json.dumps({"version": 1, "config": dict(config)}).encode()


def scram_credentials(config: Mapping[str, str]) -> dict[str, ScramCredential]:
    """The SCRAM credentials in a user's config map, by mechanism name (other keys, e.g. quotas, ignored).

    Raises ValueError when a SCRAM entry is malformed.
    """
    return {name: parse_credential(config[name]) for name in MECHANISMS if name in config}


# -------------------------------------------------------------------------------------------------
# The exchange
# -------------------------------------------------------------------------------------------------


def escape_username(username: str) -> str:
    """RFC 5802 saslname: '=' becomes '=3D' and ',' becomes '=2C'."""
    return username.replace("=", "=3D").replace(",", "=2C")


def unescape_username(sasl_name: str) -> str:
    """Inverse of escape_username; ValueError on an '=' that starts neither '=2C' nor '=3D'."""
    if "=" in sasl_name.replace("=2C", "").replace("=3D", ""):
        raise ValueError(f"invalid saslname {sasl_name!r}: '=' must start '=2C' or '=3D'")
    return sasl_name.replace("=2C", ",").replace("=3D", "=")


def _random_nonce() -> str:
    # Kafka's ScramFormatter.secureRandomString: 130 random bits in base 36.
    return _base36(secrets.randbits(130))


# A per-process default. A broker should pass a secret shared by the cluster and kept across restarts:
# otherwise an unknown user's fake salt differs between brokers (or restarts) while a real one does
# not, and that difference tells the user apart.
PROCESS_SECRET = secrets.token_bytes(32)


def _decode(message: bytes, what: str) -> str:
    try:
        return bytes(message).decode("utf-8")
    except UnicodeDecodeError:
        raise AuthenticationFailed(f"invalid SCRAM {what} message: not UTF-8") from None


def _printable(value: str) -> bool:
    return bool(value) and all("\x21" <= ch <= "\x7e" and ch != "," for ch in value)


def _check_extensions(attributes: list[str], what: str) -> dict[str, str]:
    extensions: dict[str, str] = {}
    for attribute in attributes:
        key, sep, value = attribute.partition("=")
        if not sep or not key.isascii() or not key.isalpha() or not value:
            raise AuthenticationFailed(f"invalid SCRAM {what} message: bad attribute {attribute!r}")
        extensions[key] = value
    return extensions


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise AuthenticationFailed(
            f"invalid SCRAM client-final message: {what} is not base64"
        ) from None


def _xor(left: bytes, right: bytes) -> bytes:
    return (int.from_bytes(left, "big") ^ int.from_bytes(right, "big")).to_bytes(len(left), "big")


_INVALID_CREDENTIALS = "Authentication failed: invalid credentials"


class ScramServer:
    """One server side of one SCRAM exchange: `first(client_first)`, then `final(client_final)`.

    `lookup(username)` returns the user's stored credential for this mechanism, or None. Every failure
    raises AuthenticationFailed and leaves the server failed; after `final` succeeds, `username` is
    the authenticated user. `nonce` makes the server's nonce part (tests pass a fixed one).
    """

    def __init__(
        self,
        mechanism: str | ScramMechanism,
        lookup: CredentialLookup,
        *,
        secret: bytes = PROCESS_SECRET,
        nonce: Callable[[], str] = _random_nonce,
    ) -> None:
        self.mechanism = (
            mechanism if isinstance(mechanism, ScramMechanism) else mechanism_named(mechanism)
        )
        self._lookup = lookup
        self._secret = secret
        self._nonce_factory = nonce
        self._state = "first"
        self._gs2_header = ""
        self._client_nonce = ""
        self._nonce = ""
        self._auth_prefix = ""
        self._credential: ScramCredential | None = None
        self._known = False
        self._candidate = ""
        self.username: str | None = None

    @property
    def complete(self) -> bool:
        return self._state == "complete"

    @property
    def claimed_username(self) -> str | None:
        """The user name the client-first message gave (for logging a failure), or None."""
        return self._candidate or None

    def first(self, client_first: bytes) -> bytes:
        """Take the client-first message and answer with the server-first message."""
        self._expect("first")
        try:
            return self._first(client_first)
        except AuthenticationFailed:
            self._state = "failed"
            raise

    def final(self, client_final: bytes) -> bytes:
        """Take the client-final message, check the proof and answer with the server-final message."""
        self._expect("final")
        try:
            return self._final(client_final)
        except AuthenticationFailed:
            self._state = "failed"
            raise
        finally:
            self._credential = None

    def _expect(self, step: str) -> None:
        if self._state != step:
            state = self._state
            self._state = "failed"
            raise AuthenticationFailed(
                f"unexpected SCRAM client-{step} message: the exchange is {state}"
                if state in ("complete", "failed")
                else f"unexpected SCRAM client-{step} message: expected client-{state}"
            )

    def _first(self, client_first: bytes) -> bytes:
        text = _decode(client_first, "client-first")
        flag, _, rest = text.partition(",")
        if flag.startswith("p="):
            raise AuthenticationFailed(
                "SCRAM channel binding (gs2 flag 'p') is not supported: use gs2 header 'n,,'"
            )
        if flag != "n":
            raise AuthenticationFailed(
                f"invalid SCRAM client-first message: gs2 flag must be 'n', not {flag[:16]!r}"
            )
        authzid_part, sep, bare = rest.partition(",")
        if not sep:
            raise AuthenticationFailed("invalid SCRAM client-first message: truncated gs2 header")
        self._gs2_header = text[: len(text) - len(bare)]
        attributes = bare.split(",")
        if attributes[0].startswith("m="):
            raise AuthenticationFailed("SCRAM mandatory extensions (m=) are not supported")
        if (
            len(attributes) < 2
            or not attributes[0].startswith("n=")
            or not attributes[1].startswith("r=")
        ):
            raise AuthenticationFailed(
                "invalid SCRAM client-first message: expected 'n=<user>,r=<nonce>'"
            )
        if "tokenauth" in _check_extensions(attributes[2:], "client-first"):
            raise AuthenticationFailed("SCRAM delegation-token authentication is not supported")
        username = self._username(attributes[0][2:])
        if authzid_part and (
            not authzid_part.startswith("a=") or self._username(authzid_part[2:]) != username
        ):
            raise AuthenticationFailed(
                "Authentication failed: the authorization id must be empty or the user name"
            )
        client_nonce = attributes[1][2:]
        if not _printable(client_nonce):
            raise AuthenticationFailed("invalid SCRAM client-first message: bad nonce")

        try:
            credential = self._lookup(username)
        except Exception as exc:
            raise AuthenticationFailed(
                "Authentication failed: credentials could not be obtained"
            ) from exc
        self._candidate = username
        self._known = credential is not None
        if credential is None:
            credential = self._fake_credential(username)
        elif credential.iterations < self.mechanism.min_iterations:
            raise AuthenticationFailed("Authentication failed: credentials could not be obtained")
        self._credential = credential
        self._candidate = username
        self._client_nonce = client_nonce
        self._nonce = client_nonce + self._nonce_factory()
        server_first = (
            f"r={self._nonce},s={base64.b64encode(credential.salt).decode()},"
            f"i={credential.iterations}"
        )
        self._auth_prefix = f"{bare},{server_first}"
        self._state = "final"
        return server_first.encode()

    def _final(self, client_final: bytes) -> bytes:
        text = _decode(client_final, "client-final")
        without_proof, sep, proof_text = text.rpartition(",p=")
        if not sep:
            raise AuthenticationFailed("invalid SCRAM client-final message: no proof (p=)")
        attributes = without_proof.split(",")
        if (
            len(attributes) < 2
            or not attributes[0].startswith("c=")
            or not attributes[1].startswith("r=")
        ):
            raise AuthenticationFailed(
                "invalid SCRAM client-final message: expected 'c=<binding>,r=<nonce>,...,p=<proof>'"
            )
        _check_extensions(attributes[2:], "client-final")
        if _b64decode(attributes[0][2:], "channel binding") != self._gs2_header.encode():
            raise AuthenticationFailed(
                "invalid SCRAM client-final message: channel binding does not match the gs2 header"
            )
        if not self._nonce_matches(attributes[1][2:]):
            raise AuthenticationFailed("invalid SCRAM client-final message: nonce mismatch")
        proof = _b64decode(proof_text, "proof")
        if len(proof) != self.mechanism.digest_size:
            raise AuthenticationFailed("invalid SCRAM client-final message: proof of wrong length")

        credential = self._credential
        assert credential is not None
        auth_message = f"{self._auth_prefix},{without_proof}".encode()
        client_signature = self.mechanism.hmac(credential.stored_key, auth_message)
        computed = self.mechanism.hash(_xor(proof, client_signature))
        if not hmac.compare_digest(computed, credential.stored_key) or not self._known:
            raise AuthenticationFailed(_INVALID_CREDENTIALS)
        self.username = self._candidate
        self._state = "complete"
        signature = self.mechanism.hmac(credential.server_key, auth_message)
        return b"v=" + base64.b64encode(signature)

    def _nonce_matches(self, nonce: str) -> bool:
        # librdkafka < 2.6.1 sends c-nonce + (c-nonce + s-nonce). Safe: AuthMessage holds our own
        # server-first message with the fresh nonce, so the proof still binds this exchange's s-nonce.
        return any(
            hmac.compare_digest(nonce.encode(), expected.encode())
            for expected in (self._nonce, self._client_nonce + self._nonce)
        )

    @staticmethod
    def _username(sasl_name: str) -> str:
        try:
            username = saslprep(unescape_username(sasl_name))
        except (ValueError, SaslprepError) as exc:
            raise AuthenticationFailed(f"invalid SCRAM user name: {exc}") from None
        if not username:
            raise AuthenticationFailed("invalid SCRAM user name: empty")
        return username

    def _fake_credential(self, username: str) -> ScramCredential:
        def derive(purpose: bytes) -> bytes:
            context = b"\0".join((purpose, self.mechanism.name.encode(), username.encode()))
            return self.mechanism.hmac(self._secret, context)

        # Shaped like random_salt(): base 36 of a 130-bit number.
        salt_number = int.from_bytes(derive(b"salt")[:17], "big") >> 6
        return ScramCredential(
            salt=_base36(salt_number).encode(),
            stored_key=derive(b"stored_key"),
            server_key=derive(b"server_key"),
            iterations=DEFAULT_ITERATIONS,
        )
