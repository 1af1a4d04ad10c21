"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics (and broker reads)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from dataplane.broker.context import RequestContext
from dataplane.config import BROKER_DEFAULTS, TOPIC_CONFIG_DEFS, ConfigError, validate_topic_configs
from dataplane.protocol.errors import ErrorCode

log = logging.getLogger(__name__)

TOPIC = 2
BROKER = 4

# Kafka's ConfigSource and ConfigType values as sent on the wire.
DYNAMIC_TOPIC_CONFIG = 1
STATIC_BROKER_CONFIG = 4
DEFAULT_CONFIG = 5
_CONFIG_TYPES = {"bool": 1, "string": 2, "int": 3, "long": 5, "double": 6, "list": 7}

SET, DELETE, APPEND, SUBTRACT = range(4)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def _entry(name: str, value: str, source: int, kind: str, synonyms: list[dict]) -> dict:
    return {
        "name": name,
        "value": value,
        "read_only": False,
        "is_default": source == DEFAULT_CONFIG,
        "config_source": source,
        "is_sensitive": False,
        "synonyms": synonyms,
        "config_type": _CONFIG_TYPES.get(kind, 0),
        "documentation": None,
    }


def _topic_entries(
    ctx: RequestContext, overrides: Mapping[str, str], with_synonyms: bool
) -> list[dict]:
    config = ctx.broker.config
    entries = []
    for name, definition in TOPIC_CONFIG_DEFS.items():
        synonyms = []
        if name in overrides:
            synonyms.append(
                {"name": name, "value": overrides[name], "source": DYNAMIC_TOPIC_CONFIG}
            )
        broker_value = _text(config[definition.broker_key])
        if definition.broker_key in config.explicit:
            synonyms.append(
                {
                    "name": definition.broker_key,
                    "value": broker_value,
                    "source": STATIC_BROKER_CONFIG,
                }
            )
        synonyms.append(
            {"name": definition.broker_key, "value": definition.default, "source": DEFAULT_CONFIG}
        )
        top = synonyms[0]
        entries.append(
            _entry(
                name,
                top["value"],
                top["source"],
                definition.kind,
                synonyms if with_synonyms else [],
            )
        )
    return entries


def _broker_entries(ctx: RequestContext) -> list[dict]:
    config = ctx.broker.config
    return [
        _entry(
            key,
            _text(config[key]),
            STATIC_BROKER_CONFIG if key in config.explicit else DEFAULT_CONFIG,
            kind,
            [],
        )
        for key, (kind, _default) in sorted(BROKER_DEFAULTS.items())
    ]


def _describe_one(ctx: RequestContext, resource: dict, with_synonyms: bool) -> dict:
    result = {
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "resource_type": resource["resource_type"],
        "resource_name": resource["resource_name"],
        "configs": [],
    }
    name = resource["resource_name"]
    if resource["resource_type"] == TOPIC:
        topic = ctx.broker.metadata.topics.get(name)
        if topic is None:
            result.update(
                error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, error_message=f"no topic {name!r}"
            )
            return result
        entries = _topic_entries(ctx, topic.configs, with_synonyms)
    elif resource["resource_type"] == BROKER:
        if name not in ("", str(ctx.broker.config.broker_id)):
            result.update(
                error_code=ErrorCode.INVALID_REQUEST,
                error_message=f"this is broker {ctx.broker.config.broker_id}, not {name!r}",
            )
            return result
        entries = _broker_entries(ctx)
    else:
        result.update(
            error_code=ErrorCode.INVALID_REQUEST, error_message="unsupported resource type"
        )
        return result
    keys = resource["configuration_keys"]
    result["configs"] = [e for e in entries if keys is None or e["name"] in keys]
    return result


async def handle_describe_configs(ctx: RequestContext, request: dict) -> dict:
    with_synonyms = request.get("include_synonyms", False)
    return {
        "throttle_time_ms": 0,
        "results": [_describe_one(ctx, r, with_synonyms) for r in request["resources"]],
    }


def _apply_incremental(current: Mapping[str, str], changes: list[dict]) -> dict[str, str]:
    updated = dict(current)
    for change in changes:
        name, operation, value = change["name"], change["config_operation"], change["value"]
        definition = TOPIC_CONFIG_DEFS.get(name)
        if definition is None:
            raise ConfigError(f"unknown topic config {name!r}")
        if operation == SET:
            if value is None:
                raise ConfigError(f"SET of {name!r} needs a value")
            updated[name] = value
        elif operation == DELETE:
            updated.pop(name, None)
        elif operation in (APPEND, SUBTRACT):
            if definition.kind != "list":
                raise ConfigError(f"{name!r} is not a list; APPEND/SUBTRACT do not apply")
            items = list(definition.parse(updated.get(name, definition.default)))
            given = [v.strip() for v in (value or "").split(",") if v.strip()]
            if operation == APPEND:
                items += [v for v in given if v not in items]
            else:
                items = [v for v in items if v not in given]
            updated[name] = ",".join(items)
        else:
            raise ConfigError(f"unknown config operation {operation}")
    return updated


async def _alter(ctx: RequestContext, request: dict, incremental: bool) -> dict:
    metadata = ctx.broker.metadata
    responses = []
    for resource in request["resources"]:
        name = resource["resource_name"]
        response = {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "resource_type": resource["resource_type"],
            "resource_name": name,
        }
        responses.append(response)
        if resource["resource_type"] != TOPIC:
            response.update(
                error_code=ErrorCode.INVALID_REQUEST,
                error_message="only topic configs can be altered on this broker",
            )
            continue
        topic = metadata.topics.get(name)
        if topic is None:
            response.update(
                error_code=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, error_message=f"no topic {name!r}"
            )
            continue
        try:
            if incremental:
                updated = _apply_incremental(topic.configs, resource["configs"])
            else:
                updated = {c["name"]: c["value"] for c in resource["configs"]}
            updated = validate_topic_configs(updated)
        except ConfigError as exc:
            response.update(error_code=ErrorCode.INVALID_CONFIG, error_message=str(exc))
            continue
        if not request["validate_only"]:
            await metadata.set_topic_configs(name, updated)
            log.info(
                "topic configs altered",
                extra={"topic": name, "configs": updated, "client": ctx.peer},
            )
    return {"throttle_time_ms": 0, "responses": responses}


async def handle_alter_configs(ctx: RequestContext, request: dict) -> dict:
    return await _alter(ctx, request, incremental=False)


async def handle_incremental_alter_configs(ctx: RequestContext, request: dict) -> dict:
    return await _alter(ctx, request, incremental=True)
