"""Produce: validate and append record batches; answer per partition once acks are satisfied."""

from __future__ import annotations

import asyncio
import logging

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.broker.partition import AppendOutcome
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import AclOperation, ResourceType

log = logging.getLogger(__name__)


async def _append(
    ctx: RequestContext, topic: str, index: int, records: object, request: dict
) -> AppendOutcome:
    acks = request["acks"]
    if acks not in (-1, 0, 1):
        return AppendOutcome(ErrorCode.INVALID_REQUIRED_ACKS)
    outcome = await ctx.broker.replicas.append(topic, index, records, acks, request["timeout_ms"])
    if outcome.error:
        log.info(
            "produce rejected",
            extra={
                "topic": topic,
                "partition": index,
                "error": outcome.error.name,
                "reason": outcome.message,
                "client": ctx.peer,
            },
        )
    return outcome


async def _refused(code: ErrorCode) -> AppendOutcome:
    return AppendOutcome(code)


def _authorized_topics(ctx: RequestContext, request: dict) -> tuple[set[str], ErrorCode]:
    """The topics this request may write to, and the error for the others, as Kafka decides:
    a transactional producer needs Write on its transactional id (or nothing is written), every
    producer Write on each topic."""
    names = {topic_data["name"] for topic_data in request["topic_data"]}
    transactional_id = request.get("transactional_id")
    if transactional_id is not None and not authorization.authorize(
        ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactional_id
    ):
        return set(), ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    allowed = authorization.authorized_names(ctx, AclOperation.WRITE, ResourceType.TOPIC, names)
    return allowed, ErrorCode.TOPIC_AUTHORIZATION_FAILED


async def handle_produce(ctx: RequestContext, request: dict) -> dict | None:
    allowed, refusal = _authorized_topics(ctx, request)
    # Every partition is appended before any waits for replication, so the waits overlap.
    outcomes = iter(
        await asyncio.gather(
            *(
                _append(ctx, topic_data["name"], data["index"], data["records"], request)
                if topic_data["name"] in allowed
                else _refused(refusal)
                for topic_data in request["topic_data"]
                for data in topic_data["partition_data"]
            )
        )
    )
    if request["acks"] == 0:
        return None
    topics = []
    for topic_data in request["topic_data"]:
        responses = []
        for data in topic_data["partition_data"]:
            outcome = next(outcomes)
            responses.append(
                {
                    "index": data["index"],
                    "error_code": outcome.error,
                    "base_offset": outcome.base_offset,
                    "log_append_time_ms": outcome.log_append_time,
                    "log_start_offset": outcome.log_start_offset,
                    "record_errors": [],
                    "error_message": outcome.message,
                }
            )
        topics.append({"name": topic_data["name"], "partition_responses": responses})
    return {"responses": topics, "throttle_time_ms": 0}
