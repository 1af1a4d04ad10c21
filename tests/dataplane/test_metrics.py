"""Broker metrics with Kafka's meanings: traffic per topic, request and flush times, and how they
reach Prometheus (`metrics.listener`) and the control plane (the health report's `topics` and
`metrics`)."""

from __future__ import annotations

import math
import re
import urllib.request
from collections.abc import Callable

from confluent_kafka import Consumer, Producer
from prometheus_client.parser import text_string_to_metric_families

from dataplane.broker.dispatch import APIS
from dataplane.broker.health_report import MAX_TOPICS, HealthReporter, topic_figures
from dataplane.broker.metrics import METRICS, render
from dataplane.broker.stats import BrokerStats
from dataplane.histogram import Histogram
from dataplane.storage.log import FlushTimes
from tests.support.broker import BrokerProcess
from tests.support.ports import free_port
from tests.support.waiting import wait_until
from tests.support.wire import (
    FETCH,
    PRODUCE,
    WireClient,
    batch,
    create_topic,
    fetch_body,
    init_producer_id,
    produce,
    produce_body,
)

CORRUPT_MESSAGE = 2
# What the control plane accepts in a report's `metrics` and in each topic's figures.
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def scrape(port: int) -> Series:
    """Every sample, by name and labels (the broker's own broker_id and cluster_id left out)."""
    series: Series = {}
    for family in text_string_to_metric_families(scrape_text(port)):
        for sample in family.samples:
            labels = {
                k: v for k, v in sample.labels.items() if k not in ("broker_id", "cluster_id")
            }
            series[(sample.name, frozenset(labels.items()))] = sample.value
    return series


def value(series: Series, name: str, **labels: str) -> float:
    return series[(f"dataplane_{name}", frozenset(labels.items()))]


def requests_served(series: Series, request: str) -> float:
    """How many requests of this kind the request-time histograms counted (0 before the first)."""
    key = ("dataplane_request_total_time_seconds_count", frozenset({("request", request)}))
    return series.get(key, 0)


def segment_bytes(broker: BrokerProcess, topic: str, partitions: int) -> int:
    return sum(
        path.stat().st_size
        for p in range(partitions)
        for path in broker.partition_dir(topic, p).glob("*.log")
    )


def test_appended_batches_move_their_topic_counters_by_exactly_their_bytes_and_records(
    make_broker: Callable[..., BrokerProcess], collector, topic_name: str
) -> None:
    url, received = collector
    port = free_port()
    broker = make_broker(
        {
            "metrics.listener": f"127.0.0.1:{port}",
            "health.report.url": url,
            "health.report.interval.ms": 200,
        }
    )
    other = f"{topic_name}.other"
    with WireClient.to(broker) as client:
        create_topic(client, topic_name, partitions=2)
        create_topic(client, other)
        before = scrape(port)
        # The series exist from the topic's creation, so Prometheus sees the first bytes too.
        for name in ("topic_bytes_in_total", "topic_messages_in_total", "topic_bytes_out_total"):
            assert value(before, name, topic=topic_name) == 0

        pid = init_producer_id(client)["producer_id"]
        small = batch([b"s" * 100] * 5)
        large = batch([b"L" * 3000] * 7)
        idempotent = batch([b"i" * 10] * 3, producer_id=pid, producer_epoch=0, base_sequence=0)
        elsewhere = batch([b"o" * 50] * 2)
        corrupt = bytearray(batch([b"c" * 100]))
        corrupt[-1] ^= 0xFF
        # Two partitions in one request.
        both = client.request(
            PRODUCE,
            9,
            {
                "transactional_id": None,
                "acks": 1,
                "timeout_ms": 10000,
                "topic_data": [
                    {
                        "name": topic_name,
                        "partition_data": [
                            {"index": 0, "records": small},
                            {"index": 1, "records": large},
                        ],
                    }
                ],
            },
        )
        assert all(p["error_code"] == 0 for p in both["responses"][0]["partition_responses"]), both
        # acks=0: no response; the acknowledged produce after it shows it was handled.
        client.send(PRODUCE, 9, produce_body(topic_name, 0, small, acks=0), expect_response=False)
        assert produce(client, topic_name, 1, idempotent)["error_code"] == 0
        retry = produce(client, topic_name, 1, idempotent)  # a duplicate: nothing appended
        assert retry["error_code"] == 0 and retry["base_offset"] == 7  # after `large`
        assert produce(client, topic_name, 0, bytes(corrupt))["error_code"] == CORRUPT_MESSAGE
        assert produce(client, other, 0, elsewhere)["error_code"] == 0
        produce_requests = 6

    expected_bytes = 2 * len(small) + len(large) + len(idempotent)
    expected_records = 2 * 5 + 7 + 3
    # Kafka's "bytes in" is the record batches appended, which is what the segments hold.
    assert segment_bytes(broker, topic_name, 2) == expected_bytes
    after = scrape(port)
    assert value(after, "topic_bytes_in_total", topic=topic_name) == expected_bytes
    assert value(after, "topic_messages_in_total", topic=topic_name) == expected_records
    assert value(after, "topic_bytes_in_total", topic=other) == len(elsewhere)
    assert value(after, "topic_messages_in_total", topic=other) == 2
    moved = {
        name: value(after, name) - value(before, name)
        for name in ("all_topics_bytes_in_total", "all_topics_messages_in_total")
    }
    assert moved == {
        "all_topics_bytes_in_total": expected_bytes + len(elsewhere),
        "all_topics_messages_in_total": expected_records + 2,
    }
    # Every produce request is timed once, refused and unanswered ones included.
    assert requests_served(after, "Produce") - requests_served(before, "Produce") == (
        produce_requests
    )
    assert value(after, "request_queue_time_seconds_count", request="Produce") == (
        value(after, "request_total_time_seconds_count", request="Produce")
    )

    def report_with_everything() -> dict | None:
        for _path, _auth, body in reversed(received):
            figures = body.get("topics", {}).get(topic_name)
            if figures and figures["messages_in_total"] == expected_records:
                return body
        return None

    body = wait_until(report_with_everything, 10, "a report with every appended record")
    assert body["topics"][topic_name]["bytes_in_total"] == expected_bytes
    assert body["topics"][other]["bytes_in_total"] == len(elsewhere)
    assert set(body["topics"][topic_name]) == {
        "bytes_in_per_s",
        "bytes_out_per_s",
        "messages_in_per_s",
        "bytes_in_total",
        "messages_in_total",
    }
    # The traffic shows as a rate in the report whose interval saw it, and only there.
    busy = [b for _, _, b in received if b["topics"].get(topic_name, {}).get("bytes_in_per_s")]
    assert busy and all(b["topics"][topic_name]["messages_in_per_s"] > 0 for b in busy)
    assert any("produce_latency_p99_ms" in b["metrics"] for _, _, b in received)
    for _path, _auth, report in received:
        assert_acceptable_report(report)


