"""What TLS and SASL cost on the produce path: one broker, three listeners, side by side.

The same broker serves PLAINTEXT, SSL and SASL_SSL (SCRAM-SHA-256) listeners (an ECDSA P-256
certificate from a throwaway CA; TLS 1.3 as negotiated by librdkafka), so the three differ only in
what the listener does. Each round produces to a fresh one-partition topic through each listener in
turn, the order rotating so that none always runs on a warmer machine. librdkafka via confluent-kafka,
acks=1, linger.ms=5 and 1 MB batches, at 100 B and 1 KiB records.

Prints, per listener, the median over rounds of records/s, MB/s, produce latency p50/p99 (from
`produce()` to the delivery callback for every 50th record, the run queued up front, so it includes
time in the client's queue) and the broker's CPU time per record; and each listener's rate relative
to PLAINTEXT (median of each round's ratio). PLAINTEXT is the reference.

    .venv/bin/python bench/security_throughput.py [--rounds 5] [--records 500000]
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
from confluent_kafka.admin import (  # noqa: E402
    AdminClient,
    NewTopic,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from tqdm import tqdm  # noqa: E402

from tests.support.broker import HOST, BrokerProcess  # noqa: E402
from tests.support.certs import CertificateAuthority  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

LISTENERS = ("PLAINTEXT", "SSL", "SASL_SSL")
LATENCY_SAMPLE_EVERY = 50
USER, PASSWORD = "bench", "bench-secret"


def cpu_seconds(pid: int) -> float:
    """CPU time of a process so far, all its threads (schedstat, in nanoseconds)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a worker thread that just ended
    return total / 1e9


def client_settings(listener: str, port: int, ca: Path) -> dict[str, object]:
    settings: dict[str, object] = {"bootstrap.servers": f"{HOST}:{port}"}
    if listener != "PLAINTEXT":
        settings.update({"security.protocol": listener, "ssl.ca.location": str(ca)})
    if listener == "SASL_SSL":
        settings.update(
            {"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": USER, "sasl.password": PASSWORD}
        )
    return settings


def produce(
    settings: dict[str, object], topic: str, records: int, size: int, progress: tqdm
) -> dict[str, float]:
    """Produce `records` of `size` bytes as fast as the client allows; the clock starts once a
    warm-up record is delivered (connecting, the TLS handshake and SASL are one-off costs)."""
    producer = Producer(
        {
            **settings,
            "acks": "1",
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 2_000_000,
            "queue.buffering.max.kbytes": 2_000_000,
            "enable.idempotence": False,
        }
    )
    producer.produce(topic, b"warm-up")
    if producer.flush(30):
        raise RuntimeError(f"the warm-up record to {topic} was not delivered")
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
        if index % 10_000 == 9_999:
            producer.poll(0)
            progress.update(10_000)
    if producer.flush(300):
        raise RuntimeError(f"records to {topic} were not all delivered")
    elapsed = time.perf_counter() - start
    progress.update(records % 10_000)
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "records_s": records / elapsed,
        "mb_s": records * size / elapsed / 1e6,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


def start_broker(directory: Path) -> tuple[BrokerProcess, AdminClient, dict[str, int], Path]:
    ca = CertificateAuthority(directory / "ca")
    certificate = ca.issue("broker", "broker", hosts=(HOST,))
    broker = BrokerProcess(directory, {"log.format": "text"})
    ports = {"PLAINTEXT": broker.port, "SSL": free_port(), "SASL_SSL": free_port()}
    broker.overrides.update(
        {
            "listeners": ",".join(f"{name}://{HOST}:{port}" for name, port in ports.items()),
            "ssl.keystore.location": certificate.keystore,
            "sasl.enabled.mechanisms": "SCRAM-SHA-256",
        }
    )
    broker.start()
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.alter_user_scram_credentials(
        [
            UserScramCredentialUpsertion(
                USER,
                ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096),
                PASSWORD.encode(),
            )
        ]
    )[USER].result(30)
    return broker, admin, ports, ca.truststore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--records", type=int, default=500_000, help="100 B records per run")
    args = parser.parse_args()
    workloads = {100: args.records, 1024: max(args.records // 4, 10_000)}
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    pinned = (os.cpu_count() or 1) >= 2
    if pinned:
        # The client on one core, the broker on the other: what a listener costs the broker is
        # not hidden by the client competing with it for a core.
        os.sched_setaffinity(0, {0})
    runs: dict[tuple[int, str], list[dict[str, float]]] = {}
    total = args.rounds * len(LISTENERS) * sum(workloads.values())
    with tempfile.TemporaryDirectory() as tmp:
        broker, admin, ports, ca = start_broker(Path(tmp))
        assert broker.process is not None
        if pinned:
            os.sched_setaffinity(broker.process.pid, {1})
        try:
            with tqdm(total=total, unit="rec", unit_scale=True, file=sys.stderr) as progress:
                for round_ in range(args.rounds):
                    order = LISTENERS[round_ % 3 :] + LISTENERS[: round_ % 3]
                    for size, count in workloads.items():
                        for listener in order:
                            topic = f"bench-{round_}-{size}-{listener}"
                            admin.create_topics([NewTopic(topic, 1, 1)])[topic].result()
                            progress.set_description(f"round {round_ + 1} {size} B {listener}")
                            cpu_before = cpu_seconds(broker.process.pid)
                            figures = produce(
                                client_settings(listener, ports[listener], ca),
                                topic,
                                count,
                                size,
                                progress,
                            )
                            figures["cpu_us"] = (
                                (cpu_seconds(broker.process.pid) - cpu_before) / count * 1e6
                            )
                            runs.setdefault((size, listener), []).append(figures)
        finally:
            del admin  # before the broker goes: no reconnect noise from the client
            broker.stop()
    summarize(args.rounds, workloads, runs)


def summarize(
    rounds: int, workloads: dict[int, int], runs: dict[tuple[int, str], list[dict[str, float]]]
) -> None:
    print(
        f"\nmedians of {rounds} rounds, acks=1, one partition, one broker "
        "(CPU: the broker's, per record; vs PLAINTEXT: median of each round's rate ratio):"
    )
    for size, count in workloads.items():
        reference = runs[(size, "PLAINTEXT")]
        for listener in LISTENERS:
            mine = runs[(size, listener)]

            def median(key: str, figures: list[dict[str, float]] = mine) -> float:
                return statistics.median(f[key] for f in figures)

            ratio = statistics.median(
                m["records_s"] / r["records_s"] for m, r in zip(mine, reference, strict=True)
            )
            print(
                f"{listener:<10} {size:>5} B x {count:>9,}: {median('records_s'):>11,.0f} records/s"
                f" {median('mb_s'):>7,.1f} MB/s  latency p50 {median('p50_ms'):>6.1f} ms"
                f" p99 {median('p99_ms'):>6.1f} ms  broker CPU {median('cpu_us'):>5.2f} us/record"
                f"  {ratio:>6.1%} of PLAINTEXT"
            )


if __name__ == "__main__":
    main()
