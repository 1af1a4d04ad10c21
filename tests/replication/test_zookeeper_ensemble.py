"""A three-node ZooKeeper ensemble on loopback as zookeeper.connect for a three-broker cluster: topics
are created, written and read, and the cluster keeps working (sessions, controller, new topics) when
the ZooKeeper leader is killed and the remaining two nodes elect a new one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replication.clients import ProducerThread, check_acknowledged_survived, read_partitions
from tests.support.cluster import wait_until
from tests.support.zookeeper import ZooKeeperEnsemble, kazoo_client


@pytest.fixture
def ensemble(tmp_path: Path) -> Iterator[ZooKeeperEnsemble]:
    zk = ZooKeeperEnsemble(tmp_path / "ensemble", 3).start()
    yield zk
    zk.kill()


def produce_and_check(cluster, topic: str, start: int = 0, earlier: list | None = None) -> list:
    """Produce 300 records numbered from `start`; all acknowledged records of the topic (these and
    `earlier`) are then read back exactly once. Returns every acknowledgement so far."""
    producer = ProducerThread(cluster, topic, 300, partitions=3, rate=5000, start_seq=start).start()
    producer.join()
    assert not producer.failed, producer.failed[:5]
    assert len(producer.acked) == 300
    acked = (earlier or []) + producer.acked
    check_acknowledged_survived(acked, read_partitions(cluster, topic, 3))
    return acked


def test_cluster_on_three_node_ensemble_survives_losing_one(make_cluster, ensemble, topic_name):
    modes = sorted(node.mode() or "" for node in ensemble.nodes)
    assert modes == ["follower", "follower", "leader"], modes

    cluster = make_cluster(
        3, {"zookeeper.session.timeout.ms": 6000}, zk=ensemble, use_proxies=False
    )
    assert cluster.registered() == [1, 2, 3]
    cluster.create_topic(topic_name, partitions=3, replication_factor=3)
    acked = produce_and_check(cluster, topic_name)
    # Every node of the ensemble holds the cluster's metadata.
    for node in ensemble.nodes:
        with kazoo_client(node.address + cluster.chroot) as zk:
            assert topic_name in zk.get_children("/brokers/topics")

    controller = cluster.controller()
    epochs = {p: cluster.partition_state(topic_name, p)["leader_epoch"] for p in range(3)}
    zk_leader = ensemble.leader()
    assert zk_leader is not None
    zk_leader.kill()
    survivors = [n for n in ensemble.nodes if n is not zk_leader]
    wait_until(
        lambda: sorted(n.mode() or "" for n in survivors) == ["follower", "leader"],
        20,
        "the two remaining ZooKeeper nodes to elect a leader",
    )

    # The brokers' sessions moved to the surviving nodes without expiring: same controller,
    # no leader elections, every broker still registered.
    wait_until(lambda: cluster.registered() == [1, 2, 3], 15, "all brokers registered")
    assert cluster.controller() == controller
    assert {p: cluster.partition_state(topic_name, p)["leader_epoch"] for p in range(3)} == epochs

    produce_and_check(cluster, topic_name, 1000, acked)
    cluster.create_topic(f"{topic_name}.after", partitions=3, replication_factor=3)
    produce_and_check(cluster, f"{topic_name}.after")
    for broker in cluster.brokers.values():
        assert broker.alive
