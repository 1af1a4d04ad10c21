"""Log compaction: the latest value per key survives, tombstones go after delete.retention.ms, offsets
never move, readers always see a consistent log, and the consumer offsets topic is compacted too."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from dataplane.config import BrokerConfig
from dataplane.protocol.records import parse_batches
from dataplane.storage import cleaner
from dataplane.storage.log import PartitionLog
from tests.support.batches import build_batch, decode_records, split_batches
from tests.support.broker import BrokerProcess

NOW_MS = 1_700_000_000_000
HOUR_MS = 3_600_000


def compacted_log(directory: Path, **overrides: Any) -> PartitionLog:
    config = BrokerConfig.from_mapping({}).topic_defaults()
    config.update(
        {
            "cleanup.policy": ("compact",),
            "segment.bytes": 400,
            "min.cleanable.dirty.ratio": 0.0,
            "delete.retention.ms": HOUR_MS,
            **overrides,
        }
    )
    return PartitionLog(directory, "compacted", 0, config)


def put(log: PartitionLog, key: str, value: bytes | None, timestamp: int = NOW_MS) -> int:
    data = build_batch([value], keys=[key.encode()], timestamps=[timestamp])
    return log.append(data, parse_batches(data, 1 << 20), 0).base_offset


def contents(log: PartitionLog) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of every record, read the way a consumer reads: from the log start."""
    out = []
    for segment in log.segments:
        for batch in split_batches(segment.read(0, segment.size)):
            out += [(offset, key, value) for offset, _ts, key, value in decode_records(batch)]
    return out


def clean(log: PartitionLog, now_ms: int) -> int:
    plan = cleaner.plan(log, now_ms)
    if plan is None:
        return 0
    return cleaner.swap_in(
        log,
        cleaner.rewrite(plan, log.config["delete.retention.ms"], now_ms),
        plan.first_dirty_offset,
    )


def test_cleaning_keeps_the_latest_value_of_every_key_at_its_offset(tmp_path: Path) -> None:
    log = compacted_log(tmp_path / "p")
    latest: dict[bytes, tuple[int, bytes]] = {}
    for i in range(200):
        key = f"key-{i % 7}"
        offset = put(log, key, f"value-{i}".encode())
        latest[key.encode()] = (offset, f"value-{i}".encode())
    end = log.log_end_offset
    assert len(log.segments) > 3
    active = log.active_segment
    active_records = {o for o, _, _ in contents(log) if o >= active.base_offset}

    removed = clean(log, NOW_MS)

    records = contents(log)
    assert removed > 150
    assert log.log_end_offset == end
    # The running total behind `log.dirs.quota.bytes` shrank with the rewritten segments.
    assert log.usage.bytes == sum(p.stat().st_size for p in log.directory.glob("*.log"))
    assert [o for o, _, _ in records] == sorted(o for o, _, _ in records), "offsets stay in order"
    # Below the active segment only the latest record of each key remains; the active segment is
    # untouched.
    cleaned = [(o, k, v) for o, k, v in records if o < active.base_offset]
    assert len({k for _, k, _ in cleaned}) == len(cleaned)
    assert {o for o, _, _ in records if o >= active.base_offset} == active_records
    final = {}
    for offset, key, value in records:
        final[key] = (offset, value)
    assert final == latest


def test_tombstones_are_kept_until_delete_retention_then_removed(tmp_path: Path) -> None:
    log = compacted_log(tmp_path / "p")
    put(log, "gone", b"first")
    put(log, "kept", b"value")
    tombstone_offset = put(log, "gone", None, timestamp=NOW_MS)
    for i in range(40):
        put(log, f"filler-{i}", b"x" * 20)

    clean(log, NOW_MS + 1000)
    records = contents(log)
    assert (tombstone_offset, b"gone", None) in records, "a fresh tombstone must stay visible"
    assert not [r for r in records if r[1] == b"gone" and r[2] is not None]

    log.first_dirty_offset = 0  # force a second pass
    clean(log, NOW_MS + HOUR_MS + 1)
    records = contents(log)
    assert not [r for r in records if r[1] == b"gone"]
    assert [r for r in records if r[1] == b"kept"] == [(1, b"kept", b"value")]


