"""Produce and consume throughput against one local broker, next to this machine's physical limits.

Prints, for 100 B and 1 KiB records: produce records/s, MB/s and produce latency p50/p99 (librdkafka via
confluent-kafka, batching on, acks=1), then consume records/s and MB/s; and, measured in the same run,
loopback TCP throughput and sequential disk write throughput as the reference.

    .venv/bin/python bench/produce_consume.py [--records N] [--partitions P]
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402

from tests.support.broker import BrokerProcess  # noqa: E402

LATENCY_SAMPLE_EVERY = 50


def loopback_tcp_mb_s(total: int = 2 << 30, chunk: int = 1 << 20) -> float:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def sink() -> None:
        conn, _ = server.accept()
        buf = bytearray(chunk)
        while conn.recv_into(buf):
            pass
        conn.close()

    thread = threading.Thread(target=sink)
    thread.start()
    client = socket.create_connection(("127.0.0.1", port))
    data = b"x" * chunk
    start = time.perf_counter()
    for _ in range(total // chunk):
        client.sendall(data)
    client.close()
    thread.join()
    server.close()
    return total / (time.perf_counter() - start) / 1e6


def disk_write_mb_s(directory: Path, total: int = 1 << 30, chunk: int = 1 << 20) -> float:
    path = directory / "disk-reference.bin"
    data = os.urandom(chunk)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    start = time.perf_counter()
    for _ in range(total // chunk):
        os.write(fd, data)
    os.fsync(fd)
    elapsed = time.perf_counter() - start
    os.close(fd)
    path.unlink()
    return total / elapsed / 1e6


def produce(
    bootstrap: str,
    topic: str,
    records: int,
    size: int,
    acks: str = "1",
    idempotent: bool = False,
) -> dict[str, float]:
    """Produce `records` of `size` bytes as fast as the client allows. Only `acks` and `idempotent`
    vary between callers, so figures taken with different acks compare like with like.

    The clock starts once one record per partition has been delivered: connecting to every leader,
    fetching metadata and (idempotent) acquiring a producer id are one-off client start-up costs.
    librdkafka's idempotent producer alone retries its producer id request on a 500 ms timer when
    no connection is up yet, which would dominate a run of a second or two."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": acks,
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": 2_000_000,
            "enable.idempotence": idempotent,
        }
    )
    for partition in producer.list_topics(topic, timeout=30).topics[topic].partitions:
        producer.produce(topic, b"warm-up", partition=partition)
    if producer.flush(30):
        raise RuntimeError(f"warm-up records to {topic} were not delivered")
    value = os.urandom(size)
    latencies: list[float] = []

    def sampled(sent_at: float):
        def on_delivery(err, _msg) -> None:
            if err is None:
                latencies.append(time.perf_counter() - sent_at)

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
    producer.flush(120)
    elapsed = time.perf_counter() - start
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "records_s": records / elapsed,
        "mb_s": records * size / elapsed / 1e6,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


def consume(
    bootstrap: str, topic: str, partitions: int, records: int, size: int
) -> dict[str, float]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52_428_800,
            "max.partition.fetch.bytes": 10_485_760,
            "queued.min.messages": 1_000_000,
        }
    )
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    received = 0
    start = time.perf_counter()
    while received < records:
        batch = consumer.consume(num_messages=min(10_000, records - received), timeout=5)
        if not batch:
            break
        received += len(batch)
    elapsed = time.perf_counter() - start
    consumer.close()
    return {"records_s": received / elapsed, "mb_s": received * size / elapsed / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        print(f"reference: loopback TCP {loopback_tcp_mb_s():,.0f} MB/s")
        print(f"reference: sequential disk write {disk_write_mb_s(data_dir):,.0f} MB/s")
        broker = BrokerProcess(data_dir, {"log.format": "text"}).start()
        bootstrap = broker.bootstrap
        try:
            admin = AdminClient({"bootstrap.servers": bootstrap})
            for size in (100, 1024):
                topic = f"bench-{size}"
                for future in admin.create_topics([NewTopic(topic, args.partitions, 1)]).values():
                    future.result()
                count = args.records if size == 100 else args.records // 4
                p = produce(bootstrap, topic, count, size)
                print(
                    f"produce {size:>5} B x {count:,}: {p['records_s']:>10,.0f} records/s "
                    f"{p['mb_s']:>7,.1f} MB/s  latency p50 {p['p50_ms']:.1f} ms p99 {p['p99_ms']:.1f} ms"
                )
                c = consume(bootstrap, topic, args.partitions, count, size)
                print(
                    f"consume {size:>5} B x {count:,}: {c['records_s']:>10,.0f} records/s "
                    f"{c['mb_s']:>7,.1f} MB/s"
                )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
