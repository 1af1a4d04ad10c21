"""The caller must belong to an organisation; writes need a writer role or a read-write token."""

from __future__ import annotations

from rest_framework import permissions

from clusters.actors import Actor
from clusters.models import ApiToken, Membership


def actor_for(request) -> Actor | None:
    """The acting member or token of a request, cached on it."""
    if hasattr(request, "_actor"):
        return request._actor
    actor = None
    auth = getattr(request, "auth", None)
    if isinstance(auth, ApiToken):
        actor = Actor.for_token(auth)
    elif request.user and request.user.is_authenticated:
        membership = (
            Membership.objects.select_related("organisation", "user")
            .filter(user=request.user)
            .first()
        )
        if membership:
            actor = Actor.for_member(membership)
    request._actor = actor
    return actor


class OrganisationMember(permissions.BasePermission):
    message = "This needs a member of an organisation with write access."

    def has_permission(self, request, view) -> bool:
        actor = actor_for(request)
        if actor is None:
            return False
        return request.method in permissions.SAFE_METHODS or actor.can_write
