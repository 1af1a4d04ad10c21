"""CreateAcls, DescribeAcls and DeleteAcls: admin clients manage the ACLs kept in metadata.

As Kafka's: without an authorizer every answer is SECURITY_DISABLED; creating and deleting need Alter
on the cluster, describing needs Describe (else CLUSTER_AUTHORIZATION_FAILED); a binding or filter
that cannot be stored or matched is answered INVALID_REQUEST, on its own, while the others proceed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from enum import IntEnum
from typing import TypeVar

from kazoo.exceptions import KazooException

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.metadata.base import MetadataError
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import (
    AccessControlEntry,
    AccessControlEntryFilter,
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    InvalidAcl,
    PatternType,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    validate_binding,
    validate_filter,
)

log = logging.getLogger(__name__)

NO_AUTHORIZER = "No Authorizer is configured on the broker"
E = TypeVar("E", bound=IntEnum)
_STORE_ERRORS = (MetadataError, KazooException, OSError)


def _enum(enum: type[E], value: int) -> E:
    """A wire code as its enum member; a code this broker does not know reads as UNKNOWN (0), as
    Kafka reads it."""
    try:
        return enum(value)
    except ValueError:
        return enum(0)


def _binding(creation: dict) -> AclBinding:
    return AclBinding(
        ResourcePattern(
            _enum(ResourceType, creation["resource_type"]),
            creation["resource_name"],
            _enum(PatternType, creation["resource_pattern_type"]),
        ),
        AccessControlEntry(
            creation["principal"],
            creation["host"],
            _enum(AclOperation, creation["operation"]),
            _enum(AclPermissionType, creation["permission_type"]),
        ),
    )


def _filter(wire: dict) -> AclBindingFilter:
    return AclBindingFilter(
        ResourcePatternFilter(
            _enum(ResourceType, wire["resource_type_filter"]),
            wire["resource_name_filter"],
            _enum(PatternType, wire["pattern_type_filter"]),
        ),
        AccessControlEntryFilter(
            wire["principal_filter"],
            wire["host_filter"],
            _enum(AclOperation, wire["operation"]),
            _enum(AclPermissionType, wire["permission_type"]),
        ),
    )


def _refusal(ctx: RequestContext, operation: AclOperation) -> tuple[ErrorCode, str] | None:
    """Why this request may not be served at all, or None."""
    if not authorization.enabled(ctx):
        return ErrorCode.SECURITY_DISABLED, NO_AUTHORIZER
    if not authorization.authorize_cluster(ctx, operation):
        return ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed"
    return None


async def handle_create_acls(ctx: RequestContext, request: dict) -> dict:
    creations = request["creations"]
    refusal = _refusal(ctx, AclOperation.ALTER)
    if refusal is not None:
        code, message = refusal
        results = [{"error_code": code, "error_message": message} for _ in creations]
        return {"throttle_time_ms": 0, "results": results}
    results = []
    valid: list[tuple[dict, AclBinding]] = []
    for creation in creations:
        result = {"error_code": ErrorCode.NONE, "error_message": None}
        results.append(result)
        binding = _binding(creation)
        try:
            validate_binding(binding)
        except InvalidAcl as exc:
            result.update(error_code=ErrorCode.INVALID_REQUEST, error_message=str(exc))
            continue
        valid.append((result, binding))
    if valid:
        assert ctx.broker.metadata is not None
        try:
            await ctx.broker.metadata.create_acls([binding for _, binding in valid])
        except _STORE_ERRORS as exc:
            log.warning("ACLs not created", extra={"error": repr(exc), "client": ctx.peer})
            for result, _ in valid:
                result.update(error_code=ErrorCode.UNKNOWN_SERVER_ERROR, error_message=str(exc))
        else:
            log.info(
                "ACLs created",
                extra={
                    "acls": [_describe_binding(binding) for _, binding in valid],
                    "by": ctx.principal,
                    "client": ctx.peer,
                },
            )
    return {"throttle_time_ms": 0, "results": results}


async def handle_describe_acls(ctx: RequestContext, request: dict) -> dict:
    response: dict = {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "resources": [],
    }
    refusal = _refusal(ctx, AclOperation.DESCRIBE)
    if refusal is not None:
        response["error_code"], response["error_message"] = refusal
        return response
    binding_filter = _filter(request)
    try:
        validate_filter(binding_filter)
    except InvalidAcl as exc:
        response.update(error_code=ErrorCode.INVALID_REQUEST, error_message=str(exc))
        return response
    assert ctx.broker.metadata is not None
    by_pattern: dict[ResourcePattern, list[AccessControlEntry]] = defaultdict(list)
    for binding in ctx.broker.metadata.acls.bindings(binding_filter):
        by_pattern[binding.pattern].append(binding.entry)
    response["resources"] = [
        {
            "resource_type": pattern.resource_type,
            "resource_name": pattern.name,
            "pattern_type": pattern.pattern_type,
            "acls": [
                {
                    "principal": entry.principal,
                    "host": entry.host,
                    "operation": entry.operation,
                    "permission_type": entry.permission,
                }
                for entry in sorted(entries, key=_entry_order)
            ],
        }
        for pattern, entries in sorted(by_pattern.items(), key=lambda item: _pattern_order(item[0]))
    ]
    return response


async def handle_delete_acls(ctx: RequestContext, request: dict) -> dict:
    filters = request["filters"]
    refusal = _refusal(ctx, AclOperation.ALTER)
    if refusal is not None:
        code, message = refusal
        results = [
            {"error_code": code, "error_message": message, "matching_acls": []} for _ in filters
        ]
        return {"throttle_time_ms": 0, "filter_results": results}
    results = []
    valid: list[tuple[dict, AclBindingFilter]] = []
    for wire in filters:
        result = {"error_code": ErrorCode.NONE, "error_message": None, "matching_acls": []}
        results.append(result)
        binding_filter = _filter(wire)
        try:
            validate_filter(binding_filter)
        except InvalidAcl as exc:
            result.update(error_code=ErrorCode.INVALID_REQUEST, error_message=str(exc))
            continue
        valid.append((result, binding_filter))
    if valid:
        assert ctx.broker.metadata is not None
        try:
            deleted = await ctx.broker.metadata.delete_acls([f for _, f in valid])
        except _STORE_ERRORS as exc:
            log.warning("ACLs not deleted", extra={"error": repr(exc), "client": ctx.peer})
            for result, _ in valid:
                result.update(error_code=ErrorCode.UNKNOWN_SERVER_ERROR, error_message=str(exc))
        else:
            for (result, _), bindings in zip(valid, deleted, strict=True):
                result["matching_acls"] = [_matching_acl(b) for b in bindings]
            log.info(
                "ACLs deleted",
                extra={
                    "acls": sorted(
                        {_describe_binding(b) for bindings in deleted for b in bindings}
                    ),
                    "by": ctx.principal,
                    "client": ctx.peer,
                },
            )
    return {"throttle_time_ms": 0, "filter_results": results}


def _matching_acl(binding: AclBinding) -> dict:
    return {
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "resource_type": binding.pattern.resource_type,
        "resource_name": binding.pattern.name,
        "pattern_type": binding.pattern.pattern_type,
        "principal": binding.entry.principal,
        "host": binding.entry.host,
        "operation": binding.entry.operation,
        "permission_type": binding.entry.permission,
    }


def _describe_binding(binding: AclBinding) -> str:
    pattern, entry = binding.pattern, binding.entry
    return (
        f"{entry.permission.name} {entry.principal} from {entry.host} {entry.operation.name} on "
        f"{pattern.resource_type.name}:{pattern.pattern_type.name}:{pattern.name}"
    )


def _pattern_order(pattern: ResourcePattern) -> tuple:
    return (pattern.resource_type, pattern.pattern_type, pattern.name)


def _entry_order(entry: AccessControlEntry) -> tuple:
    return (entry.principal, entry.host, entry.operation, entry.permission)
