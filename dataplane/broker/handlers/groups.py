"""Consumer group APIs: FindCoordinator, membership (Join/Sync/Heartbeat/Leave), offsets
(OffsetCommit/OffsetFetch/OffsetDelete) and administration (DescribeGroups/ListGroups/DeleteGroups).

Thin adapters between wire dicts and the GroupCoordinator. With authorization, Kafka's rules:
membership needs Read on the group; OffsetCommit Read on the group and each topic; OffsetFetch and
FindCoordinator Describe on the group (OffsetFetch Describe on each topic too); DescribeGroups
Describe, DeleteGroups Delete; OffsetDelete Delete on the group and Read on each topic; ListGroups
lists all groups with Describe on the cluster, else the groups the principal may describe."""

from __future__ import annotations

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.groups.coordinator import GroupCoordinator, join_error, sync_response
from dataplane.groups.group import GroupState
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import AclOperation, ResourceType

GROUP_KEY_TYPE = 0
UNREPORTED_OPERATIONS = -(2**31)  # Kafka's "not asked for" in the authorized-operations field


def _coordinator(ctx: RequestContext) -> GroupCoordinator:
    return ctx.broker.groups


def _may(ctx: RequestContext, operation: AclOperation, group_id: str) -> bool:
    return authorization.authorize(ctx, operation, ResourceType.GROUP, group_id)


def _topics_allowed(ctx: RequestContext, operation: AclOperation, names: list[str]) -> set[str]:
    return authorization.authorized_names(ctx, operation, ResourceType.TOPIC, names)


async def handle_find_coordinator(ctx: RequestContext, request: dict) -> dict:
    response = {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "node_id": -1,
        "host": "",
        "port": -1,
    }
    if request.get("key_type", GROUP_KEY_TYPE) != GROUP_KEY_TYPE:
        response.update(
            error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE,
            error_message="transaction coordinators are not served yet",
        )
        return response
    if not _may(ctx, AclOperation.DESCRIBE, request["key"]):
        response.update(
            error_code=ErrorCode.GROUP_AUTHORIZATION_FAILED,
            error_message="Group authorization failed",
        )
        return response
    broker = await ctx.broker.coordinator_for(request["key"])
    if broker is None:
        response.update(
            error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE,
            error_message="the offsets topic partition has no leader",
        )
        return response
    endpoint = ctx.broker.endpoint(ctx.listener, broker)
    if endpoint is None:
        response.update(
            error_code=ErrorCode.COORDINATOR_NOT_AVAILABLE,
            error_message=f"the coordinator has no {ctx.listener} listener",
        )
        return response
    host, port = endpoint
    response.update(node_id=broker.broker_id, host=host, port=port)
    return response


async def handle_join_group(ctx: RequestContext, request: dict) -> dict:
    if not _may(ctx, AclOperation.READ, request["group_id"]):
        response = join_error(ErrorCode.GROUP_AUTHORIZATION_FAILED)
        response["throttle_time_ms"] = 0
        return response
    response = await _coordinator(ctx).join_group(
        group_id=request["group_id"],
        member_id=request["member_id"],
        group_instance_id=request.get("group_instance_id"),
        session_timeout_ms=request["session_timeout_ms"],
        rebalance_timeout_ms=request.get("rebalance_timeout_ms", -1),
        protocol_type=request["protocol_type"],
        protocols=[(p["name"], bytes(p["metadata"])) for p in request["protocols"]],
        client_id=ctx.header.client_id or "",
        client_host="/" + ctx.peer.rpartition(":")[0],
        # From v4 a member without an id is handed one and must rejoin with it (KIP-394).
        require_known_member_id=ctx.version >= 4,
    )
    response["throttle_time_ms"] = 0
    return response


async def handle_sync_group(ctx: RequestContext, request: dict) -> dict:
    if not _may(ctx, AclOperation.READ, request["group_id"]):
        response = sync_response(ErrorCode.GROUP_AUTHORIZATION_FAILED)
        response["throttle_time_ms"] = 0
        return response
    response = await _coordinator(ctx).sync_group(
        group_id=request["group_id"],
        generation_id=request["generation_id"],
        member_id=request["member_id"],
        group_instance_id=request.get("group_instance_id"),
        protocol_type=request.get("protocol_type"),
        protocol_name=request.get("protocol_name"),
        assignments=[(a["member_id"], bytes(a["assignment"])) for a in request["assignments"]],
    )
    response["throttle_time_ms"] = 0
    return response


