"""Consumer groups across a coordinator failover: the broker leading the group's __consumer_offsets
partition is killed; another replica takes over the partition and the group, offsets committed before
the crash are still there, and the consumer carries on, seeing again at most what it had consumed
without committing."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)

from tests.replication.clients import ProducerThread
from tests.support.cluster import Cluster, wait_until
from tests.support.wire import WireClient

OFFSETS_TOPIC = "__consumer_offsets"
FIND_COORDINATOR = 10
PARTITIONS = 3
PER_PARTITION = 300
RETRIABLE_COMMIT_ERRORS = {
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError._WAIT_COORD,
    KafkaError.REQUEST_TIMED_OUT,
}


def offsets_partition(group: str, partitions: int) -> int:
    """Kafka's choice of offsets partition: abs(String.hashCode(group)) % partitions."""
    h = 0
    for char in group:
        h = (31 * h + ord(char)) & 0xFFFFFFFF
    return (h & 0x7FFFFFFF) % partitions


def committed_offsets(cluster: Cluster, group: str) -> dict[int, int]:
    """The group's committed offsets as the (current) coordinator reports them."""
    future = cluster.admin(fresh=True).list_consumer_group_offsets(
        [ConsumerGroupTopicPartitions(group)]
    )
    result = future[group].result(timeout=10)
    return {tp.partition: tp.offset for tp in result.topic_partitions if tp.offset >= 0}


