"""Consumer lag: the time estimate on its own, then a real cluster with a producer that never stops
and a consumer group that stops and resumes, watched through the groups API (lag grows in records
and seconds, then returns to about zero) and the console's lag chart in Chromium."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType

import pytest
from confluent_kafka import Consumer, Producer
from playwright.sync_api import expect, sync_playwright

from tests.controlplane.conftest import cluster_payload
from tests.controlplane.test_console import CHROMIUM, sign_in
from tests.support.platform import Platform
from tests.support.waiting import wait_until

TOPIC = "orders"
PARTITIONS = 3
RATE = 100.0  # records per second, all partitions together
GROUP = "billing"


# --- the estimate, without a cluster ------------------------------------------------------------


@pytest.fixture
def lag(django_db: str) -> ModuleType:
    """monitoring.lag, once Django is configured in this process (the module imports models)."""
    from monitoring import lag

    return lag


def observed(lag: ModuleType, ends: list[tuple[float, int]]):
    track = None
    for at, end in ends:
        track = lag.track_observe(track, end, at)
    assert track is not None
    return track


def test_lag_in_seconds_is_lag_over_the_produce_rate_while_records_arrive(lag) -> None:
    # 10 records/s for a minute, seen every 15 s.
    track = observed(lag, [(t, 10 * t) for t in range(0, 61, 15)])
    assert lag.lag_seconds(track, committed=600, end=600, now=60) == 0.0
    assert lag.lag_seconds(track, committed=300, end=600, now=60) == pytest.approx(30.0)
    # Seen once: nothing is known about the rate yet.
    assert lag.lag_seconds(observed(lag, [(0, 100)]), committed=50, end=100, now=0) is None


def test_lag_in_seconds_is_the_age_of_the_position_when_nothing_arrives(lag) -> None:
    # 10 records/s until t=60 (end 600), then silence until t=300.
    track = observed(lag, [(t, 10 * t) for t in range(0, 61, 15)] + [(t, 600) for t in (75, 300)])
    # Record 450 was appended at t=45: the consumer at 450 is 255 s behind at t=300.
    assert lag.lag_seconds(track, committed=450, end=600, now=300) == pytest.approx(255, abs=0.2)
    # Records arrive again: 100 in the last minute, so the rate is 100/60 per second (the idle
    # stretch before that minute does not dilute it).
    track = lag.track_observe(track, 700, 315)
    assert lag.lag_seconds(track, committed=600, end=700, now=315) == pytest.approx(60)


def test_the_history_of_a_partition_stays_bounded_and_reaches_back(lag) -> None:
    track = observed(lag, [(t, 10 * t) for t in range(0, 15 * 500, 15)])
    assert len(track.history) <= lag.HISTORY_LIMIT
    assert track.history[0] == (0, 0)
    # Idle afterwards: an old position's age is still about right, from the thinned points.
    now = 15 * 500 + 600
    track = lag.track_observe(track, track.end, now)
    assert lag.lag_seconds(track, committed=1000, end=track.end, now=now) == pytest.approx(
        now - 100, rel=0.05
    )


# --- a real cluster -----------------------------------------------------------------------------


@dataclass
class SteadyProducer:
    """Produces RATE records per second round-robin over the topic's partitions until stopped."""

    bootstrap: str
    acked: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> SteadyProducer:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _on_delivery(self, err, _msg) -> None:
        if err is None:
            self.acked += 1

    def _run(self) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5})
        next_at = time.monotonic()
        seq = 0
        while not self.stop.is_set():
            producer.produce(TOPIC, str(seq).encode(), partition=seq % PARTITIONS)
            producer.poll(0)
            seq += 1
            next_at += 1 / RATE
            # poll returns early when it serves a delivery report: wait out the rest.
            while (delay := next_at - time.monotonic()) > 0:
                producer.poll(delay)
        producer.flush(10)

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(15)


@dataclass
class GroupConsumer:
    """A member of GROUP reading TOPIC with auto commit until closed (it then leaves the group)."""

    bootstrap: str
    consumed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> GroupConsumer:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": GROUP,
                "client.id": "billing-worker",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": True,
                "auto.commit.interval.ms": 200,
                "fetch.wait.max.ms": 100,
            }
        )
        consumer.subscribe([TOPIC])
        try:
            while not self.stop.is_set():
                message = consumer.poll(0.2)
                if message is not None and not message.error():
                    self.consumed += 1
        finally:
            consumer.close()

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(15)


@pytest.fixture
def clients() -> Iterator[list]:
    """Client threads of a test, closed when it ends whatever happened."""
    started: list = []
    yield started
    for client in reversed(started):
        client.close()


