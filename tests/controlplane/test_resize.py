"""Resizing a running 3-broker cluster while an idempotent acks=all producer and a 3-member consumer
group run: a plan first (order, price change), then one broker at a time; every broker ends up with
the new size's limits, and no acknowledged record is lost or left unconsumed."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from tests.controlplane.conftest import cluster_payload
from tests.replication.clients import (
    GroupConsumerThread,
    ProducerThread,
    abort_all_clients,
    check_acknowledged_survived,
    read_partitions,
)
from tests.support.platform import Bootstrap, Platform, broker_processes
from tests.support.waiting import wait_until

PARTITIONS = 6
GIB = 1024**3


def broker_limits(platform: Platform, cluster_id: str) -> list[tuple[int, str]]:
    """(address-space limit in bytes, allowed CPU list) of each broker process of the cluster."""
    limits = []
    for pid in broker_processes(platform.nodes_root / cluster_id):
        address_space = next(
            line
            for line in Path(f"/proc/{pid}/limits").read_text().splitlines()
            if line.startswith("Max address space")
        )
        cpus = next(
            line.split(":", 1)[1].strip()
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if line.startswith("Cpus_allowed_list")
        )
        limits.append((int(address_space.split()[3]), cpus))
    return sorted(limits)


class StallMonitor(threading.Thread):
    """Measures the longest time the consumer group as a whole made no progress."""

    def __init__(self, consumers: list[GroupConsumerThread]) -> None:
        super().__init__(daemon=True)
        self.consumers = consumers
        self.longest = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        seen, since = 0, time.monotonic()
        while not self.stopped.wait(0.1):
            now_seen = sum(len(c.seen) for c in self.consumers)
            now = time.monotonic()
            if now_seen != seen:
                seen, since = now_seen, now
            self.longest = max(self.longest, now - since)


def test_resize_during_traffic(platform: Platform, tenant: dict) -> None:
    api = platform.api(tenant["token"])
    # Prices make the plan's price change checkable against the catalogue.
    platform.sql("UPDATE clusters_nodesize SET hourly_price = 0.05 WHERE slug = 'dev-small'")
    platform.sql("UPDATE clusters_nodesize SET hourly_price = 0.12 WHERE slug = 'dev-medium'")
    created = api.post("/clusters/", json=cluster_payload("growing", brokers=3))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    operation = platform.wait_operation(api, created.json()["operation"]["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    assert broker_limits(platform, cluster_id) == [(1 * GIB, "0")] * 3  # dev-small: 1 vCPU, 1 GiB
    topic = api.post(
        f"/clusters/{cluster_id}/topics/",
        json={"name": "orders", "partitions": PARTITIONS, "configs": {"min.insync.replicas": "2"}},
    )
    assert topic.status_code == 201, topic.text

    plan = api.post(
        f"/clusters/{cluster_id}/resize/", json={"node_size": "dev-medium", "dry_run": True}
    )
    assert plan.status_code == 200, plan.text
    assert plan.json()["plan"]["price_change_per_hour"] == "0.21"  # (0.12 - 0.05) x 3 brokers
    assert plan.json()["steps"][-1] == "Record the new size"
    assert len(plan.json()["steps"]) == 4
    assert api.get(f"/clusters/{cluster_id}/operations/").json()["count"] == 1, "dry run only"
    same = api.post(f"/clusters/{cluster_id}/resize/", json={"node_size": "dev-small"})
    assert same.status_code == 400 and "node_size" in same.json()["errors"]

    servers = Bootstrap(api.get(f"/clusters/{cluster_id}/").json()["bootstrap_servers"])
    producer = ProducerThread(servers, "orders", 1_000_000, partitions=PARTITIONS, rate=300)
    consumers = [GroupConsumerThread(servers, "orders", "order-readers") for _ in range(3)]
    monitor = StallMonitor(consumers)
    try:
        producer.start()
        for consumer in consumers:
            consumer.start()
        monitor.start()
        producer.wait_acked(300, timeout=60)
        wait_until(lambda: sum(c.distinct() for c in consumers) > 100, 60, "the group to consume")

        resize = api.post(f"/clusters/{cluster_id}/resize/", json={"node_size": "dev-medium"})
        assert resize.status_code == 202, resize.text
        operation = platform.wait_operation(api, resize.json()["id"], timeout=900)
        assert operation["state"] == "succeeded", [
            (s["title"], s["error"]) for s in operation["steps"]
        ]
        producer.wait_acked(producer.acked_count() + 200, timeout=60)
    finally:
        producer.stop_event.set()
        producer.join()
        monitor.stopped.set()

    acked = {d.seq for d in producer.acked}
    try:
        wait_until(
            lambda: acked <= {seq for c in consumers for _, _, seq in list(c.seen)},
            120,
            "the group to consume every acknowledged record",
        )
    finally:
        for consumer in consumers:
            consumer.join()
        abort_all_clients()
    assert not producer.failed, producer.failed[:5]
    check_acknowledged_survived(producer.acked, read_partitions(servers, "orders", PARTITIONS, 60))
    print(f"longest consumer-group stall during the resize: {monitor.longest:.1f} s")
    assert monitor.longest < 60

    cluster = api.get(f"/clusters/{cluster_id}/").json()
    assert cluster["node_size"] == "dev-medium" and cluster["status"] == "running"
    cpus = f"0-{min(2, os.cpu_count() or 1) - 1}"
    assert broker_limits(platform, cluster_id) == [(4 * GIB, cpus)] * 3  # dev-medium: 2 vCPU, 4 GiB

    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "growing"})
    assert platform.wait_operation(api, deleted.json()["id"])["state"] == "succeeded"
