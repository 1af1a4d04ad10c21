"""Produce: validate and append record batches; answer per partition once acks are satisfied."""

from __future__ import annotations

import logging

from dataplane.broker.context import RequestContext
from dataplane.broker.partition import AppendOutcome
from dataplane.protocol.errors import ErrorCode

log = logging.getLogger(__name__)


async def handle_produce(ctx: RequestContext, request: dict) -> dict | None:
    acks = request["acks"]
    replicas = ctx.broker.replicas
    topics = []
    for topic_data in request["topic_data"]:
        name = topic_data["name"]
        responses = []
        for partition_data in topic_data["partition_data"]:
            index = partition_data["index"]
            if acks not in (-1, 0, 1):
                outcome = AppendOutcome(ErrorCode.INVALID_REQUIRED_ACKS)
            else:
                outcome = await replicas.append(name, index, partition_data["records"], acks)
            if outcome.error:
                log.info(
                    "produce rejected",
                    extra={
                        "topic": name,
                        "partition": index,
                        "error": outcome.error.name,
                        "reason": outcome.message,
                        "client": ctx.peer,
                    },
                )
            responses.append(
                {
                    "index": index,
                    "error_code": outcome.error,
                    "base_offset": outcome.base_offset,
                    "log_append_time_ms": outcome.log_append_time,
                    "log_start_offset": outcome.log_start_offset,
                    "record_errors": [],
                    "error_message": outcome.message,
                }
            )
        topics.append({"name": name, "partition_responses": responses})
    if acks == 0:
        return None
    return {"responses": topics, "throttle_time_ms": 0}
