"""A rolling restart from the API while an idempotent acks=all producer writes: one broker at a time,
the controller last, no acknowledged record lost; and a roll that would take a partition offline stops
before touching that broker, says why, and leaves the cluster serving."""

from __future__ import annotations

from confluent_kafka import Producer

from tests.controlplane.conftest import cluster_payload
from tests.replication.clients import (
    ProducerThread,
    abort_all_clients,
    check_acknowledged_survived,
    read_partitions,
)
from tests.support.platform import Bootstrap, Platform
from tests.support.waiting import wait_until

PARTITIONS = 3


def test_rolling_restart_during_production_loses_nothing(platform: Platform, tenant: dict) -> None:
    api = platform.api(tenant["token"])
    created = api.post("/clusters/", json=cluster_payload("rolling", brokers=3))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    operation = platform.wait_operation(api, created.json()["operation"]["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    cluster = api.get(f"/clusters/{cluster_id}/").json()
    topic = api.post(
        f"/clusters/{cluster_id}/topics/",
        json={"name": "ledger", "partitions": PARTITIONS, "configs": {"min.insync.replicas": "2"}},
    )
    assert topic.status_code == 201, topic.text

    servers = Bootstrap(cluster["bootstrap_servers"])
    producer = ProducerThread(servers, "ledger", 1_000_000, partitions=PARTITIONS, rate=400).start()
    try:
        producer.wait_acked(200, timeout=60)
        restart = api.post(f"/clusters/{cluster_id}/restart/")
        assert restart.status_code == 202, restart.text
        plan = restart.json()["plan"]
        assert len(plan["order"]) == 3 and plan["order"][-1] == f"rolling-b{plan['controller']}"
        assert [s["title"].split(" (")[0] for s in restart.json()["steps"]] == [
            f"Restart broker {name.rsplit('b', 1)[1]}" for name in plan["order"]
        ]
        operation = platform.wait_operation(api, restart.json()["id"], timeout=600)
        assert operation["state"] == "succeeded", [
            (s["title"], s["error"]) for s in operation["steps"]
        ]
        for step in operation["steps"]:
            assert "may go down" in step["log"] and "no under-replicated partitions" in step["log"]
        acked_during_roll = producer.acked_count()
        producer.wait_acked(acked_during_roll + 200, timeout=60)
    finally:
        producer.stop_event.set()
        producer.join()
        abort_all_clients()
    assert not producer.failed, producer.failed[:5]
    check_acknowledged_survived(producer.acked, read_partitions(servers, "ledger", PARTITIONS, 60))
    assert api.get(f"/clusters/{cluster_id}/").json()["status"] == "running"

    # A partition with a single replica would go offline: the roll stops before that broker.
    single = api.post(
        f"/clusters/{cluster_id}/topics/",
        json={"name": "scratch", "partitions": 1, "replication_factor": 1},
    )
    assert single.status_code == 201, single.text
    refused = api.post(f"/clusters/{cluster_id}/restart/")
    assert refused.status_code == 202, refused.text
    operation = platform.wait_operation(api, refused.json()["id"], timeout=600)
    assert operation["state"] == "failed"
    failed = next(s for s in operation["steps"] if s["state"] == "failed")
    assert (
        "may not go down" in failed["error"] and "scratch-0 has its only replica" in failed["error"]
    )
    assert all(s["state"] == "pending" for s in operation["steps"][failed["position"] :])
    assert api.get(f"/clusters/{cluster_id}/").json()["status"] == "running"

    # Cancelling mid-roll: the broker in progress finishes its turn, the rest never start, and the
    # cluster keeps serving.
    assert api.delete(f"/clusters/{cluster_id}/topics/scratch/").status_code == 204
    roll = api.post(f"/clusters/{cluster_id}/restart/").json()

    def first_broker_rolling() -> bool:
        steps = api.get(f"/operations/{roll['id']}/").json()["steps"]
        return steps[0]["state"] in ("running", "succeeded")

    wait_until(first_broker_rolling, 120, "the roll to start", interval=0.2)
    cancelled = api.post(f"/operations/{roll['id']}/cancel/")
    assert cancelled.status_code == 202 and cancelled.json()["cancel_requested"]
    operation = platform.wait_operation(api, roll["id"], timeout=300)
    assert operation["state"] == "cancelled"
    assert [s["state"] for s in operation["steps"]] == ["succeeded", "cancelled", "cancelled"]
    assert api.post(f"/operations/{roll['id']}/cancel/").status_code == 409
    assert api.get(f"/clusters/{cluster_id}/").json()["status"] == "running"
    still = Producer({"bootstrap.servers": servers.bootstrap, "acks": "all"})
    still.produce("ledger", b"after the cancelled roll")
    assert still.flush(30) == 0

    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "rolling"})
    assert platform.wait_operation(api, deleted.json()["id"])["state"] == "succeeded"
