"""Fetch: read batches for consumers (up to the high watermark) and followers (up to the log end),
waiting up to max_wait_ms for min_bytes without polling: appends wake the waiting request."""

from __future__ import annotations

import asyncio
import contextlib
import time

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.broker.partition import Partition
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import AclOperation, ResourceType

FETCH_SESSION_ID_NOT_FOUND = 70


def _partition_response(index: int, error: ErrorCode, partition: Partition | None = None) -> dict:
    hw = partition.high_watermark if partition else -1
    return {
        "partition_index": index,
        "error_code": error,
        "high_watermark": hw,
        "last_stable_offset": hw,
        "log_start_offset": partition.log.log_start_offset if partition else -1,
        "aborted_transactions": None,
        "preferred_read_replica": -1,
        "records": b"",
    }


def _divergence(partition: Partition, last_fetched_epoch: int, fetch_offset: int) -> dict | None:
    """Where a fetcher's log stops matching ours (KIP-320), or None if it matches."""
    if last_fetched_epoch < 0:
        return None
    epoch, end_offset = partition.log.end_offset_for_epoch(last_fetched_epoch)
    if epoch < last_fetched_epoch or end_offset < fetch_offset:
        return {"epoch": epoch, "end_offset": end_offset}
    return None


def _readable_topics(ctx: RequestContext, request: dict) -> set[str]:
    """The topics this fetch may read, as Kafka decides: a follower needs ClusterAction on the
    cluster (or reads nothing), a consumer Read on each topic."""
    names = {topic["topic"] for topic in request["topics"]}
    if request["replica_id"] >= 0:
        return names if authorization.authorize_cluster(ctx, AclOperation.CLUSTER_ACTION) else set()
    return authorization.authorized_names(ctx, AclOperation.READ, ResourceType.TOPIC, names)


def _read(
    ctx: RequestContext, request: dict, readable: set[str]
) -> tuple[list[dict], int, list[Partition], bool]:
    """One pass over the requested partitions: (topics, bytes read, partitions read, any error)."""
    replicas = ctx.broker.replicas
    is_follower = request["replica_id"] >= 0
    budget = request.get("max_bytes", 0x7FFFFFFF)
    total = 0
    had_error = False
    partitions: list[Partition] = []
    topics = []
    for topic in request["topics"]:
        name = topic["topic"]
        responses = []
        for wanted in topic["partitions"]:
            index = wanted["partition"]
            if name not in readable:
                responses.append(_partition_response(index, ErrorCode.TOPIC_AUTHORIZATION_FAILED))
                had_error = True
                continue
            partition = replicas.get(name, index)
            if partition is None:
                responses.append(_partition_response(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION))
                had_error = True
                continue
            error = ErrorCode.NONE if partition.is_leader else ErrorCode.NOT_LEADER_OR_FOLLOWER
            error = error or partition.check_leader_epoch(wanted.get("current_leader_epoch", -1))
            offset = wanted["fetch_offset"]
            log = partition.log
            diverging = None
            if not error:
                # Divergence first: a fetcher past our log end may simply hold a tail we never had.
                diverging = _divergence(partition, wanted.get("last_fetched_epoch", -1), offset)
            if not error and diverging is None:
                if not log.log_start_offset <= offset <= log.log_end_offset:
                    error = ErrorCode.OFFSET_OUT_OF_RANGE
                elif is_follower:
                    # Before the response takes the high watermark: this fetch may advance it.
                    replicas.follower_fetched(partition, request["replica_id"], offset)
            response = _partition_response(index, error, partition)
            responses.append(response)
            if error:
                had_error = True
                continue
            partitions.append(partition)
            if diverging is not None:
                # Offsets past the divergence point are not the leader's: they prove nothing.
                response["diverging_epoch"] = diverging
                continue
            upper = log.log_end_offset if is_follower else partition.high_watermark
            limit = min(wanted["partition_max_bytes"], budget - total)
            if limit <= 0:
                continue
            throttled = is_follower and replicas.leader_throttled(partition, request["replica_id"])
            if throttled and not replicas.leader_throttle.open():
                continue  # over the rate: the follower gets nothing this time and asks again
            data = log.read(offset, limit, upper, min_one_batch=total == 0)
            if throttled:
                replicas.leader_throttle.spend(len(data))
            response["records"] = data
            total += len(data)
        topics.append({"topic": name, "partitions": responses})
    return topics, total, partitions, had_error


def _record_bytes_out(
    ctx: RequestContext, is_follower: bool, topics: list[dict], total: int
) -> None:
    """Count what this response carries, as Kafka does once the response is ready: replication
    for a follower, bytes out of each topic for a consumer."""
    stats = ctx.broker.stats
    if is_follower:
        stats.replication_bytes_out += total
        return
    for topic in topics:
        size = sum(len(partition["records"]) for partition in topic["partitions"])
        if size:
            stats.record_fetched(topic["topic"], size)


async def handle_fetch(ctx: RequestContext, request: dict) -> dict:
    if request.get("session_id", 0) != 0:
        # Sessions are declined (we always answer session_id 0), so no client holds one of ours.
        return {
            "throttle_time_ms": 0,
            "error_code": FETCH_SESSION_ID_NOT_FOUND,
            "session_id": 0,
            "responses": [],
        }
    readable = _readable_topics(ctx, request)
    deadline = time.monotonic() + request["max_wait_ms"] / 1000
    while True:
        topics, total, partitions, had_error = _read(ctx, request, readable)
        remaining = deadline - time.monotonic()
        if total >= request["min_bytes"] or had_error or remaining <= 0 or not partitions:
            break
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for partition in partitions:
            partition.add_waiter(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await waiter
        finally:
            for partition in partitions:
                partition.remove_waiter(waiter)
    if total and ctx.broker.stats.recording:
        _record_bytes_out(ctx, request["replica_id"] >= 0, topics, total)
    return {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE,
        "session_id": 0,
        "responses": topics,
    }
