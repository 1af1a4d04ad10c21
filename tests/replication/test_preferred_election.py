"""Preferred leader election: after a failover and the preferred replica's return, leadership goes back
to it, by itself when auto.leader.rebalance.enable checks the imbalance, and on demand through
ElectLeaders (confluent-kafka's AdminClient.elect_leaders)."""

from __future__ import annotations

import time

from confluent_kafka import ElectionType, KafkaError, TopicPartition

from tests.replication.clients import ProducerThread, check_acknowledged_survived, read_partitions
from tests.support.cluster import Cluster


def error_code(error: object) -> int:
    """The Kafka error code of an elect_leaders result (a KafkaError or a KafkaException)."""
    if isinstance(error, KafkaError):
        return error.code()
    return error.args[0].code()  # type: ignore[attr-defined]


def fail_over_and_return(cluster: Cluster, topic: str, partitions: int) -> None:
    """Broker 1 (the preferred leader of every partition) crashes, others take over, and it comes
    back as an in-sync follower."""
    for p in range(partitions):
        assert cluster.leader(topic, p) == 1
    cluster[1].kill()
    for p in range(partitions):
        cluster.wait_leader(topic, p, lambda leader: leader in (2, 3), timeout=20)
    cluster.start_broker(1)
    for p in range(partitions):
        cluster.wait_isr(topic, p, [1, 2, 3], timeout=30)


def test_leadership_returns_to_preferred_replica_automatically(make_cluster, topic_name):
    cluster = make_cluster(3, {"leader.imbalance.check.interval.seconds": 2})
    cluster.create_topic(topic_name, assignment=[[1, 2, 3], [1, 3, 2]])
    producer = ProducerThread(cluster, topic_name, 100_000, partitions=2, rate=100).start()
    producer.wait_acked(50)

    fail_over_and_return(cluster, topic_name, 2)
    for p in (0, 1):
        cluster.wait_leader(
            topic_name, p, lambda leader: leader == 1, 15, "leadership back on broker 1"
        )
        assert cluster.isr(topic_name, p) == [1, 2, 3]
    assert cluster.metadata_leader(topic_name, 0) == 1
    assert cluster.metadata_leader(topic_name, 1) == 1

    acked = producer.acked_count()
    producer.wait_acked(acked + 50, timeout=20)
    producer.stop_event.set()
    producer.join()
    assert not producer.failed, producer.failed[:5]
    check_acknowledged_survived(producer.acked, read_partitions(cluster, topic_name, 2))


def test_preferred_leader_election_on_demand(make_cluster, topic_name):
    cluster = make_cluster(3, {"auto.leader.rebalance.enable": "false"})
    cluster.create_topic(topic_name, assignment=[[1, 2, 3], [1, 3, 2]])
    fail_over_and_return(cluster, topic_name, 2)
    time.sleep(1.5)
    moved = {p: cluster.leader(topic_name, p) for p in (0, 1)}
    assert 1 not in moved.values(), f"leadership moved back without being asked: {moved}"
    epochs = {p: cluster.partition_state(topic_name, p)["leader_epoch"] for p in (0, 1)}

    admin = cluster.admin(fresh=True)
    wanted = [TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)]
    result = admin.elect_leaders(ElectionType.PREFERRED, wanted).result(timeout=20)
    assert {(tp.topic, tp.partition) for tp in result} == {(topic_name, 0), (topic_name, 1)}
    assert all(error is None for error in result.values()), result
    for p in (0, 1):
        state = cluster.partition_state(topic_name, p)
        assert state["leader"] == 1, state
        assert state["leader_epoch"] == epochs[p] + 1
        assert sorted(state["isr"]) == [1, 2, 3]
    assert cluster.metadata_leader(topic_name, 0) == 1

    # Asking again: nothing to do.
    again = admin.elect_leaders(ElectionType.PREFERRED, wanted[:1]).result(timeout=20)
    [error] = again.values()
    assert error is not None
    assert error_code(error) == KafkaError.ELECTION_NOT_NEEDED, error

    # A preferred replica that is down cannot be elected.
    cluster.create_topic(f"{topic_name}.b", assignment=[[2, 1, 3]])
    cluster[2].kill()
    cluster.wait_leader(f"{topic_name}.b", 0, lambda leader: leader in (1, 3), 20)
    refused = (
        cluster.admin(fresh=True)
        .elect_leaders(ElectionType.PREFERRED, [TopicPartition(f"{topic_name}.b", 0)])
        .result(timeout=20)
    )
    [error] = refused.values()
    assert error is not None
    assert error_code(error) == KafkaError.PREFERRED_LEADER_NOT_AVAILABLE, error
