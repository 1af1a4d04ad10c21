"""Authorization of requests: who asks (the context's principal, from the peer's address) checked
against the ACLs in metadata, as Kafka's KafkaApis checks them.

With `authorizer.class.name` empty every check passes (no authorization). Otherwise the decision is
dataplane.security.acl's, under the broker's `super.users` and `allow.everyone.if.no.acl.found`.
Denials are logged, as Kafka's authorizer logs them, except where Kafka filters quietly (topics a
principal may not describe are left out of a full Metadata answer, groups out of ListGroups).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from dataplane.broker.context import RequestContext
from dataplane.security.acl import CLUSTER_NAME, AclOperation, Authorizer, ResourceType

log = logging.getLogger(__name__)


def enabled(ctx: RequestContext) -> bool:
    """Is authorization on (authorizer.class.name set)?"""
    return ctx.broker.config.authorizer_enabled


def client_host(ctx: RequestContext) -> str:
    """The address ACL hosts are matched against: the peer's IP address, without its port."""
    return ctx.peer.rpartition(":")[0] or ctx.peer


def _authorizer(ctx: RequestContext) -> Authorizer:
    assert ctx.broker.metadata is not None
    acls = ctx.broker.metadata.acls
    # The metadata store keeps the bindings current; the policy is this broker's static config.
    config = ctx.broker.config
    acls.super_users = config.super_users
    acls.allow_everyone_if_no_acl_found = config["allow.everyone.if.no.acl.found"]
    return acls


def authorize(
    ctx: RequestContext,
    operation: AclOperation,
    resource_type: ResourceType,
    name: str,
    log_denied: bool = True,
) -> bool:
    """May the requester do `operation` on resource `name` of `resource_type`?"""
    if not enabled(ctx):
        return True
    host = client_host(ctx)
    allowed = _authorizer(ctx).authorize(ctx.principal, host, operation, resource_type, name)
    if not allowed and log_denied:
        log.info(
            "request denied",
            extra={
                "principal": ctx.principal,
                "host": host,
                "operation": operation.name,
                "resource": f"{resource_type.name}:{name}",
                "api_key": ctx.header.api_key,
            },
        )
    return allowed


def authorize_cluster(
    ctx: RequestContext, operation: AclOperation, log_denied: bool = True
) -> bool:
    """May the requester do `operation` on the cluster?"""
    return authorize(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME, log_denied)


def authorized_names(
    ctx: RequestContext,
    operation: AclOperation,
    resource_type: ResourceType,
    names: Iterable[str],
    log_denied: bool = True,
) -> set[str]:
    """Those of `names` the requester may do `operation` on (each decided once)."""
    return {
        name for name in set(names) if authorize(ctx, operation, resource_type, name, log_denied)
    }


def may_create_topics(ctx: RequestContext, names: Iterable[str]) -> set[str]:
    """Those of `names` the requester may create: all with Create on the cluster, else those with
    Create on the topic, as Kafka decides for CreateTopics and auto-creation."""
    names = set(names)
    if not names or authorize_cluster(ctx, AclOperation.CREATE, log_denied=False):
        return names
    return authorized_names(ctx, AclOperation.CREATE, ResourceType.TOPIC, names)


def authorize_idempotent_write(ctx: RequestContext) -> bool:
    """May the requester be an idempotent producer: IdempotentWrite on the cluster, or Write on any
    topic (KIP-679)?"""
    if not enabled(ctx):
        return True
    allowed = _authorizer(ctx).authorize_idempotent_write(ctx.principal, client_host(ctx))
    if not allowed:
        log.info(
            "request denied",
            extra={
                "principal": ctx.principal,
                "host": client_host(ctx),
                "operation": AclOperation.IDEMPOTENT_WRITE.name,
                "resource": f"{ResourceType.CLUSTER.name}:{CLUSTER_NAME}",
                "api_key": ctx.header.api_key,
            },
        )
    return allowed


# The operations Kafka reports on each resource type (AclEntry.supportedOperations).
_SUPPORTED_OPERATIONS = {
    ResourceType.TOPIC: (
        AclOperation.READ,
        AclOperation.WRITE,
        AclOperation.CREATE,
        AclOperation.DESCRIBE,
        AclOperation.DELETE,
        AclOperation.ALTER,
        AclOperation.DESCRIBE_CONFIGS,
        AclOperation.ALTER_CONFIGS,
    ),
    ResourceType.GROUP: (AclOperation.READ, AclOperation.DESCRIBE, AclOperation.DELETE),
    ResourceType.CLUSTER: (
        AclOperation.CREATE,
        AclOperation.CLUSTER_ACTION,
        AclOperation.DESCRIBE_CONFIGS,
        AclOperation.ALTER_CONFIGS,
        AclOperation.IDEMPOTENT_WRITE,
        AclOperation.ALTER,
        AclOperation.DESCRIBE,
    ),
}


def authorized_operations(ctx: RequestContext, resource_type: ResourceType, name: str) -> int:
    """Kafka's authorized-operations bit field (bit n: the operation with code n) for Metadata and
    DescribeGroups: every supported operation without an authorizer, else those allowed."""
    allowed = [
        operation
        for operation in _SUPPORTED_OPERATIONS[resource_type]
        if authorize(ctx, operation, resource_type, name, log_denied=False)
    ]
    return sum(1 << operation for operation in allowed)
