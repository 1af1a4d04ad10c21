"""ListOffsets, OffsetForLeaderEpoch and DeleteRecords: questions and changes about log offsets."""

from __future__ import annotations

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.broker.partition import Partition
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import AclOperation, ResourceType

EARLIEST_TIMESTAMP = -2
LATEST_TIMESTAMP = -1
MAX_TIMESTAMP = -3


def _leader_partition(
    ctx: RequestContext, topic: str, index: int
) -> tuple[Partition | None, ErrorCode]:
    partition = ctx.broker.replicas.get(topic, index)
    if partition is None:
        return None, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
    if not partition.is_leader:
        return None, ErrorCode.NOT_LEADER_OR_FOLLOWER
    return partition, ErrorCode.NONE


def _list_offset(partition: Partition, timestamp: int, from_replica: bool) -> tuple[int, int]:
    log = partition.log
    if timestamp == EARLIEST_TIMESTAMP:
        return log.log_start_offset, -1
    if timestamp == LATEST_TIMESTAMP:
        # Followers ask for the log end; consumers for what is committed.
        return (log.log_end_offset if from_replica else partition.high_watermark), -1
    if timestamp == MAX_TIMESTAMP:
        offset, max_ts = log.max_timestamp()
        return (offset, max_ts) if offset < partition.high_watermark else (-1, -1)
    found = log.offset_for_timestamp(timestamp)
    if found is None or found[0] >= partition.high_watermark:
        return -1, -1
    return found


def _topics_allowed(
    ctx: RequestContext, operation: AclOperation, topics: list[dict], key: str
) -> set[str]:
    return authorization.authorized_names(
        ctx, operation, ResourceType.TOPIC, (topic[key] for topic in topics)
    )


async def handle_list_offsets(ctx: RequestContext, request: dict) -> dict:
    described = _topics_allowed(ctx, AclOperation.DESCRIBE, request["topics"], "name")
    topics = []
    for topic in request["topics"]:
        partitions = []
        for wanted in topic["partitions"]:
            index = wanted["partition_index"]
            result = {
                "partition_index": index,
                "error_code": ErrorCode.NONE,
                "timestamp": -1,
                "offset": -1,
                "leader_epoch": -1,
                "old_style_offsets": [],
            }
            partitions.append(result)
            if topic["name"] not in described:
                result["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                continue
            partition, error = _leader_partition(ctx, topic["name"], index)
            if partition is not None:
                error = partition.check_leader_epoch(wanted.get("current_leader_epoch", -1))
            if error:
                result["error_code"] = error
                continue
            offset, timestamp = _list_offset(
                partition, wanted["timestamp"], request["replica_id"] >= 0
            )
            result["offset"], result["timestamp"] = offset, timestamp
            result["leader_epoch"] = partition.log.epoch_for_offset(offset) if offset >= 0 else -1
        topics.append({"name": topic["name"], "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}


async def handle_offset_for_leader_epoch(ctx: RequestContext, request: dict) -> dict:
    # Followers ask with ClusterAction on the cluster; consumers (KIP-320) with Describe on topics.
    if authorization.authorize_cluster(ctx, AclOperation.CLUSTER_ACTION, log_denied=False):
        described = {topic["topic"] for topic in request["topics"]}
    else:
        described = _topics_allowed(ctx, AclOperation.DESCRIBE, request["topics"], "topic")
    topics = []
    for topic in request["topics"]:
        partitions = []
        for wanted in topic["partitions"]:
            index = wanted["partition"]
            result = {
                "error_code": ErrorCode.NONE,
                "partition": index,
                "leader_epoch": -1,
                "end_offset": -1,
            }
            partitions.append(result)
            if topic["topic"] not in described:
                result["error_code"] = ErrorCode.TOPIC_AUTHORIZATION_FAILED
                continue
            partition, error = _leader_partition(ctx, topic["topic"], index)
            if partition is not None:
                error = partition.check_leader_epoch(wanted.get("current_leader_epoch", -1))
            if error:
                result["error_code"] = error
                continue
            epoch, end_offset = partition.log.end_offset_for_epoch(wanted["leader_epoch"])
            result["leader_epoch"], result["end_offset"] = epoch, end_offset
        topics.append({"topic": topic["topic"], "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}


async def handle_delete_records(ctx: RequestContext, request: dict) -> dict:
    deletable = _topics_allowed(ctx, AclOperation.DELETE, request["topics"], "name")
    topics = []
    for topic in request["topics"]:
        partitions = []
        for wanted in topic["partitions"]:
            index = wanted["partition_index"]
            if topic["name"] in deletable:
                partition, error = _leader_partition(ctx, topic["name"], index)
            else:
                partition, error = None, ErrorCode.TOPIC_AUTHORIZATION_FAILED
            low_watermark = -1
            if partition is not None:
                error, low_watermark = partition.delete_records(wanted["offset"])
            partitions.append(
                {"partition_index": index, "low_watermark": low_watermark, "error_code": error}
            )
        topics.append({"name": topic["name"], "partitions": partitions})
    return {"throttle_time_ms": 0, "topics": topics}
