"""Secrets that live inside otherwise readable values (a webhook URL's password or token) are
masked wherever such a value is shown or recorded after it was given."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "****"
# Query parameters that carry a credential by their name.
SECRET_PARAMETER_WORDS = ("token", "secret", "key", "password", "signature", "sig", "auth")


def _is_secret_parameter(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_PARAMETER_WORDS)


def redact_url(url: str) -> str:
    """The URL with its password and credential-named query values masked; other text unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_secret_parameter(name) for name, _ in pairs):
            query = urlencode(
                [(name, MASK if _is_secret_parameter(name) else value) for name, value in pairs],
                safe="*",
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
