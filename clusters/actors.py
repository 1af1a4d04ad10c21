"""Who is acting: a signed-in member or an API token, always within one organisation."""

from __future__ import annotations

from dataclasses import dataclass

from clusters.models import ApiToken, Membership, Organisation


@dataclass(frozen=True)
class Actor:
    organisation: Organisation
    label: str  # recorded in the audit log and on operations
    can_write: bool
    user_id: int | None = None

    @classmethod
    def for_member(cls, membership: Membership) -> Actor:
        return cls(
            organisation=membership.organisation,
            label=f"user:{membership.user.get_username()}",
            can_write=membership.can_write,
            user_id=membership.user_id,
        )

    @classmethod
    def for_token(cls, token: ApiToken) -> Actor:
        return cls(
            organisation=token.organisation,
            label=f"token:{token.name} ({token.prefix})",
            can_write=not token.read_only,
            user_id=token.created_by_id,
        )


class PermissionDenied(Exception):
    """The actor may read but not change this organisation's objects."""


def require_write(actor: Actor) -> None:
    if not actor.can_write:
        raise PermissionDenied(f"{actor.label} has read-only access")
