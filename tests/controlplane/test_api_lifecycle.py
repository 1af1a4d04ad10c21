"""End to end through the API with a token: a 3-broker cluster from nothing to serving clients,
and back to nothing."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka import Consumer, Producer

from tests.controlplane.conftest import cluster_payload
from tests.support.platform import Platform, node_processes, wait_gone
from tests.support.waiting import wait_until

RECORDS = 10_000


def produce_and_consume(bootstrap: str, topic: str) -> list[bytes]:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    failures: list[object] = []
    for i in range(RECORDS):
        producer.produce(
            topic,
            f"record-{i}".encode(),
            key=str(i % 97).encode(),
            on_delivery=lambda err, _msg: err and failures.append(err),
        )
        if i % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0
    assert failures == []
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{topic}-readers",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    values: list[bytes] = []
    try:
        wait_until(
            lambda: (
                values.extend(m.value() for m in consumer.consume(1000, 1.0) if m.error() is None)
                or len(values) >= RECORDS
            ),
            120,
            "every record to be consumed",
        )
    finally:
        consumer.close()
    return values


def test_create_use_and_delete_a_three_broker_cluster(platform: Platform, tenant: dict) -> None:
    api = platform.api(tenant["token"])
    payload = cluster_payload("orders-prod", brokers=3)
    key = {"Idempotency-Key": "create-orders-prod"}
    created = api.post("/clusters/", json=payload, headers=key)
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]

    # A retried create replays the first answer; the same key on another request is refused.
    replayed = api.post("/clusters/", json=payload, headers=key)
    assert replayed.status_code == 202 and replayed.json() == created.json()
    reused = api.post("/clusters/", json={**payload, "name": "orders-test"}, headers=key)
    assert reused.status_code == 409 and reused.json()["code"] == "conflict"
    assert [c["id"] for c in api.get("/clusters/").json()["results"]] == [cluster_id]
    # One operation at a time: the cluster cannot be deleted while it is being created.
    busy = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "orders-prod"})
    assert busy.status_code == 409, busy.text

    operation = platform.wait_operation(api, created.json()["operation"]["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    assert [s["state"] for s in operation["steps"]] == ["succeeded"] * 4
    assert all(s["log"] and s["started_at"] and s["finished_at"] for s in operation["steps"])
    assert "brokers registered: [0, 1, 2]" in operation["steps"][-1]["log"]

    cluster = api.get(f"/clusters/{cluster_id}/").json()
    assert cluster["status"] == "running"
    bootstrap = cluster["bootstrap_servers"]
    assert len(bootstrap.split(",")) == 3

    topic = api.post(
        f"/clusters/{cluster_id}/topics/",
        json={"name": "payments", "partitions": 6, "configs": {"retention.ms": "3600000"}},
    )
    assert topic.status_code == 201, topic.text
    listed = api.get(f"/clusters/{cluster_id}/topics/").json()["results"]
    assert {
        "name": "payments",
        "partitions": 6,
        "replication_factor": 3,
    }.items() <= next(t for t in listed if t["name"] == "payments").items()

    values = produce_and_consume(bootstrap, "payments")
    assert sorted(values) == sorted(f"record-{i}".encode() for i in range(RECORDS))

    def all_healthy() -> list[dict] | None:
        nodes = api.get(f"/clusters/{cluster_id}/nodes/").json()["results"]
        brokers = [n for n in nodes if n["role"] == "broker"]
        ok = len(brokers) == 3 and all(
            n["status"] == "running" and n["health"].get("state") == "running" for n in brokers
        )
        return brokers if ok else None

    brokers = wait_until(all_healthy, 30, "every broker to report healthy")
    assert sum(b["health"]["partitions_led"] for b in brokers) >= 6
    assert all(b["health"]["disk_used_bytes"] > 0 for b in brokers)

    rows = platform.sql("SELECT provider_ref FROM clusters_node WHERE cluster_id = %s", cluster_id)
    cluster_dir = Path(rows[0][0]).parent
    assert len(node_processes(cluster_dir)) == 4, "3 brokers and ZooKeeper should be running"

    wrong = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "orders"})
    assert wrong.status_code == 400 and wrong.json()["errors"]["confirm_name"]
    assert (
        api.patch(f"/clusters/{cluster_id}/", json={"delete_protection": True}).status_code == 200
    )
    protected = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "orders-prod"})
    assert protected.status_code == 409 and "protection" in protected.json()["message"]
    assert (
        api.patch(f"/clusters/{cluster_id}/", json={"delete_protection": False}).status_code == 200
    )
    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "orders-prod"})
    assert deleted.status_code == 202, deleted.text
    operation = platform.wait_operation(api, deleted.json()["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    assert api.get(f"/clusters/{cluster_id}/").json()["status"] == "deleted"
    assert cluster_id not in [c["id"] for c in api.get("/clusters/").json()["results"]]
    wait_gone(cluster_dir, 10)
    assert not cluster_dir.exists()

    history = api.get(f"/clusters/{cluster_id}/operations/").json()["results"]
    assert [(o["kind"], o["state"]) for o in history] == [
        ("delete", "succeeded"),
        ("create", "succeeded"),
    ]
    actions = [e["action"] for e in api.get("/audit/").json()["results"]]
    assert actions[:5] == [
        "cluster.delete",
        "cluster.update",
        "cluster.update",
        "topic.create",
        "cluster.create",
    ]
