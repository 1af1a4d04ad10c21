"""Scaling a running cluster from 3 to 5 brokers and back during traffic: a plan first; new brokers
join and partitions spread onto them through reassignment; removed brokers are drained before they
stop; nothing acknowledged is lost."""

from __future__ import annotations

import contextlib
import threading

import pytest
from confluent_kafka.admin import AdminClient

from clusters.kafka import broker_configs
from tests.controlplane.conftest import cluster_payload
from tests.replication.clients import (
    ProducerThread,
    abort_all_clients,
    check_acknowledged_survived,
    read_partitions,
)
from tests.support.platform import Bootstrap, Platform

PARTITIONS = 10


MIB = 1024**2


class ThrottleWatcher(threading.Thread):
    """Records every value broker 0's follower throttle takes while the scale runs."""

    def __init__(self, bootstrap: str) -> None:
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.seen: set[str] = set()
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            with contextlib.suppress(Exception):  # brokers come and go during the operation
                configs = broker_configs({"bootstrap.servers": self.bootstrap}, 0)
                self.seen.add(configs["follower.replication.throttled.rate"])


# Two reassignments during traffic, 3 → 5 → 3 brokers: longer than the default limit on a busy machine.
@pytest.mark.timeout(600)
def test_scale_out_during_traffic(platform: Platform, tenant: dict) -> None:
    api = platform.api(tenant["token"])
    created = api.post("/clusters/", json=cluster_payload("widening", brokers=3))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    operation = platform.wait_operation(api, created.json()["operation"]["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    topic = api.post(
        f"/clusters/{cluster_id}/topics/",
        json={"name": "events", "partitions": PARTITIONS, "configs": {"min.insync.replicas": "2"}},
    )
    assert topic.status_code == 201, topic.text

    plan = api.post(f"/clusters/{cluster_id}/scale/", json={"broker_count": 5, "dry_run": True})
    assert plan.status_code == 200, plan.text
    assert plan.json()["plan"]["new_broker_ids"] == [3, 4]
    assert plan.json()["plan"]["partitions_to_move"] >= PARTITIONS // 2
    too_small = api.post(f"/clusters/{cluster_id}/scale/", json={"broker_count": 2})
    assert too_small.status_code == 400
    assert "more replicas than the 2 brokers left" in too_small.json()["errors"]["broker_count"][0]
    assert len(api.get(f"/clusters/{cluster_id}/nodes/").json()["results"]) == 4, "dry run only"

    servers = Bootstrap(api.get(f"/clusters/{cluster_id}/").json()["bootstrap_servers"])
    producer = ProducerThread(servers, "events", 1_000_000, partitions=PARTITIONS, rate=300).start()
    throttle = ThrottleWatcher(servers.bootstrap)
    try:
        producer.wait_acked(300, timeout=60)
        scale = api.post(
            f"/clusters/{cluster_id}/scale/", json={"broker_count": 5, "throttle_mb_per_s": 1}
        )
        assert scale.status_code == 202, scale.text
        assert scale.json()["plan"]["throttle_bytes_per_s"] == MIB
        throttle.start()
        operation = platform.wait_operation(api, scale.json()["id"], timeout=900)
        assert operation["state"] == "succeeded", [
            (s["title"], s["error"]) for s in operation["steps"]
        ]
        producer.wait_acked(producer.acked_count() + 200, timeout=60)
    finally:
        throttle.stopped.set()
        producer.stop_event.set()
        producer.join()
        abort_all_clients()
    assert not producer.failed, producer.failed[:5]
    # The copy ran under the requested throttle, set on the brokers for the move and removed after.
    rebalance = next(s for s in operation["steps"] if s["name"] == "rebalance_partitions")
    assert f"throttled to {MIB} bytes/s" in rebalance["log"]
    assert "replication throttle removed" in rebalance["log"]
    throttle.join()
    assert str(MIB) in throttle.seen, throttle.seen
    assert (
        broker_configs({"bootstrap.servers": servers.bootstrap}, 0)[
            "follower.replication.throttled.rate"
        ]
        == "-1"
    )

    cluster = api.get(f"/clusters/{cluster_id}/").json()
    assert cluster["broker_count"] == 5 and cluster["status"] == "running"
    assert len(cluster["bootstrap_servers"].split(",")) == 5
    nodes = api.get(f"/clusters/{cluster_id}/nodes/").json()["results"]
    assert sorted(n["index"] for n in nodes if n["role"] == "broker") == [0, 1, 2, 3, 4]
    metadata = AdminClient({"bootstrap.servers": cluster["bootstrap_servers"]}).list_topics(
        "events", timeout=15
    )
    partitions = metadata.topics["events"].partitions.values()
    holders = {replica for p in partitions for replica in p.replicas}
    assert holders == {0, 1, 2, 3, 4}, "every broker, new ones included, holds replicas"
    assert all(sorted(p.isrs) == sorted(p.replicas) for p in partitions)
    wide = Bootstrap(cluster["bootstrap_servers"])
    check_acknowledged_survived(producer.acked, read_partitions(wide, "events", PARTITIONS, 60))

    # And back to 3 during traffic: brokers 3 and 4 are drained before they are stopped.
    producer = ProducerThread(
        wide, "events", 1_000_000, partitions=PARTITIONS, rate=300, start_seq=10_000_000
    ).start()
    try:
        producer.wait_acked(300, timeout=60)
        scale = api.post(f"/clusters/{cluster_id}/scale/", json={"broker_count": 3})
        assert scale.status_code == 202, scale.text
        assert scale.json()["plan"]["removed_broker_ids"] == [3, 4]
        operation = platform.wait_operation(api, scale.json()["id"], timeout=900)
        assert operation["state"] == "succeeded", [
            (s["title"], s["error"]) for s in operation["steps"]
        ]
        assert "brokers [3, 4] hold no replicas" in operation["steps"][0]["log"]
        producer.wait_acked(producer.acked_count() + 200, timeout=60)
    finally:
        producer.stop_event.set()
        producer.join()
        abort_all_clients()
    assert not producer.failed, producer.failed[:5]
    cluster = api.get(f"/clusters/{cluster_id}/").json()
    assert cluster["broker_count"] == 3 and len(cluster["bootstrap_servers"].split(",")) == 3
    narrow = Bootstrap(cluster["bootstrap_servers"])
    metadata = AdminClient({"bootstrap.servers": narrow.bootstrap}).list_topics(timeout=15)
    assert set(metadata.brokers) == {0, 1, 2}
    for topic in metadata.topics.values():
        for partition in topic.partitions.values():
            assert set(partition.replicas) <= {0, 1, 2}, (topic.topic, partition.replicas)
            assert sorted(partition.isrs) == sorted(partition.replicas)
    check_acknowledged_survived(producer.acked, read_partitions(narrow, "events", PARTITIONS, 60))

    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "widening"})
    assert platform.wait_operation(api, deleted.json()["id"])["state"] == "succeeded"
