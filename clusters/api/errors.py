"""Every API error has the same shape: {"code": ..., "message": ..., "errors": {field: [...]}}."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from clusters.actors import PermissionDenied
from clusters.errors import ServiceError

CODES = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def exception_handler(exc, context):
    if isinstance(exc, ServiceError):
        return Response(
            {"code": exc.code, "message": exc.message, "errors": exc.field_errors},
            status=exc.status,
        )
    if isinstance(exc, PermissionDenied):
        return Response(
            {"code": "permission_denied", "message": str(exc), "errors": {}},
            status=status.HTTP_403_FORBIDDEN,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for kind, c in CODES.items() if isinstance(exc, kind)), "error")
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {"code": code, "message": "The request is invalid.", "errors": detail}
    else:
        response.data = {"code": code, "message": str(exc.detail), "errors": {}}
    return response
