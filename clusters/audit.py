"""The audit log: who did what to which object.

Services record their own changes with `audit_record`. Membership changes are recorded from model
signals instead, so that every path that grants or takes access (the API, the command line, Django's
admin) leaves an entry; `acting` names who is acting for the changes made inside it. Details never
hold secrets: callers pass names and kinds of secrets, never their values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from clusters.actors import Actor
from clusters.models import AuditEvent, Membership, Organisation

# Whoever changes memberships outside a request that names an actor (Django's admin, a shell).
UNNAMED_ACTOR = "system"
_acting_label: ContextVar[str] = ContextVar("audit_acting_label", default=UNNAMED_ACTOR)


def audit_record(
    *,
    actor: Actor,
    action: str,
    obj: models.Model,
    name: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return _record(
        organisation=actor.organisation,
        actor_label=actor.label,
        action=action,
        obj=obj,
        name=name,
        details=details,
    )


def _record(
    *,
    organisation: Organisation,
    actor_label: str,
    action: str,
    obj: models.Model,
    name: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        organisation=organisation,
        actor=actor_label,
        action=action,
        object_type=obj._meta.model_name,
        object_id=str(obj.pk),
        object_name=name or str(obj),
        details=details or {},
    )


@contextmanager
def acting(label: str) -> Iterator[None]:
    """Membership changes made inside this block are recorded as done by `label`."""
    reset = _acting_label.set(label)
    try:
        yield
    finally:
        _acting_label.reset(reset)


def audit_sign_in_locked(*, username: str, address: str) -> AuditEvent | None:
    """Record in the member's organisation that their sign-in is locked after repeated failures;
    nothing for a username that is not a member (the lock-out is logged either way)."""
    user = get_user_model().objects.filter(username__iexact=username.strip()).first()
    membership = getattr(user, "membership", None) if user is not None else None
    if membership is None:
        return None
    return _record(
        organisation=membership.organisation,
        actor_label=f"address:{address}" if address else UNNAMED_ACTOR,
        action="sign_in.locked",
        obj=user,
        name=user.get_username(),
        details={"address": address},
    )


@receiver(pre_save, sender=Membership)
def _remember_previous_role(sender, instance: Membership, **kwargs) -> None:
    previous = (
        Membership.objects.filter(pk=instance.pk).values("role", "organisation_id").first()
        if instance.pk
        else None
    )
    instance._audit_previous = previous


@receiver(post_save, sender=Membership)
def _record_membership_change(sender, instance: Membership, created: bool, **kwargs) -> None:
    previous = getattr(instance, "_audit_previous", None)
    username = _username_of(instance)
    moved = previous is not None and previous["organisation_id"] != instance.organisation_id
    if moved:
        _record(
            organisation=Organisation.objects.get(pk=previous["organisation_id"]),
            actor_label=_acting_label.get(),
            action="member.remove",
            obj=instance,
            name=username,
            details={"role": previous["role"]},
        )
    if created or previous is None or moved:
        _record(
            organisation=instance.organisation,
            actor_label=_acting_label.get(),
            action="member.add",
            obj=instance,
            name=username,
            details={"role": instance.role},
        )
    elif previous["role"] != instance.role:
        _record(
            organisation=instance.organisation,
            actor_label=_acting_label.get(),
            action="member.role_change",
            obj=instance,
            name=username,
            details={"before": previous["role"], "after": instance.role},
        )


@receiver(post_delete, sender=Membership)
def _record_membership_removal(
    sender, instance: Membership, origin: object = None, **kwargs
) -> None:
    origin_model = getattr(origin, "model", type(origin))
    if origin_model is Organisation:
        return  # the organisation itself is going, and its audit log with it
    _record(
        organisation=instance.organisation,
        actor_label=_acting_label.get(),
        action="member.remove",
        obj=instance,
        name=_username_of(instance),
        details={"role": instance.role},
    )


def _username_of(membership: Membership) -> str:
    user = get_user_model().objects.filter(pk=membership.user_id).first()
    return user.get_username() if user is not None else f"user #{membership.user_id}"