def assert_acceptable_report(body: dict) -> None:
    """What the control plane's ingest checks, so that no report is refused."""
    metrics = body["metrics"]
    assert len(metrics) <= 100 and all(METRIC_NAME.match(name) for name in metrics), metrics
    assert len(body["topics"]) <= MAX_TOPICS
    for figures in [metrics, *body["topics"].values()]:
        for figure in figures.values():
            assert isinstance(figure, int | float) and not isinstance(figure, bool), figures


def test_consumer_fetches_are_bytes_out_and_follower_fetches_replication(
    make_broker: Callable[..., BrokerProcess], topic_name: str
) -> None:
    port = free_port()
    broker = make_broker({"metrics.listener": f"127.0.0.1:{port}"})
    records = batch([b"f" * 200] * 4)
    with WireClient.to(broker) as client:
        create_topic(client, topic_name)
        assert produce(client, topic_name, 0, records)["error_code"] == 0
        before = scrape(port)

        def fetch(replica_id: int, offset: int, max_wait_ms: int = 0) -> bytes:
            body = fetch_body({topic_name: {0: offset}}, max_wait_ms=max_wait_ms)
            body["replica_id"] = replica_id
            response = client.request(FETCH, 12, body)
            [partition] = response["responses"][0]["partitions"]
            assert partition["error_code"] == 0, partition
            return partition["records"]

        # The same batch, its offset and leader epoch stamped by the broker.
        assert len(fetch(-1, 0)) == len(records)
        consumed = scrape(port)
        assert value(consumed, "topic_bytes_out_total", topic=topic_name) == len(records)
        assert value(consumed, "all_topics_bytes_out_total") == len(records)
        assert value(consumed, "replication_bytes_out_total") == 0

        assert len(fetch(7, 0)) == len(records)  # as a follower (replica id 7) would
        replicated = scrape(port)
        assert value(replicated, "replication_bytes_out_total") == len(records)
        assert value(replicated, "topic_bytes_out_total", topic=topic_name) == len(records)

        # A long poll at the log end: nothing to send, and its total time includes the wait.
        assert fetch(-1, 4, max_wait_ms=300) == b""
        polled = scrape(port)
    assert value(polled, "topic_bytes_out_total", topic=topic_name) == len(records)
    served = {
        request: requests_served(polled, request) - requests_served(before, request)
        for request in ("Fetch", "FetchConsumer", "FetchFollower")
    }
    assert served == {"Fetch": 3, "FetchConsumer": 2, "FetchFollower": 1}
    waited = value(polled, "request_total_time_seconds_sum", request="FetchConsumer") - value(
        consumed, "request_total_time_seconds_sum", request="FetchConsumer"
    )
    assert 0.3 <= waited < 5
    slow = value(polled, "request_total_time_seconds_bucket", request="FetchConsumer", le="0.2")
    assert value(polled, "request_total_time_seconds_count", request="FetchConsumer") - slow == 1


