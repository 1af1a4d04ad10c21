"""Metadata: brokers, controller and topic/partition leadership; auto-creates topics on request."""

from __future__ import annotations

from dataplane.broker.context import RequestContext
from dataplane.metadata.base import MetadataError, TopicMetadata, validate_topic_name
from dataplane.protocol.errors import ErrorCode


def _topic_entry(ctx: RequestContext, topic: TopicMetadata) -> dict:
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
    }


def _missing_entry(name: str | None, code: ErrorCode, topic_id: bytes = bytes(16)) -> dict:
    return {"error_code": code, "name": name, "topic_id": topic_id, "partitions": []}


async def handle_metadata(ctx: RequestContext, request: dict) -> dict:
    broker = ctx.broker
    metadata = broker.metadata
    requested = request["topics"]
    entries = []
    if requested is None or (ctx.version == 0 and not requested):
        entries = [_topic_entry(ctx, topic) for topic in metadata.topics.values()]
    else:
        may_create = (
            request.get("allow_auto_topic_creation", True)
            and broker.config["auto.create.topics.enable"]
        )
        by_id = {topic.topic_id: topic for topic in metadata.topics.values()}
        for wanted in requested:
            name = wanted["name"]
            if name is None:
                topic = by_id.get(wanted["topic_id"])
                entries.append(
                    _topic_entry(ctx, topic)
                    if topic
                    else _missing_entry(None, ErrorCode.UNKNOWN_TOPIC_ID, wanted["topic_id"])
                )
                continue
            topic = metadata.topics.get(name)
            if topic is None and validate_topic_name(name) is not None:
                entries.append(_missing_entry(name, ErrorCode.INVALID_TOPIC_EXCEPTION))
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
                entries.append(_topic_entry(ctx, topic))
    brokers = []
    for b in metadata.brokers.values():
        host, port = ctx.broker.endpoint(ctx.listener, b)
        brokers.append({"node_id": b.broker_id, "host": host, "port": port, "rack": b.rack})
    return {
        "throttle_time_ms": 0,
        "brokers": brokers,
        "cluster_id": metadata.cluster_id,
        "controller_id": metadata.controller_id,
        "topics": entries,
    }
