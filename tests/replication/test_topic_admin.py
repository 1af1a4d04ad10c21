"""Topic administration on a replicated cluster: deleting a topic removes its partition directories on
every broker (one that was down at the time removes them when it comes back), and CreatePartitions
gives the new partitions replicas, a leader and a full ISR that serve acks=all writes."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

from tests.replication.clients import ProducerThread, check_acknowledged_survived, read_partitions
from tests.support.cluster import wait_until


def test_delete_topic_removes_partition_dirs_on_every_broker(make_cluster, topic_name):
    cluster = make_cluster(3)
    cluster.create_topic(topic_name, partitions=3, replication_factor=3)
    other = f"{topic_name}.kept"
    cluster.create_topic(other, partitions=1, replication_factor=3)
    producer = ProducerThread(cluster, topic_name, 300, partitions=3, rate=5000).start()
    producer.join()
    assert len(producer.acked) == 300
    dirs = [cluster[b].partition_dir(topic_name, p) for b in (1, 2, 3) for p in range(3)]
    assert all(d.is_dir() and any(d.glob("*.log")) for d in dirs)

    # Broker 3 is down while the topic is deleted.
    cluster[3].kill()
    cluster.wait_unregistered(3, timeout=15)
    cluster.delete_topic(topic_name)
    wait_until(lambda: topic_name not in cluster.topics(), 15, "the topic's znodes to go")
    assert cluster.read_json(f"/config/topics/{topic_name}") is None
    assert cluster.read_json(f"/admin/delete_topics/{topic_name}") is None
    wait_until(
        lambda: (
            not any(
                cluster[b].partition_dir(topic_name, p).exists() for b in (1, 2) for p in range(3)
            )
        ),
        15,
        "brokers 1 and 2 to delete the partition directories",
    )
    assert all(cluster[3].partition_dir(topic_name, p).exists() for p in range(3))

    cluster.start_broker(3)
    wait_until(
        lambda: not any(cluster[3].partition_dir(topic_name, p).exists() for p in range(3)),
        15,
        "broker 3 to delete the partition directories of the deleted topic when it returns",
    )
    # Other topics are untouched, and the name can be used again for a new, empty topic.
    assert all(cluster[b].partition_dir(other, 0).is_dir() for b in (1, 2, 3))
    metadata = cluster.admin(fresh=True).list_topics(timeout=10)
    assert topic_name not in metadata.topics
    cluster.create_topic(topic_name, partitions=2, replication_factor=3)
    assert read_partitions(cluster, topic_name, 2) == {0: [], 1: []}


def test_create_partitions_on_replicated_topic(make_cluster, topic_name):
    cluster = make_cluster(3)
    cluster.create_topic(topic_name, partitions=2, replication_factor=3)
    cluster.create_partitions(topic_name, 5)

    wait_until(lambda: len(cluster.assignment(topic_name)) == 5, 15, "five partitions")
    cluster.wait_topic_ready(topic_name, 5, full_isr=True)
    assignment = cluster.assignment(topic_name)
    for p in range(2, 5):
        replicas = assignment[p]
        assert len(replicas) == 3 and sorted(replicas) == [1, 2, 3], (p, replicas)
        state = cluster.partition_state(topic_name, p)
        assert state["leader"] in replicas
        assert sorted(state["isr"]) == [1, 2, 3]
        for b in replicas:
            wait_until(
                lambda b=b, p=p: cluster[b].partition_dir(topic_name, p).is_dir(),
                10,
                f"broker {b} to host partition {p}",
            )
    # New leaders are spread over the brokers.
    leaders = [cluster.leader(topic_name, p) for p in range(5)]
    assert len(set(leaders)) >= 2, leaders
    metadata = cluster.admin(fresh=True).list_topics(topic_name, timeout=10).topics[topic_name]
    assert sorted(metadata.partitions) == [0, 1, 2, 3, 4]
    for p in range(2, 5):
        assert sorted(metadata.partitions[p].isrs) == [1, 2, 3]

    producer = ProducerThread(cluster, topic_name, 500, partitions=5, rate=5000).start()
    producer.join()
    assert not producer.failed, producer.failed[:5]
    assert {d.partition for d in producer.acked} == set(range(5))
    check_acknowledged_survived(producer.acked, read_partitions(cluster, topic_name, 5))
    cluster.wait_replicas_identical(topic_name)


def test_recreated_topic_does_not_resurrect_deleted_records(make_cluster, topic_name):
    """A replica that missed a topic's deletion (frozen meanwhile) must not serve the deleted
    records as the contents of a new topic created under the same name."""
    cluster = make_cluster(3)
    controller = cluster.wait_controller()
    victim = next(b for b in (3, 2, 1) if b != controller)
    others = [b for b in (1, 2, 3) if b != victim]
    cluster.create_topic(topic_name, assignment=[[victim, *others]])
    old = ProducerThread(cluster, topic_name, 100, rate=5000).start()
    old.join()
    assert len(old.acked) == 100

    # The victim is frozen for less than its ZooKeeper session: it stays registered, misses the
    # deletion, and is given a replica (the leadership) of the new topic.
    cluster[victim].pause()
    try:
        cluster.delete_topic(topic_name)
        wait_until(lambda: topic_name not in cluster.topics(), 5, "the topic's znodes to go")
        assert victim in cluster.registered()

        def recreate() -> bool:  # brokers may still have the old topic in their cache
            try:
                cluster.create_topic(
                    topic_name, assignment=[[victim, *others]], wait_full_isr=False
                )
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
                return False
            return True

        wait_until(recreate, 3, "the topic to be created again", interval=0.05)
        assert victim in cluster.registered(), "the pause outlasted the victim's session"
    finally:
        cluster[victim].resume()
    assert cluster.leader(topic_name, 0) == victim
    cluster.wait_topic_ready(topic_name, 1, full_isr=True)

    new = ProducerThread(cluster, topic_name, 10, rate=5000, start_seq=1000).start()
    new.join()
    assert not new.failed and len(new.acked) == 10
    records = read_partitions(cluster, topic_name, 1)[0]
    resurrected = [seq for _, seq in records if seq < 1000]
    assert not resurrected, (
        f"the new topic serves {len(resurrected)} records of the deleted one "
        f"(offsets of the new records: {[d.offset for d in new.acked]})"
    )
    assert [seq for _, seq in records] == list(range(1000, 1010))
    assert [d.offset for d in new.acked] == list(range(10))
