"""Produce: validate and append record batches; answer per partition once acks are satisfied."""

from __future__ import annotations

import logging

from dataplane.broker.context import RequestContext
from dataplane.protocol.errors import ErrorCode

log = logging.getLogger(__name__)


async def handle_produce(ctx: RequestContext, request: dict) -> dict | None:
    acks = request["acks"]
    replicas = ctx.broker.replicas
    topics = []
    appended = []
    for topic_data in request["topic_data"]:
        name = topic_data["name"]
        responses = []
        for partition_data in topic_data["partition_data"]:
            index = partition_data["index"]
            response = {
                "index": index,
                "error_code": ErrorCode.NONE,
                "base_offset": -1,
                "log_append_time_ms": -1,
                "log_start_offset": -1,
                "record_errors": [],
                "error_message": None,
            }
            responses.append(response)
            partition = replicas.get(name, index)
            if acks not in (-1, 0, 1):
                response["error_code"] = ErrorCode.INVALID_REQUIRED_ACKS
                continue
            if partition is None:
                response["error_code"] = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                continue
            outcome = partition.append(partition_data["records"])
            response["error_code"] = outcome.error
            response["error_message"] = outcome.message
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
                continue
            response["base_offset"] = outcome.base_offset
            response["log_append_time_ms"] = outcome.log_append_time
            response["log_start_offset"] = partition.log.log_start_offset
            appended.append(partition)
        topics.append({"name": name, "partition_responses": responses})
    for partition in appended:
        await replicas.flush_if_due(partition.log)
    if acks == 0:
        return None
    return {"responses": topics, "throttle_time_ms": 0}
