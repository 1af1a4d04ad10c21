"""Who may call the API, applied to every view through DRF's default permission classes.

The caller must be a member of an organisation (signed in) or hold one of its usable API tokens.
Changes (any method but GET, HEAD and OPTIONS) need a writer: an owner or admin, or a token that is
not read-only. Objects of another organisation do not exist for the caller: views look them up
through the organisation-scoped selectors, and `has_object_permission` refuses with 404 any object
a generic view fetched that belongs elsewhere.
"""

from __future__ import annotations

from django.db import models
from django.http import Http404
from rest_framework import permissions
from rest_framework.request import Request

from clusters.actors import Actor
from clusters.models import ApiToken, Membership


def actor_for(request: Request) -> Actor | None:
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


def organisation_id_of(obj: models.Model) -> int | None:
    """The organisation an object belongs to: its own, or its cluster's; None for shared objects
    (the catalogue)."""
    if hasattr(obj, "organisation_id"):
        return obj.organisation_id
    cluster = getattr(obj, "cluster", None)
    if cluster is not None:
        return cluster.organisation_id
    return None


class OrganisationMember(permissions.BasePermission):
    message = "This needs a member of an organisation with write access."

    def has_permission(self, request: Request, view) -> bool:
        actor = actor_for(request)
        if actor is None:
            return False
        return request.method in permissions.SAFE_METHODS or actor.can_write

    def has_object_permission(self, request: Request, view, obj: models.Model) -> bool:
        owner = organisation_id_of(obj)
        if owner is not None and owner != actor_for(request).organisation.pk:
            raise Http404("Not found.")
        return True