class GroupConsumer:
    """A subscribed confluent consumer with manual commits that records what it receives and every
    partition revocation (or loss) the group imposes on it."""

    def __init__(self, cluster: Cluster, topic: str, group: str) -> None:
        self.consumed: list[tuple[int, int, int]] = []  # (partition, offset, seq) in order
        self.revocations = 0
        self.consumer = Consumer(
            cluster.client_config(
                **{
                    "group.id": group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": "earliest",
                    "session.timeout.ms": 6000,
                    "heartbeat.interval.ms": 300,
                    "max.partition.fetch.bytes": 2000,  # small fetches: consumption is gradual
                    "fetch.wait.max.ms": 100,
                }
            )
        )
        self.consumer.subscribe([topic], on_revoke=self._revoked, on_lost=self._revoked)

    def _revoked(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        self.revocations += 1

    def poll_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._take(self.consumer.consume(50, 0.1))

    def consume(self, count: int, timeout: float = 30) -> None:
        target = len(self.consumed) + count
        deadline = time.monotonic() + timeout
        while len(self.consumed) < target:
            assert time.monotonic() < deadline, f"consumed {len(self.consumed)} of {target}"
            self._take(self.consumer.consume(min(50, target - len(self.consumed)), 0.2))

    def _take(self, messages: list) -> None:
        for msg in messages:
            if msg.error() is None:
                self.consumed.append((msg.partition(), msg.offset(), int(msg.value())))

    def distinct(self) -> int:
        return len({seq for _, _, seq in self.consumed})

    def commit(self) -> dict[int, int]:
        committed = self.consumer.commit(asynchronous=False)
        assert all(tp.error is None for tp in committed), committed
        return {tp.partition: tp.offset for tp in committed if tp.offset >= 0}

    def close(self) -> None:
        self.consumer.close()


def produce_all(cluster: Cluster, topic: str) -> None:
    cluster.create_topic(
        topic, partitions=PARTITIONS, replication_factor=3, config={"min.insync.replicas": "2"}
    )
    producer = ProducerThread(
        cluster, topic, PARTITIONS * PER_PARTITION, partitions=PARTITIONS, rate=20000
    ).start()
    producer.join()
    assert len(producer.acked) == PARTITIONS * PER_PARTITION


def kill_coordinator(cluster: Cluster, group: str) -> tuple[int, int]:
    """Kill the broker coordinating `group` (checked to lead the group's offsets partition);
    returns (old coordinator, new leader of that partition)."""
    wait_until(lambda: OFFSETS_TOPIC in cluster.topics(), 10, "the offsets topic")
    cluster.wait_topic_ready(OFFSETS_TOPIC, 3)
    description = (
        cluster.admin(fresh=True).describe_consumer_groups([group])[group].result(timeout=10)
    )
    coordinator = description.coordinator.id
    index = offsets_partition(group, 3)
    assert cluster.leader(OFFSETS_TOPIC, index) == coordinator
    cluster[coordinator].kill()
    new_leader = cluster.wait_leader(
        OFFSETS_TOPIC, index, lambda leader: leader not in (-1, coordinator), 20
    )
    return coordinator, new_leader


def test_group_continues_across_coordinator_failover(make_cluster, topic_name):
    cluster = make_cluster(3)
    produce_all(cluster, topic_name)
    group = f"group-{topic_name}"
    consumer = GroupConsumer(cluster, topic_name, group)
    total = PARTITIONS * PER_PARTITION
    try:
        consumer.consume(400)
        at_commit = consumer.commit()
        consumer.consume(60)  # the uncommitted tail
        assert committed_offsets(cluster, group) == at_commit

        _, new_leader = kill_coordinator(cluster, group)
        # The new coordinator has the offsets committed before the crash.
        wait_until(
            lambda: committed_offsets(cluster, group) == at_commit,
            20,
            f"the new coordinator to report the offsets committed before the crash {at_commit}",
        )

        # The same consumer carries on to the end and commits there (a commit refused while the
        # group settles is retried).
        end = dict.fromkeys(range(PARTITIONS), PER_PARTITION)
        deadline = time.monotonic() + 60
        while True:
            consumer.poll_for(0.3)
            if consumer.distinct() == total:
                with contextlib.suppress(KafkaException, AssertionError):
                    consumer.commit()
                if committed_offsets(cluster, group) == end:
                    break
            assert time.monotonic() < deadline, (
                f"consumed {consumer.distinct()} of {total}; "
                f"committed {committed_offsets(cluster, group)}"
            )
    finally:
        consumer.close()

    # Only records at or past the offsets committed before the crash were seen twice.
    counts = Counter((p, offset) for p, offset, _ in consumer.consumed)
    repeated = sorted(key for key, n in counts.items() if n > 1)
    early = [(p, offset) for p, offset in repeated if offset < at_commit.get(p, 0)]
    assert not early, f"committed records consumed again: {early[:10]}"
    assert all(n <= 2 for n in counts.values())
    assert {seq for _, _, seq in consumer.consumed} == set(range(total))

    description = (
        cluster.admin(fresh=True).describe_consumer_groups([group])[group].result(timeout=10)
    )
    assert description.coordinator.id == new_leader
    assert committed_offsets(cluster, group) == end


def test_group_members_survive_coordinator_failover(make_cluster, topic_name):
    """As in Kafka, the group's members (stored with the group in __consumer_offsets) are loaded by
    the new coordinator: the member keeps its membership and assignment, and its next commit is
    accepted, with no rebalance."""
    cluster = make_cluster(3)
    produce_all(cluster, topic_name)
    group = f"group-{topic_name}"
    consumer = GroupConsumer(cluster, topic_name, group)
    try:
        consumer.consume(300)
        consumer.commit()
        before = (
            cluster.admin(fresh=True).describe_consumer_groups([group])[group].result(timeout=10)
        )
        [member] = before.members
        revocations = consumer.revocations

        kill_coordinator(cluster, group)
        consumer.consume(300, timeout=30)
        consumer.poll_for(2)  # heartbeats reach the new coordinator meanwhile
        errors = []
        for _ in range(20):  # retriable coordinator errors (loading, moved) are retried
            try:
                consumer.commit()
                break
            except KafkaException as exc:
                errors.append(exc.args[0])
                if exc.args[0].code() not in RETRIABLE_COMMIT_ERRORS:
                    break
                consumer.poll_for(0.5)
        else:
            raise AssertionError(f"commit never succeeded: {errors}")
        after = (
            cluster.admin(fresh=True).describe_consumer_groups([group])[group].result(timeout=10)
        )
        detail = (
            f"commit errors {[e.str() for e in errors]}; revocations "
            f"{consumer.revocations - revocations}; members before {[member.member_id]}, "
            f"after {[m.member_id for m in after.members]}"
        )
        refused = [e for e in errors if e.code() not in RETRIABLE_COMMIT_ERRORS]
        assert not refused, f"the new coordinator refused the member's commit: {detail}"
        assert consumer.revocations == revocations, f"the failover forced a rebalance: {detail}"
        assert [m.member_id for m in after.members] == [member.member_id], detail
    finally:
        consumer.close()


def test_concurrent_find_coordinator_on_a_new_cluster(make_cluster):
    """The first FindCoordinator requests of a new cluster, arriving at every broker at once, all
    race to create __consumer_offsets. Every broker must answer (a coordinator, or a retriable
    COORDINATOR_NOT_AVAILABLE), never drop the connection."""
    cluster = make_cluster(3)
    barrier = threading.Barrier(3)
    answers: dict[int, object] = {}

    def ask(broker_id: int) -> None:
        with WireClient.to(cluster[broker_id], timeout=15) as client:
            barrier.wait()
            try:
                answers[broker_id] = client.request(
                    FIND_COORDINATOR, 3, {"key": f"group-{broker_id}", "key_type": 0}
                )
            except (ConnectionError, TimeoutError) as exc:
                answers[broker_id] = exc

    threads = [threading.Thread(target=ask, args=(b,)) for b in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    dropped = {b: a for b, a in answers.items() if isinstance(a, BaseException)}
    assert not dropped, f"brokers closed the connection instead of answering: {dropped}"
    codes = {b: a["error_code"] for b, a in answers.items()}  # type: ignore[index]
    assert set(codes.values()) <= {0, KafkaError.COORDINATOR_NOT_AVAILABLE}, codes
    assert OFFSETS_TOPIC in cluster.topics()
