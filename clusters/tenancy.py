"""Organisations and their members."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from clusters.actors import Actor
from clusters.audit import acting
from clusters.models import ApiToken, Membership, Organisation, Role
from clusters.tokens import _create as create_token

COMMAND_LINE_ACTOR = "command-line"


@transaction.atomic
def organisation_bootstrap(
    *,
    organisation: str,
    username: str,
    password: str | None,
    role: str = Role.OWNER,
    token_name: str | None = None,
    read_only_token: bool = False,
) -> tuple[Membership, ApiToken | None, str | None]:
    """Create (or reuse) an organisation and a member, and optionally an API token for scripting.
    The membership change is audited as made from the command line."""
    org, _ = Organisation.objects.get_or_create(name=organisation)
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=username)
    if password:
        user.set_password(password)
        user.save()
    elif created:
        user.set_unusable_password()
        user.save()
    with acting(COMMAND_LINE_ACTOR):
        membership, _ = Membership.objects.update_or_create(
            user=user, defaults={"organisation": org, "role": role}
        )
    if membership.organisation_id != org.id:
        raise ValueError(f"{username} already belongs to {membership.organisation}")
    token = secret = None
    if token_name:
        actor = Actor.for_member(membership)
        token, secret = create_token(
            organisation=org,
            actor=actor,
            name=token_name,
            read_only=read_only_token,
            expires_at=None,
        )
    return membership, token, secret
