"""Pushes this broker's health to the control plane every few seconds (`health.report.url`).

The report is small JSON over HTTP, posted from a worker thread so a slow or absent control plane
never stalls the event loop; a failed post is logged and the next one goes out on schedule.

Besides the fixed fields (whose bytes_in/out_per_s count every byte on the wire), `metrics` holds
more broker figures by name — rates and latency quantiles over the last interval, gauges — and
`topics` each hosted topic's traffic (stats.py says what is counted). Partitions are left out, so
the report stays small however many there are.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataplane import __version__
from dataplane.broker.stats import BrokerStats
from dataplane.histogram import LATENCY_BUCKETS, HistogramSnapshot, combined
from dataplane.protocol import messages as m
from dataplane.storage.log import FlushTimes

log = logging.getLogger(__name__)


def disk_used_bytes(log_dirs: Iterable[Path]) -> int:
    total = 0
    for log_dir in log_dirs:
        for root, _dirs, files in os.walk(log_dir):
            for name in files:
                with contextlib.suppress(OSError):  # deleted by retention meanwhile
                    total += os.stat(os.path.join(root, name)).st_size
    return total


# The control plane refuses a report with more topics than this; the busiest are kept.
MAX_TOPICS = 2000
_PRODUCE_KEY = m.PRODUCE_REQUEST.api_key
# Broker-wide counters reported as rates: report name → broker_facts key.
_RATES = {
    "messages_in_per_s": "all_topics_messages_in_total",
    "all_topics_bytes_in_per_s": "all_topics_bytes_in_total",
    "all_topics_bytes_out_per_s": "all_topics_bytes_out_total",
    "replication_bytes_in_per_s": "replication_bytes_in_total",
    "replication_bytes_out_per_s": "replication_bytes_out_total",
    "isr_shrinks_per_s": "isr_shrinks_total",
    "isr_expands_per_s": "isr_expands_total",
    "failed_authentication_per_s": "failed_authentication_total",
}
# Request rates, from the count of a histogram below.
_REQUEST_RATES = {
    "produce_requests_per_s": "produce_latency",
    "fetch_requests_per_s": "fetch_latency",
}
_GAUGES = ("connections", "under_min_isr", "offline_partitions", "controller")
# Histograms whose quantiles over the report interval are reported: name → quantiles.
_QUANTILES = {
    "produce_latency": (0.5, 0.99),
    "fetch_latency": (0.5, 0.99),
    "request_queue_time": (0.5, 0.99),
    "log_flush_time": (0.99,),
}


@dataclass(frozen=True, slots=True)
class Sample:
    """The broker's counters at one moment; the next report measures its rates against them."""

    at: float
    facts: dict[str, Any]
    topics: dict[str, tuple[int, int, int]]  # bytes in, bytes out, messages in
    histograms: dict[str, HistogramSnapshot]


class HealthReporter:
    def __init__(
        self,
        url: str,
        token: str,
        interval_s: float,
        facts: Callable[[], dict[str, Any]],
        stats: BrokerStats,
        flush_times: FlushTimes,
        log_dirs: list[Path],
    ) -> None:
        self.url = url
        self.token = token
        self.interval_s = interval_s
        self.facts = facts
        self.stats = stats
        self.flush_times = flush_times
        self.log_dirs = log_dirs
        self.started = time.monotonic()
        self.state = "starting"

    def sample(self) -> Sample:
        stats = self.stats
        return Sample(
            time.monotonic(),
            self.facts(),
            {t: (s.bytes_in, s.bytes_out, s.messages_in) for t, s in stats.topics.items()},
            {
                "produce_latency": stats.requests[_PRODUCE_KEY].total_time.snapshot(),
                # What consumers wait, long polls included (Kafka's FetchConsumer TotalTimeMs).
                "fetch_latency": stats.fetch_consumer.total_time.snapshot(),
                "request_queue_time": combined(
                    (r.queue_time.snapshot() for r in stats.requests.values()), LATENCY_BUCKETS
                ),
                "log_flush_time": self.flush_times.snapshot(),
            },
        )

    def report(self, previous: Sample, disk_used: int) -> tuple[dict[str, Any], Sample]:
        """The next report, and the sample to measure the one after it against."""
        now = self.sample()
        elapsed = max(now.at - previous.at, 1e-3)
        facts = now.facts

        def per_s(key: str) -> float:
            return round(max(facts[key] - previous.facts[key], 0) / elapsed, 1)

        metrics: dict[str, float] = {name: per_s(key) for name, key in _RATES.items()}
        metrics.update({name: facts[name] for name in _GAUGES})
        interval = {
            name: histogram.since(previous.histograms[name])
            for name, histogram in now.histograms.items()
        }
        for name, histogram in _REQUEST_RATES.items():
            metrics[name] = round(interval[histogram].count / elapsed, 1)
        for name, quantiles in _QUANTILES.items():
            for q in quantiles:
                value = interval[name].quantile(q)
                if value is not None:  # nothing observed: no figure rather than a false zero
                    metrics[f"{name}_p{round(q * 100)}_ms"] = round(value * 1000, 3)
        body = {
            "state": self.state,
            "uptime_s": round(now.at - self.started, 1),
            "partitions_led": facts["leader_partitions"],
            "under_replicated": facts["under_replicated"],
            "bytes_in_per_s": per_s("bytes_in_total"),
            "bytes_out_per_s": per_s("bytes_out_total"),
            "disk_used_bytes": disk_used,
            "log_dirs_used_bytes": facts["log_dirs_used_bytes"],
            "log_dirs_quota_bytes": facts["log_dirs_quota_bytes"],
            "version": __version__,
            "metrics": metrics,
            "topics": topic_figures(previous.topics, now.topics, elapsed),
        }
        return body, now

    def post(self, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=max(self.interval_s, 2.0)) as response:
            response.read()

    async def run(self) -> None:
        sample = self.sample()
        while True:
            await asyncio.sleep(self.interval_s)
            disk_used = await asyncio.to_thread(disk_used_bytes, self.log_dirs)
            body, sample = self.report(sample, disk_used)
            try:
                await asyncio.to_thread(self.post, body)
            except (OSError, urllib.error.URLError) as exc:
                log.warning("health report to %s failed: %s", self.url, exc)


def topic_figures(
    previous: dict[str, tuple[int, int, int]],
    now: dict[str, tuple[int, int, int]],
    elapsed: float,
) -> dict[str, dict[str, float]]:
    """Each topic's traffic between two samples, at most MAX_TOPICS of them (the busiest)."""
    figures = {}
    moved = {}
    for topic, (bytes_in, bytes_out, messages_in) in now.items():
        before_in, before_out, before_messages = previous.get(topic, (0, 0, 0))
        if bytes_in < before_in or bytes_out < before_out or messages_in < before_messages:
            before_in = before_out = before_messages = 0  # deleted and created again meanwhile
        figures[topic] = {
            "bytes_in_per_s": round((bytes_in - before_in) / elapsed, 1),
            "bytes_out_per_s": round((bytes_out - before_out) / elapsed, 1),
            "messages_in_per_s": round((messages_in - before_messages) / elapsed, 1),
            "bytes_in_total": bytes_in,
            "messages_in_total": messages_in,
        }
        moved[topic] = bytes_in - before_in + bytes_out - before_out
    if len(figures) > MAX_TOPICS:
        busiest = sorted(figures, key=lambda topic: (-moved[topic], topic))[:MAX_TOPICS]
        figures = {topic: figures[topic] for topic in busiest}
    return figures
