"""DescribeUserScramCredentials and AlterUserScramCredentials: admin clients manage SCRAM users.

Describe answers mechanisms and iteration counts, never salts or keys. Alter takes what Kafka's admin
clients send (salt and salted password, never the password) and validates as Kafka does; a user's
alterations in one request are applied together or not at all.
"""

from __future__ import annotations

import logging
from collections import Counter

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import AclOperation
from dataplane.security.scram import (
    MECHANISMS,
    ScramMechanism,
    credential_from_salted_password,
    format_credential,
    mechanism_named,
    mechanism_of_type,
    scram_credentials,
)

log = logging.getLogger(__name__)


class _Refused(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _credential_infos(config: dict[str, str]) -> list[dict]:
    return [
        {"mechanism": mechanism_named(name).kafka_type, "iterations": credential.iterations}
        for name, credential in sorted(scram_credentials(config).items())
    ]


async def handle_describe_user_scram_credentials(ctx: RequestContext, request: dict) -> dict:
    assert ctx.broker.metadata is not None
    stored = ctx.broker.metadata.user_configs
    response: dict = {"throttle_time_ms": 0, "error_code": 0, "error_message": None, "results": []}
    if not authorization.authorize_cluster(ctx, AclOperation.DESCRIBE):
        response["error_code"] = ErrorCode.CLUSTER_AUTHORIZATION_FAILED
        response["error_message"] = "Cluster authorization failed"
        return response
    if not request["users"]:  # null or empty: every user, as Kafka
        names = [name for name in sorted(stored) if any(m in stored[name] for m in MECHANISMS)]
        counts: Counter[str] = Counter()
    else:
        names = [user["name"] for user in request["users"]]
        counts = Counter(names)
    for name in dict.fromkeys(names):
        result = {"user": name, "error_code": 0, "error_message": None, "credential_infos": []}
        try:
            infos = _credential_infos(dict(stored.get(name, {})))
        except ValueError:
            infos = None
        if counts[name] > 1:
            result["error_code"] = ErrorCode.DUPLICATE_RESOURCE
            result["error_message"] = "Cannot describe SCRAM credentials for the same user twice"
        elif infos is None:
            result["error_code"] = ErrorCode.UNKNOWN_SERVER_ERROR
            result["error_message"] = "The stored credentials are unreadable"
        elif not infos:
            result["error_code"] = ErrorCode.RESOURCE_NOT_FOUND
            result["error_message"] = "Attempt to describe a user credential that does not exist"
        else:
            result["credential_infos"] = infos
        response["results"].append(result)
    return response


async def handle_alter_user_scram_credentials(ctx: RequestContext, request: dict) -> dict:
    assert ctx.broker.metadata is not None
    alterations = [("delete", d) for d in request["deletions"]] + [
        ("upsert", u) for u in request["upsertions"]
    ]
    pairs = Counter((a["name"], a["mechanism"]) for _kind, a in alterations)
    by_user: dict[str, list[tuple[str, dict]]] = {}
    for kind, alteration in alterations:
        by_user.setdefault(alteration["name"], []).append((kind, alteration))
    results = []
    may_alter = authorization.authorize_cluster(ctx, AclOperation.ALTER)
    for user, changes in by_user.items():
        result = {"user": user, "error_code": 0, "error_message": None}
        try:
            if not may_alter:
                raise _Refused(
                    ErrorCode.CLUSTER_AUTHORIZATION_FAILED, "Cluster authorization failed"
                )
            if any(pairs[(user, a["mechanism"])] > 1 for _kind, a in changes):
                raise _Refused(
                    ErrorCode.DUPLICATE_RESOURCE,
                    "A user credential cannot be altered twice in the same request",
                )
            checked = [(kind, _check(kind, a)) for kind, a in changes]
            await ctx.broker.metadata.alter_user_config(
                user, lambda config, checked=checked: _apply(config, checked)
            )
            log.info(
                "SCRAM credentials altered",
                extra={
                    "user": user,
                    "changes": [f"{kind} {m.name}" for kind, (m, _c) in checked],
                    "by": ctx.principal,
                    "client": ctx.peer,
                },
            )
        except _Refused as exc:
            result["error_code"] = exc.code
            result["error_message"] = str(exc)
        results.append(result)
    return {"throttle_time_ms": 0, "results": results}


def _check(kind: str, alteration: dict) -> tuple[ScramMechanism, str | None]:
    """The mechanism and, for an upsertion, the stored credential text; _Refused as Kafka refuses."""
    if not alteration["name"]:
        raise _Refused(ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty")
    try:
        mechanism = mechanism_of_type(alteration["mechanism"])
    except ValueError:
        raise _Refused(ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism") from None
    if kind == "delete":
        return mechanism, None
    iterations = alteration["iterations"]
    if iterations < mechanism.min_iterations:
        raise _Refused(ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations")
    if iterations > mechanism.max_iterations:
        raise _Refused(ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too many iterations")
    salt, salted = bytes(alteration["salt"]), bytes(alteration["salted_password"])
    if not salt or not salted:
        raise _Refused(ErrorCode.UNACCEPTABLE_CREDENTIAL, "Credential must not be empty")
    credential = credential_from_salted_password(mechanism, salted, salt, iterations)
    return mechanism, format_credential(credential)


def _apply(
    config: dict[str, str], checked: list[tuple[str, tuple[ScramMechanism, str | None]]]
) -> dict[str, str]:
    for kind, (mechanism, text) in checked:
        if kind == "delete":
            if mechanism.name not in config:
                raise _Refused(
                    ErrorCode.RESOURCE_NOT_FOUND,
                    "Attempt to delete a user credential that does not exist",
                )
            del config[mechanism.name]
        else:
            assert text is not None
            config[mechanism.name] = text
    return config
