"""Request latency for the control plane's own metrics."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from monitoring.prometheus import API_LATENCY


class RequestMetrics:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        # The route pattern, not the path: ids in paths would make a series per object.
        route = match.route if match is not None else "unmatched"
        API_LATENCY.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
