"""Broker and topic configuration in Kafka's `server.properties` vocabulary."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataplane.security.firewall import parse_allowed_cidrs
from dataplane.security.tls import TlsError, TlsSettings, client_context, server_context

LONG_MAX = 2**63 - 1


class ConfigError(ValueError):
    """A configuration key is unknown or its value is invalid."""


def parse_properties(text: str) -> dict[str, str]:
    """Parse Java `.properties` text: `key=value` or `key: value`, `#`/`!` comments, `\\` continuations."""
    result: dict[str, str] = {}
    pending = ""
    for raw_line in text.splitlines():
        line = pending + raw_line.strip()
        pending = ""
        if not line or line[0] in "#!":
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending = line[:-1]
            continue
        for index, char in enumerate(line):
            if char in "=:":
                key, value = line[:index], line[index + 1 :]
                break
        else:
            key, value = line, ""
        result[key.strip()] = value.strip()
    return result


def _to_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{value!r} is not an integer") from None


def _to_float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{value!r} is not a number") from None


def _to_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise ConfigError(f"{value!r} is not true or false")
    return lowered == "true"


@dataclass(frozen=True)
class TopicConfigDef:
    """One per-topic setting: its type, the broker-wide key that supplies its default, its check."""

    name: str
    kind: str  # "int", "long", "double", "bool", "string", "list"
    broker_key: str
    default: str
    check: Callable[[Any], bool] = lambda _value: True
    requirement: str = ""

    def parse(self, raw: str) -> Any:
        if self.kind in ("int", "long"):
            value: Any = _to_int(raw)
        elif self.kind == "double":
            value = _to_float(raw)
        elif self.kind == "bool":
            value = _to_bool(raw)
        elif self.kind == "list":
            value = tuple(item.strip() for item in raw.split(",") if item.strip())
        else:
            value = raw
        if not self.check(value):
            raise ConfigError(f"invalid value {raw!r} for {self.name}: {self.requirement}")
        return value


def _at_least(minimum: int) -> Callable[[int], bool]:
    return lambda value: value >= minimum


def _are_cidrs(value: str) -> bool:
    try:
        parse_allowed_cidrs(value)
    except ValueError:
        return False
    return True


TOPIC_CONFIG_DEFS: dict[str, TopicConfigDef] = {
    d.name: d
    for d in (
        TopicConfigDef(
            "cleanup.policy",
            "list",
            "log.cleanup.policy",
            "delete",
            lambda v: bool(v) and set(v) <= {"delete", "compact"},
            "a list of delete and/or compact",
        ),
        TopicConfigDef(
            "retention.ms", "long", "log.retention.ms", "604800000", _at_least(-1), "-1 or more"
        ),
        TopicConfigDef(
            "retention.bytes", "long", "log.retention.bytes", "-1", _at_least(-1), "-1 or more"
        ),
        TopicConfigDef(
            "segment.bytes", "int", "log.segment.bytes", "1073741824", _at_least(14), "at least 14"
        ),
        TopicConfigDef(
            "segment.ms", "long", "log.roll.ms", "604800000", _at_least(1), "at least 1"
        ),
        TopicConfigDef(
            "max.message.bytes", "int", "message.max.bytes", "1048588", _at_least(0), "0 or more"
        ),
        TopicConfigDef(
            "min.insync.replicas", "int", "min.insync.replicas", "1", _at_least(1), "at least 1"
        ),
        TopicConfigDef(
            "flush.messages",
            "long",
            "log.flush.interval.messages",
            str(LONG_MAX),
            _at_least(1),
            "at least 1",
        ),
        TopicConfigDef(
            "flush.ms", "long", "log.flush.interval.ms", str(LONG_MAX), _at_least(0), "0 or more"
        ),
        TopicConfigDef(
            "index.interval.bytes",
            "int",
            "log.index.interval.bytes",
            "4096",
            _at_least(0),
            "0 or more",
        ),
        TopicConfigDef(
            "message.timestamp.type",
            "string",
            "log.message.timestamp.type",
            "CreateTime",
            lambda v: v in ("CreateTime", "LogAppendTime"),
            "CreateTime or LogAppendTime",
        ),
        TopicConfigDef(
            "delete.retention.ms",
            "long",
            "log.cleaner.delete.retention.ms",
            "86400000",
            _at_least(0),
            "0 or more",
        ),
        TopicConfigDef(
            "min.cleanable.dirty.ratio",
            "double",
            "log.cleaner.min.cleanable.ratio",
            "0.5",
            lambda v: 0 <= v <= 1,
            "between 0 and 1",
        ),
        TopicConfigDef(
            "min.compaction.lag.ms",
            "long",
            "log.cleaner.min.compaction.lag.ms",
            "0",
            _at_least(0),
            "0 or more",
        ),
        TopicConfigDef(
            "unclean.leader.election.enable",
            "bool",
            "unclean.leader.election.enable",
            "false",
        ),
    )
}


# Broker settings: key → (kind, default). Kafka's time settings in hours/minutes are folded into
# their millisecond key when the file uses them.
BROKER_DEFAULTS: dict[str, tuple[str, str]] = {
    "broker.id": ("int", "0"),
    "listeners": ("string", "PLAINTEXT://127.0.0.1:9092"),
    "advertised.listeners": ("string", ""),
    # Listener name → security protocol, as Kafka's; names not in the map are refused.
    "listener.security.protocol.map": (
        "string",
        "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
    ),
    "inter.broker.listener.name": ("string", ""),  # empty: the first listener
    # Kafka's default is GSSAPI, which is not served here; PLAIN only when listed.
    "sasl.enabled.mechanisms": ("string", "SCRAM-SHA-256,SCRAM-SHA-512"),
    # How long a connection that failed to authenticate stays open before it is closed: slows down
    # password guessing. Kafka's default is 100.
    "connection.failed.authentication.delay.ms": ("int", "1000"),
    # TLS as Kafka's PEM support: each may be overridden per listener with the prefix
    # `listener.name.<listener name in lower case>.`.
    "ssl.keystore.type": ("string", "PEM"),
    "ssl.keystore.location": ("string", ""),  # certificate chain and private key, PEM
    "ssl.key.password": ("string", ""),  # for an encrypted private key
    "ssl.truststore.type": ("string", "PEM"),
    "ssl.truststore.location": ("string", ""),  # CA certificates, PEM
    "ssl.client.auth": ("string", "none"),  # none, requested or required
    "ssl.enabled.protocols": ("string", "TLSv1.2,TLSv1.3"),
    "ssl.endpoint.identification.algorithm": ("string", "https"),  # empty: no address check
    # The listener firewall (dynamic): client addresses every listener but the inter-broker one
    # accepts, comma-separated CIDRs; empty: any address.
    "connections.allowed.cidrs": ("string", ""),
    # Empty: no authorization. Kafka's ACL authorizer class names enable ours (ACLs in metadata).
    "authorizer.class.name": ("string", ""),
    "super.users": ("string", ""),  # principals allowed everything, semicolon-separated
    "allow.everyone.if.no.acl.found": ("bool", "false"),
    "log.dirs": ("string", "/tmp/dataplane-logs"),
    "num.partitions": ("int", "1"),
    "default.replication.factor": ("int", "1"),
    "auto.create.topics.enable": ("bool", "true"),
    "delete.topic.enable": ("bool", "true"),
    "socket.request.max.bytes": ("int", "104857600"),
    "log.retention.check.interval.ms": ("long", "300000"),
    "log.flush.scheduler.interval.ms": ("long", "1000"),
    "replica.high.watermark.checkpoint.interval.ms": ("long", "5000"),
    "cluster.id": ("string", ""),
    "group.min.session.timeout.ms": ("int", "6000"),
    "group.max.session.timeout.ms": ("int", "1800000"),
    "group.initial.rebalance.delay.ms": ("int", "3000"),
    "offsets.topic.num.partitions": ("int", "50"),
    "offsets.topic.replication.factor": ("int", "3"),
    "offsets.topic.segment.bytes": ("int", "104857600"),
    "offsets.retention.minutes": ("int", "10080"),
    "offsets.retention.check.interval.ms": ("long", "600000"),
    "offset.metadata.max.bytes": ("int", "4096"),
    "zookeeper.connect": ("string", ""),
    "zookeeper.session.timeout.ms": ("int", "18000"),
    "replica.lag.time.max.ms": ("long", "30000"),
    "replica.fetch.max.bytes": ("int", "1048576"),
    "replica.fetch.response.max.bytes": ("int", "10485760"),
    "replica.fetch.wait.max.ms": ("int", "500"),
    "replica.fetch.backoff.ms": ("int", "1000"),
    "follower.replication.throttled.rate": ("long", "-1"),  # bytes/s; -1: unlimited
    "leader.replication.throttled.rate": ("long", "-1"),
    "log.dirs.quota.bytes": ("long", "-1"),  # what the log dirs may hold; -1: no quota
    "controlled.shutdown.enable": ("bool", "true"),
    "controlled.shutdown.timeout.ms": ("long", "30000"),
    "auto.leader.rebalance.enable": ("bool", "true"),
    "leader.imbalance.check.interval.seconds": ("int", "300"),
    "broker.health.log.interval.ms": ("long", "60000"),
    "health.report.url": ("string", ""),  # where to POST health reports (the control plane)
    "health.report.token": ("string", ""),
    "health.report.interval.ms": ("long", "5000"),
    "metrics.listener": ("string", ""),  # host:port for Prometheus text at /metrics; empty: off
    # Per-request recording (request times, traffic per topic); off only to measure what it costs.
    "metrics.recording.enabled": ("bool", "true"),
    "log.cleaner.enable": ("bool", "true"),
    "log.cleaner.backoff.ms": ("long", "15000"),
    "broker.rack": ("string", ""),
    "log.format": ("string", "json"),
    **{d.broker_key: (d.kind, d.default) for d in TOPIC_CONFIG_DEFS.values()},
}


@dataclass(frozen=True)
class DynamicBrokerConfigDef:
    """A broker setting that AlterConfigs may change while the broker runs (Kafka's dynamic broker
    configs); its type and default are those of BROKER_DEFAULTS."""

    name: str
    check: Callable[[Any], bool]
    requirement: str

    @property
    def kind(self) -> str:
        return BROKER_DEFAULTS[self.name][0]

    @property
    def default(self) -> str:
        return BROKER_DEFAULTS[self.name][1]

    def parse(self, raw: str) -> Any:
        try:
            value = _parse_kind(self.kind, raw)
        except ConfigError as exc:
            raise ConfigError(f"invalid value for {self.name}: {exc}") from None
        if not self.check(value):
            raise ConfigError(f"invalid value {raw!r} for {self.name}: {self.requirement}")
        return value


DYNAMIC_BROKER_CONFIG_DEFS: dict[str, DynamicBrokerConfigDef] = {
    d.name: d
    for d in (
        DynamicBrokerConfigDef(
            "follower.replication.throttled.rate",
            _at_least(-1),
            "bytes per second, or -1 for no limit",
        ),
        DynamicBrokerConfigDef(
            "leader.replication.throttled.rate",
            _at_least(-1),
            "bytes per second, or -1 for no limit",
        ),
        DynamicBrokerConfigDef("log.dirs.quota.bytes", _at_least(-1), "bytes, or -1 for no quota"),
        DynamicBrokerConfigDef(
            "connections.allowed.cidrs",
            _are_cidrs,
            "comma-separated CIDR blocks such as 10.0.0.0/8,192.0.2.7/32, or empty for any address",
        ),
    )
}

_TIME_ALIASES = {
    "log.retention.hours": ("log.retention.ms", 3_600_000),
    "log.retention.minutes": ("log.retention.ms", 60_000),
    "log.roll.hours": ("log.roll.ms", 3_600_000),
}


SECURITY_PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL")
SERVED_SECURITY_PROTOCOLS = SECURITY_PROTOCOLS
TLS_SECURITY_PROTOCOLS = ("SSL", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN")
# Kafka's ZooKeeper-era and KRaft ACL authorizers: either name enables ours, with their semantics.
ACL_AUTHORIZER_CLASS_NAMES = (
    "kafka.security.authorizer.AclAuthorizer",
    "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
)


@dataclass(frozen=True)
class Listener:
    name: str
    host: str
    port: int


def parse_security_protocol_map(value: str) -> dict[str, str]:
    """`NAME:PROTOCOL,...` → {name: protocol}; ConfigError on a malformed entry or unknown protocol."""
    result = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, protocol = item.partition(":")
        if not sep or not name or protocol not in SECURITY_PROTOCOLS:
            raise ConfigError(
                f"{item!r} is not NAME:PROTOCOL with PROTOCOL one of {', '.join(SECURITY_PROTOCOLS)}"
            )
        result[name] = protocol
    return result


def parse_listeners(value: str) -> list[Listener]:
    listeners = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, sep, address = item.partition("://")
        host, colon, port = address.rpartition(":")
        if not sep or not colon:
            raise ConfigError(f"listener {item!r} is not NAME://host:port")
        listeners.append(Listener(name, host.strip("[]"), _to_int(port)))
    return listeners


@dataclass
class BrokerConfig:
    """Parsed broker settings. `values` holds every known key with its effective typed value: the
    file's (or the default), overlaid by dynamic configs, the cluster-wide default under this
    broker's own (`apply_dynamic`)."""

    values: dict[str, Any] = field(default_factory=dict)
    explicit: frozenset[str] = frozenset()  # keys the file or overrides set
    dynamic_broker: dict[str, Any] = field(default_factory=dict)  # this broker's, parsed
    dynamic_default: dict[str, Any] = field(default_factory=dict)  # the cluster default, parsed
    static: dict[str, Any] = field(init=False, repr=False)  # values before any dynamic config

    def __post_init__(self) -> None:
        self.static = dict(self.values)

    @classmethod
    def load(cls, path: Path | None = None, overrides: Iterable[str] = ()) -> BrokerConfig:
        raw: dict[str, str] = {}
        if path is not None:
            raw.update(parse_properties(Path(path).read_text()))
        for override in overrides:
            key, sep, value = override.partition("=")
            if not sep:
                raise ConfigError(f"override {override!r} is not key=value")
            raw[key.strip()] = value.strip()
        return cls.from_mapping(raw)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, str]) -> BrokerConfig:
        merged = {key: default for key, (_kind, default) in BROKER_DEFAULTS.items()}
        explicit = set()
        for key, value in raw.items():
            if key in _TIME_ALIASES:
                target, factor = _TIME_ALIASES[key]
                if target not in raw:
                    merged[target] = str(_to_int(value) * factor)
                    explicit.add(target)
            elif key == "log.dir":
                if "log.dirs" not in raw:
                    merged["log.dirs"] = value
                    explicit.add("log.dirs")
            else:
                merged[key] = value
                explicit.add(key)
        values: dict[str, Any] = {}
        for key, value in merged.items():
            kind = BROKER_DEFAULTS.get(key, ("string", ""))[0]
            try:
                values[key] = _parse_kind(kind, value)
            except ConfigError as exc:
                raise ConfigError(f"{key}: {exc}") from None
        for definition in TOPIC_CONFIG_DEFS.values():
            try:
                definition.parse(merged[definition.broker_key])
            except ConfigError as exc:
                raise ConfigError(f"{definition.broker_key}: {exc}") from None
        for key in ("listeners", "advertised.listeners"):
            try:
                parse_listeners(merged[key])
            except ConfigError as exc:
                raise ConfigError(f"{key}: {exc}") from None
        for name, dynamic in DYNAMIC_BROKER_CONFIG_DEFS.items():
            dynamic.parse(merged[name])
        config = cls(values, frozenset(explicit))
        config._check_security()
        config._check_authorizer()
        return config

    def _check_security(self) -> None:
        protocols = parse_security_protocol_map(self.values["listener.security.protocol.map"])
        names = [listener.name for listener in self.listeners]
        for name in names:
            if name not in protocols:
                raise ConfigError(f"listeners: {name!r} is not in listener.security.protocol.map")
            if protocols[name] not in SERVED_SECURITY_PROTOCOLS:
                raise ConfigError(f"listeners: {name!r} uses {protocols[name]}, not served here")
        inter_broker = self.values["inter.broker.listener.name"]
        if inter_broker and inter_broker not in names:
            raise ConfigError(f"inter.broker.listener.name: {inter_broker!r} is not a listener")
        for name in names:
            if protocols[name] in TLS_SECURITY_PROTOCOLS:
                # Built once here so that unusable key material stops the broker at startup.
                self.ssl_server_context(name)
        if self.values["zookeeper.connect"] and names:
            # Replica fetchers authenticate with a client certificate, never with SASL.
            name = inter_broker or names[0]
            if protocols[name] not in ("PLAINTEXT", "SSL"):
                raise ConfigError(
                    f"inter.broker.listener.name: {name!r} uses {protocols[name]}; the "
                    "inter-broker listener must be PLAINTEXT or SSL (inter-broker SASL is not "
                    "supported)"
                )
            if protocols[name] == "SSL":
                self.ssl_client_context(name)
        unknown = set(self.sasl_mechanisms) - set(SASL_MECHANISMS)
        if unknown:
            raise ConfigError(
                f"sasl.enabled.mechanisms: {', '.join(sorted(unknown))} not supported; "
                f"choose from {', '.join(SASL_MECHANISMS)}"
            )

    def _check_authorizer(self) -> None:
        name = self.values["authorizer.class.name"]
        if name and name not in ACL_AUTHORIZER_CLASS_NAMES:
            raise ConfigError(
                f"authorizer.class.name: {name!r} is not served; leave it empty (no authorization) "
                f"or use {' or '.join(ACL_AUTHORIZER_CLASS_NAMES)}"
            )
        for principal in self.super_users:
            kind, sep, user = principal.partition(":")
            if not kind or not sep or not user:
                raise ConfigError(f"super.users: {principal!r} is not a principal like User:alice")

    def apply_dynamic(
        self, per_broker: Mapping[str, str], cluster_default: Mapping[str, str]
    ) -> tuple[set[str], list[str]]:
        """Overlay dynamic configs as stored (text): this broker's over the cluster default over
        the static value. Returns the keys whose effective value changed, and why stored entries
        were ignored (unknown, not dynamic or invalid: someone wrote the store by hand)."""
        problems: list[str] = []

        def parsed(layer: Mapping[str, str], where: str) -> dict[str, Any]:
            result = {}
            for name, raw in layer.items():
                definition = DYNAMIC_BROKER_CONFIG_DEFS.get(name)
                if definition is None:
                    problems.append(f"{where}: {name!r} is not a dynamic broker config")
                    continue
                try:
                    result[name] = definition.parse(str(raw))
                except ConfigError as exc:
                    problems.append(f"{where}: {exc}")
            return result

        self.dynamic_broker = parsed(per_broker, f"broker {self.broker_id}")
        self.dynamic_default = parsed(cluster_default, "cluster default")
        changed = set()
        for name in DYNAMIC_BROKER_CONFIG_DEFS:
            value = self.dynamic_broker.get(name, self.dynamic_default.get(name, self.static[name]))
            if value != self.values[name]:
                self.values[name] = value
                changed.add(name)
        return changed, problems

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def broker_id(self) -> int:
        return self.values["broker.id"]

    @property
    def log_dirs(self) -> list[Path]:
        return [Path(p.strip()) for p in self.values["log.dirs"].split(",") if p.strip()]

    @property
    def listeners(self) -> list[Listener]:
        return parse_listeners(self.values["listeners"])

    @property
    def sasl_mechanisms(self) -> list[str]:
        return [m.strip() for m in self.values["sasl.enabled.mechanisms"].split(",") if m.strip()]

    @property
    def authorizer_enabled(self) -> bool:
        return bool(self.values["authorizer.class.name"])

    @property
    def super_users(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.values["super.users"].split(";") if p.strip())

    def listener_setting(self, listener_name: str, key: str) -> Any:
        """A setting as it applies to one listener: Kafka's per-listener override
        `listener.name.<name in lower case>.<key>` if set, else the broker-wide value."""
        return self.values.get(f"listener.name.{listener_name.lower()}.{key}", self.values[key])

    def tls_settings(self, listener_name: str) -> TlsSettings:
        """The ssl.* settings of a listener, per-listener overrides applied."""

        def setting(key: str) -> str:
            return str(self.listener_setting(listener_name, key)).strip()

        return TlsSettings(
            keystore_type=setting("ssl.keystore.type"),
            keystore_location=setting("ssl.keystore.location"),
            key_password=setting("ssl.key.password"),
            truststore_type=setting("ssl.truststore.type"),
            truststore_location=setting("ssl.truststore.location"),
            client_auth=setting("ssl.client.auth").lower(),
            enabled_protocols=tuple(
                p.strip() for p in setting("ssl.enabled.protocols").split(",") if p.strip()
            ),
            endpoint_identification_algorithm=setting("ssl.endpoint.identification.algorithm"),
        )

    def ssl_server_context(self, listener_name: str) -> ssl.SSLContext:
        """The TLS context an SSL or SASL_SSL listener accepts with; ConfigError if its settings
        or key material cannot be used."""
        try:
            return server_context(self.tls_settings(listener_name))
        except TlsError as exc:
            raise ConfigError(f"listener {listener_name}: {exc}") from None

    def ssl_client_context(self, listener_name: str) -> ssl.SSLContext:
        """The TLS context this broker connects to other brokers' `listener_name` with (its own
        keystore as client certificate); ConfigError as ssl_server_context."""
        try:
            return client_context(self.tls_settings(listener_name))
        except TlsError as exc:
            raise ConfigError(f"listener {listener_name}: {exc}") from None

    def security_protocol(self, listener_name: str) -> str:
        """The security protocol of a listener, by its name."""
        return parse_security_protocol_map(self.values["listener.security.protocol.map"])[
            listener_name
        ]

    @property
    def advertised_listeners(self) -> list[Listener]:
        advertised = self.values["advertised.listeners"]
        return parse_listeners(advertised) if advertised else self.listeners

    @property
    def inter_broker_listener_name(self) -> str:
        """The listener other brokers reach this one on: inter.broker.listener.name, or the first."""
        return self.values["inter.broker.listener.name"] or self.listeners[0].name

    def topic_defaults(self) -> dict[str, Any]:
        """Broker-wide defaults for every topic setting, parsed."""
        return {
            name: definition.parse(str(self.values[definition.broker_key]))
            for name, definition in TOPIC_CONFIG_DEFS.items()
        }


