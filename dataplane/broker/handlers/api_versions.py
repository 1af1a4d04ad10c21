"""ApiVersions: the versions of every API this broker serves, straight from the dispatch table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dataplane.broker.context import RequestContext
from dataplane.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from dataplane.broker.server import Broker


def supported_api_keys(broker: Broker) -> list[dict]:
    return [
        {"api_key": api.key, "min_version": api.advertised_min, "max_version": api.max_version}
        for api in broker.apis.values()
    ]


async def handle_api_versions(ctx: RequestContext, request: dict) -> dict:
    return {
        "error_code": ErrorCode.NONE,
        "api_keys": supported_api_keys(ctx.broker),
        "throttle_time_ms": 0,
    }
