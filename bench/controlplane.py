"""Control-plane figures: time from the create call to RUNNING for a 3-broker local cluster (with the
time of each step), and API latency for the cluster list under 50 concurrent clients, next to the
sign-in page (a template render with no database work) as the reference.

Starts its own PostgreSQL database, uvicorn and Celery worker (tests/support/platform.py).

    .venv/bin/python bench/controlplane.py [--clients 50] [--requests 4000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform as host
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.platform import Platform  # noqa: E402


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def create_cluster(platform: Platform, token: str, brokers: int) -> tuple[float, dict]:
    api = platform.api(token)
    started = time.monotonic()
    created = api.post(
        "/clusters/",
        json={
            "name": "bench",
            "region": "local",
            "node_size": "dev-small",
            "broker_count": brokers,
            "default_replication_factor": min(3, brokers),
        },
    )
    created.raise_for_status()
    operation = platform.wait_operation(api, created.json()["operation"]["id"], timeout=600)
    elapsed = time.monotonic() - started
    if operation["state"] != "succeeded":
        raise SystemExit(f"create failed: {operation['error']}")
    return elapsed, operation | {"cluster_id": created.json()["cluster"]["id"]}


async def latency(url: str, headers: dict[str, str], clients: int, requests: int) -> dict:
    samples: list[float] = []
    errors: list[str] = []
    remaining = requests

    async def client(session: httpx.AsyncClient) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            try:
                response = await session.get(url, headers=headers)
            except httpx.TransportError as exc:
                errors.append(repr(exc))
                continue
            samples.append(time.perf_counter() - began)
            if response.status_code != 200:
                errors.append(f"HTTP {response.status_code}")

    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60) as session:
        began = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.perf_counter() - began
    samples.sort()
    return {
        "rps": len(samples) / elapsed,
        "p50": statistics.median(samples) * 1000,
        "p99": samples[int(len(samples) * 0.99) - 1] * 1000,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    print(f"machine: {host.machine()}, {os.cpu_count()} cores, Python {host.python_version()}")
    print(f"web: uvicorn, {args.web_workers} worker processes; database: PostgreSQL (pooled)")
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Path(tmp), web_workers=args.web_workers).start()
        try:
            token = platform.tenant("bench", "bench")
            elapsed, operation = create_cluster(platform, token, args.brokers)
            print(f"create {args.brokers}-broker cluster → running: {elapsed:.1f} s")
            for step in operation["steps"]:
                took = seconds_between(step["started_at"], step["finished_at"])
                print(f"  {step['title']:<36} {took:6.1f} s")

            headers = {"Authorization": f"Bearer {token}"}
            api = f"{platform.url}/api/v1/clusters/"
            reference = f"{platform.url}/login/"
            for label, url, hdrs in (
                ("reference: sign-in page", reference, {}),
                ("GET /api/v1/clusters/", api, headers),
            ):
                figures = asyncio.run(latency(url, hdrs, args.clients, args.requests))
                print(
                    f"{label:<26} {args.clients} clients: {figures['rps']:7.0f} req/s  "
                    f"p50 {figures['p50']:6.1f} ms  p99 {figures['p99']:6.1f} ms  "
                    f"errors {len(figures['errors'])}"
                )
                if figures["errors"]:
                    print(f"  first errors: {figures['errors'][:3]}")
                    print(platform.describe_failure())
            deleted = platform.api(token).delete(
                f"/clusters/{operation['cluster_id']}/", params={"confirm_name": "bench"}
            )
            platform.wait_operation(platform.api(token), deleted.json()["id"])
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
