"""Replicated produce throughput and latency on 3 local brokers: RF=3 with acks=all next to RF=1
with acks=1, in one run (librdkafka via confluent-kafka, 100 B records, batching on).

Both lines use the same producer settings apart from acks. librdkafka refuses idempotence without
acks=all, so both run without it; a third line shows RF=3 acks=all with the idempotent producer,
whose limit of 5 requests in flight per broker makes it the most sensitive to replication latency.

Starts its own ZooKeeper (Debian's zookeeperd jars) and brokers under a temporary directory.

    .venv/bin/python bench/replication.py [--records N]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from produce_consume import produce  # noqa: E402

from tests.support.cluster import Cluster  # noqa: E402
from tests.support.zookeeper import ZooKeeperServer  # noqa: E402

PARTITIONS = 6


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
            runs = (
                ("RF=1 acks=1", 1, "1", False),
                ("RF=3 acks=all", 3, "all", False),
                ("RF=3 acks=all idempotent", 3, "all", True),
            )
            for label, factor, acks, idempotent in runs:
                topic = f"bench-rf{factor}-{'idempotent' if idempotent else 'plain'}"
                cluster.create_topic(
                    topic, PARTITIONS, factor, {"min.insync.replicas": "2" if factor == 3 else "1"}
                )
                results[label] = r = produce(
                    cluster.bootstrap, topic, args.records, args.size, acks, idempotent
                )
                print(
                    f"{label:<25} {args.size} B x {args.records:,}: {r['records_s']:>10,.0f} "
                    f"records/s {r['mb_s']:>6,.1f} MB/s  "
                    f"latency p50 {r['p50_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms"
                )
            baseline = results["RF=1 acks=1"]["records_s"]
            for label in ("RF=3 acks=all", "RF=3 acks=all idempotent"):
                ratio = results[label]["records_s"] / baseline
                print(f"{label} reaches {ratio:.0%} of RF=1 acks=1 throughput")
        finally:
            cluster.close()
            zookeeper.stop()


if __name__ == "__main__":
    main()
