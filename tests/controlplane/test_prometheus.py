"""Scrape endpoints: one scrape of a cluster gathers every broker's metrics (labelled by broker and
cluster, parseable by prometheus_client), only for its organisation; the control plane's own metrics
count operations and API requests."""

from __future__ import annotations

import uuid

import httpx
from confluent_kafka import Producer
from prometheus_client.parser import text_string_to_metric_families

from tests.controlplane.conftest import cluster_payload
from tests.support.platform import Platform
from tests.support.waiting import wait_until


def families(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def test_one_scrape_covers_every_broker(platform: Platform, tenant: dict) -> None:
    api = platform.api(tenant["token"])
    created = api.post("/clusters/", json=cluster_payload("scraped", brokers=2))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    operation = platform.wait_operation(api, created.json()["operation"]["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    bootstrap = api.get(f"/clusters/{cluster_id}/").json()["bootstrap_servers"]

    def bytes_in() -> dict[str, float]:
        scrape = api.get(f"/clusters/{cluster_id}/prometheus")
        assert scrape.status_code == 200, scrape.text
        assert scrape.headers["content-type"].startswith("text/plain")
        samples = families(scrape.text)
        assert sorted(
            (s.labels["broker_id"], s.value) for s in samples["streamplane_broker_up"]
        ) == [
            ("0", 1.0),
            ("1", 1.0),
        ]
        return {
            s.labels["broker_id"]: s.value
            for s in samples["dataplane_bytes_in"]
            if s.labels["cluster"] == "scraped"
        }

    before = bytes_in()
    assert set(before) == {"0", "1"}
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    assert api.post(f"/clusters/{cluster_id}/topics/", json={"name": "scraped"}).status_code == 201
    for seq in range(200):
        producer.produce("scraped", b"x" * 1000, key=str(seq).encode())
    assert producer.flush(30) == 0
    after = bytes_in()
    assert sum(after.values()) - sum(before.values()) >= 200 * 1000

    # The brokers' reports carry per-topic counters into the control plane's series: the topic's
    # records, summed over the brokers leading its partitions, are exactly those produced.
    def topic_records() -> float | None:
        answer = api.get(
            f"/clusters/{cluster_id}/metrics/",
            params={"metric": "messages_in_total", "topic": "scraped"},
        ).json()
        latest = [s["points"][-1][1] for s in answer["series"] if s["points"]]
        return sum(latest) if sum(latest) == 200 else None

    assert wait_until(topic_records, 30, "the topic's record count in the series") == 200

    # Another organisation cannot scrape it; a read-only token of its own can.
    suffix = uuid.uuid4().hex[:6]
    stranger = platform.tenant(f"stranger-{suffix}", f"stranger-{suffix}")
    assert platform.api(stranger).get(f"/clusters/{cluster_id}/prometheus").status_code == 404
    reader = platform.tenant(
        tenant["organisation"], f"reader-{suffix}", read_only=True, role="viewer"
    )
    assert platform.api(reader).get(f"/clusters/{cluster_id}/prometheus").status_code == 200
    assert httpx.get(f"{platform.url}/api/v1/clusters/{cluster_id}/prometheus").status_code in (
        401,
        403,
    )

    # The control plane's own metrics, from this machine.
    own = families(httpx.get(f"{platform.url}/metrics").text)
    created_ok = [
        s
        for s in own["streamplane_operations"]
        if s.labels == {"kind": "create", "state": "succeeded"}
    ]
    assert created_ok and created_ok[0].value >= 1
    requests = [
        s
        for s in own["streamplane_api_request_duration_seconds"]
        if s.name.endswith("_count") and "prometheus" in s.labels["route"]
    ]
    assert sum(s.value for s in requests) >= 3

    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "scraped"})
    assert platform.wait_operation(api, deleted.json()["id"])["state"] == "succeeded"
