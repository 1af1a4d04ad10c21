"""Metadata: brokers, controller and topic/partition leadership; auto-creates topics on request.

With authorization, as Kafka: a full listing leaves out topics the principal may not describe; a
topic asked for by name or id without Describe is answered TOPIC_AUTHORIZATION_FAILED (whether it
exists or not), and auto-creation also needs Create on the cluster or the topic.
"""

from __future__ import annotations

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.metadata.base import MetadataError, TopicMetadata, validate_topic_name
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import CLUSTER_NAME, AclOperation, ResourceType

UNREPORTED_OPERATIONS = -(2**31)  # Kafka's "not asked for" in the authorized-operations fields


def _topic_entry(ctx: RequestContext, topic: TopicMetadata, with_operations: bool = False) -> dict:
    live = ctx.broker.metadata.brokers
    partitions = []
    for index, state in sorted(topic.partitions.items()):
        leader_alive = state.leader in live
        partitions.append(
            {
                "error_code": ErrorCode.NONE if leader_alive else ErrorCode.LEADER_NOT_AVAILABLE,
                "partition_index": index,
                "leader_id": state.leader if leader_alive else -1,
                "leader_epoch": state.leader_epoch,
                "replica_nodes": state.replicas,
                "isr_nodes": state.isr,
                "offline_replicas": [r for r in state.replicas if r not in live],
            }
        )
    return {
        "error_code": ErrorCode.NONE,
        "name": topic.name,
        "topic_id": topic.topic_id,
        "is_internal": topic.internal,
        "partitions": partitions,
        "topic_authorized_operations": authorization.authorized_operations(
            ctx, ResourceType.TOPIC, topic.name
        )
        if with_operations
        else UNREPORTED_OPERATIONS,
    }


def _missing_entry(name: str | None, code: ErrorCode, topic_id: bytes = bytes(16)) -> dict:
    return {"error_code": code, "name": name, "topic_id": topic_id, "partitions": []}


async def handle_metadata(ctx: RequestContext, request: dict) -> dict:
    broker = ctx.broker
    metadata = broker.metadata
    requested = request["topics"]
    with_operations = request.get("include_topic_authorized_operations", False)
    entries = []
    if requested is None or (ctx.version == 0 and not requested):
        described = authorization.authorized_names(
            ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, metadata.topics, log_denied=False
        )
        entries = [
            _topic_entry(ctx, topic, with_operations)
            for topic in metadata.topics.values()
            if topic.name in described
        ]
    else:
        may_create = (
            request.get("allow_auto_topic_creation", True)
            and broker.config["auto.create.topics.enable"]
        )
        by_id = {topic.topic_id: topic for topic in metadata.topics.values()}
        names = [
            wanted["name"] or by_id[wanted["topic_id"]].name
            for wanted in requested
            if wanted["name"] is not None or wanted["topic_id"] in by_id
        ]
        described = authorization.authorized_names(
            ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, names
        )
        creatable = (
            authorization.may_create_topics(
                ctx, {name for name in described if name not in metadata.topics}
            )
            if may_create
            else set()
        )
        for wanted in requested:
            name = wanted["name"]
            if name is None:
                topic = by_id.get(wanted["topic_id"])
                if topic is None:
                    entries.append(
                        _missing_entry(None, ErrorCode.UNKNOWN_TOPIC_ID, wanted["topic_id"])
                    )
                elif topic.name not in described:
                    entries.append(_missing_entry(None, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                else:
                    entries.append(_topic_entry(ctx, topic, with_operations))
                continue
            if name not in described:
                entries.append(_missing_entry(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                continue
            topic = metadata.topics.get(name)
            if topic is None and validate_topic_name(name) is not None:
                entries.append(_missing_entry(name, ErrorCode.INVALID_TOPIC_EXCEPTION))
                continue
            if topic is None and may_create and name not in creatable:
                entries.append(_missing_entry(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                continue
            if topic is None and may_create:
                try:
                    topic = await broker.create_topic(name)
                except MetadataError as exc:
                    if exc.code != ErrorCode.TOPIC_ALREADY_EXISTS:
                        entries.append(_missing_entry(name, ErrorCode(exc.code)))
                        continue
                    topic = metadata.topics.get(name)
            if topic is None:
                entries.append(_missing_entry(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
            else:
                entries.append(_topic_entry(ctx, topic, with_operations))
    brokers = []
    for b in metadata.brokers.values():
        endpoint = ctx.broker.endpoint(ctx.listener, b)
        if endpoint is None:  # not reachable on this listener: left out, as Kafka does
            continue
        host, port = endpoint
        brokers.append({"node_id": b.broker_id, "host": host, "port": port, "rack": b.rack})
    return {
        "throttle_time_ms": 0,
        "brokers": brokers,
        "cluster_id": metadata.cluster_id,
        "controller_id": metadata.controller_id,
        "topics": entries,
        "cluster_authorized_operations": authorization.authorized_operations(
            ctx, ResourceType.CLUSTER, CLUSTER_NAME
        )
        if request.get("include_cluster_authorized_operations", False)
        else UNREPORTED_OPERATIONS,
    }