async def handle_heartbeat(ctx: RequestContext, request: dict) -> dict:
    if not _may(ctx, AclOperation.READ, request["group_id"]):
        return {"throttle_time_ms": 0, "error_code": ErrorCode.GROUP_AUTHORIZATION_FAILED}
    error = _coordinator(ctx).heartbeat(
        group_id=request["group_id"],
        generation_id=request["generation_id"],
        member_id=request["member_id"],
        group_instance_id=request.get("group_instance_id"),
    )
    return {"throttle_time_ms": 0, "error_code": error}


async def handle_leave_group(ctx: RequestContext, request: dict) -> dict:
    if not _may(ctx, AclOperation.READ, request["group_id"]):
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.GROUP_AUTHORIZATION_FAILED,
            "members": [],
        }
    if ctx.version < 3:
        leaving = [(request["member_id"], None)]
    else:
        leaving = [(m["member_id"], m["group_instance_id"]) for m in request["members"]]
    group_error, errors = _coordinator(ctx).leave_group(request["group_id"], leaving)
    if ctx.version < 3:
        return {"throttle_time_ms": 0, "error_code": group_error or errors[0], "members": []}
    return {
        "throttle_time_ms": 0,
        "error_code": group_error,
        "members": [
            {"member_id": member_id, "group_instance_id": instance_id, "error_code": error}
            for (member_id, instance_id), error in zip(leaving, errors, strict=True)
        ],
    }


async def handle_offset_commit(ctx: RequestContext, request: dict) -> dict:
    if not _may(ctx, AclOperation.READ, request["group_id"]):
        refused = ErrorCode.GROUP_AUTHORIZATION_FAILED
        readable: set[str] = set()
    else:
        refused = ErrorCode.TOPIC_AUTHORIZATION_FAILED
        readable = _topics_allowed(
            ctx, AclOperation.READ, [topic["name"] for topic in request["topics"]]
        )
    entries = [
        (
            topic["name"],
            p["partition_index"],
            p["committed_offset"],
            p.get("committed_leader_epoch", -1),
            p["committed_metadata"],
        )
        for topic in request["topics"]
        if topic["name"] in readable
        for p in topic["partitions"]
    ]
    committed = iter(
        await _coordinator(ctx).commit_offsets(
            group_id=request["group_id"],
            generation_id=request.get("generation_id_or_member_epoch", -1),
            member_id=request.get("member_id", ""),
            group_instance_id=request.get("group_instance_id"),
            offsets=entries,
        )
        if entries
        else []
    )
    errors = iter(
        next(committed) if topic["name"] in readable else refused
        for topic in request["topics"]
        for _ in topic["partitions"]
    )
    return {
        "throttle_time_ms": 0,
        "topics": [
            {
                "name": topic["name"],
                "partitions": [
                    {"partition_index": p["partition_index"], "error_code": next(errors)}
                    for p in topic["partitions"]
                ],
            }
            for topic in request["topics"]
        ],
    }


async def handle_offset_fetch(ctx: RequestContext, request: dict) -> dict:
    wanted = request["topics"]
    if not _may(ctx, AclOperation.DESCRIBE, request["group_id"]):
        return _offset_fetch_refused(ctx, wanted)
    described: set[str] = set()
    if wanted is not None:
        described = _topics_allowed(ctx, AclOperation.DESCRIBE, [t["name"] for t in wanted])
    error, offsets = _coordinator(ctx).fetch_offsets(
        request["group_id"],
        None
        if wanted is None
        else [(t["name"], t["partition_indexes"]) for t in wanted if t["name"] in described],
    )
    if wanted is None:
        # All of the group's offsets: only for the topics the principal may describe, quietly.
        topics = {topic for topic, _partition, _value in offsets}
        described = authorization.authorized_names(
            ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, topics, log_denied=False
        )
        offsets = [entry for entry in offsets if entry[0] in described]
    by_topic: dict[str, list[dict]] = {}
    for t in wanted or []:
        if t["name"] not in described:
            by_topic[t["name"]] = [
                {
                    "partition_index": p,
                    "committed_offset": -1,
                    "committed_leader_epoch": -1,
                    "metadata": "",
                    "error_code": ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                }
                for p in t["partition_indexes"]
            ]
    for topic, partition, value in offsets:
        by_topic.setdefault(topic, []).append(
            {
                "partition_index": partition,
                "committed_offset": value.offset if value else -1,
                "committed_leader_epoch": value.leader_epoch if value else -1,
                "metadata": value.metadata if value else "",
                "error_code": ErrorCode.NONE,
            }
        )
    if error and ctx.version < 2:
        # v0-1 have no group-level error: report it on every requested partition.
        by_topic = {
            t["name"]: [
                {"partition_index": p, "committed_offset": -1, "metadata": "", "error_code": error}
                for p in t["partition_indexes"]
            ]
            for t in wanted or []
        }
    return {
        "throttle_time_ms": 0,
        "error_code": error,
        "topics": [{"name": name, "partitions": parts} for name, parts in by_topic.items()],
    }


