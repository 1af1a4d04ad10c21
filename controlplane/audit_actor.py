"""Membership changes made while serving a signed-in user's request (Django's admin, say) are
audited as that user's, not as the platform's."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from clusters.audit import acting


class ActingUser:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        with acting(f"user:{user.get_username()}"):
            return self.get_response(request)