def test_prometheus_text_parses_with_well_formed_histograms_log_sizes_and_flush_times(
    make_broker: Callable[..., BrokerProcess], topic_name: str
) -> None:
    port = free_port()
    broker = make_broker(
        {
            "metrics.listener": f"127.0.0.1:{port}",
            "group.initial.rebalance.delay.ms": 0,
            # Every append is flushed: the flush-time histogram has something to count.
            "log.flush.interval.messages": 1,
        }
    )
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5})
    for i in range(300):
        producer.produce(topic_name, b"x" * 100, key=str(i).encode())
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"{topic_name}.group",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic_name])
    consumed = 0
    while consumed < 300:
        message = wait_until(lambda: consumer.poll(0.5), 30, "records through the group")
        assert not message.error(), message.error()
        consumed += 1
    consumer.commit(asynchronous=False)
    consumer.close()

    families = {family.name: family for family in text_string_to_metric_families(scrape_text(port))}
    for name, (kind, _help) in METRICS.items():
        family = families[f"dataplane_{name.removesuffix('_total')}"]
        assert family.type == kind and family.documentation, name
    histograms = [family for family in families.values() if family.type == "histogram"]
    assert {family.name for family in histograms} == {
        "dataplane_request_total_time_seconds",
        "dataplane_request_queue_time_seconds",
        "dataplane_log_flush_time_seconds",
    }
    seen_requests = set()
    for family in histograms:
        by_series: dict[frozenset, dict[str, list]] = {}
        for sample in family.samples:
            labels = frozenset((k, v) for k, v in sample.labels.items() if k != "le")
            parts = by_series.setdefault(labels, {"bucket": [], "count": [], "sum": []})
            parts[sample.name.rsplit("_", 1)[1]].append(sample)
        for labels, parts in by_series.items():
            bounds = [float(s.labels["le"]) for s in parts["bucket"]]
            counts = [s.value for s in parts["bucket"]]
            assert bounds == sorted(bounds) and bounds[-1] == math.inf, (family.name, labels)
            assert counts == sorted(counts), f"{family.name} {labels}: buckets not cumulative"
            [count], [total] = parts["count"], parts["sum"]
            assert counts[-1] == count.value and total.value >= 0, (family.name, labels)
            seen_requests.add(dict(labels).get("request"))
    assert {"Produce", "Fetch", "FetchConsumer", "Metadata", "OffsetCommit"} <= seen_requests

    series = scrape(port)
    assert value(series, "log_flush_time_seconds_count") >= 1
    assert value(series, "topic_messages_in_total", topic=topic_name) == 300
    # A consumer reads each record once here: what it fetched is what was appended.
    assert value(series, "topic_bytes_out_total", topic=topic_name) == value(
        series, "topic_bytes_in_total", topic=topic_name
    )
    sizes = {
        (dict(labels)["topic"], int(dict(labels)["partition"])): size
        for (name, labels), size in series.items()
        if name == "dataplane_log_size_bytes"
    }
    assert sizes[(topic_name, 0)] == segment_bytes(broker, topic_name, 1) > 300 * 100
    assert sum(size for (topic, _), size in sizes.items() if topic == "__consumer_offsets") > 0
    assert value(series, "failed_authentication_total") == 0


def test_recording_can_be_turned_off(
    make_broker: Callable[..., BrokerProcess], topic_name: str
) -> None:
    port = free_port()
    broker = make_broker(
        {"metrics.listener": f"127.0.0.1:{port}", "metrics.recording.enabled": "false"}
    )
    with WireClient.to(broker) as client:
        create_topic(client, topic_name)
        assert produce(client, topic_name, 0, batch(10))["error_code"] == 0
    series = scrape(port)
    assert value(series, "topic_bytes_in_total", topic=topic_name) == 0
    assert value(series, "all_topics_messages_in_total") == 0
    assert requests_served(series, "Produce") == 0
    assert value(series, "bytes_in_total") > 0  # the wire counters stay on: they cost nothing


# --- without a broker ---------------------------------------------------------------------------


