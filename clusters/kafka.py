"""Talking to a cluster as any Kafka client would: confluent-kafka's admin client, producer, consumer
(kafka-python's admin client for partition reassignments, which confluent-kafka lacks)."""

from __future__ import annotations

import ssl
import tempfile
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from confluent_kafka import (
    Consumer,
    ElectionType,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)
from kafka import KafkaAdminClient
from kafka import TopicPartition as KafkaPythonPartition
from kafka.errors import KafkaError as KafkaPythonError

from clusters.errors import ClusterUnreachable, Conflict, InvalidInput

if TYPE_CHECKING:  # the Kafka calls below work without Django set up (tests, tools)
    from clusters.models import Cluster

TIMEOUT_S = 15.0


@dataclass
class TopicInfo:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)


def client_config(cluster: Cluster, *, brokers: Collection[int] | None = None) -> dict[str, str]:
    """librdkafka settings for the control plane talking to `cluster`: where to connect and how to
    authenticate. Every control-plane Kafka client starts from these. `brokers` limits the
    bootstrap servers to those broker ids (e.g. the ones staying in a scale-in)."""
    from clusters.models import INTERNAL_LISTENER_PORT

    nodes = [n for n in cluster.brokers if n.host and (brokers is None or n.index in brokers)]
    if not cluster.is_secured:
        return {"bootstrap.servers": ",".join(f"{n.host}:{n.port}" for n in nodes)}
    # The INTERNAL listener with mutual TLS: the client certificate (CN=controlplane) makes the
    # control plane a super user, and the client listener's firewall never applies to it.
    ca = cluster.ca
    return {
        "bootstrap.servers": ",".join(f"{n.host}:{INTERNAL_LISTENER_PORT}" for n in nodes),
        "security.protocol": "SSL",
        "ssl.ca.pem": ca.certificate_pem,
        "ssl.certificate.pem": ca.client_certificate_pem,
        "ssl.key.pem": ca.client_key_pem(),
    }


def _admin(client: dict[str, str]) -> AdminClient:
    return AdminClient({**client, "socket.timeout.ms": 10000})


def _error(exc: BaseException) -> Exception:
    """A service error for what the cluster answered."""
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    if isinstance(error, KafkaError):
        code = error.code()
        if code == KafkaError.TOPIC_ALREADY_EXISTS:
            return Conflict(error.str())
        if code in (
            KafkaError.INVALID_REPLICATION_FACTOR,
            KafkaError.INVALID_PARTITIONS,
            KafkaError.INVALID_CONFIG,
            KafkaError.INVALID_TOPIC_EXCEPTION,
            KafkaError.POLICY_VIOLATION,
            KafkaError.INVALID_REQUEST,
        ):
            return InvalidInput(error.str())
        if code == KafkaError.UNKNOWN_TOPIC_OR_PART:
            return InvalidInput(error.str())
        return ClusterUnreachable(f"the cluster answered: {error.str()}")
    return ClusterUnreachable(f"the cluster did not answer: {exc}")


