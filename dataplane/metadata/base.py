"""The metadata interface every backend implements, and the records it hands out.

Reads come from an in-memory view (`topics`, `brokers`) that the backend keeps current; changes go
through async methods, after which subscribers are told so brokers can reconcile their local logs.
"""

from __future__ import annotations

import abc
import base64
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import (
    AccessControlEntry,
    AclBinding,
    AclBindingFilter,
    Authorizer,
    ResourcePattern,
)

TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")
# The entity whose dynamic broker configs apply to every broker that has none of its own (Kafka's
# name, so `/config/brokers/<default>` means in ZooKeeper what it means to Kafka's tools).
DEFAULT_BROKER_ENTITY = "<default>"


class MetadataError(Exception):
    """A metadata change was refused; `code` is the Kafka error to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Endpoint:
    """Where a broker's advertised listener is reached, and how it must be spoken to."""

    listener: str
    host: str
    port: int
    security_protocol: str = "PLAINTEXT"


@dataclass(frozen=True)
class BrokerInfo:
    broker_id: int
    host: str  # the inter-broker listener's address
    port: int
    rack: str | None = None
    endpoints: tuple[Endpoint, ...] = ()  # every advertised listener

    def endpoint(self, listener: str) -> Endpoint | None:
        """The broker's endpoint on the listener of that name; None if it has no such listener."""
        return next((e for e in self.endpoints if e.listener == listener), None)


@dataclass
class PartitionState:
    replicas: list[int]
    leader: int
    leader_epoch: int
    isr: list[int]
    partition_epoch: int = 0  # bumped by every leader/ISR change; conditional writes check it
    controller_epoch: int = 0


@dataclass
class TopicMetadata:
    name: str
    topic_id: bytes
    partitions: dict[int, PartitionState]
    configs: dict[str, str] = field(default_factory=dict)
    internal: bool = False
    adding_replicas: dict[int, list[int]] = field(default_factory=dict)  # reassignments under way
    removing_replicas: dict[int, list[int]] = field(default_factory=dict)


Listener = Callable[[], None]
# Computes an entity's new dynamic broker configs from its current ones; may raise ConfigError.
BrokerConfigUpdate = Callable[[dict[str, str]], dict[str, str]]


def check_partition_numbering(assignment: Mapping[int, list[int]]) -> None:
    """An explicit replica assignment must number its partitions 0..n-1."""
    if sorted(assignment) != list(range(len(assignment))):
        raise MetadataError(
            ErrorCode.INVALID_REPLICA_ASSIGNMENT, "partitions must be numbered from 0"
        )


def validate_topic_name(name: str) -> str | None:
    """Why `name` cannot be a topic name, or None if it can."""
    if name in (".", ".."):
        return "topic name cannot be '.' or '..'"
    if not TOPIC_NAME.match(name):
        return "topic names are 1-249 characters of ASCII letters, digits, '.', '_' and '-'"
    return None


