"""min.insync.replicas: with two of three replicas down, acks=all produce is refused with
NOT_ENOUGH_REPLICAS (what the producer's delivery report says), acks=1 still works, and acks=all
works again once a replica has come back and caught up."""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, Producer

from tests.replication.clients import ProducerThread, read_partitions
from tests.support.cluster import Cluster


def produce_once(cluster: Cluster, topic: str, values: list[bytes], **config) -> list:
    """Produce `values` to partition 0 and return each delivery's error (None when acknowledged)."""
    results: list = []
    producer = Producer(
        cluster.client_config(
            **{"linger.ms": 0, "message.timeout.ms": 10000, "request.timeout.ms": 5000, **config}
        )
    )
    for value in values:
        producer.produce(
            topic, value=value, partition=0, on_delivery=lambda err, _msg: results.append(err)
        )
    assert producer.flush(20) == 0, "deliveries still pending"
    return results


def test_acks_all_refused_with_two_of_three_down(make_cluster, topic_name):
    cluster = make_cluster(3)
    cluster.create_topic(topic_name, assignment=[[1, 2, 3]], config={"min.insync.replicas": "2"})
    first = produce_once(cluster, topic_name, [b"1001", b"1002"], acks="all")
    assert first == [None, None]

    cluster[2].kill()
    cluster[3].kill()
    cluster.wait_isr(topic_name, 0, [1], timeout=20)
    assert cluster.leader(topic_name, 0) == 1

    # No retries, so the broker's own answer reaches the delivery report.
    refused = produce_once(
        cluster,
        topic_name,
        [b"1003", b"1004"],
        acks="all",
        retries=0,
        **{"enable.idempotence": False},
    )
    assert all(err is not None for err in refused), refused
    codes = {err.code() for err in refused}
    assert codes == {KafkaError.NOT_ENOUGH_REPLICAS}, [err.str() for err in refused]

    # acks=1 does not ask for min.insync.replicas.
    assert produce_once(cluster, topic_name, [b"1005"], acks=1) == [None]

    # An idempotent acks=all producer waits (retrying) until a replica returns, then succeeds.
    waiting = ProducerThread(cluster, topic_name, 20, rate=50, config={"message.timeout.ms": 40000})
    waiting.start()
    time.sleep(1.5)
    assert waiting.acked_count() == 0 and not waiting.failed, "acks=all accepted with ISR [1]"
    cluster.start_broker(2)
    cluster.wait_isr(topic_name, 0, [1, 2], timeout=30)
    waiting.join(60)
    assert not waiting.failed, waiting.failed[:5]
    assert len(waiting.acked) == 20
    assert produce_once(cluster, topic_name, [b"1006"], acks="all") == [None]

    values = [seq for _, seq in read_partitions(cluster, topic_name, 1)[0]]
    # The refused records were never appended; the rest are there once, in order.
    assert values == [1001, 1002, 1005, *range(20), 1006], values
