"""A rolling resize of a 3-broker local cluster under load: how long it takes, and the produce
latency a client sees during it next to the same client's latency just before (the reference).

The producer is idempotent with acks=all and sends at a steady rate, so its latency is the service
time of the cluster, not a queue it built up itself. Starts its own control plane
(tests/support/platform.py).

    .venv/bin/python bench/rolling_resize.py [--rate 2000]
"""

from __future__ import annotations

import argparse
import os
import platform as host
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from confluent_kafka import Producer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.platform import Platform  # noqa: E402


class LatencyProducer(threading.Thread):
    """Sends at `rate` records/s and keeps (send time, latency) of every acknowledged record."""

    def __init__(self, bootstrap: str, topic: str, rate: int) -> None:
        super().__init__(daemon=True)
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
            }
        )
        self.topic = topic
        self.rate = rate
        self.samples: list[tuple[float, float]] = []
        self.failures = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self.stopped.is_set():
            sent = time.monotonic()

            def delivered(err, _msg, sent=sent) -> None:
                if err is None:
                    self.samples.append((sent, time.monotonic() - sent))
                else:
                    self.failures += 1

            self.producer.produce(self.topic, b"x" * 100, on_delivery=delivered)
            self.producer.poll(0)
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                self.producer.poll(delay)
        self.producer.flush(60)

    def window(self, start: float, end: float) -> list[float]:
        return sorted(latency for sent, latency in self.samples if start <= sent < end)


def describe(label: str, latencies: list[float]) -> str:
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    return (
        f"{label:<28} {len(latencies):>7,} records  p50 {statistics.median(latencies) * 1000:6.1f} ms"
        f"  p99 {p99 * 1000:7.1f} ms  max {latencies[-1] * 1000:7.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2000, help="records per second")
    parser.add_argument("--reference-s", type=float, default=20)
    args = parser.parse_args()
    print(f"machine: {host.machine()}, {os.cpu_count()} cores, Python {host.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Path(tmp)).start()
        try:
            token = platform.tenant("bench", "bench")
            api = platform.api(token)
            created = api.post(
                "/clusters/",
                json={
                    "name": "bench",
                    "region": "local",
                    "node_size": "dev-small",
                    "broker_count": 3,
                    # The bench's producer and consumer are plain Kafka clients.
                    "security_protocol": "PLAINTEXT",
                },
            ).json()
            operation = platform.wait_operation(api, created["operation"]["id"], timeout=600)
            assert operation["state"] == "succeeded", operation["error"]
            cluster_id = created["cluster"]["id"]
            api.post(
                f"/clusters/{cluster_id}/topics/",
                json={"name": "load", "partitions": 6, "configs": {"min.insync.replicas": "2"}},
            ).raise_for_status()
            bootstrap = api.get(f"/clusters/{cluster_id}/").json()["bootstrap_servers"]

            producer = LatencyProducer(bootstrap, "load", args.rate)
            producer.start()
            time.sleep(5)  # connections, metadata, producer id
            reference_start = time.monotonic()
            time.sleep(args.reference_s)
            resize_start = time.monotonic()
            resize = api.post(f"/clusters/{cluster_id}/resize/", json={"node_size": "dev-medium"})
            resize.raise_for_status()
            operation = platform.wait_operation(api, resize.json()["id"], timeout=900)
            resize_end = time.monotonic()
            producer.stopped.set()
            producer.join()
            assert operation["state"] == "succeeded", operation["error"]

            print(
                f"rolling resize of 3 brokers (dev-small → dev-medium): {resize_end - resize_start:.1f} s"
            )
            for step in operation["steps"]:
                print(f"  {step['title']}")
            print(
                f"producer: idempotent, acks=all, {args.rate} records/s of 100 B, 6 partitions, RF=3"
            )
            print(
                describe(
                    "reference: before the resize", producer.window(reference_start, resize_start)
                )
            )
            print(describe("during the resize", producer.window(resize_start, resize_end)))
            print(f"failed deliveries: {producer.failures}")
            api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "bench"})
        finally:
            platform.stop()


if __name__ == "__main__":
    main()
