"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs for topics and brokers.

Broker resources follow Kafka: the name is a broker id (that broker's dynamic configs) or empty
(the cluster-wide default for every broker). Only a few settings are dynamic
(DYNAMIC_BROKER_CONFIG_DEFS); they are stored in metadata and every broker applies them as they
change. Any broker takes an alter for any broker id (it only writes metadata); a describe names the
broker it is sent to, as only that broker knows its static settings.

With authorization, as Kafka: describing needs DescribeConfigs, altering AlterConfigs, on the topic
(else TOPIC_AUTHORIZATION_FAILED) or, for broker resources, on the cluster (else
CLUSTER_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from dataplane.broker import authorization
from dataplane.broker.context import RequestContext
from dataplane.config import (
    BROKER_DEFAULTS,
    DYNAMIC_BROKER_CONFIG_DEFS,
    TOPIC_CONFIG_DEFS,
    ConfigError,
    DynamicBrokerConfigDef,
    TopicConfigDef,
    dynamic_broker_config_def,
    topic_config_def,
    validate_broker_configs,
    validate_topic_configs,
)
from dataplane.metadata.base import DEFAULT_BROKER_ENTITY, MetadataError
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import AclOperation, ResourceType

log = logging.getLogger(__name__)

TOPIC = 2
BROKER = 4

# Kafka's ConfigSource and ConfigType values as sent on the wire.
DYNAMIC_TOPIC_CONFIG = 1
DYNAMIC_BROKER_CONFIG = 2
DYNAMIC_DEFAULT_BROKER_CONFIG = 3
STATIC_BROKER_CONFIG = 4
DEFAULT_CONFIG = 5
_CONFIG_TYPES = {"bool": 1, "string": 2, "int": 3, "long": 5, "double": 6, "list": 7}

SET, DELETE, APPEND, SUBTRACT = range(4)

_REFUSALS = {
    ErrorCode.TOPIC_AUTHORIZATION_FAILED: "Topic authorization failed",
    ErrorCode.CLUSTER_AUTHORIZATION_FAILED: "Cluster authorization failed",
}

# Credentials: described without their value, as Kafka does for password settings.
SENSITIVE_BROKER_CONFIGS = frozenset({"health.report.token", "ssl.key.password"})


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def _entry(
    name: str,
    value: str | None,
    source: int,
    kind: str,
    synonyms: list[dict],
    read_only: bool = False,
    sensitive: bool = False,
) -> dict:
    return {
        "name": name,
        "value": None if sensitive else value,
        "read_only": read_only,
        "is_default": source == DEFAULT_CONFIG,
        "config_source": source,
        "is_sensitive": sensitive,
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


def _broker_entries(ctx: RequestContext, with_synonyms: bool) -> list[dict]:
    """This broker's effective settings; synonyms list every layer that sets one, the one in
    effect first (per-broker dynamic, cluster default dynamic, static, default)."""
    config = ctx.broker.config
    entries = []
    for key, (kind, default) in sorted(BROKER_DEFAULTS.items()):
        synonyms = []
        if key in config.dynamic_broker:
            synonyms.append(
                {
                    "name": key,
                    "value": _text(config.dynamic_broker[key]),
                    "source": DYNAMIC_BROKER_CONFIG,
                }
            )
        if key in config.dynamic_default:
            synonyms.append(
                {
                    "name": key,
                    "value": _text(config.dynamic_default[key]),
                    "source": DYNAMIC_DEFAULT_BROKER_CONFIG,
                }
            )
        if key in config.explicit:
            synonyms.append(
                {"name": key, "value": _text(config.static[key]), "source": STATIC_BROKER_CONFIG}
            )
        synonyms.append({"name": key, "value": default, "source": DEFAULT_CONFIG})
        sensitive = key in SENSITIVE_BROKER_CONFIGS
        if sensitive:
            for synonym in synonyms:
                synonym["value"] = None
        entries.append(
            _entry(
                key,
                _text(config[key]),
                synonyms[0]["source"],
                kind,
                synonyms if with_synonyms else [],
                read_only=key not in DYNAMIC_BROKER_CONFIG_DEFS,
                sensitive=sensitive,
            )
        )
    return entries


def _default_broker_entries(ctx: RequestContext, with_synonyms: bool) -> list[dict]:
    """The cluster-wide dynamic defaults that are set (Kafka lists only those for the empty name)."""
    assert ctx.broker.metadata is not None
    stored = ctx.broker.metadata.broker_configs.get(DEFAULT_BROKER_ENTITY, {})
    entries = []
    for name, value in sorted(stored.items()):
        synonym = {"name": name, "value": value, "source": DYNAMIC_DEFAULT_BROKER_CONFIG}
        kind = BROKER_DEFAULTS.get(name, ("string", ""))[0]
        entries.append(
            _entry(
                name, value, DYNAMIC_DEFAULT_BROKER_CONFIG, kind, [synonym] if with_synonyms else []
            )
        )
    return entries


def _authorization_error(
    ctx: RequestContext, resource: dict, operation: AclOperation
) -> ErrorCode | None:
    """The refusal for `operation` on a config resource, or None when allowed."""
    if resource["resource_type"] == TOPIC:
        if authorization.authorize(ctx, operation, ResourceType.TOPIC, resource["resource_name"]):
            return None
        return ErrorCode.TOPIC_AUTHORIZATION_FAILED
    if resource["resource_type"] == BROKER:
        if authorization.authorize_cluster(ctx, operation):
            return None
        return ErrorCode.CLUSTER_AUTHORIZATION_FAILED
    return None  # refused as unsupported anyway


def _describe_one(ctx: RequestContext, resource: dict, with_synonyms: bool) -> dict:
    result = {
        "error_code": ErrorCode.NONE,
        "error_message": None,
        "resource_type": resource["resource_type"],
        "resource_name": resource["resource_name"],
        "configs": [],
    }
    refusal = _authorization_error(ctx, resource, AclOperation.DESCRIBE_CONFIGS)
    if refusal is not None:
        result.update(error_code=refusal, error_message=_REFUSALS[refusal])
        return result
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
        broker_id = ctx.broker.config.broker_id
        if name == "":
            entries = _default_broker_entries(ctx, with_synonyms)
        elif name == str(broker_id):
            entries = _broker_entries(ctx, with_synonyms)
        else:
            result.update(
                error_code=ErrorCode.INVALID_REQUEST,
                error_message=f"this is broker {broker_id}: describe broker {name!r} on that "
                "broker, or the cluster default with an empty name",
            )
            return result
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


def _apply_incremental(
    current: Mapping[str, str],
    changes: list[dict],
    definition_of: Callable[[str], TopicConfigDef | DynamicBrokerConfigDef],
) -> dict[str, str]:
    updated = dict(current)
    for change in changes:
        name, operation, value = change["name"], change["config_operation"], change["value"]
        definition = definition_of(name)
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


async def _alter_topic(
    ctx: RequestContext, resource: dict, incremental: bool, validate_only: bool
) -> None:
    metadata = ctx.broker.metadata
    name = resource["resource_name"]
    topic = metadata.topics.get(name)
    if topic is None:
        raise MetadataError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"no topic {name!r}")
    if incremental:
        updated = _apply_incremental(topic.configs, resource["configs"], topic_config_def)
    else:
        updated = {c["name"]: c["value"] for c in resource["configs"]}
    updated = validate_topic_configs(updated)
    if not validate_only:
        await metadata.set_topic_configs(name, updated)
        log.info(
            "topic configs altered", extra={"topic": name, "configs": updated, "client": ctx.peer}
        )


def _broker_entity(name: str) -> str:
    """The metadata entity a BROKER resource name stands for."""
    if name == "":
        return DEFAULT_BROKER_ENTITY
    if not name.isdigit():
        raise MetadataError(
            ErrorCode.INVALID_REQUEST,
            f"broker resource {name!r} is neither a broker id nor empty (the cluster default)",
        )
    return str(int(name))


async def _alter_broker(
    ctx: RequestContext, resource: dict, incremental: bool, validate_only: bool
) -> None:
    broker = ctx.broker
    assert broker.metadata is not None
    entity = _broker_entity(resource["resource_name"])
    changes = resource["configs"]

    def update(current: dict[str, str]) -> dict[str, str]:
        if incremental:
            current = _apply_incremental(current, changes, dynamic_broker_config_def)
        else:
            current = {c["name"]: c["value"] for c in changes}
        return validate_broker_configs(current)

    updated = await broker.metadata.alter_broker_configs(entity, update, validate_only)
    if not validate_only:
        # Our own view has the change: apply it now, so the reply means it is in effect here.
        broker.apply_dynamic_configs()
        log.info(
            "broker configs altered",
            extra={"entity": entity, "configs": updated, "client": ctx.peer},
        )


async def _alter(ctx: RequestContext, request: dict, incremental: bool) -> dict:
    responses = []
    for resource in request["resources"]:
        response = {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "resource_type": resource["resource_type"],
            "resource_name": resource["resource_name"],
        }
        responses.append(response)
        refusal = _authorization_error(ctx, resource, AclOperation.ALTER_CONFIGS)
        if refusal is not None:
            response.update(error_code=refusal, error_message=_REFUSALS[refusal])
            continue
        try:
            if resource["resource_type"] == TOPIC:
                await _alter_topic(ctx, resource, incremental, request["validate_only"])
            elif resource["resource_type"] == BROKER:
                await _alter_broker(ctx, resource, incremental, request["validate_only"])
            else:
                raise MetadataError(
                    ErrorCode.INVALID_REQUEST, "only topic and broker configs can be altered"
                )
        except ConfigError as exc:
            response.update(error_code=ErrorCode.INVALID_CONFIG, error_message=str(exc))
        except MetadataError as exc:
            response.update(error_code=exc.code, error_message=str(exc))
    return {"throttle_time_ms": 0, "responses": responses}


async def handle_alter_configs(ctx: RequestContext, request: dict) -> dict:
    return await _alter(ctx, request, incremental=False)


async def handle_incremental_alter_configs(ctx: RequestContext, request: dict) -> dict:
    return await _alter(ctx, request, incremental=True)
