"""Controller APIs: ElectLeaders, AlterPartitionReassignments, ListPartitionReassignments.

Clients send these to the controller named in Metadata; other brokers answer NOT_CONTROLLER. With
authorization, as Kafka: electing and reassigning need Alter on the cluster, listing reassignments
Describe (else CLUSTER_AUTHORIZATION_FAILED)."""

from __future__ import annotations

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.metadata.controller import Controller
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import AclOperation

PREFERRED = 0


def _controller(ctx: RequestContext) -> Controller | None:
    controller = ctx.broker.controller
    return controller if controller is not None and controller.active else None


async def handle_elect_leaders(ctx: RequestContext, request: dict) -> dict:
    controller = _controller(ctx)
    authorized = authorization.authorize_cluster(ctx, AclOperation.ALTER)
    wanted = request["topic_partitions"]
    if wanted is None:
        wanted = (
            [
                {"topic": t.name, "partitions": sorted(t.partitions)}
                for t in ctx.broker.metadata.topics.values()
            ]
            if authorized
            else []
        )
    partitions = [(t["topic"], p) for t in wanted for p in t["partitions"]]
    if not authorized:
        outcomes = dict.fromkeys(partitions, "Cluster authorization failed")
        codes = dict.fromkeys(partitions, ErrorCode.CLUSTER_AUTHORIZATION_FAILED)
    elif controller is None:
        outcomes = dict.fromkeys(partitions, "this broker is not the controller")
        codes = dict.fromkeys(partitions, ErrorCode.NOT_CONTROLLER)
    elif request.get("election_type", PREFERRED) != PREFERRED:
        outcomes = dict.fromkeys(partitions, "only preferred leader election is served")
        codes = dict.fromkeys(partitions, ErrorCode.INVALID_REQUEST)
    else:
        outcomes = await controller.elect_preferred(partitions)
        codes = {
            key: ErrorCode.NONE
            if text is None
            else ErrorCode.ELECTION_NOT_NEEDED
            if text.startswith("already")
            else ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE
            for key, text in outcomes.items()
        }
    by_topic: dict[str, list[dict]] = {}
    for topic, index in partitions:
        by_topic.setdefault(topic, []).append(
            {
                "partition_id": index,
                "error_code": codes[(topic, index)],
                "error_message": outcomes[(topic, index)],
            }
        )
    return {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE if authorized else ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        "replica_election_results": [
            {"topic": topic, "partition_result": results} for topic, results in by_topic.items()
        ],
    }


def _cluster_refusal(ctx: RequestContext, operation: AclOperation) -> dict | None:
    if authorization.authorize_cluster(ctx, operation):
        return None
    return {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.CLUSTER_AUTHORIZATION_FAILED,
        "error_message": "Cluster authorization failed",
    }


async def handle_alter_partition_reassignments(ctx: RequestContext, request: dict) -> dict:
    refusal = _cluster_refusal(ctx, AclOperation.ALTER)
    if refusal is not None:
        return {**refusal, "responses": []}
    controller = _controller(ctx)
    if controller is None:
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.NOT_CONTROLLER,
            "error_message": "this broker is not the controller",
            "responses": [],
        }
    responses = []
    for topic in request["topics"]:
        results = []
        for partition in topic["partitions"]:
            problem = await controller.reassign(
                topic["name"], partition["partition_index"], partition["replicas"]
            )
            code = ErrorCode.NONE
            if problem is not None:
                code = (
                    ErrorCode.NO_REASSIGNMENT_IN_PROGRESS
                    if problem.startswith("no reassignment")
                    else ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
                    if problem.startswith("unknown")
                    else ErrorCode.INVALID_REPLICA_ASSIGNMENT
                )
            results.append(
                {
                    "partition_index": partition["partition_index"],
                    "error_code": code,
                    "error_message": problem,
                }
            )
        responses.append({"name": topic["name"], "partitions": results})
    return {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "responses": responses,
    }


async def handle_list_partition_reassignments(ctx: RequestContext, request: dict) -> dict:
    refusal = _cluster_refusal(ctx, AclOperation.DESCRIBE)
    if refusal is not None:
        return {**refusal, "topics": []}
    if _controller(ctx) is None:
        return {
            "throttle_time_ms": 0,
            "error_code": ErrorCode.NOT_CONTROLLER,
            "error_message": "this broker is not the controller",
            "topics": [],
        }
    wanted = request.get("topics")
    filter_ = (
        None if wanted is None else {(t["name"], p) for t in wanted for p in t["partition_indexes"]}
    )
    topics = []
    for topic in ctx.broker.metadata.topics.values():
        ongoing = sorted(set(topic.adding_replicas) | set(topic.removing_replicas))
        partitions = [
            {
                "partition_index": index,
                "replicas": topic.partitions[index].replicas,
                "adding_replicas": topic.adding_replicas.get(index, []),
                "removing_replicas": topic.removing_replicas.get(index, []),
            }
            for index in ongoing
            if index in topic.partitions and (filter_ is None or (topic.name, index) in filter_)
        ]
        if partitions:
            topics.append({"name": topic.name, "partitions": partitions})
    return {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "topics": topics,
    }