def test_lag_grows_while_the_group_stops_and_recovers_when_it_resumes(
    platform: Platform, tenant: dict, clients: list
) -> None:
    api = platform.api(tenant["token"])
    created = api.post("/clusters/", json=cluster_payload("lagging"))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    operation = platform.wait_operation(api, created.json()["operation"]["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    bootstrap = api.get(f"/clusters/{cluster_id}/").json()["bootstrap_servers"]
    topic = api.post(
        f"/clusters/{cluster_id}/topics/", json={"name": TOPIC, "partitions": PARTITIONS}
    )
    assert topic.status_code == 201, topic.text

    producer = SteadyProducer(bootstrap).start()
    clients.append(producer)
    consumer = GroupConsumer(bootstrap).start()
    clients.append(consumer)

    def group() -> dict | None:
        answer = api.get(f"/clusters/{cluster_id}/groups/")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found = [g for g in body["results"] if g["group_id"] == GROUP]
        return found[0] | {"collected_at": body["collected_at"]} if found else None

    def caught_up() -> dict | None:
        g = group()
        ok = g and g["state"] == "stable" and g["member_count"] == 1
        ok = ok and g["lag_offsets"] is not None and g["lag_offsets"] <= RATE
        ok = ok and g["lag_seconds"] is not None and g["lag_seconds"] < 2
        return g if ok else None

    try:
        wait_until(caught_up, 60, "the group to be collected, caught up", interval=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {group()}\n{platform.describe_failure()}") from None

    # While it consumes, the group's detail shows its member and what it was assigned.
    detail = api.get(f"/clusters/{cluster_id}/groups/{GROUP}/")
    assert detail.status_code == 200, detail.text
    detail = detail.json()
    assert detail["state"] == "stable"
    assert [(m["client_id"], m["host"]) for m in detail["members"]] == [
        ("billing-worker", "127.0.0.1")
    ]
    assigned = [(a["topic"], a["partition"]) for a in detail["members"][0]["assignment"]]
    assert sorted(assigned) == [(TOPIC, p) for p in range(PARTITIONS)]
    assert [(p["topic"], p["partition"]) for p in detail["partitions"]] == sorted(assigned)
    for p in detail["partitions"]:
        assert p["client_id"] == "billing-worker"
        assert p["lag_offsets"] == p["log_end_offset"] - p["committed_offset"] >= 0
    assert api.get(f"/clusters/{cluster_id}/groups/nobody/").status_code == 404
    # Another organisation does not see the cluster's groups.
    suffix = uuid.uuid4().hex[:6]
    stranger = platform.api(platform.tenant(f"other-{suffix}", f"other-{suffix}"))
    assert stranger.get(f"/clusters/{cluster_id}/groups/").status_code == 404
    assert stranger.get(f"/clusters/{cluster_id}/groups/{GROUP}/").status_code == 404

    # The group stops consuming; production goes on.
    consumer.close()
    stopped_at = time.time()
    collections: list[dict] = []

    def next_collection() -> dict | None:
        g = group()
        if (
            g
            and g["state"] == "empty"
            and (not collections or g["collected_at"] != collections[-1]["collected_at"])
        ):
            collections.append(g)
            return g
        return None

    for _ in range(6):
        wait_until(next_collection, 20, "the next lag collection", interval=0.3)
    offsets = [c["lag_offsets"] for c in collections]
    seconds = [c["lag_seconds"] for c in collections]
    assert offsets == sorted(offsets) and offsets[-1] > offsets[0] + RATE, offsets
    assert seconds == sorted(seconds) and seconds[-1] > seconds[0] + 2, seconds
    last = collections[-1]
    behind = datetime.fromisoformat(last["collected_at"]).timestamp() - stopped_at
    # The consumer last committed within a commit interval of stopping; the estimate follows the
    # produce rate, so it is within a factor of the time since.
    assert behind / 2 < last["lag_seconds"] < behind * 2 + 1, (last, behind)
    assert behind * RATE / 2 < last["lag_offsets"] < behind * RATE * 2 + RATE, (last, behind)
    assert last["member_count"] == 0
    assert [t["topic"] for t in last["topics"]] == [TOPIC]

    # The trend the group's detail gives has the growth too (the group's total is topic "").
    detail = api.get(f"/clusters/{cluster_id}/groups/{GROUP}/").json()
    assert detail["members"] == []
    totals = [s for s in detail["trend"]["lag_offsets"]["series"] if s["topic"] == ""]
    assert len(totals) == 1 and totals[0]["group"] == GROUP
    trend = [value for _, value, _ in totals[0]["points"]]
    assert trend[-1] >= offsets[-1] > trend[0], trend

    # The consumer resumes: the lag returns to about zero.
    resumed = GroupConsumer(bootstrap).start()
    clients.append(resumed)
    wait_until(caught_up, 60, "the group to catch up again", interval=0.5)

    # The console's groups page charts the lag from the series.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(base_url=platform.url)
            page.set_default_timeout(30_000)
            sign_in(page, tenant["username"], tenant["password"])
            page.goto(f"/clusters/{cluster_id}/groups/{GROUP}/")
            expect(page.get_by_test_id("members")).to_contain_text("billing-worker")
            expect(page.get_by_test_id("partitions")).to_contain_text(TOPIC)
            page.wait_for_function(
                """() => {
                    const chart = (window.streamplaneLagCharts || {})["lag-offsets-chart"];
                    return chart && chart.data.datasets.some((d) => d.data.length >= 5);
                }"""
            )
            series = page.evaluate(
                """() => window.streamplaneLagCharts["lag-offsets-chart"].data.datasets.map(
                    (d) => [d.label, d.data.map((p) => p.y)])"""
            )
            total = dict(series)["all topics"]
            assert max(total) >= offsets[-1], series
            page.goto(f"/clusters/{cluster_id}/groups")
            expect(page.locator(f"tr[data-group={GROUP}]")).to_contain_text("stable")
            page.wait_for_function(
                """() => {
                    const chart = (window.streamplaneLagCharts || {})["lag-seconds-chart"];
                    return chart && chart.data.datasets.some((d) => d.data.length >= 5);
                }"""
            )
            assert re.search(r"/groups$", page.url)
        finally:
            browser.close()

    for client in clients:
        client.close()
    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "lagging"})
    assert deleted.status_code == 202, deleted.text
    assert platform.wait_operation(api, deleted.json()["id"])["state"] == "succeeded"
