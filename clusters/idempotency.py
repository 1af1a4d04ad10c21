"""`Idempotency-Key` on creates: a retried request gets the first answer instead of a second object."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from clusters.actors import Actor
from clusters.errors import Conflict, InvalidInput
from clusters.models import IdempotencyKey

HEADER = "Idempotency-Key"


def with_idempotency(
    *,
    actor: Actor,
    key: str | None,
    scope: str,
    payload: Any,
    create: Callable[[], tuple[int, dict[str, Any]]],
) -> tuple[int, dict[str, Any], bool]:
    """Run `create` once per key; returns (status, body, replayed)."""
    if not key:
        status, body = create()
        return status, body, False
    if len(key) > 200:
        raise InvalidInput(f"{HEADER} is longer than 200 characters.")
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    existing = IdempotencyKey.objects.filter(
        organisation=actor.organisation, scope=scope, key=key
    ).first()
    if existing:
        if existing.request_digest != digest:
            raise Conflict(f"This {HEADER} was used for a different request.")
        return existing.response_status, existing.response_body, True
    with transaction.atomic():
        status, body = create()
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(
                    organisation=actor.organisation,
                    scope=scope,
                    key=key,
                    request_digest=digest,
                    response_status=status,
                    response_body=body,
                )
        except IntegrityError:
            # A concurrent request with the same key won; raising undoes ours.
            raise Conflict(f"A request with this {HEADER} is already being processed.") from None
    return status, body, False
