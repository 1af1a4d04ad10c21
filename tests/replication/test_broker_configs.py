"""Dynamic broker configs in a ZooKeeper cluster: stored as Kafka stores them
(`/config/brokers/<id>` and `/config/brokers/<default>`), applied by every broker while it runs.
The replication throttles slow a reassignment to their rate (follower side on the broker copying,
leader side on the broker serving), and lifting one lets the rest of a move go at once; a follower
keeps replicating past its own log-dir quota."""

from __future__ import annotations

import time

from confluent_kafka import Producer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    ResourceType,
)

from dataplane.admin.client import AdminClient as DataplaneAdmin
from tests.support.cluster import Cluster, wait_until

FOLLOWER = "follower.replication.throttled.rate"
LEADER = "leader.replication.throttled.rate"
QUOTA = "log.dirs.quota.bytes"
DYNAMIC_BROKER = ConfigSource.DYNAMIC_BROKER_CONFIG.value
DYNAMIC_DEFAULT = ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
DEFAULT = ConfigSource.DEFAULT_CONFIG.value

RATE = 200_000  # bytes per second
FETCH_MAX = 64 * 1024  # replica.fetch.max.bytes: how far one fetch may overdraw the throttle
PARTITION_BYTES = 2 * 1024 * 1024
VALUE = b"v" * 1000


def describe(admin: AdminClient, broker_id: int) -> dict[str, ConfigEntry]:
    resource = ConfigResource(ResourceType.BROKER, str(broker_id))
    return admin.describe_configs([resource], request_timeout=15)[resource].result(timeout=20)


def alter(admin: AdminClient, broker_id: int, changes: dict[str, str | None]) -> None:
    """SET each name with a value, DELETE each with None (confluent-kafka, as the control plane)."""
    entries = [
        ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
        if value is not None
        else ConfigEntry(name, None, incremental_operation=AlterConfigOpType.DELETE)
        for name, value in changes.items()
    ]
    resource = ConfigResource(ResourceType.BROKER, str(broker_id), incremental_configs=entries)
    admin.incremental_alter_configs([resource], request_timeout=15)[resource].result(timeout=20)


