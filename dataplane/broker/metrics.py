"""Prometheus text exposition of the broker's health facts at `http://<metrics.listener>/metrics`.

A deliberately tiny HTTP/1.0 responder on asyncio: one GET per connection, no framework, so the
broker keeps no web stack. Counters end in `_total`; rates (ISR shrinks per second, bytes per second)
are for Prometheus to derive, and so are quantiles: request and flush times are histograms in
seconds (p99 of produce: `histogram_quantile(0.99, rate(
dataplane_request_total_time_seconds_bucket{request="Produce"}[5m]))`). What is counted, and its
Kafka name, is told in stats.py and in each metric's HELP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from dataplane import __version__
from dataplane.broker.stats import BrokerStats
from dataplane.histogram import HistogramSnapshot

if TYPE_CHECKING:
    from dataplane.broker.server import Broker

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_REQUEST_BYTES = 8192

# name → (type, help); the value comes from the facts dict under the same key without the prefix.
METRICS: dict[str, tuple[str, str]] = {
    "leader_partitions": ("gauge", "Partitions this broker leads."),
    "under_replicated": ("gauge", "Partitions this broker leads whose ISR lacks a replica."),
    "under_min_isr": (
        "gauge",
        "Partitions this broker leads with fewer in-sync replicas than min.insync.replicas.",
    ),
    "offline_partitions": (
        "gauge",
        "Partitions in the cluster without a leader, as this broker sees them.",
    ),
    "controller": ("gauge", "Broker id of the active controller (-1 if none)."),
    "isr_shrinks_total": ("counter", "ISR shrinks of partitions this broker led."),
    "isr_expands_total": ("counter", "ISR expansions of partitions this broker led."),
    "bytes_in_total": (
        "counter",
        "Bytes read from client and follower connections: every request, as on the wire "
        "(Kafka's socket-server incoming-byte-total; all_topics_bytes_in_total is BytesInPerSec).",
    ),
    "bytes_out_total": (
        "counter",
        "Bytes written to client and follower connections: every response, as on the wire.",
    ),
    "all_topics_bytes_in_total": (
        "counter",
        "Record batch bytes appended as leader, every topic (Kafka's BytesInPerSec).",
    ),
    "all_topics_bytes_out_total": (
        "counter",
        "Record bytes sent to consumers, every topic; followers' fetches are replication "
        "(Kafka's BytesOutPerSec).",
    ),
    "all_topics_messages_in_total": (
        "counter",
        "Records appended as leader, every topic (Kafka's MessagesInPerSec).",
    ),
    "replication_bytes_in_total": (
        "counter",
        "Record bytes fetched from leaders as a follower (Kafka's ReplicationBytesInPerSec).",
    ),
    "replication_bytes_out_total": (
        "counter",
        "Record bytes sent to followers (Kafka's ReplicationBytesOutPerSec).",
    ),
    "failed_authentication_total": (
        "counter",
        "Connections that failed to authenticate (Kafka's failed-authentication-total).",
    ),
    "connections_refused_total": (
        "counter",
        "Connections closed at accept: their address is outside connections.allowed.cidrs.",
    ),
    "connections": ("gauge", "Open connections."),
    "uptime_seconds": ("gauge", "Seconds since the broker started."),
    "log_dirs_used_bytes": ("gauge", "Bytes of log segments in this broker's log directories."),
    "log_dirs_quota_bytes": (
        "gauge",
        "What the log directories may hold (log.dirs.quota.bytes; -1: no quota).",
    ),
    "build_info": ("gauge", "Always 1; the version label names the running dataplane."),
}
# Info metrics (value 1) carry facts as labels, as Prometheus' *_info convention has it.
INFO_LABELS: dict[str, tuple[str, ...]] = {"build_info": ("version",)}
# Per topic (label `topic`), for every topic with a partition here: name → (help, TopicStats field).
TOPIC_COUNTERS: dict[str, tuple[str, str]] = {
    "topic_bytes_in_total": (
        "Record batch bytes appended as leader (Kafka's BytesInPerSec, topic=...).",
        "bytes_in",
    ),
    "topic_bytes_out_total": (
        "Record bytes sent to consumers (Kafka's BytesOutPerSec, topic=...).",
        "bytes_out",
    ),
    "topic_messages_in_total": (
        "Records appended as leader (Kafka's MessagesInPerSec, topic=...).",
        "messages_in",
    ),
}
LOG_SIZE = "log_size_bytes"
LOG_SIZE_HELP = "Bytes of a partition's log segments on this broker (Kafka's Log Size)."
REQUEST_HISTOGRAMS: dict[str, tuple[str, str]] = {
    "request_total_time_seconds": (
        "From the read that completed a request until its response went to the socket "
        "(Kafka's TotalTimeMs); _count is the number of requests (RequestsPerSec).",
        "total_time",
    ),
    "request_queue_time_seconds": (
        "From the read that completed a request until its handler started "
        "(Kafka's RequestQueueTimeMs).",
        "queue_time",
    ),
}
LOG_FLUSH_TIME = "log_flush_time_seconds"
LOG_FLUSH_TIME_HELP = (
    "Time to fsync a log's segments, by the flush policy or at a segment roll "
    "(Kafka's LogFlushRateAndTimeMs)."
)


def render(
    facts: dict[str, Any],
    labels: dict[str, str],
    stats: BrokerStats,
    log_sizes: Iterable[tuple[str, int, int]],
    flush_time: HistogramSnapshot,
) -> str:
    """The exposition: `facts` for METRICS, `stats` for per-topic counters and request times (only
    request kinds seen so far, to keep the text short), `log_sizes` as (topic, partition, bytes)."""
    # The broker's own labels, then a comma if there are any, ready to go before a family's own.
    base = "".join(f'{k}="{_escape(v)}",' for k, v in sorted(labels.items()))
    lines = []
    for name, (kind, help_text) in METRICS.items():
        metric_labels = {**labels, **{key: facts[key] for key in INFO_LABELS.get(name, ())}}
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(metric_labels.items()))
        _header(lines, name, kind, help_text)
        lines.append(f"dataplane_{name}{{{label_text}}} {facts[name]}")
    topics = sorted(stats.topics.items())
    for name, (help_text, field) in TOPIC_COUNTERS.items():
        _header(lines, name, "counter", help_text)
        for topic, topic_stats in topics:
            value = getattr(topic_stats, field)
            lines.append(f'dataplane_{name}{{{base}topic="{_escape(topic)}"}} {value}')
    _header(lines, LOG_SIZE, "gauge", LOG_SIZE_HELP)
    for topic, partition, size in sorted(log_sizes):
        lines.append(
            f'dataplane_{LOG_SIZE}{{{base}topic="{_escape(topic)}",partition="{partition}"}} {size}'
        )
    served = [r for r in stats.all_request_stats() if any(r.queue_time.counts)]
    for name, (help_text, field) in REQUEST_HISTOGRAMS.items():
        _header(lines, name, "histogram", help_text)
        for request in served:
            snapshot = getattr(request, field).snapshot()
            _histogram(lines, name, f'{base}request="{request.name}",', snapshot)
    _header(lines, LOG_FLUSH_TIME, "histogram", LOG_FLUSH_TIME_HELP)
    _histogram(lines, LOG_FLUSH_TIME, base, flush_time)
    return "\n".join(lines) + "\n"


def _header(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines.append(f"# HELP dataplane_{name} {help_text}")
    lines.append(f"# TYPE dataplane_{name} {kind}")


def _histogram(lines: list[str], name: str, labels: str, snapshot: HistogramSnapshot) -> None:
    """A histogram's lines; `labels` are its series' labels, each followed by a comma."""
    metric = f"dataplane_{name}"
    cumulative = snapshot.cumulative()
    for bound, count in zip(snapshot.bounds, cumulative, strict=False):
        lines.append(f'{metric}_bucket{{{labels}le="{bound:g}"}} {count}')
    lines.append(f'{metric}_bucket{{{labels}le="+Inf"}} {cumulative[-1]}')
    lines.append(f"{metric}_sum{{{labels.rstrip(',')}}} {snapshot.sum!r}")
    lines.append(f"{metric}_count{{{labels.rstrip(',')}}} {cumulative[-1]}")


def _escape(value: object) -> str:
    """A label value as the text format wants it: backslash, quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsServer:
    def __init__(self, host: str, port: int, exposition: Callable[[], str]) -> None:
        self.host = host
        self.port = port
        self.exposition = exposition
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(
            self._serve, self.host, self.port, reuse_address=True
        )
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            method, path = request_line[0], request_line[1] if len(request_line) > 1 else ""
            if method != "GET":
                status, body = "405 Method Not Allowed", "only GET\n"
            elif path.split("?", 1)[0] != "/metrics":
                status, body = "404 Not Found", "see /metrics\n"
            else:
                status, body = "200 OK", self.exposition()
        except (asyncio.LimitOverrunError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            status, body = "400 Bad Request", "malformed request\n"
        payload = body.encode()
        writer.write(
            f"HTTP/1.0 {status}\r\nContent-Type: {CONTENT_TYPE}\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
            + payload
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()


def broker_facts(broker: Broker) -> dict[str, Any]:
    """Everything METRICS names, from a running broker."""
    health = broker.replicas.health()
    stats = broker.stats
    return {
        "leader_partitions": health["leader_partitions"],
        "under_replicated": health["under_replicated"],
        "under_min_isr": health["under_min_isr"],
        "offline_partitions": health["offline_partitions"],
        "controller": health["controller"],
        "isr_shrinks_total": health["isr_shrinks"],
        "isr_expands_total": health["isr_expands"],
        "bytes_in_total": broker.bytes_in,
        "bytes_out_total": broker.bytes_out,
        "all_topics_bytes_in_total": stats.bytes_in,
        "all_topics_bytes_out_total": stats.bytes_out,
        "all_topics_messages_in_total": stats.messages_in,
        "replication_bytes_in_total": stats.replication_bytes_in,
        "replication_bytes_out_total": stats.replication_bytes_out,
        "failed_authentication_total": stats.failed_authentication,
        "connections_refused_total": stats.connections_refused,
        "connections": len(broker.connections),
        "uptime_seconds": round(time.monotonic() - broker.started, 1),
        "log_dirs_used_bytes": health["log_dirs_used_bytes"],
        "log_dirs_quota_bytes": health["log_dirs_quota_bytes"],
        "build_info": 1,
        "version": __version__,
    }


def broker_exposition(broker: Broker) -> str:
    """The Prometheus text of a running broker."""
    assert broker.metadata is not None
    return render(
        broker_facts(broker),
        {"broker_id": str(broker.config.broker_id), "cluster_id": broker.metadata.cluster_id},
        broker.stats,
        ((p.topic, p.index, p.log.size) for p in broker.replicas.partitions.values()),
        broker.replicas.logs.flush_times.snapshot(),
    )