def topics_list(client: dict[str, str]) -> list[TopicInfo]:
    admin = _admin(client)
    try:
        metadata = admin.list_topics(timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise _error(exc) from exc
    topics = [
        TopicInfo(
            name=t.topic,
            partitions=len(t.partitions),
            replication_factor=max((len(p.replicas) for p in t.partitions.values()), default=0),
        )
        for t in metadata.topics.values()
        if not t.topic.startswith("__")
    ]
    if topics:
        resources = [ConfigResource(ConfigResource.Type.TOPIC, t.name) for t in topics]
        futures = admin.describe_configs(resources, request_timeout=TIMEOUT_S)
        by_name = {t.name: t for t in topics}
        for resource, future in futures.items():
            try:
                entries = future.result()
            except KafkaException:
                continue  # deleted meanwhile
            by_name[resource.name].configs = {
                name: entry.value
                for name, entry in entries.items()
                if not entry.is_default and entry.value is not None
            }
    return sorted(topics, key=lambda t: t.name)


def topic_create(
    client: dict[str, str],
    name: str,
    partitions: int,
    replication_factor: int,
    configs: dict[str, str],
) -> None:
    admin = _admin(client)
    topic = NewTopic(
        name, num_partitions=partitions, replication_factor=replication_factor, config=configs
    )
    _result(admin.create_topics([topic], request_timeout=TIMEOUT_S)[name])


def topic_alter_configs(
    client: dict[str, str], name: str, set_configs: dict[str, str], delete: list[str]
) -> None:
    _alter_configs(client, ConfigResource.Type.TOPIC, name, set_configs, delete)


def broker_alter_configs(
    client: dict[str, str], broker_id: int, set_configs: dict[str, str], delete: list[str]
) -> None:
    """Change a broker's dynamic configs; it applies them without a restart."""
    _alter_configs(client, ConfigResource.Type.BROKER, str(broker_id), set_configs, delete)


def broker_configs(client: dict[str, str], broker_id: int) -> dict[str, str]:
    """A broker's effective configs."""
    admin = _admin(client)
    resource = ConfigResource(ConfigResource.Type.BROKER, str(broker_id))
    entries = _result(admin.describe_configs([resource], request_timeout=TIMEOUT_S)[resource])
    return {name: entry.value for name, entry in entries.items()}


def _alter_configs(
    client: dict[str, str],
    resource_type: ConfigResource.Type,
    name: str,
    set_configs: dict[str, str],
    delete: list[str],
) -> None:
    admin = _admin(client)
    entries = [
        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
        for key, value in set_configs.items()
    ] + [ConfigEntry(key, None, incremental_operation=AlterConfigOpType.DELETE) for key in delete]
    resource = ConfigResource(resource_type, name, incremental_configs=entries)
    _result(admin.incremental_alter_configs([resource], request_timeout=TIMEOUT_S)[resource])


def _result(future):
    try:
        return future.result()
    except KafkaException as exc:
        raise _error(exc) from exc


def topic_delete(client: dict[str, str], name: str) -> None:
    admin = _admin(client)
    _result(admin.delete_topics([name], request_timeout=TIMEOUT_S)[name])


def verify_round_trip(
    client: dict[str, str],
    *,
    expected_brokers: set[int],
    replication_factor: int,
    topic: str,
    log: Callable[[str], None],
    timeout: float = 60.0,
) -> None:
    """Every expected broker is registered, and a record written with acks=all reads back."""
    admin = _admin(client)
    deadline = time.monotonic() + timeout
    while True:
        try:
            registered = set(admin.list_topics(timeout=5).brokers)
        except KafkaException:
            registered = set()
        if registered >= expected_brokers:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"brokers {sorted(expected_brokers - registered)} did not register in time"
            )
        time.sleep(0.5)
    log(f"brokers registered: {sorted(registered)}")

    topic_create(client, topic, 1, replication_factor, {})
    try:
        producer = Producer({**client, "acks": "all", "message.timeout.ms": 30000})
        delivered: list[KafkaError | None] = []
        producer.produce(topic, b"round-trip", on_delivery=lambda err, _msg: delivered.append(err))
        producer.flush(35)
        if delivered != [None]:
            raise RuntimeError(f"test record not acknowledged: {delivered}")
        consumer = Consumer({**client, "group.id": topic, "enable.auto.commit": False})
        try:
            consumer.assign([TopicPartition(topic, 0, 0)])
            value = None
            while value is None and time.monotonic() < deadline + 30:
                message = consumer.poll(1.0)
                if message is not None and not message.error():
                    value = message.value()
            if value != b"round-trip":
                raise RuntimeError("the test record could not be read back")
        finally:
            consumer.close()
        log(f"test topic {topic} (RF {replication_factor}): record written and read back")
    finally:
        topic_delete(client, topic)


@dataclass
class PartitionState:
    topic: str
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]


@dataclass
class ClusterState:
    brokers: set[int]
    controller: int
    partitions: list[PartitionState]
    min_isr: dict[str, int]

    @property
    def under_replicated(self) -> list[PartitionState]:
        return [p for p in self.partitions if set(p.isr) != set(p.replicas)]


def cluster_state(client: dict[str, str]) -> ClusterState:
    """Brokers, controller, every partition's leader, replicas and ISR, and each topic's min ISR."""
    admin = _admin(client)
    try:
        metadata = admin.list_topics(timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise _error(exc) from exc
    partitions = [
        PartitionState(t.topic, p.id, p.leader, list(p.replicas), list(p.isrs))
        for t in metadata.topics.values()
        for p in t.partitions.values()
    ]
    min_isr: dict[str, int] = {}
    if metadata.topics:
        resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in metadata.topics]
        for resource, future in admin.describe_configs(
            resources, request_timeout=TIMEOUT_S
        ).items():
            try:
                entry = future.result().get("min.insync.replicas")
            except KafkaException:
                continue
            min_isr[resource.name] = int(entry.value) if entry and entry.value else 1
    return ClusterState(set(metadata.brokers), metadata.controller_id, partitions, min_isr)


