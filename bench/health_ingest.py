"""How many broker health reports the control plane ingests per second (each report becomes the
node's latest health plus a point per figure: broker figures and per-topic figures), next to the
sign-in page (a template render with no database work) as the reference.

Starts its own PostgreSQL database, uvicorn and Celery worker (tests/support/platform.py) and
simulates brokers: a cluster's rows are made directly, with node credentials, and concurrent clients
post reports the shape real brokers send (figures, extra metrics and per-topic figures).

    .venv/bin/python bench/health_ingest.py [--brokers 50] [--topics 20] [--reports 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.platform import Platform  # noqa: E402

MAKE_BROKERS = """
import json, secrets
from clusters.models import *
from provisioning.workflows import node_report_digest
org = Organisation.objects.get(name="bench")
local = Provider.objects.get(slug="local")
cluster = Cluster.objects.create(
    organisation=org, name="ingest", provider=local,
    region=Region.objects.get(provider=local, slug="local"),
    node_size=NodeSize.objects.get(provider=local, slug="dev-small"),
    dataplane_version=DataplaneVersion.objects.get(is_default=True),
    broker_count={brokers}, zookeeper_count=1, default_replication_factor=3, storage_gib=10,
    status="running", created_by="bench")
out = []
for i in range({brokers}):
    token = "spn_" + secrets.token_hex(32)
    node = Node.objects.create(cluster=cluster, role="broker", index=i, host="127.0.0.1",
        port=9092, status="running", report_token_digest=node_report_digest(token))
    out.append([str(node.pk), token])
print(json.dumps(out))
"""


def report(topics: int) -> dict:
    return {
        "state": "running",
        "uptime_s": 100.0,
        "partitions_led": 30,
        "under_replicated": 0,
        "bytes_in_per_s": random.uniform(1e5, 1e6),
        "bytes_out_per_s": random.uniform(1e5, 1e6),
        "disk_used_bytes": 10**9,
        "log_dirs_used_bytes": 10**9,
        "log_dirs_quota_bytes": 10 * 2**30,
        "version": "0.1.0",
        "metrics": {
            name: random.uniform(0, 100)
            for name in (
                "messages_in_per_s",
                "produce_latency_p50_ms",
                "produce_latency_p99_ms",
                "fetch_latency_p99_ms",
                "request_queue_time_p99_ms",
                "connections",
                "under_min_isr",
                "offline_partitions",
            )
        },
        "topics": {
            f"topic-{t}": {
                "bytes_in_per_s": random.uniform(0, 1e5),
                "bytes_out_per_s": random.uniform(0, 1e5),
                "messages_in_per_s": random.uniform(0, 1e3),
                "bytes_in_total": 10**8,
                "messages_in_total": 10**6,
            }
            for t in range(topics)
        },
    }


async def post_reports(url: str, nodes: list, topics: int, clients: int, total: int) -> dict:
    samples: list[float] = []
    errors: list[str] = []
    remaining = total

    async def client(session: httpx.AsyncClient, index: int) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            node_id, token = nodes[(index + remaining) % len(nodes)]
            began = time.perf_counter()
            try:
                response = await session.post(
                    f"{url}/api/v1/nodes/{node_id}/health",
                    json=report(topics),
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.TransportError as exc:
                errors.append(repr(exc))
                continue
            samples.append(time.perf_counter() - began)
            if response.status_code != 202:
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=clients), timeout=60) as s:
        began = time.perf_counter()
        await asyncio.gather(*(client(s, i) for i in range(clients)))
        elapsed = time.perf_counter() - began
    samples.sort()
    return {
        "rate": len(samples) / elapsed,
        "p50": statistics.median(samples) * 1000,
        "p99": samples[int(len(samples) * 0.99) - 1] * 1000,
        "errors": errors,
    }


async def reference(url: str, clients: int, total: int) -> float:
    remaining = total

    async def client(session: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await session.get(f"{url}/login/")

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=clients), timeout=60) as s:
        began = time.perf_counter()
        await asyncio.gather(*(client(s) for _ in range(clients)))
        return total / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=int, default=50, help="simulated brokers")
    parser.add_argument("--topics", type=int, default=20, help="topics in each report")
    parser.add_argument("--clients", type=int, default=25, help="concurrent posters")
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    points_per_report = 8 + 8 + 5 * args.topics  # figures, metrics, per-topic figures
    print(f"machine: {host.machine()}, {os.cpu_count()} cores, Python {host.python_version()}")
    print(
        f"web: uvicorn, {args.web_workers} worker processes; database: PostgreSQL (pooled); "
        f"{args.brokers} simulated brokers, {args.topics} topics, "
        f"{points_per_report} points per report"
    )
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Path(tmp), web_workers=args.web_workers).start()
        try:
            platform.tenant("bench", "bench")
            made = platform.manage("shell", "-c", MAKE_BROKERS.format(brokers=args.brokers))
            nodes = json.loads(made.strip().splitlines()[-1])
            warm = asyncio.run(post_reports(platform.url, nodes, args.topics, args.clients, 200))
            if warm["errors"]:
                raise SystemExit(f"reports refused: {warm['errors'][:3]}")
            figures = asyncio.run(
                post_reports(platform.url, nodes, args.topics, args.clients, args.reports)
            )
            sign_in = asyncio.run(reference(platform.url, args.clients, args.reports))
            print(f"reference: sign-in page      {sign_in:7.0f} req/s")
            print(
                f"health reports ingested      {figures['rate']:7.0f} reports/s "
                f"({figures['rate'] * points_per_report:,.0f} points/s)  "
                f"p50 {figures['p50']:6.1f} ms  p99 {figures['p99']:6.1f} ms  "
                f"errors {len(figures['errors'])}"
            )
            per_broker_interval = args.brokers / figures["rate"]
            print(
                f"→ at a 5 s report interval this control plane keeps up with about "
                f"{int(figures['rate'] * 5)} brokers (the {args.brokers} here need "
                f"{per_broker_interval:.2f} s of ingest per round)"
            )
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
