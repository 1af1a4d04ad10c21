"""Replicated produce throughput and latency on 3 local brokers: RF=3 with acks=all next to RF=1
with acks=1, in one run (librdkafka via confluent-kafka, 100 B records, batching on).

Starts its own ZooKeeper (Debian's zookeeperd jars) and brokers under a temporary directory.

    .venv/bin/python bench/replication.py [--records N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confluent_kafka import Producer  # noqa: E402

from tests.support.cluster import Cluster  # noqa: E402
from tests.support.zookeeper import ZooKeeperServer  # noqa: E402

LATENCY_SAMPLE_EVERY = 50
PARTITIONS = 6


def produce(bootstrap: str, topic: str, records: int, size: int, acks: str) -> dict[str, float]:
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": acks,
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": 2_000_000,
            "enable.idempotence": acks == "all",
        }
    )
    value = os.urandom(size)
    latencies: list[float] = []
    failures = [0]

    def sampled(sent_at: float):
        def on_delivery(err, _msg) -> None:
            if err is None:
                latencies.append(time.perf_counter() - sent_at)
            else:
                failures[0] += 1

        return on_delivery

    start = time.perf_counter()
    for index in range(records):
        while True:
            try:
                if index % LATENCY_SAMPLE_EVERY == 0:
                    producer.produce(topic, value, callback=sampled(time.perf_counter()))
                else:
                    producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.001)
        if index % 10_000 == 0:
            producer.poll(0)
    producer.flush(300)
    elapsed = time.perf_counter() - start
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "records_s": records / elapsed,
        "mb_s": records * size / elapsed / 1e6,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
        "failed_samples": failures[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500_000)
    parser.add_argument("--size", type=int, default=100)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        zookeeper = ZooKeeperServer(base / "zookeeper").start()
        cluster = Cluster(
            base / "cluster", zookeeper, "/bench", {"log.format": "text"}, use_proxies=False
        )
        try:
            cluster.start(3)
            results = {}
            for label, factor, acks in (("RF=1 acks=1", 1, "1"), ("RF=3 acks=all", 3, "all")):
                topic = f"bench-rf{factor}"
                cluster.create_topic(
                    topic, PARTITIONS, factor, {"min.insync.replicas": "2" if factor == 3 else "1"}
                )
                results[label] = r = produce(
                    cluster.bootstrap, topic, args.records, args.size, acks
                )
                print(
                    f"{label:<14} {args.size} B x {args.records:,}: {r['records_s']:>10,.0f} records/s "
                    f"{r['mb_s']:>6,.1f} MB/s  latency p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms"
                )
            ratio = results["RF=3 acks=all"]["records_s"] / results["RF=1 acks=1"]["records_s"]
            print(f"RF=3 acks=all reaches {ratio:.0%} of RF=1 acks=1 throughput")
        finally:
            cluster.close()
            zookeeper.stop()


if __name__ == "__main__":
    main()