def elect_preferred_leaders(client: dict[str, str], partitions: list[PartitionState]) -> None:
    """Move leadership back to each partition's preferred (first) replica."""
    if not partitions:
        return
    admin = _admin(client)
    # No request_timeout: confluent-kafka's binding rejects keyword arguments for this call.
    future = admin.elect_leaders(
        ElectionType.PREFERRED, [TopicPartition(p.topic, p.partition) for p in partitions]
    )
    results = _result(future)
    for tp, error in results.items():
        if error is not None and error.code() != KafkaError.ELECTION_NOT_NEEDED:
            raise ClusterUnreachable(
                f"preferred election for {tp.topic}-{tp.partition}: {error.str()}"
            )


def restore_preferred_leaders(client: dict[str, str]) -> int:
    """Elect each partition's preferred replica where another leads; returns how many moved."""
    state = cluster_state(client)
    misplaced = [p for p in state.partitions if p.replicas and p.leader != p.replicas[0]]
    elect_preferred_leaders(client, misplaced)
    return len(misplaced)


def balanced_assignment(
    state: ClusterState, brokers: list[int]
) -> dict[tuple[str, int], list[int]]:
    """Replica lists that spread every topic's partitions (and their leaders) over `brokers`,
    keeping each partition's replication factor; only partitions whose list changes are returned."""
    brokers = sorted(brokers)
    topics = sorted({p.topic for p in state.partitions})
    targets = {}
    for p in state.partitions:
        factor = len(p.replicas)
        start = p.partition + topics.index(p.topic)
        wanted = [brokers[(start + i) % len(brokers)] for i in range(factor)]
        if wanted != p.replicas:
            targets[(p.topic, p.partition)] = wanted
    return targets


def _reassignment_admin(client: dict[str, str]) -> KafkaAdminClient:
    """kafka-python's admin client with the same connection settings: confluent-kafka has no
    partition reassignment calls."""
    options: dict = {
        "bootstrap_servers": client["bootstrap.servers"].split(","),
        "request_timeout_ms": int(TIMEOUT_S * 1000),
        "client_id": "streamplane-controlplane",
    }
    if client.get("security.protocol") == "SSL":
        options.update(security_protocol="SSL", ssl_context=_ssl_context(client))
    try:
        return KafkaAdminClient(**options)
    except (KafkaPythonError, OSError) as exc:
        raise ClusterUnreachable(f"the cluster did not answer: {exc}") from exc


def _ssl_context(client: dict[str, str]) -> ssl.SSLContext:
    """A TLS context from librdkafka's in-memory PEM settings. Python's ssl loads a certificate
    chain from files only: the key passes through a file in a private directory, gone at once."""
    context = ssl.create_default_context(cadata=client["ssl.ca.pem"])
    with tempfile.TemporaryDirectory(prefix="streamplane-tls-") as private:
        path = Path(private) / "client.pem"
        path.touch(mode=0o600)
        path.write_text(client["ssl.certificate.pem"] + client["ssl.key.pem"])
        context.load_cert_chain(path)
    return context


def reassign(client: dict[str, str], targets: dict[tuple[str, int], list[int]]) -> None:
    """Start moving each partition to its target replica list."""
    admin = _reassignment_admin(client)
    try:
        results = admin.alter_partition_reassignments(
            {KafkaPythonPartition(t, p): replicas for (t, p), replicas in targets.items()},
            timeout_ms=int(TIMEOUT_S * 1000),
        )
    except (KafkaPythonError, OSError) as exc:
        raise ClusterUnreachable(f"reassignment refused: {exc}") from exc
    finally:
        admin.close()
    refused = [f"{tp.topic}-{tp.partition}: {error}" for tp, error in results.items() if error]
    if refused:
        raise ClusterUnreachable(f"reassignment refused: {'; '.join(refused[:5])}")


def reassignments_in_progress(client: dict[str, str]) -> int:
    admin = _reassignment_admin(client)
    try:
        return len(admin.list_partition_reassignments(timeout_ms=int(TIMEOUT_S * 1000)))
    except (KafkaPythonError, OSError) as exc:
        raise ClusterUnreachable(f"the cluster did not list its reassignments: {exc}") from exc
    finally:
        admin.close()


# --- consumer groups and their offsets (lag) --------------------------------------------------------

# Kafka's names for group states, by confluent-kafka's ConsumerGroupState member name (librdkafka
# spells the rebalancing ones differently).
GROUP_STATES = {
    "STABLE": "stable",
    "EMPTY": "empty",
    "PREPARING_REBALANCING": "preparing_rebalance",
    "COMPLETING_REBALANCING": "completing_rebalance",
    "DEAD": "dead",
    "UNKNOWN": "unknown",
}


@dataclass
class GroupMember:
    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None
    assignment: list[tuple[str, int]]


@dataclass
class ConsumerGroup:
    group_id: str
    state: str
    assignor: str
    coordinator: int | None
    members: list[GroupMember]
    committed: dict[tuple[str, int], int]  # committed offset by (topic, partition)


