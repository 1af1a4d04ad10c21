"""The routes the control plane serves, found by walking Django's URL resolver and the websocket
router of the ASGI application, so tests that check every route cover routes added later."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

# A route parameter in Django's and Channels' path syntax: <converter:name> or <name>.
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
# Django's admin is for staff only and checks that itself (non-staff are sent to its own login).
EXCLUDED_PREFIXES = ("admin/",)


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "api/v1/clusters/<uuid:cluster_id>/"
    callback: Callable

    @property
    def parameters(self) -> list[str]:
        return [m.group("name") for m in PARAMETER.finditer(self.template)]

    @property
    def is_api(self) -> bool:
        return self.template.startswith("api/")

    @property
    def view_class(self) -> type | None:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    def methods(self) -> list[str]:
        """The methods the view serves (GET and POST for a function view)."""
        view_class = self.view_class
        if view_class is None:
            return ["get", "post"]
        return [
            m
            for m in view_class.http_method_names
            if m not in ("options", "head", "trace") and hasattr(view_class, m)
        ]

    def member_checked(self) -> bool:
        """Whether the route admits organisation members (rather than, say, a node credential)."""
        from clusters.permissions import OrganisationMember

        view_class = self.view_class
        if view_class is None or not hasattr(view_class, "permission_classes"):
            return True
        return any(issubclass(p, OrganisationMember) for p in view_class.permission_classes)

    def url(self, values: dict[str, str]) -> str:
        """The route's path with `values` for its parameters. Any parameter without a value gets a
        placeholder of its converter's kind: the route is still checked through the parameters it
        has real objects for (its cluster, say), which must be at least one."""
        if self.parameters and not set(self.parameters) & set(values):
            pytest.fail(
                f"/{self.template} names no object the test has: give the test an object for "
                f"one of {self.parameters}"
            )

        def value(match: re.Match) -> str:
            name = match.group("name")
            if name in values:
                return str(values[name])
            return PLACEHOLDERS.get(match.group("converter") or "str", "unknown")

        return "/" + PARAMETER.sub(value, self.template)


# Values for parameters that name no object of this test, by converter.
PLACEHOLDERS = {"uuid": "00000000-0000-4000-8000-000000000000", "int": "1", "path": "un/known"}


def http_routes() -> list[Route]:
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix: str) -> Iterator[Route]:
        for pattern in patterns:
            template = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, template)
            elif isinstance(pattern, URLPattern):
                yield Route(template, pattern.callback)

    return [
        route
        for route in walk(get_resolver().url_patterns, "")
        if not route.template.startswith(EXCLUDED_PREFIXES)
    ]


def websocket_routes() -> list[Route]:
    """The routes of the websocket router the ASGI application serves, under its middleware."""
    from channels.routing import URLRouter

    from controlplane.asgi import application

    app = application.application_mapping["websocket"]
    while not isinstance(app, URLRouter):
        app = getattr(app, "inner", None) or app.application

    def walk(router: URLRouter, prefix: str) -> Iterator[Route]:
        for route in router.routes:
            template = prefix + str(route.pattern)
            if isinstance(route.callback, URLRouter):
                yield from walk(route.callback, template)
            else:
                yield Route(template, route.callback)

    return list(walk(app, ""))
