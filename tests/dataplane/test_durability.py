"""Durability of a real broker process: graceful stops and crashes mid-stream, torn log tails,
retention, DeleteRecords and the flush policy, observed through confluent-kafka clients."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec

from tests.support.batches import batch_base_offset, split_batches
from tests.support.broker import BrokerProcess
from tests.support.waiting import wait_until

BrokerFactory = Callable[..., BrokerProcess]

FAST_RECONNECT = {
    "reconnect.backoff.ms": 20,
    "reconnect.backoff.max.ms": 200,
    "retry.backoff.ms": 50,
    "retry.backoff.max.ms": 200,
    "topic.metadata.refresh.interval.ms": 1000,
}


# --- client helpers -------------------------------------------------------------------------------


def create_topic(broker: BrokerProcess, topic: str, config: dict[str, str] | None = None) -> None:
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=1, replication_factor=1, config=config or {})]
    )
    futures[topic].result(timeout=15)


def watermarks(broker: BrokerProcess, topic: str) -> tuple[int, int]:
    """(low, high) watermarks of partition 0, asked of the broker (ListOffsets), not cached."""
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "watermarks"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False)
    finally:
        consumer.close()


def consume(
    broker: BrokerProcess,
    topic: str,
    start: int,
    end: int,
    reset: str = "earliest",
    timeout: float = 20,
) -> list[tuple[int, bytes]]:
    """(offset, value) of records from `start` until the one before `end`; fails on any error."""
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"reader-{topic}",
            "enable.auto.commit": False,
            "auto.offset.reset": reset,
            "fetch.wait.max.ms": 100,
        }
    )
    out: list[tuple[int, bytes]] = []
    try:
        consumer.assign([TopicPartition(topic, 0, start)])
        deadline = time.monotonic() + timeout
        while (not out or out[-1][0] < end - 1) and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error():
                raise AssertionError(f"consumer error: {message.error()}")
            out.append((message.offset(), message.value()))
    finally:
        consumer.close()
    return out


def produce_sync(
    broker: BrokerProcess, topic: str, values: list[bytes], **extra: object
) -> list[int]:
    """Produce one record per request (so one batch each) and return the acknowledged offsets."""
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0, **extra})
    offsets: list[int] = []
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, message: object) -> None:
        if err is not None:
            errors.append(err)
        else:
            offsets.append(message.offset())  # type: ignore[attr-defined]

    for value in values:
        producer.produce(topic, value=value, on_delivery=on_delivery)
        assert producer.flush(10) == 0
    assert not errors, errors
    return offsets


def value_of(i: int) -> bytes:
    return f"record-{i:07d}".encode()


def index_of(value: bytes) -> int:
    return int(value.decode().removeprefix("record-"))


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.log"))


# --- stop or crash while producing ----------------------------------------------------------------


class StreamingProducer:
    """A thread producing numbered records as fast as the broker takes them, remembering which
    ones were acknowledged (delivery report without error) and at which offset."""

    def __init__(self, broker: BrokerProcess, topic: str, config: dict[str, object]) -> None:
        self.topic = topic
        self.fatal: KafkaError | KafkaException | None = None
        self.producer = Producer(
            {
                "bootstrap.servers": broker.bootstrap,
                "linger.ms": 1,
                "error_cb": self._on_error,
                **FAST_RECONNECT,
                **config,
            }
        )
        self.acked: list[tuple[int, int]] = []  # (record index, offset), in callback order
        self.failed: list[tuple[int, KafkaError]] = []
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _on_error(self, err: KafkaError) -> None:
        if err.fatal():
            self.fatal = err

    def _on_delivery(self, err: KafkaError | None, message: object) -> None:
        index = index_of(message.value())  # type: ignore[attr-defined]
        if err is None:
            self.acked.append((index, message.offset()))  # type: ignore[attr-defined]
        else:
            self.failed.append((index, err))

    def _run(self) -> None:
        try:
            while not self._stop.is_set() and self.fatal is None:
                try:
                    self.producer.produce(
                        self.topic, value=value_of(self.sent), on_delivery=self._on_delivery
                    )
                except BufferError:
                    self.producer.poll(0.05)
                    continue
                self.sent += 1
                self.producer.poll(0)
                time.sleep(0.001)
        except KafkaException as exc:
            self.fatal = self.fatal or exc

    def start(self) -> StreamingProducer:
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def finish(self) -> None:
        self.stop()
        assert not self._thread.is_alive()
        assert self.fatal is None, f"producer failed: {self.fatal}"
        assert self.producer.flush(20) == 0, "records still undelivered after 20s"


def _stop_or_crash_mid_stream(
    broker: BrokerProcess, topic: str, graceful: bool, producer_config: dict[str, object]
) -> tuple[StreamingProducer, list[tuple[int, bytes]]]:
    create_topic(broker, topic)
    stream = StreamingProducer(broker, topic, producer_config).start()
    try:
        wait_until(lambda: len(stream.acked) >= 300, 20, "300 acknowledged records")
        assert stream.alive, "the producer must still be producing when the broker goes down"
        if graceful:
            assert broker.stop() == 0
        else:
            broker.kill()
        sent_while_down = stream.sent
        broker.start()
        # The same producer carries on once the broker is back: records produced after the
        # restart are acknowledged too.
        wait_until(
            lambda: (
                stream.fatal is not None
                or any(index > sent_while_down + 200 for index, _ in stream.acked)
            ),
            20,
            "acknowledgements for records produced after the restart",
        )
        stream.finish()
    finally:
        stream.stop()
    assert stream.acked, "nothing was acknowledged"

    _, high = watermarks(broker, topic)
    records = consume(broker, topic, 0, high)
    assert [offset for offset, _ in records] == list(range(high)), "offsets must be contiguous"
    return stream, records


def _assert_acknowledged_records_kept(
    stream: StreamingProducer, records: list[tuple[int, bytes]]
) -> None:
    by_offset = dict(records)
    counts = Counter(value for _, value in records)
    for index, offset in stream.acked:
        assert by_offset.get(offset) == value_of(index), (
            f"record {index} was acknowledged at offset {offset}, the log holds "
            f"{by_offset.get(offset)!r} there"
        )
        assert counts[value_of(index)] == 1, f"record {index} is stored {counts[value_of(index)]}x"
    # Acknowledged records keep their production order.
    acked_offsets = [offset for _, offset in sorted(stream.acked)]
    assert acked_offsets == sorted(acked_offsets)


@pytest.mark.parametrize("graceful", [True, False], ids=["sigterm", "sigkill"])
def test_acknowledged_records_survive_a_stop_mid_stream(
    make_broker: BrokerFactory, topic_name: str, graceful: bool
) -> None:
    broker = make_broker()
    stream, records = _stop_or_crash_mid_stream(
        broker, topic_name, graceful, {"acks": 1, "retries": 0}
    )
    _assert_acknowledged_records_kept(stream, records)
    # Without retries nothing can be stored twice, acknowledged or not.
    assert len({value for _, value in records}) == len(records)
    # A clean stop needs no recovery at the next start; a crash does.
    recovered = [r for r in broker.log_records() if r.get("msg") == "recovered partition log"]
    if graceful:
        assert recovered == []
    else:
        assert any(r.get("topic") == topic_name for r in recovered)
    # A brand-new producer appends right after what is there.
    assert produce_sync(broker, topic_name, [b"after"]) == [len(records)]
    assert consume(broker, topic_name, len(records), len(records) + 1) == [(len(records), b"after")]


@pytest.mark.parametrize("graceful", [True, False], ids=["sigterm", "sigkill"])
def test_idempotent_producer_is_exactly_once_across_a_restart(
    make_broker: BrokerFactory, topic_name: str, graceful: bool
) -> None:
    """Retries of batches the broker wrote before going down are recognised as duplicates, because
    producer state is snapshotted on a clean stop and rebuilt from batch headers after a crash."""
    broker = make_broker()
    stream, records = _stop_or_crash_mid_stream(
        broker, topic_name, graceful, {"enable.idempotence": True, "acks": "all"}
    )
    assert not stream.failed, stream.failed[:5]
    _assert_acknowledged_records_kept(stream, records)
    assert [index_of(value) for _, value in records] == list(range(stream.sent))


# --- torn tails -----------------------------------------------------------------------------------


def _torn_batch(segment: bytes) -> bytes:
    """The start of a copy of the first batch, as a crash in the middle of a write leaves it."""
    first = split_batches(segment)[0]
    return first[: len(first) // 2]


def _garbage(_segment: bytes) -> bytes:
    return bytes((i * 37 + 11) % 256 for i in range(333))


@pytest.mark.parametrize("tail", [_torn_batch, _garbage], ids=["torn-batch", "garbage"])
def test_torn_tail_is_truncated_after_a_crash(
    make_broker: BrokerFactory, topic_name: str, tail: Callable[[bytes], bytes]
) -> None:
    broker = make_broker()
    create_topic(broker, topic_name)
    count = 30
    assert produce_sync(broker, topic_name, [value_of(i) for i in range(count)]) == list(
        range(count)
    )
    broker.kill()
    last_segment = segment_files(broker.partition_dir(topic_name, 0))[-1]
    valid = last_segment.read_bytes()
    with open(last_segment, "ab") as handle:
        handle.write(tail(valid))

    broker.start()
    assert watermarks(broker, topic_name) == (0, count)
    assert last_segment.read_bytes() == valid, "the invalid tail must be cut off"
    assert consume(broker, topic_name, 0, count) == [(i, value_of(i)) for i in range(count)]
    truncations = [r for r in broker.log_records() if r.get("msg") == "truncated invalid log tail"]
    assert truncations, "the broker should report the truncation"
    # New records continue right after the last valid one, and read back.
    assert produce_sync(broker, topic_name, [b"new-1", b"new-2"]) == [count, count + 1]
    assert consume(broker, topic_name, count, count + 2) == [
        (count, b"new-1"),
        (count + 1, b"new-2"),
    ]
    stored = split_batches(last_segment.read_bytes())
    assert [batch_base_offset(b) for b in stored][-2:] == [count, count + 1]


# --- retention and DeleteRecords ------------------------------------------------------------------


RETENTION_BROKER = {"log.retention.check.interval.ms": 200}


def test_time_retention_deletes_old_segments(make_broker: BrokerFactory, topic_name: str) -> None:
    broker = make_broker(RETENTION_BROKER)
    create_topic(
        broker,
        topic_name,
        {"segment.bytes": "1024", "retention.ms": "3600000", "retention.bytes": "-1"},
    )
    now = int(time.time() * 1000)
    old, new = 25, 10
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    for i in range(old + new):
        timestamp = now - 5 * 3_600_000 + i if i < old else now
        producer.produce(topic_name, value=value_of(i) * 5, timestamp=timestamp)
        assert producer.flush(10) == 0
    directory = broker.partition_dir(topic_name, 0)
    bases = [int(p.name[:20]) for p in segment_files(directory)]
    assert len(bases) >= 3
    # Whole segments go: the oldest one kept is the one holding the first new record (possibly
    # next to old ones), so that is where the log will start.
    expected_low = max(base for base in bases if base <= old)
    assert expected_low > 0

    wait_until(
        lambda: watermarks(broker, topic_name)[0] == expected_low, 10, "the log start to move"
    )
    low, high = watermarks(broker, topic_name)
    assert high == old + new
    assert int(segment_files(directory)[0].name[:20]) == low
    retention_logs = [
        r for r in broker.log_records() if r.get("msg") == "retention deleted segments"
    ]
    assert retention_logs and retention_logs[-1]["log_start_offset"] == low

    # Asking for offset 0 is out of range now: "earliest" resets to the new log start...
    records = consume(broker, topic_name, 0, high, reset="earliest")
    assert records == [(i, value_of(i) * 5) for i in range(low, high)]
    # ...and "error" reports the reset to the application.
    assert _offset_reset_error(broker, topic_name, 0).code() == KafkaError._AUTO_OFFSET_RESET


def _offset_reset_error(broker: BrokerProcess, topic: str, offset: int) -> KafkaError:
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"strict-{topic}",
            "enable.auto.commit": False,
            "auto.offset.reset": "error",
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 0, offset)])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            assert message.error() is not None, f"read offset {message.offset()} below log start"
            return message.error()
        raise AssertionError("no offset reset error reported")
    finally:
        consumer.close()


def test_size_retention_deletes_old_segments(make_broker: BrokerFactory, topic_name: str) -> None:
    broker = make_broker(RETENTION_BROKER)
    create_topic(
        broker,
        topic_name,
        {"segment.bytes": "1024", "retention.bytes": "2048", "retention.ms": "-1"},
    )
    count = 60
    produce_sync(broker, topic_name, [value_of(i) * 3 for i in range(count)])
    directory = broker.partition_dir(topic_name, 0)

    def settled() -> bool:
        # Retention has settled once the excess over retention.bytes is smaller than the oldest
        # segment: only whole segments are deleted.
        sizes = [p.stat().st_size for p in segment_files(directory)]
        return sum(sizes) - 2048 < sizes[0]

    wait_until(settled, 10, "retention to shrink the log")
    assert sum(p.stat().st_size for p in segment_files(directory)) <= 2048 + 1024
    low, high = watermarks(broker, topic_name)
    assert high == count
    assert low > 0
    assert int(segment_files(directory)[0].name[:20]) == low
    assert consume(broker, topic_name, 0, high) == [(i, value_of(i) * 3) for i in range(low, high)]
    assert _offset_reset_error(broker, topic_name, 0).code() == KafkaError._AUTO_OFFSET_RESET
    # The log keeps taking records at the end.
    assert produce_sync(broker, topic_name, [b"tail"]) == [count]


def test_delete_records_moves_the_low_watermark(
    make_broker: BrokerFactory, topic_name: str
) -> None:
    broker = make_broker()
    create_topic(broker, topic_name, {"segment.bytes": "1024"})
    count = 40
    produce_sync(broker, topic_name, [value_of(i) * 3 for i in range(count)])
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})

    futures = admin.delete_records([TopicPartition(topic_name, 0, 17)])
    (future,) = futures.values()
    assert future.result(timeout=15).low_watermark == 17
    assert watermarks(broker, topic_name) == (17, count)
    listed = admin.list_offsets({TopicPartition(topic_name, 0): OffsetSpec.earliest()})
    (earliest,) = listed.values()
    assert earliest.result(timeout=15).offset == 17
    assert consume(broker, topic_name, 0, count) == [(i, value_of(i) * 3) for i in range(17, count)]
    assert _offset_reset_error(broker, topic_name, 5).code() == KafkaError._AUTO_OFFSET_RESET
    # Segments wholly below the new start are gone from disk.
    directory = broker.partition_dir(topic_name, 0)
    assert int(segment_files(directory)[0].name[:20]) <= 17
    assert len(segment_files(directory)) >= 2

    # Past the high watermark is refused.
    (future,) = admin.delete_records([TopicPartition(topic_name, 0, count + 5)]).values()
    with pytest.raises(KafkaException) as raised:
        future.result(timeout=15)
    assert raised.value.args[0].code() == KafkaError.OFFSET_OUT_OF_RANGE
    assert watermarks(broker, topic_name) == (17, count)

    # The new log start survives a restart.
    broker.restart(graceful=True)
    assert watermarks(broker, topic_name) == (17, count)


# --- flush policy ---------------------------------------------------------------------------------


def _recovery_point(broker: BrokerProcess, topic: str) -> int | None:
    path = broker.data_dir / "logs" / "recovery-point-offset-checkpoint"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return None
    assert lines[0] == "0"
    assert int(lines[1]) == len(lines) - 2
    for line in lines[2:]:
        name, partition, offset = line.split()
        if name == topic and partition == "0":
            return int(offset)
    return None


@pytest.mark.parametrize("flush_every_message", [True, False], ids=["flush-1", "no-flush"])
def test_flush_policy_advances_the_recovery_point(
    make_broker: BrokerFactory, topic_name: str, flush_every_message: bool
) -> None:
    overrides: dict[str, object] = {"replica.high.watermark.checkpoint.interval.ms": 200}
    if flush_every_message:
        overrides["log.flush.interval.messages"] = 1
    broker = make_broker(overrides)
    create_topic(broker, topic_name)
    count = 25
    assert produce_sync(
        broker, topic_name, [value_of(i) for i in range(count)], acks="all"
    ) == list(range(count))
    assert consume(broker, topic_name, 0, count) == [(i, value_of(i)) for i in range(count)]

    if flush_every_message:
        # Every append is fsynced, and the periodic checkpoint records how far.
        wait_until(
            lambda: _recovery_point(broker, topic_name) == count, 10, "recovery point to advance"
        )
    else:
        # Nothing is fsynced until shutdown: the checkpoint keeps saying 0.
        wait_until(
            lambda: _recovery_point(broker, topic_name) is not None, 10, "a checkpoint entry"
        )
        time.sleep(0.5)
        assert _recovery_point(broker, topic_name) == 0

    # A crash now loses nothing either way (the page cache survives the process).
    broker.kill()
    broker.start()
    assert watermarks(broker, topic_name) == (0, count)
    assert produce_sync(broker, topic_name, [b"more"], acks="all") == [count]
    # A clean stop always checkpoints the full log.
    assert broker.stop() == 0
    assert _recovery_point(broker, topic_name) == count + 1