@dataclass
class GroupsSnapshot:
    """Consumer groups with their members and committed offsets, and the log-end offset of every
    partition they commit to or are assigned; `errors` names what could not be read."""

    groups: list[ConsumerGroup]
    end_offsets: dict[tuple[str, int], int]
    errors: list[str] = field(default_factory=list)


def consumer_groups_snapshot(
    client: dict[str, str], group_ids: list[str] | None = None, timeout: float = 8.0
) -> GroupsSnapshot:
    """Every consumer group (or the ones named) as an admin client sees it, within `timeout`
    seconds in all. Raises ClusterUnreachable when the groups cannot be listed or described at all;
    a single group or partition that fails is left out and named in `errors`."""
    from confluent_kafka import ConsumerGroupTopicPartitions
    from confluent_kafka.admin import OffsetSpec

    deadline = time.monotonic() + timeout
    admin = AdminClient(
        {
            **client,
            "socket.connection.setup.timeout.ms": max(1000, int(timeout * 500)),
            "socket.timeout.ms": max(1000, int(timeout * 1000)),
        }
    )
    errors: list[str] = []
    if group_ids is None:
        listed = _before(admin.list_consumer_groups(request_timeout=_left(deadline)), deadline)
        errors += [f"listing groups: {e}" for e in listed.errors]
        if errors and not listed.valid:
            raise ClusterUnreachable(f"the cluster did not list its groups: {listed.errors[0]}")
        group_ids = sorted(g.group_id for g in listed.valid)
    if not group_ids:
        return GroupsSnapshot([], {}, errors)

    # All requests go out before any answer is awaited: librdkafka sends them in parallel.
    described = admin.describe_consumer_groups(group_ids, request_timeout=_left(deadline))
    offsets = {
        group_id: admin.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group_id)], request_timeout=_left(deadline)
        )[group_id]
        for group_id in group_ids
    }
    groups = []
    for group_id in group_ids:
        try:
            committed = _before(offsets[group_id], deadline)
        except ClusterUnreachable as exc:
            errors.append(f"offsets of group {group_id}: {exc.message}")
            continue
        group = ConsumerGroup(
            group_id=group_id,
            state="unknown",
            assignor="",
            coordinator=None,
            members=[],
            committed={
                (tp.topic, tp.partition): tp.offset
                for tp in committed.topic_partitions
                if tp.error is None and tp.offset >= 0
            },
        )
        # Without its description a group still has offsets, hence lag: keep it, state unknown.
        try:
            description = _before(described[group_id], deadline)
        except ClusterUnreachable as exc:
            errors.append(f"group {group_id}: {exc.message}")
        else:
            group.state = GROUP_STATES.get(getattr(description.state, "name", ""), "unknown")
            group.assignor = description.partition_assignor or ""
            group.coordinator = description.coordinator.id if description.coordinator else None
            group.members = [
                GroupMember(
                    member_id=m.member_id,
                    client_id=m.client_id,
                    host=m.host.lstrip("/"),
                    group_instance_id=m.group_instance_id,
                    assignment=sorted(
                        (tp.topic, tp.partition) for tp in m.assignment.topic_partitions
                    ),
                )
                for m in description.members
            ]
        groups.append(group)
    if not groups and errors:
        raise ClusterUnreachable("; ".join(errors[:3]))

    partitions = {tp for g in groups for tp in g.committed} | {
        tp for g in groups for m in g.members for tp in m.assignment
    }
    end_offsets: dict[tuple[str, int], int] = {}
    if partitions:
        futures = admin.list_offsets(
            {TopicPartition(t, p): OffsetSpec.latest() for t, p in partitions},
            request_timeout=_left(deadline),
        )
        for tp, future in futures.items():
            try:
                end_offsets[(tp.topic, tp.partition)] = _before(future, deadline).offset
            except ClusterUnreachable as exc:
                # A deleted topic keeps its committed offsets until they expire.
                errors.append(f"end offset of {tp.topic}-{tp.partition}: {exc.message}")
    return GroupsSnapshot(groups, end_offsets, errors)


def _left(deadline: float) -> float:
    return max(0.5, deadline - time.monotonic())


def _before(future, deadline: float):
    """A future's result, waited for no later than the deadline (and a grace second: librdkafka
    fails the request itself at its request_timeout)."""
    try:
        return future.result(timeout=_left(deadline) + 1.0)
    except KafkaException as exc:
        raise _error(exc) from exc
    except TimeoutError as exc:  # concurrent.futures' since Python 3.11
        raise ClusterUnreachable("the cluster did not answer in time") from exc
