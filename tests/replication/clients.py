"""Client-side helpers for replication tests: a producer thread that numbers its records and keeps
every delivery report, a group consumer thread, a reader that drains partitions to their high
watermarks, and the check that acknowledged records survived exactly once and in order.

Every client thread registers itself; `abort_all_clients()` (called when a test ends, passed or
failed) stops those still running so that none outlives its test and its cluster."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    Message,
    Producer,
    TopicPartition,
)

from tests.support.cluster import Cluster

_running: list[ProducerThread | GroupConsumerThread] = []


def abort_all_clients() -> None:
    """Stop every client thread a test left running, dropping what it had not delivered."""
    while _running:
        client = _running.pop()
        client.abort()


@dataclass
class Delivery:
    seq: int
    partition: int
    offset: int


@dataclass
class ProducerThread:
    """Produces `count` records numbered start_seq.. (value b"<seq>", zero-padded to `pad` digits) at
    about `rate` per second, round-robin over `partitions`, and records every delivery report."""

    cluster: Cluster
    topic: str
    count: int
    partitions: int = 1
    rate: float = 300.0
    pad: int = 0
    start_seq: int = 0
    config: dict[str, object] = field(default_factory=dict)
    acked: list[Delivery] = field(default_factory=list)
    failed: list[tuple[int, KafkaError]] = field(default_factory=list)
    sent: int = 0
    stop_event: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _aborted: bool = False
    crashed: BaseException | None = None

    def producer_config(self) -> dict[str, object]:
        return self.cluster.client_config(
            **{
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "message.timeout.ms": 45000,
                "request.timeout.ms": 5000,
                **self.config,
            }
        )

    def start(self) -> ProducerThread:
        self._thread = threading.Thread(target=self._run, daemon=True, name="producer")
        _running.append(self)
        self._thread.start()
        return self

    def abort(self) -> None:
        self._aborted = True
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(10)

    def _on_delivery(self, err: KafkaError | None, msg: Message) -> None:
        seq = int(msg.value())
        with self._lock:
            if err is None:
                self.acked.append(Delivery(seq, msg.partition(), msg.offset()))
            else:
                self.failed.append((seq, err))

    def _run(self) -> None:
        try:
            producer = Producer(self.producer_config())
            interval = 1.0 / self.rate
            next_at = time.monotonic()
            for seq in range(self.start_seq, self.start_seq + self.count):
                if self.stop_event.is_set():
                    break
                while True:
                    try:
                        producer.produce(
                            self.topic,
                            value=str(seq).zfill(self.pad).encode(),
                            partition=seq % self.partitions,
                            on_delivery=self._on_delivery,
                        )
                        break
                    except BufferError:
                        producer.poll(0.05)
                self.sent += 1
                producer.poll(0)
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    producer.poll(delay)
            if self._aborted:
                producer.purge()
                producer.flush(1)
                return
            deadline = time.monotonic() + 60
            while producer.flush(0.2) and time.monotonic() < deadline and not self._aborted:
                pass
            if self._aborted:
                producer.purge()
                return
            remaining = len(producer)
            if remaining:
                raise AssertionError(f"{remaining} records still undelivered after flush")
        except BaseException as exc:  # reported by join()
            self.crashed = exc

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def wait_acked(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.acked_count() < count:
            if self.crashed is not None:
                raise AssertionError(f"producer crashed: {self.crashed!r}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"only {self.acked_count()} of {count} records acknowledged after {timeout}s"
                    f" (failures: {self.failed[:5]})"
                )
            time.sleep(0.05)

    def join(self, timeout: float = 120) -> None:
        assert self._thread is not None
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "producer thread did not finish"
        if self.crashed is not None:
            raise AssertionError(f"producer failed: {self.crashed!r}")


@dataclass
class GroupConsumerThread:
    """A subscribed consumer in `group` (auto commit) that records every (partition, offset, seq)
    it receives."""

    cluster: Cluster
    topic: str
    group: str
    seen: list[tuple[int, int, int]] = field(default_factory=list)
    errors: list[KafkaError] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)
    crashed: BaseException | None = None
    _thread: threading.Thread | None = None

    def distinct(self) -> int:
        return len({seq for _, _, seq in list(self.seen)})

    def start(self) -> GroupConsumerThread:
        self._thread = threading.Thread(target=self._run, daemon=True, name="group-consumer")
        _running.append(self)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            consumer = Consumer(
                self.cluster.client_config(
                    **{
                        "group.id": self.group,
                        "auto.offset.reset": "earliest",
                        "enable.auto.commit": True,
                        "auto.commit.interval.ms": 300,
                        "session.timeout.ms": 6000,
                        "heartbeat.interval.ms": 300,
                        "fetch.wait.max.ms": 100,
                    }
                )
            )
            consumer.subscribe([self.topic])
            try:
                while not self.stop_event.is_set():
                    msg = consumer.poll(0.2)
                    if msg is None:
                        continue
                    if msg.error():
                        self.errors.append(msg.error())
                        continue
                    self.seen.append((msg.partition(), msg.offset(), int(msg.value())))
            finally:
                consumer.close()
        except BaseException as exc:
            self.crashed = exc

    def abort(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(15)

    def join(self) -> None:
        self.stop_event.set()
        assert self._thread is not None
        self._thread.join(30)
        assert not self._thread.is_alive(), "consumer thread did not finish"
        if self.crashed is not None:
            raise AssertionError(f"consumer failed: {self.crashed!r}")


def read_partitions(
    cluster: Cluster, topic: str, partitions: int, timeout: float = 30, bootstrap: str = ""
) -> dict[int, list[tuple[int, int]]]:
    """Every record of every partition from the beginning to the high watermark at the time of the
    call: {partition: [(offset, seq), ...]}."""
    consumer = Consumer(
        cluster.client_config(
            **{
                "group.id": f"reader-{topic}-{time.monotonic_ns()}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": 100,
                "enable.partition.eof": True,
                **({"bootstrap.servers": bootstrap} if bootstrap else {}),
            }
        )
    )
    try:
        ends = {}
        for p in range(partitions):
            _, high = consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=10, cached=False
            )
            ends[p] = high
        out: dict[int, list[tuple[int, int]]] = {p: [] for p in range(partitions)}
        pending = {p for p in range(partitions) if ends[p] > 0}
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in pending])
        deadline = time.monotonic() + timeout
        while pending:
            if time.monotonic() > deadline:
                got = {p: len(v) for p, v in out.items()}
                raise AssertionError(f"reading {topic} timed out: got {got}, wanted ends {ends}")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    if msg.offset() >= ends[msg.partition()]:
                        pending.discard(msg.partition())
                    continue
                if msg.error().retriable() or not msg.error().fatal():
                    continue
                raise AssertionError(f"consumer error: {msg.error()}")
            p = msg.partition()
            if msg.offset() < ends[p]:
                out[p].append((msg.offset(), int(msg.value())))
            if msg.offset() + 1 >= ends[p]:
                pending.discard(p)
        return out
    finally:
        consumer.close()


def check_acknowledged_survived(
    acked: list[Delivery], consumed: dict[int, list[tuple[int, int]]]
) -> None:
    """Every acknowledged record is present exactly once, at the offset its acknowledgement named;
    no record appears twice; each partition's records are in sequence order."""
    counts = Counter(seq for records in consumed.values() for _, seq in records)
    duplicates = sorted(seq for seq, n in counts.items() if n > 1)
    assert not duplicates, f"records consumed more than once: {duplicates[:20]}"
    where = {seq: (p, offset) for p, records in consumed.items() for offset, seq in records}
    lost = [d for d in acked if d.seq not in where]
    assert not lost, (
        f"{len(lost)} acknowledged records lost, e.g. {lost[:10]}; "
        f"partition ends: { {p: r[-1] if r else None for p, r in consumed.items()} }"
    )
    moved = [d for d in acked if where[d.seq] != (d.partition, d.offset)]
    assert not moved, f"acknowledged records found at other offsets: {moved[:10]} vs " + str(
        [where[d.seq] for d in moved[:10]]
    )
    for p, records in consumed.items():
        seqs = [seq for _, seq in records]
        assert seqs == sorted(seqs), f"partition {p} out of order: " + str(
            [(a, b) for a, b in itertools.pairwise(seqs) if a > b][:10]
        )
        offsets = [offset for offset, _ in records]
        assert offsets == sorted(set(offsets)), f"partition {p} offsets not increasing"