def fill(cluster: Cluster, topic: str, partition: int) -> None:
    # Batches well under FETCH_MAX, so that no fetch returns more (a fetch returns at least one
    # whole batch, whatever its size).
    producer = Producer(cluster.client_config(acks="all", **{"linger.ms": 20, "batch.size": 16384}))
    for _ in range(PARTITION_BYTES // len(VALUE)):
        producer.produce(topic, VALUE, partition=partition)
        producer.poll(0)
    assert producer.flush(60) == 0


def move(
    cluster: Cluster, topic: str, partition: int, replicas: list[int], wait: bool = True
) -> float:
    """Reassign a partition; with `wait`, until the move is complete. Returns when it started."""
    started = time.monotonic()
    with DataplaneAdmin(cluster.bootstrap) as admin:
        admin.alter_partition_reassignments({(topic, partition): replicas})
        if wait:
            wait_move(cluster)
    return started


def wait_move(cluster: Cluster, timeout: float = 120) -> None:
    with DataplaneAdmin(cluster.bootstrap) as admin:
        wait_until(
            lambda: not admin.list_partition_reassignments(), timeout, "the move to complete"
        )


def slowest_throttled_move(size: int) -> float:
    """The least time a throttled copy of `size` bytes takes: the bucket lets a second's worth
    through at once, and the last fetch may overdraw it by up to FETCH_MAX."""
    return (size - RATE - FETCH_MAX) / RATE


def test_follower_throttle_is_set_applied_and_lifted_live(make_cluster, topic_name):
    cluster = make_cluster(3, {"replica.fetch.max.bytes": FETCH_MAX})
    cluster.create_topic(topic_name, assignment=[[1, 2], [1, 2]])
    for partition in (0, 1):
        fill(cluster, topic_name, partition)
    admin = cluster.admin()

    alter(admin, 3, {FOLLOWER: str(RATE)})
    assert cluster.read_json("/config/brokers/3") == {"version": 1, "config": {FOLLOWER: "200000"}}
    entry = describe(admin, 3)[FOLLOWER]
    assert (entry.value, entry.source, entry.is_read_only) == ("200000", DYNAMIC_BROKER, False)
    assert describe(admin, 1)[FOLLOWER].value == "-1"  # broker 3's alone

    started = move(cluster, topic_name, 0, [1, 2, 3])
    elapsed = time.monotonic() - started
    size = len(cluster.log_bytes(3, topic_name, 0))
    assert size >= PARTITION_BYTES
    assert elapsed >= slowest_throttled_move(size), f"{size} bytes copied in {elapsed:.1f}s"

    # Lifted halfway through a move: the rest is copied at once.
    move(cluster, topic_name, 1, [1, 2, 3], wait=False)
    time.sleep(2)
    with DataplaneAdmin(cluster.bootstrap) as ours:
        assert ours.list_partition_reassignments(), "a throttled move of 2 MB took under 2s"
    alter(admin, 3, {FOLLOWER: None})
    lifted = time.monotonic()
    wait_move(cluster)
    assert time.monotonic() - lifted < slowest_throttled_move(PARTITION_BYTES) / 2
    reverted = describe(admin, 3)[FOLLOWER]
    assert (reverted.value, reverted.source) == ("-1", DEFAULT)
    assert cluster.read_json("/config/brokers/3") == {"version": 1, "config": {}}
    cluster.wait_replicas_identical(topic_name)


def test_leader_throttle_from_the_cluster_default(make_cluster, topic_name):
    cluster = make_cluster(3, {"replica.fetch.max.bytes": FETCH_MAX})
    cluster.create_topic(topic_name, assignment=[[1, 2], [1, 2]])
    for partition in (0, 1):
        fill(cluster, topic_name, partition)
    admin = cluster.admin()

    with DataplaneAdmin(cluster.bootstrap) as ours:
        ours.alter_broker_configs(None, {LEADER: str(RATE)})
    assert cluster.read_json("/config/brokers/<default>") == {
        "version": 1,
        "config": {LEADER: "200000"},
    }
    for broker_id in (1, 2, 3):
        entry = describe(admin, broker_id)[LEADER]
        assert (entry.value, entry.source) == ("200000", DYNAMIC_DEFAULT), broker_id

    started = move(cluster, topic_name, 0, [1, 2, 3])
    elapsed = time.monotonic() - started
    size = len(cluster.log_bytes(3, topic_name, 0))
    assert elapsed >= slowest_throttled_move(size), f"{size} bytes served in {elapsed:.1f}s"

    # A broker's own setting beats the default: the leader of partition 1 serves unthrottled.
    alter(admin, 1, {LEADER: "-1"})
    assert (describe(admin, 1)[LEADER].value, describe(admin, 1)[LEADER].source) == (
        "-1",
        DYNAMIC_BROKER,
    )
    assert describe(admin, 2)[LEADER].value == "200000"
    started = move(cluster, topic_name, 1, [1, 2, 3])
    assert time.monotonic() - started < slowest_throttled_move(PARTITION_BYTES) / 2

    with DataplaneAdmin(cluster.bootstrap) as ours:
        ours.alter_broker_configs(None, {}, delete=[LEADER])
        assert ours.broker_configs(None) == {}
    wait_until(lambda: describe(admin, 2)[LEADER].source == DEFAULT, 10, "the default to go")


def test_a_follower_past_its_quota_keeps_replicating(make_cluster, topic_name):
    """Followers mirror their leaders: a replica that refused the copy would drop out of the ISR
    and leave the partition under-replicated, which is worse than a full disk on one broker."""
    cluster = make_cluster(2, broker_overrides={2: {QUOTA: 10_000}})
    cluster.create_topic(topic_name, assignment=[[1, 2]])
    producer = Producer(cluster.client_config(acks="all"))
    for _ in range(200):
        producer.produce(topic_name, VALUE)
    assert producer.flush(30) == 0
    assert len(cluster.log_bytes(2, topic_name, 0)) > 200 * len(VALUE)
    assert cluster.isr(topic_name, 0) == [1, 2]
