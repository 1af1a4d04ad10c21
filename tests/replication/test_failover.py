"""Leader failure under an idempotent acks=all producer: whether the leader is killed (SIGKILL), frozen
(SIGSTOP) or cut off from clients, followers and ZooKeeper, the followers take over, every acknowledged
record survives exactly once at the offset its acknowledgement named, and the old leader comes back
as a follower whose log matches the new leader's byte for byte (its divergent tail truncated)."""

from __future__ import annotations

import time

import pytest

from tests.replication.clients import ProducerThread, check_acknowledged_survived, read_partitions
from tests.support import wire
from tests.support.wire import WireClient

MIN_ISR_2 = {"min.insync.replicas": "2"}


@pytest.mark.parametrize("fault", ["kill", "pause", "partition"])
def test_leader_failure_loses_no_acknowledged_record(make_cluster, topic_name, fault):
    cluster = make_cluster(3)
    # Broker 1 leads both partitions (the first replica listed leads a new partition).
    cluster.create_topic(topic_name, assignment=[[1, 2, 3], [1, 3, 2]], config=MIN_ISR_2)
    assert [cluster.leader(topic_name, p) for p in (0, 1)] == [1, 1]

    total = 2400
    producer = ProducerThread(cluster, topic_name, total, partitions=2, rate=400).start()
    producer.wait_acked(400)

    started = time.monotonic()
    if fault == "kill":
        cluster[1].kill()
    elif fault == "pause":
        cluster[1].pause()
    else:
        cluster.cut_network(1)

    # The survivors elect a new leader for each partition from the ISR once broker 1's ZooKeeper
    # session expires, and the producer's acknowledgements resume.
    for p in (0, 1):
        new = cluster.wait_leader(topic_name, p, lambda leader: leader in (2, 3), timeout=25)
        assert 1 not in cluster.isr(topic_name, p), cluster.partition_state(topic_name, p)
        assert new in cluster.isr(topic_name, p)
    failover = time.monotonic() - started
    resumed_from = producer.acked_count()
    producer.wait_acked(min(resumed_from + 200, total), timeout=30)

    # Broker 1 comes back and must rejoin as a follower.
    if fault == "kill":
        cluster.start_broker(1)
    elif fault == "pause":
        cluster[1].resume()
    else:
        cluster.heal_network(1)

    producer.join()
    assert not producer.failed, f"deliveries failed: {producer.failed[:10]}"
    assert len(producer.acked) == total

    for p in (0, 1):
        cluster.wait_isr(topic_name, p, [1, 2, 3], timeout=30)
        assert cluster.leader(topic_name, p) in (2, 3)
    consumed = read_partitions(cluster, topic_name, 2)
    check_acknowledged_survived(producer.acked, consumed)
    assert sum(len(r) for r in consumed.values()) == total, "records beyond those produced"

    # The returning old leader truncated whatever it had that the new leader did not: all three
    # replicas now hold the same log.
    cluster.wait_replicas_identical(topic_name)
    assert failover < 20, f"failover took {failover:.1f}s"


def test_partitioned_leader_never_acknowledges_and_its_tail_is_truncated(make_cluster, topic_name):
    """A leader cut off from followers and ZooKeeper still believes it leads: writes sent straight to
    its listener are appended but must never be acknowledged under acks=all; once it is back it
    drops them (they diverge from the new leader's log) and nothing acknowledged is lost."""
    cluster = make_cluster(3)
    cluster.create_topic(topic_name, assignment=[[1, 2, 3]], config=MIN_ISR_2)
    before = ProducerThread(cluster, topic_name, 200, rate=2000).start()
    before.join()
    assert not before.failed and len(before.acked) == 200

    cluster.cut_network(1)
    stale_values = [str(9_000_000 + i).encode() for i in range(5)]
    outcomes = []
    # Straight to broker 1's own port (clients and followers only ever reach it through the cut
    # proxy): once before and once after the others elect a new leader.
    with WireClient.to(cluster[1], timeout=15) as client:
        outcomes.append(
            client.request(
                wire.PRODUCE,
                9,
                wire.produce_body(
                    topic_name, 0, wire.batch(stale_values[:3]), acks=-1, timeout_ms=2500
                ),
            )
        )
        cluster.wait_leader(topic_name, 0, lambda leader: leader in (2, 3), timeout=25)
        outcomes.append(
            client.request(
                wire.PRODUCE,
                9,
                wire.produce_body(
                    topic_name, 0, wire.batch(stale_values[3:]), acks=-1, timeout_ms=2500
                ),
            )
        )
    codes = [o["responses"][0]["partition_responses"][0]["error_code"] for o in outcomes]
    assert all(code != 0 for code in codes), f"an isolated leader acknowledged acks=all: {codes}"
    leader_log = cluster.log_bytes(1, topic_name, 0)
    assert all(v in leader_log for v in stale_values), "the isolated leader did not append"

    after = ProducerThread(cluster, topic_name, 200, rate=2000).start()
    after.join()
    assert not after.failed and len(after.acked) == 200

    cluster.heal_network(1)
    cluster.wait_isr(topic_name, 0, [1, 2, 3], timeout=30)
    cluster.wait_replicas_identical(topic_name)
    assert not any(v in cluster.log_bytes(1, topic_name, 0) for v in stale_values)
    truncations = cluster[1].log_messages("truncating diverged follower log") + cluster[
        1
    ].log_messages("follower offset out of range")
    assert truncations, "broker 1 rejoined without truncating its divergent tail"

    consumed = read_partitions(cluster, topic_name, 1)
    # Both producers numbered from 0: compare values as multisets per run.
    seqs = sorted(seq for _, seq in consumed[0])
    assert seqs == sorted(list(range(200)) * 2), "acknowledged records lost or duplicated"
    acked_offsets = sorted(d.offset for d in before.acked + after.acked)
    assert [offset for offset, _ in consumed[0]] == acked_offsets
