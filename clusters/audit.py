"""The audit log: who did what to which object."""

from __future__ import annotations

from typing import Any

from django.db import models

from clusters.actors import Actor
from clusters.models import AuditEvent


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    name: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        organisation=actor.organisation,
        actor=actor.label,
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        object_name=name or str(obj),
        details=details or {},
    )
