"""TLS for listeners and inter-broker connections: `ssl.SSLContext`s built from Kafka's PEM settings,
and the principal a client certificate stands for.

Pure construction: nothing here opens a socket. Every problem with the key material is a TlsError
that names the setting and says what is wrong, never the key or its password.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

CLIENT_AUTH_MODES = ("none", "requested", "required")
_PROTOCOLS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
_REFUSED_PROTOCOLS = ("SSLv3", "TLSv1", "TLSv1.1")
ANONYMOUS = "User:ANONYMOUS"


class TlsError(ValueError):
    """TLS settings or key material that cannot be used; the message names the setting."""


@dataclass(frozen=True)
class TlsSettings:
    """One listener's effective ssl.* settings (per-listener overrides already applied)."""

    keystore_type: str = "PEM"
    keystore_location: str = ""
    key_password: str = ""
    truststore_type: str = "PEM"
    truststore_location: str = ""
    client_auth: str = "none"
    enabled_protocols: tuple[str, ...] = ("TLSv1.2", "TLSv1.3")
    endpoint_identification_algorithm: str = "https"

    def __repr__(self) -> str:  # the key password never reaches a log line
        return (
            f"TlsSettings(keystore={self.keystore_location!r}, "
            f"truststore={self.truststore_location!r}, client_auth={self.client_auth!r}, "
            f"protocols={self.enabled_protocols!r})"
        )

    def check(self, where: str, keystore_required: bool = True) -> None:
        """Validate values without touching files; TlsError names `where` (the listener)."""
        for key, value in (
            ("ssl.keystore.type", self.keystore_type),
            ("ssl.truststore.type", self.truststore_type),
        ):
            if value.upper() != "PEM":
                raise TlsError(f"{where}{key}: {value!r} is not supported; use PEM")
        if keystore_required and not self.keystore_location:
            raise TlsError(
                f"{where}ssl.keystore.location: required on an SSL or SASL_SSL listener "
                "(a PEM file with the certificate chain and the private key)"
            )
        if self.client_auth not in CLIENT_AUTH_MODES:
            raise TlsError(
                f"{where}ssl.client.auth: {self.client_auth!r} is not one of "
                f"{', '.join(CLIENT_AUTH_MODES)}"
            )
        if self.client_auth != "none" and not self.truststore_location:
            raise TlsError(
                f"{where}ssl.truststore.location: required with ssl.client.auth="
                f"{self.client_auth} (the CA certificates client certificates are checked against)"
            )
        if not self.enabled_protocols:
            raise TlsError(f"{where}ssl.enabled.protocols: empty")
        for protocol in self.enabled_protocols:
            if protocol in _REFUSED_PROTOCOLS:
                raise TlsError(
                    f"{where}ssl.enabled.protocols: {protocol} is not allowed; "
                    "TLSv1.2 is the oldest served"
                )
            if protocol not in _PROTOCOLS:
                raise TlsError(
                    f"{where}ssl.enabled.protocols: {protocol!r} is not one of "
                    f"{', '.join(_PROTOCOLS)}"
                )
        if self.endpoint_identification_algorithm.lower() not in ("", "https"):
            raise TlsError(
                f"{where}ssl.endpoint.identification.algorithm: "
                f"{self.endpoint_identification_algorithm!r} is not https or empty"
            )


def server_context(settings: TlsSettings, where: str = "") -> ssl.SSLContext:
    """The context a listener accepts TLS connections with. Raises TlsError for unreadable,
    malformed or mismatched key material, an undecryptable key, or an unreadable truststore."""
    settings.check(where)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _limit_protocols(context, settings)
    _load_keystore(context, settings, where)
    if settings.client_auth != "none":
        _load_truststore(context, settings, where)
        context.verify_mode = (
            ssl.CERT_REQUIRED if settings.client_auth == "required" else ssl.CERT_OPTIONAL
        )
    return context


