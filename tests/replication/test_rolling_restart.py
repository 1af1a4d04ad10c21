"""A rolling restart (each broker in turn stopped with SIGTERM, i.e. a controlled shutdown, and
started again) under an acks=all producer and a consumer group: leadership leaves each broker before
it exits, no acknowledged record is lost, and producer and consumers carry on throughout."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading

from tests.replication.clients import (
    GroupConsumerThread,
    ProducerThread,
    check_acknowledged_survived,
    read_partitions,
)
from tests.support.cluster import Cluster, wait_until
from tests.support.zookeeper import kazoo_client

OFFSETS_TOPIC = "__consumer_offsets"


def wait_fully_replicated(cluster: Cluster, topics: list[str], timeout: float = 30) -> None:
    """Every partition of `topics` has a leader and all its replicas in the ISR."""

    def replicated() -> bool:
        live = set(cluster.registered())
        for topic in topics:
            for p, replicas in cluster.assignment(topic).items():
                state = cluster.partition_state(topic, p)
                if state is None or state["leader"] not in live:
                    return False
                if sorted(state["isr"]) != sorted(replicas):
                    return False
        return True

    try:
        wait_until(replicated, timeout, f"every partition of {topics} to be fully replicated")
    except AssertionError as exc:
        states = {
            (t, p): (cluster.assignment(t)[p], cluster.partition_state(t, p))
            for t in topics
            for p in cluster.assignment(t)
        }
        raise AssertionError(
            f"{exc}; live {cluster.registered()}; (replicas, state): {states}"
        ) from None


def test_rolling_restart_with_controlled_shutdown(make_cluster, topic_name):
    cluster = make_cluster(3)
    cluster.create_topic(
        topic_name, partitions=3, replication_factor=3, config={"min.insync.replicas": "2"}
    )
    producer = ProducerThread(cluster, topic_name, 100_000, partitions=3, rate=250).start()
    consumer = GroupConsumerThread(cluster, topic_name, f"group-{topic_name}").start()
    producer.wait_acked(200)
    wait_until(lambda: len(consumer.seen) >= 100, 30, "the group consumer to receive records")
    wait_until(lambda: OFFSETS_TOPIC in cluster.topics(), 10, "the offsets topic")
    wait_fully_replicated(cluster, [topic_name, OFFSETS_TOPIC])

    hung: list[int] = []  # brokers that had to be killed after SIGTERM
    for broker_id in (1, 2, 3):
        broker = cluster[broker_id]
        led = [
            (t, p)
            for t in (topic_name, OFFSETS_TOPIC)
            for p in cluster.assignment(t)
            if cluster.leader(t, p) == broker_id
        ]
        try:
            assert broker.stop(12) == 0, f"broker {broker_id} exit code"
        except subprocess.TimeoutExpired:
            hung.append(broker_id)  # as an operator would: kill it and carry on
            broker.kill()
        shutdowns = broker.log_messages("controlled shutdown")
        assert shutdowns, f"broker {broker_id} logged no controlled shutdown"
        assert shutdowns[-1]["drained"] is True, f"broker {broker_id}: {shutdowns[-1]}"
        # Everything it led is led by another in-sync broker now.
        for t, p in led:
            state = cluster.partition_state(t, p)
            assert state["leader"] not in (-1, broker_id), (t, p, state)
            assert state["leader"] in state["isr"]

        # Producer and consumers keep going while the broker is down...
        acked, seen = producer.acked_count(), consumer.distinct()
        producer.wait_acked(acked + 100, timeout=20)
        wait_until(lambda s=seen: consumer.distinct() >= s + 100, 30, "consumption to continue")

        cluster.start_broker(broker_id)
        wait_fully_replicated(cluster, [topic_name, OFFSETS_TOPIC])
        acked, seen = producer.acked_count(), consumer.distinct()
        producer.wait_acked(acked + 100, timeout=20)
        wait_until(lambda s=seen: consumer.distinct() >= s + 100, 30, "consumption to continue")

    producer.stop_event.set()
    producer.join()
    assert not producer.failed, f"deliveries failed: {producer.failed[:10]}"
    acked_seqs = {d.seq for d in producer.acked}

    # The group consumer received every acknowledged record (redeliveries after a rebalance are
    # allowed; losses are not).
    wait_until(
        lambda: acked_seqs <= {seq for _, _, seq in consumer.seen},
        30,
        "the group consumer to receive every acknowledged record",
    )
    consumer.join()
    fatal = [e for e in consumer.errors if e.fatal()]
    assert not fatal, fatal

    check_acknowledged_survived(producer.acked, read_partitions(cluster, topic_name, 3))
    cluster.wait_replicas_identical(topic_name)
    assert not hung, f"brokers {hung} did not exit within 12s of SIGTERM and were killed"


def test_controlled_shutdown_does_not_flap_the_isr(make_cluster, topic_name):
    """While a broker shuts down, the controller takes it out of the ISR of the partitions it
    follows; the leaders must not keep taking it back in (each change is a ZooKeeper write)."""
    cluster = make_cluster(3)
    cluster.create_topic(
        topic_name, partitions=3, replication_factor=3, config={"min.insync.replicas": "2"}
    )
    producer = ProducerThread(cluster, topic_name, 100_000, partitions=3, rate=200).start()
    producer.wait_acked(200)
    wait_fully_replicated(cluster, [topic_name])
    before = {p: cluster.partition_epoch(topic_name, p) for p in range(3)}

    broker = cluster[3]
    assert broker.process is not None
    broker.process.send_signal(signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        broker.process.wait(5)  # counted below either way; a broker that hangs is killed
    changes = {p: cluster.partition_epoch(topic_name, p) - before[p] for p in range(3)}
    exited = not broker.alive
    broker.kill()
    producer.stop_event.set()
    producer.join()
    assert not producer.failed, producer.failed[:5]
    # One change per partition moves leadership or drops broker 3 from the ISR.
    assert max(changes.values()) <= 3, (
        f"leader/ISR changes per partition during one controlled shutdown: {changes} "
        f"(broker exited: {exited})"
    )


def test_brokers_exit_promptly_on_sigterm_while_metadata_changes(make_cluster, topic_name):
    """SIGTERM (controlled shutdown) must end the process within the shutdown timeout however busy
    the metadata is: here a topic's config znode is rewritten continuously (every write is a
    ZooKeeper watch event, hence a metadata change on every broker) while brokers are stopped."""
    cluster = make_cluster(3, {"controlled.shutdown.timeout.ms": 5000})
    cluster.create_topic(topic_name, partitions=3, replication_factor=3)
    config_path = f"{cluster.chroot}/config/topics/{topic_name}"
    payload = json.dumps({"version": 1, "config": {"retention.ms": "600000"}}).encode()
    stop = threading.Event()
    writes = 0

    def churn() -> None:
        nonlocal writes
        with kazoo_client(cluster.zookeeper.connect_string()) as zk:
            while not stop.is_set():
                zk.set(config_path, payload)
                writes += 1

    churner = threading.Thread(target=churn, daemon=True)
    churner.start()
    hung = []
    try:
        for round_ in range(6):
            broker_id = 1 + round_ % 3
            broker = cluster[broker_id]
            try:
                assert broker.stop(8) == 0, f"broker {broker_id} exit code"
            except subprocess.TimeoutExpired:
                hung.append(broker_id)
                break
            cluster.start_broker(broker_id)
    finally:
        stop.set()
        churner.join(10)
    assert writes > 100, f"only {writes} config writes: no churn to speak of"
    assert not hung, (
        f"broker {hung[0]} did not exit within 8s of SIGTERM (stop {round_ + 1} of 6); log tail:\n"
        + "\n".join(cluster[hung[0]].log_text().splitlines()[-5:])
    )
