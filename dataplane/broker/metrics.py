"""Prometheus text exposition of the broker's health facts at `http://<metrics.listener>/metrics`.

A deliberately tiny HTTP/1.0 responder on asyncio: one GET per connection, no framework, so the
broker keeps no web stack. Counters end in `_total`; rates (ISR shrinks per second, bytes per second)
are for Prometheus to derive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from dataplane import __version__

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
    "bytes_in_total": ("counter", "Bytes read from client and follower connections."),
    "bytes_out_total": ("counter", "Bytes written to client and follower connections."),
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


def render(facts: dict[str, Any], labels: dict[str, str]) -> str:
    lines = []
    for name, (kind, help_text) in METRICS.items():
        metric = f"dataplane_{name}"
        metric_labels = {**labels, **{key: facts[key] for key in INFO_LABELS.get(name, ())}}
        label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(metric_labels.items()))
        lines.append(f"# HELP {metric} {help_text}")
        lines.append(f"# TYPE {metric} {kind}")
        lines.append(f"{metric}{{{label_text}}} {facts[name]}")
    return "\n".join(lines) + "\n"


def _escape(value: object) -> str:
    """A label value as the text format wants it: backslash, quote and newline escaped."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsServer:
    def __init__(
        self, host: str, port: int, facts: Callable[[], dict[str, Any]], labels: dict[str, str]
    ):
        self.host = host
        self.port = port
        self.facts = facts
        self.labels = labels
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
                status, body = "200 OK", render(self.facts(), self.labels)
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


def broker_facts(broker: Any, started: float) -> dict[str, Any]:
    """Everything METRICS names, from a running broker."""
    health = broker.replicas.health()
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
        "connections": len(broker.connections),
        "uptime_seconds": round(time.monotonic() - started, 1),
        "log_dirs_used_bytes": health["log_dirs_used_bytes"],
        "log_dirs_quota_bytes": health["log_dirs_quota_bytes"],
        "build_info": 1,
        "version": __version__,
    }
