"""What recording metrics costs the broker: produce throughput with recording on and off, side by side.

"Off" is `metrics.recording.enabled=false`: no request times, no per-topic traffic counters (the wire
byte counters and the facts computed at scrape time stay; they cost nothing per request). Two brokers
run side by side, one each way, and the runs alternate between them so that a machine busy with other
work slows both alike. Two workloads, 100 B records, acks=1, librdkafka via confluent-kafka:

- batched: linger.ms=5 and 1 MB batches, as a throughput-minded producer sends (few, large requests);
- one record per request (batch.num.messages=1): the worst case, as recording is per request.

Besides records/s and MB/s, it prints the broker's CPU time (from /proc/<pid>/task/*/schedstat) per record,
which a loaded machine disturbs less than throughput, each as the median over rounds and as the median
of each round's on/off ratio; and, for scale, the recording steps of one request timed alone.

    .venv/bin/python bench/metrics_cost.py [--rounds 10] [--records 1000000] [--single 30000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from dataplane.broker.dispatch import APIS  # noqa: E402
from dataplane.broker.stats import BrokerStats  # noqa: E402
from tests.support.broker import BrokerProcess  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

SIZE = 100
WORKLOADS = {
    "batched": {"linger.ms": 5, "batch.size": 1_000_000},
    "one record per request": {"linger.ms": 0, "batch.num.messages": 1},
}


def cpu_seconds(pid: int) -> float:
    """CPU time of a process so far, all its threads, to the nanosecond (schedstat: /proc/…/stat
    counts in 10 ms ticks, coarse against a batched run's tenth of a second)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a worker thread that just ended
    return total / 1e9


def produce(bootstrap: str, topic: str, records: int, settings: dict) -> float:
    """Seconds to deliver `records` of SIZE bytes to one partition; the clock starts once a first
    record is delivered (connection and metadata are one-off costs)."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "1",
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": 2_000_000,
            "enable.idempotence": False,
            **settings,
        }
    )
    producer.produce(topic, b"warm-up")
    if producer.flush(30):
        raise RuntimeError(f"the warm-up record to {topic} was not delivered")
    value = os.urandom(SIZE)
    start = time.perf_counter()
    for index in range(records):
        while True:
            try:
                producer.produce(topic, value)
                break
            except BufferError:
                producer.poll(0.001)
        if index % 10_000 == 0:
            producer.poll(0)
    if producer.flush(300):
        raise RuntimeError(f"records to {topic} were not all delivered")
    return time.perf_counter() - start


def produce_requests(port: int) -> int:
    """Produce requests the broker has timed (only a broker that records them knows)."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith("dataplane_request_total_time_seconds_count") and (
                'request="Produce"' in line
            ):
                return int(float(line.rsplit(" ", 1)[1]))
    return 0


def recording_ns_per_request() -> float:
    """The recording steps of one produce request, timed alone: the clock read with the frame,
    choosing its stats, the in-flight tuple, queue time at the handler's start, total time at the
    write."""
    from time import perf_counter

    stats = BrokerStats({key: api.name for key, api in APIS.items()})
    request = {"replica_id": -1}

    def one() -> None:
        read_at = perf_counter()
        chosen = stats.for_request(0, request)
        entry = (None, chosen, read_at)
        chosen.record_queue_time(perf_counter() - entry[2])
        chosen.record_total_time(perf_counter() - entry[2])
        stats.record_append("t", 100, 1)

    runs = 200_000
    return min(timeit.repeat(one, number=runs, repeat=5)) / runs * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--records", type=int, default=1_000_000, help="per batched run")
    parser.add_argument("--single", type=int, default=30_000, help="per one-record-per-request run")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    pinned = (os.cpu_count() or 1) >= 2
    if pinned:
        # The client on one core, the brokers (one busy at a time) on the other: less scheduler
        # noise between the runs compared. librdkafka's threads inherit this.
        os.sched_setaffinity(0, {0})
    runs: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        brokers = {}
        for mode in ("on", "off"):
            port = free_port()
            broker = BrokerProcess(
                Path(tmp) / mode,
                {
                    "log.format": "text",
                    "metrics.listener": f"127.0.0.1:{port}",
                    "metrics.recording.enabled": str(mode == "on").lower(),
                },
            ).start()
            assert broker.process is not None
            if pinned:
                os.sched_setaffinity(broker.process.pid, {1})
            brokers[mode] = (broker, port)
        try:
            for round_ in range(args.rounds):
                for workload, settings in WORKLOADS.items():
                    count = args.records if workload == "batched" else args.single
                    # Alternate which goes first, so neither always runs on a warmer machine.
                    for mode in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                        broker, port = brokers[mode]
                        topic = f"bench-{round_}-{workload.split()[0]}"
                        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
                        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result()
                        assert broker.process is not None
                        cpu_before = cpu_seconds(broker.process.pid)
                        timed_before = produce_requests(port)
                        elapsed = produce(broker.bootstrap, topic, count, settings)
                        cpu = cpu_seconds(broker.process.pid) - cpu_before
                        timed = produce_requests(port) - timed_before
                        runs.setdefault((workload, mode), []).append((count / elapsed, cpu, timed))
                        print(
                            f"  round {round_ + 1:>2} {workload:<23} recording {mode:<3}: "
                            f"{count / elapsed:>10,.0f} records/s, broker CPU {cpu:.2f} s",
                            flush=True,
                        )
        finally:
            for broker, _port in brokers.values():
                broker.stop()
    summarize(args, runs)


def summarize(
    args: argparse.Namespace, runs: dict[tuple[str, str], list[tuple[float, float, int]]]
) -> None:
    print(
        f"\nmedians of {args.rounds} rounds, {SIZE} B records, acks=1, one partition "
        "(CPU: the broker's, per record; on/off: median of each round's ratio):"
    )
    header = (
        f"{'':<24}{'recording on':>36}{'recording off':>36}{'on/off rate':>13}{'on/off CPU':>12}"
    )
    print(header)
    for workload in WORKLOADS:
        count = args.records if workload == "batched" else args.single
        on, off = runs[(workload, "on")], runs[(workload, "off")]
        cells = ""
        for mode_runs in (on, off):
            rate = statistics.median(r[0] for r in mode_runs)
            cpu_us = statistics.median(r[1] for r in mode_runs) / count * 1e6
            cells += f"{rate:>12,.0f} rec/s {rate * SIZE / 1e6:>6.1f} MB/s {cpu_us:>6.2f} us"
        rate_ratio = statistics.median(a[0] / b[0] for a, b in zip(on, off, strict=True))
        cpu_ratio = statistics.median(a[1] / b[1] for a, b in zip(on, off, strict=True) if b[1])
        print(f"{workload:<24}{cells}{rate_ratio:>13.1%}{cpu_ratio:>12.1%}")
    for workload in WORKLOADS:
        count = args.records if workload == "batched" else args.single
        requests = statistics.median(r[2] for r in runs[(workload, "on")])
        print(f"{workload}: {count / requests:,.1f} records per produce request (median)")
    print(f"the recording steps of one produce request alone: {recording_ns_per_request():.0f} ns")


if __name__ == "__main__":
    main()