def test_histogram_buckets_and_quantiles_follow_prometheus() -> None:
    histogram = Histogram((0.001, 0.01, 0.1))
    for seconds in (0.001, 0.002, 0.01, 0.05, 7.0):
        histogram.observe(seconds)
    snapshot = histogram.snapshot()
    assert snapshot.counts == (1, 2, 1, 1)  # `le`: a value equal to a bound is in its bucket
    assert snapshot.cumulative() == [1, 3, 4, 5] and snapshot.count == 5
    assert math.isclose(snapshot.sum, 7.063)
    # As histogram_quantile: linear within the bucket, the highest bound beyond the last one.
    assert math.isclose(snapshot.quantile(0.5), 0.001 + 0.009 * (2.5 - 1) / 2)
    assert snapshot.quantile(0.2) == 0.001
    assert snapshot.quantile(0.99) == 0.1
    histogram.observe(0.0001)
    interval = histogram.snapshot().since(snapshot)
    assert interval.counts == (1, 0, 0, 0) and interval.quantile(0.5) == 0.0005
    assert histogram.snapshot().since(histogram.snapshot()).quantile(0.99) is None


def _names() -> dict[int, str]:
    return {key: api.name for key, api in APIS.items()}


def _facts(**overrides: object) -> dict:
    facts: dict = dict.fromkeys(METRICS, 0)
    return facts | {"version": "test"} | overrides


def test_report_rates_quantiles_and_topics_over_the_interval() -> None:
    stats = BrokerStats(_names())
    facts = _facts()
    reporter = HealthReporter("", "", 1.0, lambda: dict(facts), stats, FlushTimes(), [])
    stats.track_topics({"orders", "idle"})
    first = reporter.sample()
    stats.record_append("orders", 5000, 50)
    produce_stats = stats.requests[0]
    for milliseconds in [1] * 98 + [40, 40]:
        produce_stats.record_total_time(milliseconds / 1000)
        produce_stats.record_queue_time(0.00001)
    # (broker_facts reads the broker-wide totals from the stats; here the test plays its part.)
    facts.update(all_topics_messages_in_total=50, connections=3, under_min_isr=1)
    facts.update(offline_partitions=2, controller=4)
    body, second = reporter.report(first, 0)
    assert_acceptable_report(body)
    metrics = body["metrics"]
    assert metrics["connections"] == 3 and metrics["controller"] == 4
    assert metrics["under_min_isr"] == 1 and metrics["offline_partitions"] == 2
    assert 0.0005 <= metrics["produce_latency_p50_ms"] / 1000 <= 0.001
    assert 0.02 <= metrics["produce_latency_p99_ms"] / 1000 <= 0.05
    assert metrics["request_queue_time_p99_ms"] <= 0.05
    assert "fetch_latency_p99_ms" not in metrics  # no fetch in the interval: no figure
    assert metrics["messages_in_per_s"] > 0 and metrics["produce_requests_per_s"] > 0
    assert body["topics"]["orders"]["bytes_in_total"] == 5000
    assert body["topics"]["idle"] == dict.fromkeys(body["topics"]["idle"], 0)

    # The next interval saw nothing: rates fall to zero, totals stay, latencies go.
    body, _ = reporter.report(second, 0)
    assert body["topics"]["orders"]["bytes_in_per_s"] == 0
    assert body["topics"]["orders"]["messages_in_total"] == 50
    assert body["metrics"]["messages_in_per_s"] == 0
    assert "produce_latency_p99_ms" not in body["metrics"]


def test_report_keeps_the_busiest_topics_when_there_are_too_many() -> None:
    now = {f"t{i:05d}": (i, 0, i) for i in range(MAX_TOPICS + 500)}
    figures = topic_figures({}, now, 1.0)
    assert len(figures) == MAX_TOPICS
    assert "t00000" not in figures and f"t{MAX_TOPICS + 499:05d}" in figures
    # A topic deleted and created again counts from zero, not negative.
    again = topic_figures({"t": (900, 0, 9)}, {"t": (100, 0, 1)}, 1.0)
    assert again["t"]["bytes_in_per_s"] == 100 and again["t"]["messages_in_total"] == 1


def test_topics_are_counted_while_hosted_and_failed_logins_start_at_zero() -> None:
    stats = BrokerStats(_names())
    stats.track_topics({"a", "b"})
    stats.record_append("a", 100, 1)
    stats.track_topics({"b"})
    stats.record_append("a", 100, 1)  # no longer hosted: the broker total still counts it
    assert set(stats.topics) == {"b"} and stats.bytes_in == 200

    def failed_logins() -> float:
        facts = _facts(failed_authentication_total=stats.failed_authentication)
        text = render(facts, {}, stats, [], FlushTimes().snapshot())
        return value(
            {
                (s.name, frozenset(s.labels.items())): s.value
                for f in text_string_to_metric_families(text)
                for s in f.samples
            },
            "failed_authentication_total",
        )

    assert failed_logins() == 0
    stats.record_failed_authentication()
    assert failed_logins() == 1
