"""API tokens: `sp_` + random secret; the database keeps its SHA-256 digest and a short prefix."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from clusters.actors import Actor, require_write
from clusters.audit import audit_record
from clusters.errors import InvalidInput
from clusters.models import ApiToken, Organisation

TOKEN_PREFIX = "sp_"


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def api_token_create(
    *,
    actor: Actor,
    name: str,
    read_only: bool = False,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is never shown again."""
    require_write(actor)
    return _create(
        organisation=actor.organisation,
        actor=actor,
        name=name,
        read_only=read_only,
        expires_at=expires_at,
    )


def _create(
    *,
    organisation: Organisation,
    actor: Actor,
    name: str,
    read_only: bool,
    expires_at: datetime | None,
) -> tuple[ApiToken, str]:
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        errors["name"] = ["Give the token a name of 1-100 characters."]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = ["The expiry must be in the future."]
    if errors:
        raise InvalidInput("Invalid token.", field_errors=errors)
    secret = new_secret()
    with transaction.atomic():
        token = ApiToken.objects.create(
            organisation=organisation,
            created_by_id=actor.user_id,
            name=name,
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            digest=token_digest(secret),
            read_only=read_only,
            expires_at=expires_at,
        )
        audit_record(
            actor=actor, action="token.create", obj=token, details={"read_only": read_only}
        )
    return token, secret


def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    require_write(actor)
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="token.revoke", obj=token)
    return token


def api_token_authenticate(secret: str) -> ApiToken | None:
    """The usable token with this secret, or None (unknown, revoked or expired)."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("organisation").filter(digest=token_digest(secret)).first()
    )
    if token is None or not token.is_usable():
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