def client_context(
    settings: TlsSettings, where: str = "", keystore_required: bool = True
) -> ssl.SSLContext:
    """The context a broker connects to another broker with (or an admin tool to a broker): the
    peer is verified against the truststore (and its address, unless endpoint identification is
    off), and the keystore's certificate, if any, is presented as the client certificate. Raises
    TlsError as server_context."""
    settings.check(where, keystore_required)
    if not settings.truststore_location:
        raise TlsError(f"{where}ssl.truststore.location: required to verify other brokers over TLS")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _limit_protocols(context, settings)
    _load_keystore(context, settings, where)
    _load_truststore(context, settings, where)
    context.check_hostname = settings.endpoint_identification_algorithm.lower() == "https"
    return context


def client_context_from_properties(properties: Mapping[str, str]) -> ssl.SSLContext | None:
    """The TLS context a Kafka client configuration asks for (`security.protocol=SSL` and the
    ssl.* PEM settings, as Kafka's tools read from --command-config); None for PLAINTEXT. Raises
    TlsError for other protocols or unusable settings."""
    protocol = properties.get("security.protocol", "PLAINTEXT").strip().upper()
    if protocol == "PLAINTEXT":
        return None
    if protocol != "SSL":
        raise TlsError(f"security.protocol: {protocol} is not supported here; use PLAINTEXT or SSL")
    defaults = TlsSettings()
    settings = TlsSettings(
        keystore_type=properties.get("ssl.keystore.type", defaults.keystore_type),
        keystore_location=properties.get("ssl.keystore.location", ""),
        key_password=properties.get("ssl.key.password", ""),
        truststore_type=properties.get("ssl.truststore.type", defaults.truststore_type),
        truststore_location=properties.get("ssl.truststore.location", ""),
        endpoint_identification_algorithm=properties.get(
            "ssl.endpoint.identification.algorithm", "https"
        ),
    )
    return client_context(settings, keystore_required=False)


def _limit_protocols(context: ssl.SSLContext, settings: TlsSettings) -> None:
    versions = sorted(_PROTOCOLS[p] for p in settings.enabled_protocols)
    context.minimum_version = versions[0]
    context.maximum_version = versions[-1]


def _readable(path: str, key: str, where: str) -> Path:
    file = Path(path)
    try:
        file.read_bytes()
    except OSError as exc:
        raise TlsError(f"{where}{key}: cannot read {path}: {exc.strerror}") from None
    return file


def _load_keystore(context: ssl.SSLContext, settings: TlsSettings, where: str) -> None:
    file = _readable(settings.keystore_location, "ssl.keystore.location", where)
    password = settings.key_password.encode()
    try:
        # A callable, even for no password: without one OpenSSL would prompt on the terminal for
        # an encrypted key.
        context.load_cert_chain(file, password=lambda: password)
    except ssl.SSLError as exc:
        raise TlsError(
            f"{where}ssl.keystore.location: {file} is not a usable PEM keystore "
            f"(certificate chain and matching private key"
            f"{', decryptable with ssl.key.password' if password else ''}): {exc.reason}"
        ) from None


def _load_truststore(context: ssl.SSLContext, settings: TlsSettings, where: str) -> None:
    file = _readable(settings.truststore_location, "ssl.truststore.location", where)
    try:
        context.load_verify_locations(cafile=file)
    except ssl.SSLError as exc:
        raise TlsError(
            f"{where}ssl.truststore.location: {file} holds no usable PEM CA certificate: "
            f"{exc.reason}"
        ) from None


def principal_from_certificate(der: bytes | None) -> str:
    """Kafka's default principal for an SSL client: `User:<subject DN>` in RFC 2253 form, most
    specific RDN first as Java's X500Principal.getName() writes it (`User:CN=client,O=Example`);
    `User:ANONYMOUS` without a certificate."""
    if not der:
        return ANONYMOUS
    subject = x509.load_der_x509_certificate(der).subject
    return f"User:{subject.rfc4514_string()}"
