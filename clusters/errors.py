"""Service-layer errors with a stable code; the API and the console map them to responses."""

from __future__ import annotations


class ServiceError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class InvalidInput(ServiceError):
    code = "invalid"


class Conflict(ServiceError):
    code = "conflict"
    status = 409


class NotReady(ServiceError):
    """The object exists but is not in a state that allows this (e.g. topics on a creating cluster)."""

    code = "not_ready"
    status = 409


class ClusterUnreachable(ServiceError):
    code = "cluster_unreachable"
    status = 502
