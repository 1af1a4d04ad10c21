"""Requests whose path or query parameters hold a NUL character are refused with 400 before any view
runs: no identifier or filter holds one, and PostgreSQL refuses it in text (a server error
otherwise, wherever a view passes such a value to a query)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse

NUL = "\x00"
MESSAGE = "The request's path or query holds a NUL character."


class RefuseNulCharacters:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.GET
        if NUL in request.path or any(
            NUL in key or any(NUL in value for value in query.getlist(key)) for key in query
        ):
            if request.path.startswith("/api/"):
                body = {"code": "malformed_request", "message": MESSAGE, "errors": {}}
                return JsonResponse(body, status=400)
            return HttpResponseBadRequest(MESSAGE)
        return self.get_response(request)