def _parse_kind(kind: str, value: str) -> Any:
    if kind in ("int", "long"):
        return _to_int(value)
    if kind == "double":
        return _to_float(value)
    if kind == "bool":
        return _to_bool(value)
    return value


def topic_config_def(name: str) -> TopicConfigDef:
    """The definition of a topic setting; ConfigError if there is none."""
    definition = TOPIC_CONFIG_DEFS.get(name)
    if definition is None:
        raise ConfigError(f"unknown topic config {name!r}")
    return definition


def dynamic_broker_config_def(name: str) -> DynamicBrokerConfigDef:
    """The definition of a dynamic broker setting; ConfigError, saying why, if there is none."""
    definition = DYNAMIC_BROKER_CONFIG_DEFS.get(name)
    if definition is None:
        allowed = ", ".join(sorted(DYNAMIC_BROKER_CONFIG_DEFS))
        what = "cannot be changed while brokers run" if name in BROKER_DEFAULTS else "is unknown"
        raise ConfigError(f"broker config {name!r} {what}; dynamic ones are: {allowed}")
    return definition


def validate_topic_configs(configs: Mapping[str, str | None]) -> dict[str, str]:
    """Check topic settings by name and value; returns them as strings, raising ConfigError."""
    checked = {}
    for name, value in configs.items():
        definition = topic_config_def(name)
        if value is None:
            raise ConfigError(f"topic config {name!r} has no value")
        definition.parse(value)
        checked[name] = value
    return checked


def validate_broker_configs(configs: Mapping[str, str | None]) -> dict[str, str]:
    """Check dynamic broker settings by name and value; returns them as strings, raising
    ConfigError for a setting that is unknown, cannot change while a broker runs, or is invalid."""
    checked = {}
    for name, value in configs.items():
        definition = dynamic_broker_config_def(name)
        if value is None:
            raise ConfigError(f"broker config {name!r} has no value")
        definition.parse(value)
        checked[name] = value
    return checked


def effective_topic_config(
    overrides: Mapping[str, str], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """A topic's settings: the broker-wide defaults overlaid with the topic's own overrides, parsed."""
    effective = dict(defaults)
    for name, raw in overrides.items():
        effective[name] = TOPIC_CONFIG_DEFS[name].parse(raw)
    return effective
