"""Provider accounts' credentials: set only here, encrypted at rest, audited by key name alone."""

from __future__ import annotations

from django.db import transaction

from clusters.actors import Actor, require_write
from clusters.audit import audit_record
from clusters.errors import InvalidInput
from clusters.models import Provider


def provider_credentials_set(
    *, actor: Actor, provider: Provider, credentials: dict[str, str]
) -> Provider:
    """Replace the provider account's credentials (an empty dict clears them). The audit entry in
    the actor's organisation names the keys that changed, never a value.

    Raises InvalidInput unless every key and value is a non-empty string.
    """
    require_write(actor)
    if not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in credentials.items()
    ):
        raise InvalidInput(
            "Credentials are names and values, both non-empty strings.",
            field_errors={"credentials": ["Give non-empty string names and values."]},
        )
    with transaction.atomic():
        locked = Provider.objects.select_for_update().get(pk=provider.pk)
        before = locked.credentials()
        if credentials:
            locked.set_credentials(credentials)
        else:
            locked.credentials_encrypted = ""
        locked.save(update_fields=["credentials_encrypted"])
        changed = sorted(
            k for k in before.keys() | credentials.keys() if before.get(k) != credentials.get(k)
        )
        audit_record(
            actor=actor,
            action="provider.credentials_change",
            obj=locked,
            details={"keys": sorted(credentials), "changed": changed},
        )
    return locked
