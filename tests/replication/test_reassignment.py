"""Partition reassignment while producing: move replicas onto a newly started broker (AlterPartition-
Reassignments through kafka-python's admin client), watch ListPartitionReassignments report the move
and then nothing, find the data on the new broker, then drain a broker of all its replicas and stop
it without losing a record."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Iterator

from confluent_kafka import Producer

from tests.replication.clients import ProducerThread, check_acknowledged_survived, read_partitions
from tests.support.cluster import Cluster, wait_until

with warnings.catch_warnings():
    # kafka-python loads its protocol schemas through deprecated importlib.resources calls.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaTimeoutError, RequestTimedOutError

PAD = 200  # bytes per value, so that replicas have something to copy


@contextlib.contextmanager
def kafka_admin(cluster: Cluster) -> Iterator[KafkaAdminClient]:
    admin = KafkaAdminClient(
        bootstrap_servers=cluster.bootstrap.split(","),
        request_timeout_ms=15000,
        client_id="reassignment-test",
    )
    try:
        yield admin
    finally:
        admin.close()


def reassign(admin: KafkaAdminClient, topic: str, targets: dict[int, list[int]]) -> None:
    result = admin.alter_partition_reassignments(
        {TopicPartition(topic, p): replicas for p, replicas in targets.items()}
    )
    assert set(result) == {TopicPartition(topic, p) for p in targets}, result
    assert all(error is None for error in result.values()), result


def ongoing(admin: KafkaAdminClient, topic: str) -> dict[int, dict]:
    return {
        tp.partition: info
        for tp, info in admin.list_partition_reassignments().items()
        if tp.topic == topic
    }


def test_reassign_onto_new_broker_then_drain_one(make_cluster, topic_name):
    cluster = make_cluster(3)
    cluster.create_topic(topic_name, assignment=[[1, 2], [2, 3], [3, 1]])
    preload = ProducerThread(cluster, topic_name, 900, partitions=3, rate=20000, pad=PAD).start()
    preload.join()
    assert not preload.failed
    producer = ProducerThread(
        cluster, topic_name, 100_000, partitions=3, rate=40, pad=PAD, start_seq=1_000_000
    ).start()
    producer.wait_acked(20)

    # Broker 4 copies at most 40 kB/s while it is being added: the move takes a few seconds.
    cluster.add_broker({"follower.replication.throttled.rate": 40_000})
    with kafka_admin(cluster) as admin:
        reassign(admin, topic_name, {0: [4, 2], 1: [2, 4]})
        in_progress = ongoing(admin, topic_name)
        assert set(in_progress) == {0, 1}, in_progress
        assert in_progress[0]["adding_replicas"] == [4]
        assert in_progress[0]["removing_replicas"] == [1]
        assert in_progress[1]["adding_replicas"] == [4]
        assert in_progress[1]["removing_replicas"] == [3]
        assert sorted(in_progress[0]["replicas"]) == [1, 2, 4]

        wait_until(lambda: not ongoing(admin, topic_name), 60, "the reassignment to complete")
        assert cluster.assignment(topic_name) == {0: [4, 2], 1: [2, 4], 2: [3, 1]}
        assert cluster.reassignment_in_progress(topic_name) == {
            "adding_replicas": {},
            "removing_replicas": {},
        }
        cluster.wait_isr(topic_name, 0, [2, 4])
        cluster.wait_isr(topic_name, 1, [2, 4])
        assert cluster.leader(topic_name, 0) in (2, 4)

        # The data moved: broker 4 holds the records, the replicas it replaced dropped theirs.
        wait_until(
            lambda: (
                not cluster[1].partition_dir(topic_name, 0).exists()
                and not cluster[3].partition_dir(topic_name, 1).exists()
            ),
            20,
            "removed replicas to delete their partition directories",
        )
        for p in (0, 1):
            assert len(cluster.log_bytes(4, topic_name, p)) > 300 * PAD
        # Consuming through broker 4 alone (its metadata, the new leaders) yields everything.
        through_4 = read_partitions(cluster, topic_name, 3, bootstrap=cluster[4].advertised)
        check_acknowledged_survived(preload.acked, through_4)

        # Drain broker 3: every replica it holds, of every topic (the offsets topic included),
        # moves to a broker that does not hold one yet.
        acked = producer.acked_count()
        drain: dict[tuple[str, int], list[int]] = {}
        for topic in cluster.topics():
            for p, replicas in cluster.assignment(topic).items():
                if 3 in replicas:
                    spare = next(b for b in (4, 1, 2) if b not in replicas)
                    drain[(topic, p)] = [spare if r == 3 else r for r in replicas]
        assert drain[(topic_name, 2)] == [4, 1]
        result = admin.alter_partition_reassignments(
            {TopicPartition(t, p): replicas for (t, p), replicas in drain.items()}
        )
        assert len(result) == len(drain) and all(e is None for e in result.values()), result
        wait_until(lambda: not admin.list_partition_reassignments(), 60, "the drain to complete")
    for topic in cluster.topics():
        for p, replicas in cluster.assignment(topic).items():
            assert 3 not in replicas, (topic, p, replicas)
            cluster.wait_isr(topic, p, replicas)
    wait_until(
        lambda: not any(cluster[3].partition_dir(t, p).exists() for t, p in drain),
        20,
        "broker 3 to delete its replicas",
    )
    producer.wait_acked(acked + 40, timeout=30)

    assert cluster.stop_broker(3) == 0
    acked = producer.acked_count()
    producer.wait_acked(acked + 40, timeout=30)
    producer.stop_event.set()
    producer.join()
    assert not producer.failed, producer.failed[:5]
    for p, replicas in cluster.assignment(topic_name).items():
        assert sorted(cluster.isr(topic_name, p)) == sorted(replicas)
    consumed = read_partitions(cluster, topic_name, 3)
    check_acknowledged_survived(preload.acked + producer.acked, consumed)
    cluster.wait_replicas_identical(topic_name)


def test_invalid_reassignments_are_refused(make_cluster, topic_name):
    cluster = make_cluster(3)
    cluster.create_topic(topic_name, assignment=[[1, 2]])
    with kafka_admin(cluster) as admin:
        for target in ([1, 2, 9], [1, 1]):  # an unknown broker, a repeated one
            result = admin.alter_partition_reassignments({TopicPartition(topic_name, 0): target})
            error = result[TopicPartition(topic_name, 0)]
            assert error is not None, (target, result)
            assert error.__name__ == "InvalidReplicationAssignmentError", (target, result)
        # Cancelling when nothing is under way is refused too.
        result = admin.alter_partition_reassignments({TopicPartition(topic_name, 0): None})
        error = result[TopicPartition(topic_name, 0)]
        assert error is not None and error.__name__ == "NoReassignmentInProgressError", result
        assert not ongoing(admin, topic_name)
    assert cluster.assignment(topic_name) == {0: [1, 2]}
    time.sleep(0.5)
    assert cluster.reassignment_in_progress(topic_name) == {
        "adding_replicas": {},
        "removing_replicas": {},
    }


def test_removed_replica_leaves_the_isr_when_reassignment_completes(make_cluster, topic_name):
    """When a reassignment is reported complete, the ISR holds exactly the new replicas, and acks=all
    writes are not held up waiting for a replica that was removed (and stopped fetching)."""
    cluster = make_cluster(3)
    cluster.create_topic(topic_name, assignment=[[1, 2]])
    producer = ProducerThread(cluster, topic_name, 100_000, rate=100).start()
    producer.wait_acked(50)
    probe = Producer(cluster.client_config(acks="all", **{"linger.ms": 0}))
    with kafka_admin(cluster) as admin:
        for target in ([3, 2], [1, 2], [3, 2]):
            reassign(admin, topic_name, {0: target})
            wait_until(lambda: not ongoing(admin, topic_name), 30, f"the move to {target}")
            assert cluster.assignment(topic_name) == {0: target}
            try:
                wait_until(
                    lambda t=target: cluster.isr(topic_name, 0) == sorted(t),
                    1.5,
                    f"the ISR to be the new replicas {sorted(target)}",
                )
            except AssertionError as exc:
                raise AssertionError(
                    f"{exc}: ISR is {cluster.isr(topic_name, 0)} right after the reassignment "
                    f"to {target} completed ({cluster.partition_state(topic_name, 0)})"
                ) from None
            started = time.monotonic()
            probe.produce(topic_name, b"777777", partition=0)
            assert probe.flush(10) == 0
            latency = time.monotonic() - started
            assert latency < 1.5, f"an acks=all write took {latency:.1f}s after the move"
    producer.stop_event.set()
    producer.join()
    assert not producer.failed


def test_reassigning_many_partitions_of_a_topic_at_once(make_cluster, topic_name):
    """One AlterPartitionReassignments request moves every partition of a topic: while the first
    moves complete, the later ones are still being recorded; none may be lost (each accepted move
    either shows in ListPartitionReassignments or has been carried out)."""
    cluster = make_cluster(3)
    partitions = 8
    cluster.create_topic(topic_name, assignment=[[1, 2]] * partitions)
    started = time.monotonic()
    with kafka_admin(cluster) as admin:
        try:
            reassign(admin, topic_name, {p: [3, 2] for p in range(partitions)})
            answered = f"answered after {time.monotonic() - started:.1f}s"
        except (KafkaTimeoutError, RequestTimedOutError):
            answered = "not answered within 15s"
        with contextlib.suppress(AssertionError):
            wait_until(
                lambda: all(r == [3, 2] for r in cluster.assignment(topic_name).values()),
                8,
                "every move to be carried out",
            )
        in_progress = ongoing(admin, topic_name)
    lost = {p: r for p, r in cluster.assignment(topic_name).items() if r != [3, 2]}
    assert not lost, (
        f"accepted moves to [3, 2] that were never carried out: {lost}; still listed as in "
        f"progress: {sorted(in_progress)}; the request was {answered}"
    )
    assert answered.startswith("answered"), answered
    for p in range(partitions):
        cluster.wait_isr(topic_name, p, [2, 3], timeout=10)
