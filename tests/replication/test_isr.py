"""ISR upkeep: a frozen follower leaves the ISR (through the leader's lag check, or the controller once
its ZooKeeper session expires), acks=all keeps working with the remaining in-sync replicas, and after
SIGCONT the follower catches up and is taken back into the ISR."""

from __future__ import annotations

import time
import urllib.request

import pytest
from confluent_kafka import ElectionType, TopicPartition

from tests.replication.clients import ProducerThread, check_acknowledged_survived, read_partitions
from tests.support.cluster import wait_until
from tests.support.ports import free_port


def scrape(port: int) -> dict[str, float]:
    """The broker's Prometheus metrics, by name without labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {
        line.split("{", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def metadata_isr(cluster, topic: str, partition: int = 0) -> list[int]:
    """The ISR as clients see it (Metadata from every running broker but the frozen 3), not as
    ZooKeeper stores it; [] while the brokers disagree."""
    answers = {
        tuple(sorted(cluster.metadata_via(b, topic)[partition]["isr_nodes"])) for b in (1, 2)
    }
    return list(answers.pop()) if len(answers) == 1 else []


@pytest.mark.parametrize("detection", ["session-expiry", "lag-only"])
def test_paused_follower_leaves_and_rejoins_isr(make_cluster, topic_name, detection):
    # With "lag-only" broker 3 keeps its ZooKeeper session through the pause, so only the leader's
    # replica.lag.time.max.ms check can take it out of the ISR.
    per_broker = {3: {"zookeeper.session.timeout.ms": 30000}} if detection == "lag-only" else {}
    metrics_port = free_port()
    per_broker[1] = {"metrics.listener": f"127.0.0.1:{metrics_port}"}
    cluster = make_cluster(3, broker_overrides=per_broker)
    cluster.create_topic(topic_name, assignment=[[1, 2, 3]], config={"min.insync.replicas": "2"})

    producer = ProducerThread(cluster, topic_name, 2400, rate=300).start()
    producer.wait_acked(150)

    cluster[3].pause()
    paused_at = time.monotonic()
    cluster.wait_isr(topic_name, 0, [1, 2], timeout=15)
    left_after = time.monotonic() - paused_at
    assert cluster.leader(topic_name, 0) == 1, "the leader should not change"
    wait_until(
        lambda: metadata_isr(cluster, topic_name) == [1, 2], 10, "metadata to show ISR [1, 2]"
    )
    if detection == "lag-only":
        assert 3 in cluster.registered(), "broker 3's session should outlive the pause"
        # The leader itself shrank the ISR, and says so on its metrics endpoint.
        metrics = scrape(metrics_port)
        assert metrics["dataplane_isr_shrinks_total"] >= 1
        assert metrics["dataplane_under_replicated"] >= 1
        assert metrics["dataplane_controller"] in (1, 2, 3)
    # replica.lag.time.max.ms is 3 s: the follower is not dropped at once, nor long after.
    assert 2.0 <= left_after <= 12, f"follower left the ISR after {left_after:.1f}s"

    # acks=all keeps being satisfied by the two in-sync replicas while broker 3 is frozen.
    acked = producer.acked_count()
    producer.wait_acked(acked + 300, timeout=20)
    assert 3 not in cluster.isr(topic_name, 0)

    cluster[3].resume()
    cluster.wait_isr(topic_name, 0, [1, 2, 3], timeout=30)
    wait_until(lambda: metadata_isr(cluster, topic_name) == [1, 2, 3], 10, "metadata ISR [1, 2, 3]")
    acked = producer.acked_count()  # before the scrape: acknowledged records are in its figures
    metrics = scrape(metrics_port)
    assert metrics["dataplane_isr_expands_total"] >= 1
    assert metrics["dataplane_bytes_in_total"] > 0 and metrics["dataplane_leader_partitions"] >= 1
    # The leader's record bytes: appended from producers, sent to its followers as replication.
    assert metrics["dataplane_all_topics_messages_in_total"] >= acked
    assert metrics["dataplane_replication_bytes_out_total"] > 0

    producer.join()
    assert not producer.failed, producer.failed[:5]
    cluster.wait_replicas_identical(topic_name)
    check_acknowledged_survived(producer.acked, read_partitions(cluster, topic_name, 1))


def test_follower_that_led_an_empty_epoch_catches_up(make_cluster, topic_name):
    """Broker 2 leads for one leader epoch in which nothing is written (a failover while producers
    are idle), then leadership returns to broker 1. Broker 2 must go on following: its last epoch is
    unknown to the leader, the leader points it at the divergence, it truncates (nothing) and
    fetches on; new writes reach it and it stays in, or rejoins, the ISR."""
    cluster = make_cluster(3, {"auto.leader.rebalance.enable": "false"})
    cluster.create_topic(topic_name, assignment=[[1, 2, 3]], config={"min.insync.replicas": "2"})
    first = ProducerThread(cluster, topic_name, 50, rate=5000).start()
    first.join()
    assert len(first.acked) == 50

    cluster[1].kill()
    cluster.wait_leader(topic_name, 0, lambda leader: leader == 2, 20, "broker 2 to lead")
    cluster.start_broker(1)
    cluster.wait_isr(topic_name, 0, [1, 2, 3])
    result = (
        cluster.admin(fresh=True)
        .elect_leaders(ElectionType.PREFERRED, [TopicPartition(topic_name, 0)])
        .result(timeout=20)
    )
    assert all(error is None for error in result.values()), result
    assert cluster.leader(topic_name, 0) == 1

    second = ProducerThread(cluster, topic_name, 200, rate=200, start_seq=1000).start()
    second.join()
    assert not second.failed and len(second.acked) == 200
    try:
        cluster.wait_replicas_identical(topic_name, timeout=10)
        cluster.wait_isr(topic_name, 0, [1, 2, 3], timeout=10)
    except AssertionError as exc:
        loops = len(cluster[2].log_messages("truncating diverged follower log"))
        raise AssertionError(
            f"{exc}; broker 2 logged 'truncating diverged follower log' {loops} times; "
            f"ISR {cluster.isr(topic_name, 0)}"
        ) from None
    loops = len(cluster[2].log_messages("truncating diverged follower log"))
    assert loops <= 2, f"broker 2 truncated {loops} times"
    check_acknowledged_survived(first.acked + second.acked, read_partitions(cluster, topic_name, 1))
