"""InitProducerId: producer ids and epochs for idempotent producers."""

from __future__ import annotations

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import AclOperation, ResourceType

MAX_EPOCH = 32767


async def handle_init_producer_id(ctx: RequestContext, request: dict) -> dict:
    response = {
        "throttle_time_ms": 0,
        "error_code": ErrorCode.NONE,
        "producer_id": -1,
        "producer_epoch": -1,
    }
    transactional_id = request["transactional_id"]
    if transactional_id is not None and not authorization.authorize(
        ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactional_id
    ):
        response["error_code"] = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
        return response
    if transactional_id is None and not authorization.authorize_idempotent_write(ctx):
        response["error_code"] = ErrorCode.CLUSTER_AUTHORIZATION_FAILED
        return response
    if transactional_id is not None:
        # Transactions are not served yet; a clear refusal beats a coordinator that never answers.
        response["error_code"] = ErrorCode.INVALID_REQUEST
        return response
    producer_id = request.get("producer_id", -1)
    epoch = request.get("producer_epoch", -1)
    if producer_id >= 0 and 0 <= epoch < MAX_EPOCH:
        # KIP-360: an idempotent producer bumps its epoch to reset sequences after an error.
        response["producer_id"], response["producer_epoch"] = producer_id, epoch + 1
        return response
    response["producer_id"] = await ctx.broker.next_producer_id()
    response["producer_epoch"] = 0
    return response