def topic_id_text(topic_id: bytes) -> str:
    """Kafka's text form of a topic id: URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(topic_id).decode().rstrip("=")


class MetadataStore(abc.ABC):
    cluster_id: str
    controller_id: int

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.shutting_down: set[int] = set()  # brokers draining for a controlled shutdown
        # Every stored ACL, kept current like the rest of the view. Its policy (super users, the
        # no-ACL default) is the broker's to set: the store only keeps the bindings.
        self.acls = Authorizer()

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    @property
    @abc.abstractmethod
    def topics(self) -> Mapping[str, TopicMetadata]: ...

    @property
    @abc.abstractmethod
    def brokers(self) -> Mapping[int, BrokerInfo]: ...

    @property
    @abc.abstractmethod
    def broker_configs(self) -> Mapping[str, Mapping[str, str]]:
        """Dynamic broker configs (as text) by entity: at least this broker's id and
        DEFAULT_BROKER_ENTITY, kept current like the rest of the view."""

    @property
    @abc.abstractmethod
    def user_configs(self) -> Mapping[str, Mapping[str, str]]:
        """Every user's config map (Kafka's /config/users: SCRAM credentials, as text), by user
        name, kept current like the rest of the view."""

    @abc.abstractmethod
    async def alter_user_config(
        self, user: str, update: Callable[[dict[str, str]], dict[str, str]]
    ) -> dict[str, str]:
        """Replace a user's config map with `update(current)`, atomically with respect to other
        writers; an empty result removes the user. Errors `update` raises propagate."""

    @abc.abstractmethod
    async def create_acls(self, bindings: Sequence[AclBinding]) -> None:
        """Store validated bindings (those already stored are kept once), each resource updated
        atomically with respect to other writers; returns once `acls` has them."""

    @abc.abstractmethod
    async def delete_acls(self, filters: Sequence[AclBindingFilter]) -> list[list[AclBinding]]:
        """Remove every stored binding any filter matches; returns, per filter, the bindings it
        matched that were removed. Returns once `acls` no longer has them."""

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def create_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        configs: Mapping[str, str],
        assignment: Mapping[int, list[int]] | None = None,
        internal: bool = False,
    ) -> TopicMetadata: ...

    @abc.abstractmethod
    async def delete_topic(self, name: str) -> None: ...

    @abc.abstractmethod
    async def create_partitions(
        self, name: str, total: int, assignment: list[list[int]] | None = None
    ) -> None: ...

    @abc.abstractmethod
    async def set_topic_configs(self, name: str, configs: Mapping[str, str]) -> None: ...

    @abc.abstractmethod
    async def alter_broker_configs(
        self, entity: str, update: BrokerConfigUpdate, validate_only: bool = False
    ) -> dict[str, str]:
        """Replace the dynamic configs of `entity` (a broker id as text, or DEFAULT_BROKER_ENTITY)
        with `update(current)`, atomically with respect to other writers, and return them. With
        `validate_only` nothing is written. Errors `update` raises propagate; nothing is written."""

    @abc.abstractmethod
    async def allocate_producer_ids(self, count: int) -> int:
        """Reserve `count` producer ids cluster-wide; returns the first."""

    @abc.abstractmethod
    async def update_isr(
        self, topic: str, partition: int, state: PartitionState, isr: list[int]
    ) -> bool:
        """A leader changes its partition's ISR, conditional on `state` still being current.
        Returns False if someone else changed the partition first."""

    async def controlled_shutdown(self, timeout: float) -> None:  # noqa: B027 - optional hook
        """Hand leadership away before this broker stops (nothing to do without peers)."""


def acls_with(
    current: Iterable[AccessControlEntry], pattern: ResourcePattern, bindings: Sequence[AclBinding]
) -> set[AccessControlEntry]:
    """A resource's ACLs with the bindings for `pattern` added (CreateAcls)."""
    return set(current) | {b.entry for b in bindings if b.pattern == pattern}


def acls_without(
    current: Iterable[AccessControlEntry],
    pattern: ResourcePattern,
    filters: Sequence[AclBindingFilter],
) -> set[AccessControlEntry]:
    """A resource's ACLs less those any filter matches (DeleteAcls)."""
    return {
        entry
        for entry in current
        if not any(f.matches(AclBinding(pattern, entry)) for f in filters)
    }


def deleted_per_filter(
    removed: Iterable[AclBinding], filters: Sequence[AclBindingFilter]
) -> list[list[AclBinding]]:
    """Which removed bindings each filter matched (a binding may count for several filters)."""
    removed = list(removed)
    return [[b for b in removed if f.matches(b)] for f in filters]


def patterns_matching(
    acls: Authorizer, filters: Sequence[AclBindingFilter]
) -> set[ResourcePattern]:
    """The resource patterns holding at least one binding that some filter matches."""
    return {binding.pattern for f in filters for binding in acls.bindings(f)}