def test_clean_state_survives_reopen_and_crash_leftovers_are_discarded(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    log = compacted_log(directory)
    for i in range(100):
        put(log, f"k{i % 3}", f"v{i}".encode())
    clean(log, NOW_MS)
    before = contents(log)
    end = log.log_end_offset
    log.close()
    (directory / "00000000000000000000.log.cleaned").write_bytes(b"half written")

    reopened = compacted_log(directory)
    assert contents(reopened) == before
    assert reopened.log_end_offset == end
    assert not list(directory.glob("*.cleaned"))
    assert put(reopened, "k0", b"after") == end


def test_dirty_ratio_and_compaction_lag_gate_cleaning(tmp_path: Path) -> None:
    log = compacted_log(tmp_path / "p", **{"min.cleanable.dirty.ratio": 0.5})
    for i in range(60):
        put(log, f"k{i % 3}", b"v" * 10)
    assert cleaner.plan(log, NOW_MS) is not None
    clean(log, NOW_MS)
    # Just cleaned: nothing is dirty, so nothing to do.
    assert cleaner.plan(log, NOW_MS) is None

    lagged = compacted_log(tmp_path / "q", **{"min.compaction.lag.ms": HOUR_MS})
    for i in range(60):
        put(lagged, f"k{i % 3}", b"v" * 10, timestamp=NOW_MS)
    assert cleaner.plan(lagged, NOW_MS + 1000) is None, "records younger than the lag stay"
    assert cleaner.plan(lagged, NOW_MS + 2 * HOUR_MS) is not None

    deleting = compacted_log(tmp_path / "r", **{"cleanup.policy": ("delete",)})
    for i in range(60):
        put(deleting, f"k{i % 3}", b"v" * 10)
    assert cleaner.plan(deleting, NOW_MS) is None


def _wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _consume_all(broker: BrokerProcess, topic: str) -> list[tuple[int, bytes | None, bytes | None]]:
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "reader",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    out = []
    try:
        while True:
            message = consumer.poll(5)
            assert message is not None, "consumer stalled"
            if message.error():
                assert message.error().code() == -191, message.error()  # _PARTITION_EOF
                return out
            out.append((message.offset(), message.key(), message.value()))
    finally:
        consumer.close()


def test_broker_compacts_a_topic_end_to_end(make_broker, topic_name: str) -> None:
    broker: BrokerProcess = make_broker({"log.cleaner.backoff.ms": 200})
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    configs = {
        "cleanup.policy": "compact",
        "segment.bytes": "1024",
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": "1500",
    }
    admin.create_topics([NewTopic(topic_name, 1, 1, config=configs)])[topic_name].result(10)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    expected: dict[bytes, bytes | None] = {}
    for i in range(600):
        key, value = f"user-{i % 20}".encode(), f"state-{i}".encode()
        producer.produce(topic_name, key=key, value=value)
        expected[key] = value
        if i % 25 == 0:
            producer.flush(10)
    producer.produce(topic_name, key=b"user-0", value=None)
    expected[b"user-0"] = None
    producer.flush(10)
    for i in range(60):  # roll past the tombstone so it becomes cleanable
        producer.produce(topic_name, key=f"pad-{i}".encode(), value=b"p" * 40)
        expected[f"pad-{i}".encode()] = b"p" * 40
        producer.flush(10)

    _wait_until(lambda: "log cleaned" in broker.log_text(), 20, "the cleaner to run")
    _wait_until(
        lambda: len(_consume_all(broker, topic_name)) < 200, 20, "compaction to shrink the log"
    )
    records = _consume_all(broker, topic_name)
    offsets = [o for o, _, _ in records]
    assert offsets == sorted(set(offsets)), "a consumer reads strictly increasing offsets"
    final = {}
    for _, key, value in records:
        final[key] = value
    assert final == expected or final == {k: v for k, v in expected.items() if v is not None}

    # After delete.retention.ms and another pass, the tombstone itself is gone too.
    producer.produce(topic_name, key=b"late", value=b"x" * 600)
    producer.produce(topic_name, key=b"late2", value=b"x" * 600)
    producer.flush(10)
    _wait_until(
        lambda: b"user-0" not in {k for _, k, _ in _consume_all(broker, topic_name)},
        30,
        "the tombstone to be removed",
    )


def test_consumer_offsets_topic_is_compacted_and_offsets_survive(
    make_broker, topic_name: str
) -> None:
    broker: BrokerProcess = make_broker(
        {
            "log.cleaner.backoff.ms": 200,
            "offsets.topic.num.partitions": 1,
            "offsets.topic.segment.bytes": 2048,
            "group.initial.rebalance.delay.ms": 0,
        }
    )
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 1, 1)])[topic_name].result(10)
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "committer",
            "enable.auto.commit": False,
        }
    )
    for offset in range(1, 301):
        consumer.commit(offsets=[TopicPartition(topic_name, 0, offset)], asynchronous=False)
    consumer.close()
    offsets_dir = broker.data_dir / "logs" / "__consumer_offsets-0"
    _wait_until(lambda: "log cleaned" in broker.log_text(), 20, "the offsets topic to be cleaned")
    size = sum(p.stat().st_size for p in offsets_dir.glob("*.log"))
    assert size < 300 * 60, f"offsets log still holds {size} bytes"

    broker.restart()
    reader = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "committer"})
    committed = reader.committed([TopicPartition(topic_name, 0)], 10)
    reader.close()
    assert committed[0].offset == 300
