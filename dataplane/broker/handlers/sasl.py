"""SaslHandshake (v1) and SaslAuthenticate (v0-2): the SASL exchange on a SASL listener.

The exchange itself lives in the connection's SaslSession; these handlers move tokens in and out,
and log and count failures. A failed session makes the connection close once the answer is out.
"""

from __future__ import annotations

import logging

from dataplane.broker.authentication import SaslError
from dataplane.broker.context import RequestContext
from dataplane.protocol.errors import ErrorCode

log = logging.getLogger(__name__)


async def handle_sasl_handshake(ctx: RequestContext, request: dict) -> dict:
    session = ctx.session
    if session is None:
        return {"error_code": ErrorCode.ILLEGAL_SASL_STATE, "mechanisms": []}
    try:
        session.handshake(request["mechanism"])
    except SaslError as exc:
        _failed(ctx, exc)
        return {"error_code": exc.code, "mechanisms": session.mechanisms}
    return {"error_code": ErrorCode.NONE, "mechanisms": session.mechanisms}


async def handle_sasl_authenticate(ctx: RequestContext, request: dict) -> dict:
    response = {
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "auth_bytes": b"",
        "session_lifetime_ms": 0,  # no re-authentication (KIP-368) required
    }
    session = ctx.session
    if session is None:
        response["error_code"] = ErrorCode.ILLEGAL_SASL_STATE
        response["error_message"] = "SASL is not enabled on this listener"
        return response
    try:
        response["auth_bytes"] = session.authenticate(bytes(request["auth_bytes"]))
    except SaslError as exc:
        _failed(ctx, exc)
        response["error_code"] = exc.code
        response["error_message"] = str(exc)
        return response
    if session.authenticated:
        log.info(
            "client authenticated",
            extra={
                "client": ctx.peer,
                "principal": session.principal,
                "mechanism": session.mechanism,
                "listener": ctx.listener,
            },
        )
    return response


def _failed(ctx: RequestContext, exc: SaslError) -> None:
    ctx.broker.stats.record_failed_authentication()
    log.warning(
        "authentication failed",
        extra={
            "client": ctx.peer,
            "username": exc.username,
            "mechanism": ctx.session.mechanism if ctx.session is not None else None,
            "listener": ctx.listener,
            "reason": str(exc.__cause__ or exc),
        },
    )
