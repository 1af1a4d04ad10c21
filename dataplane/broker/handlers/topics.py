"""CreateTopics, DeleteTopics and CreatePartitions.

With authorization, as Kafka: creating needs Create on the cluster or the topic, deleting Delete on
the topic, adding partitions Alter on the topic; refusals are TOPIC_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

import logging

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.config import ConfigError, validate_topic_configs
from dataplane.metadata.base import MetadataError, validate_topic_name
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import AclOperation, ResourceType

log = logging.getLogger(__name__)


def _result(name: str, code: ErrorCode, message: str | None = None) -> dict:
    return {"name": name, "error_code": code, "error_message": message}


def _unauthorized(name: str) -> dict:
    return _result(name, ErrorCode.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed")


async def _create_one(ctx: RequestContext, topic: dict, validate_only: bool) -> dict:
    broker = ctx.broker
    name = topic["name"]
    invalid_name = validate_topic_name(name)
    if invalid_name:
        return _result(name, ErrorCode.INVALID_TOPIC_EXCEPTION, invalid_name)
    if name in broker.metadata.topics:
        return _result(name, ErrorCode.TOPIC_ALREADY_EXISTS, f"topic {name!r} already exists")
    assignment = {a["partition_index"]: a["broker_ids"] for a in topic["assignments"]}
    num_partitions = topic["num_partitions"]
    replication_factor = topic["replication_factor"]
    if assignment and (num_partitions != -1 or replication_factor != -1):
        return _result(
            name,
            ErrorCode.INVALID_REQUEST,
            "give either an assignment or partitions and replication factor, not both",
        )
    if not assignment:
        if num_partitions == -1:
            num_partitions = broker.config["num.partitions"]
        if num_partitions <= 0:
            return _result(name, ErrorCode.INVALID_PARTITIONS, "partitions must be at least 1")
        if replication_factor == -1:
            replication_factor = broker.config["default.replication.factor"]
        if replication_factor <= 0:
            return _result(
                name, ErrorCode.INVALID_REPLICATION_FACTOR, "replication factor must be at least 1"
            )
    try:
        configs = validate_topic_configs({c["name"]: c["value"] for c in topic["configs"]})
    except ConfigError as exc:
        return _result(name, ErrorCode.INVALID_CONFIG, str(exc))
    if validate_only:
        return _result(name, ErrorCode.NONE)
    try:
        await broker.create_topic(
            name, num_partitions, replication_factor, configs, assignment or None
        )
    except MetadataError as exc:
        return _result(name, ErrorCode(exc.code), str(exc))
    return _result(name, ErrorCode.NONE)


async def handle_create_topics(ctx: RequestContext, request: dict) -> dict:
    seen: dict[str, int] = {}
    for topic in request["topics"]:
        seen[topic["name"]] = seen.get(topic["name"], 0) + 1
    creatable = authorization.may_create_topics(ctx, seen)
    results = []
    for topic in request["topics"]:
        if seen[topic["name"]] > 1:
            results.append(
                _result(topic["name"], ErrorCode.INVALID_REQUEST, "topic named more than once")
            )
            continue
        if topic["name"] not in creatable:
            results.append(_unauthorized(topic["name"]))
            continue
        results.append(await _create_one(ctx, topic, request["validate_only"]))
    return {"throttle_time_ms": 0, "topics": results}


async def handle_delete_topics(ctx: RequestContext, request: dict) -> dict:
    broker = ctx.broker
    deletable = authorization.authorized_names(
        ctx, AclOperation.DELETE, ResourceType.TOPIC, request["topic_names"]
    )
    responses = []
    for name in request["topic_names"]:
        if name not in deletable:
            responses.append(_unauthorized(name))
            continue
        if not broker.config["delete.topic.enable"]:
            code, message = ErrorCode.POLICY_VIOLATION, "delete.topic.enable is false"
        else:
            try:
                await broker.metadata.delete_topic(name)
                code, message = ErrorCode.NONE, None
                log.info("topic deleted", extra={"topic": name, "client": ctx.peer})
            except MetadataError as exc:
                code, message = ErrorCode(exc.code), str(exc)
        responses.append({"name": name, "error_code": code, "error_message": message})
    return {"throttle_time_ms": 0, "responses": responses}


async def handle_create_partitions(ctx: RequestContext, request: dict) -> dict:
    metadata = ctx.broker.metadata
    alterable = authorization.authorized_names(
        ctx, AclOperation.ALTER, ResourceType.TOPIC, (topic["name"] for topic in request["topics"])
    )
    results = []
    for topic in request["topics"]:
        name = topic["name"]
        if name not in alterable:
            results.append(_unauthorized(name))
            continue
        existing = metadata.topics.get(name)
        if existing is None:
            results.append(
                _result(name, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"no topic {name!r}")
            )
            continue
        if topic["count"] <= len(existing.partitions):
            results.append(
                _result(
                    name,
                    ErrorCode.INVALID_PARTITIONS,
                    f"topic has {len(existing.partitions)} partitions; {topic['count']} adds none",
                )
            )
            continue
        assignment = (
            [a["broker_ids"] for a in topic["assignments"]] if topic["assignments"] else None
        )
        if request["validate_only"]:
            results.append(_result(name, ErrorCode.NONE))
            continue
        try:
            await metadata.create_partitions(name, topic["count"], assignment)
            results.append(_result(name, ErrorCode.NONE))
        except MetadataError as exc:
            results.append(_result(name, ErrorCode(exc.code), str(exc)))
    return {"throttle_time_ms": 0, "results": results}
