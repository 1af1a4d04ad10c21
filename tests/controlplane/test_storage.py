"""Storage expansion: a broker whose log directories reach their quota refuses writes (retriably,
so producers wait); growing the cluster's storage raises every broker's quota without a restart,
and the waiting records get in, none lost or doubled. The plan prices the extra storage."""

from __future__ import annotations

import time
from decimal import Decimal

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource

from clusters.kafka import broker_alter_configs
from tests.controlplane.conftest import cluster_payload
from tests.support.platform import Platform, broker_processes

GIB = 1024**3
RECORDS = 500


def broker_quota(bootstrap: str) -> int:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    resource = ConfigResource(ConfigResource.Type.BROKER, "0")
    entries = admin.describe_configs([resource])[resource].result(timeout=15)
    return int(entries["log.dirs.quota.bytes"].value)


def test_expanding_storage_unblocks_a_full_broker(platform: Platform, tenant: dict) -> None:
    platform.sql("UPDATE clusters_nodesize SET hourly_price = 0.05 WHERE slug = 'dev-small'")
    platform.sql(
        "UPDATE clusters_provider SET storage_gib_hourly_price = 0.0002 WHERE slug = 'local'"
    )
    api = platform.api(tenant["token"])
    created = api.post("/clusters/", json=cluster_payload("roomy", brokers=1))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    assert created.json()["cluster"]["storage_gib"] == 10  # dev-small's own disk
    operation = platform.wait_operation(api, created.json()["operation"]["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    bootstrap = api.get(f"/clusters/{cluster_id}/").json()["bootstrap_servers"]
    assert broker_quota(bootstrap) == 10 * GIB
    assert api.post(f"/clusters/{cluster_id}/topics/", json={"name": "logs"}).status_code == 201
    (broker_pid,) = broker_processes(platform.nodes_root / cluster_id)

    # The disk is full: a quota below what the log directories already hold.
    broker_alter_configs({"bootstrap.servers": bootstrap}, 0, {"log.dirs.quota.bytes": "1"}, [])
    delivered, failed = [], []

    def on_delivery(error, message) -> None:
        (failed if error else delivered).append(error or message.value())

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "message.timeout.ms": 120_000,
        }
    )
    for seq in range(RECORDS):
        producer.produce("logs", str(seq).encode(), on_delivery=on_delivery)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        producer.poll(0.2)
    assert delivered == [] and failed == []  # refused, but retriably: the records wait

    smaller = api.post(f"/clusters/{cluster_id}/storage/", json={"storage_gib": 8})
    assert smaller.status_code == 400 and "storage_gib" in smaller.json()["errors"]
    preview = api.post(
        f"/clusters/{cluster_id}/storage/", json={"storage_gib": 12, "dry_run": True}
    )
    assert preview.status_code == 200, preview.text
    # 2 GiB more on one broker at the provider's price per GiB-hour.
    assert Decimal(preview.json()["plan"]["price_change_per_hour"]) == Decimal("0.0004")
    expand = api.post(f"/clusters/{cluster_id}/storage/", json={"storage_gib": 12})
    assert expand.status_code == 202, expand.text
    operation = platform.wait_operation(api, expand.json()["id"], timeout=300)
    assert operation["state"] == "succeeded", [(s["title"], s["error"]) for s in operation["steps"]]

    assert producer.flush(90) == 0
    assert failed == [] and sorted(int(v) for v in delivered) == list(range(RECORDS))
    assert broker_quota(bootstrap) == 12 * GIB
    assert broker_processes(platform.nodes_root / cluster_id) == [broker_pid]
    assert api.get(f"/clusters/{cluster_id}/").json()["storage_gib"] == 12

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "check", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition("logs", p, 0) for p in range(3)])
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while len(seen) < RECORDS and time.monotonic() < deadline:
        message = consumer.poll(1)
        if message is not None and not message.error():
            seen.append(int(message.value()))
    consumer.close()
    assert sorted(seen) == list(range(RECORDS))  # every record once

    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "roomy"})
    assert platform.wait_operation(api, deleted.json()["id"])["state"] == "succeeded"