def _offset_fetch_refused(ctx: RequestContext, wanted: list[dict] | None) -> dict:
    error = ErrorCode.GROUP_AUTHORIZATION_FAILED
    topics = []
    if ctx.version < 2:
        # v0-1 have no group-level error: report it on every requested partition.
        topics = [
            {
                "name": t["name"],
                "partitions": [
                    {
                        "partition_index": p,
                        "committed_offset": -1,
                        "metadata": "",
                        "error_code": error,
                    }
                    for p in t["partition_indexes"]
                ],
            }
            for t in wanted or []
        ]
    return {"throttle_time_ms": 0, "error_code": error, "topics": topics}


async def handle_offset_delete(ctx: RequestContext, request: dict) -> dict:
    if not _may(ctx, AclOperation.DELETE, request["group_id"]):
        return {
            "error_code": ErrorCode.GROUP_AUTHORIZATION_FAILED,
            "throttle_time_ms": 0,
            "topics": [],
        }
    readable = _topics_allowed(
        ctx, AclOperation.READ, [topic["name"] for topic in request["topics"]]
    )
    partitions = [
        (topic["name"], p["partition_index"])
        for topic in request["topics"]
        if topic["name"] in readable
        for p in topic["partitions"]
    ]
    error, errors = (
        await _coordinator(ctx).delete_offsets(request["group_id"], partitions)
        if partitions
        else (ErrorCode.NONE, [])
    )
    deleted = iter(errors or [error] * len(partitions))
    results = iter(
        next(deleted) if topic["name"] in readable else ErrorCode.TOPIC_AUTHORIZATION_FAILED
        for topic in request["topics"]
        for _ in topic["partitions"]
    )
    return {
        "error_code": error,
        "throttle_time_ms": 0,
        "topics": [
            {
                "name": topic["name"],
                "partitions": [
                    {"partition_index": p["partition_index"], "error_code": next(results)}
                    for p in topic["partitions"]
                ],
            }
            for topic in request["topics"]
        ],
    }


async def handle_describe_groups(ctx: RequestContext, request: dict) -> dict:
    described = []
    for group_id in request["groups"]:
        if _may(ctx, AclOperation.DESCRIBE, group_id):
            error, group = _coordinator(ctx).describe(group_id)
        else:
            error, group = ErrorCode.GROUP_AUTHORIZATION_FAILED, None
        entry = {
            "error_code": error,
            "group_id": group_id,
            "group_state": GroupState.DEAD.value,
            "protocol_type": "",
            "protocol_data": "",
            "members": [],
            "authorized_operations": authorization.authorized_operations(
                ctx, ResourceType.GROUP, group_id
            )
            if request.get("include_authorized_operations", False)
            else UNREPORTED_OPERATIONS,
        }
        if group is not None:
            stable = group.state == GroupState.STABLE
            entry.update(
                group_state=group.state.value,
                protocol_type=group.protocol_type or "",
                protocol_data=(group.protocol_name or "") if stable else "",
                members=[
                    {
                        "member_id": m.member_id,
                        "group_instance_id": m.group_instance_id,
                        "client_id": m.client_id,
                        "client_host": m.client_host,
                        "member_metadata": m.metadata_for(group.protocol_name or "")
                        if stable
                        else b"",
                        "member_assignment": m.assignment if stable else b"",
                    }
                    for m in group.members.values()
                ],
            )
        described.append(entry)
    return {"throttle_time_ms": 0, "groups": described}


async def handle_list_groups(ctx: RequestContext, request: dict) -> dict:
    states = {s.lower() for s in request.get("states_filter") or []}
    groups = _coordinator(ctx).list_groups()
    if not authorization.authorize_cluster(ctx, AclOperation.DESCRIBE, log_denied=False):
        visible = authorization.authorized_names(
            ctx,
            AclOperation.DESCRIBE,
            ResourceType.GROUP,
            (g.group_id for g in groups),
            log_denied=False,
        )
        groups = [g for g in groups if g.group_id in visible]
    return {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE,
        "groups": [
            {
                "group_id": g.group_id,
                "protocol_type": g.protocol_type or "",
                "group_state": g.state.value,
            }
            for g in groups
            if not states or g.state.value.lower() in states
        ],
    }


async def handle_delete_groups(ctx: RequestContext, request: dict) -> dict:
    return {
        "throttle_time_ms": 0,
        "results": [
            {
                "group_id": group_id,
                "error_code": await _coordinator(ctx).delete_group(group_id)
                if _may(ctx, AclOperation.DELETE, group_id)
                else ErrorCode.GROUP_AUTHORIZATION_FAILED,
            }
            for group_id in request["groups_names"]
        ],
    }
