"""`log.dirs.quota.bytes`: once this broker's log directories hold their quota, produce requests
fail with KAFKA_STORAGE_ERROR (retriable) and nothing more is appended; the broker keeps serving.
Raising the quota (dynamically) or retention freeing space lets writes in again: an idempotent
producer that was held up delivers everything, once each. The gauges show used and quota bytes."""

from __future__ import annotations

import time
import urllib.request
import warnings
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

from tests.support.broker import BrokerProcess
from tests.support.ports import free_port
from tests.support.waiting import wait_until

with warnings.catch_warnings():
    # kafka-python loads its protocol schemas through deprecated importlib.resources calls.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka import KafkaProducer
    from kafka.errors import KafkaStorageError

QUOTA = "log.dirs.quota.bytes"
VALUE = 1000  # bytes per record


def segment_bytes(broker: BrokerProcess, topic: str = "*") -> int:
    """Bytes in the `.log` files of a topic (default: all), what the quota counts."""
    return sum(p.stat().st_size for p in (broker.data_dir / "logs").glob(f"{topic}-*/*.log"))


def gauges(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        line.split("{", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if not line.startswith("#")
    }


@pytest.fixture
def unretried_producer(
    make_broker: Callable[..., BrokerProcess],
) -> Iterator[Callable[..., object]]:
    """kafka-python producers that never retry, so the broker's answer reaches the test."""
    made: list[KafkaProducer] = []

    def make(broker: BrokerProcess) -> KafkaProducer:
        made.append(
            KafkaProducer(
                bootstrap_servers=broker.bootstrap,
                retries=0,
                enable_idempotence=False,
                acks=1,
                linger_ms=0,
            )
        )
        return made[-1]

    yield make
    for producer in made:
        producer.close(timeout=5)


def fill(producer: KafkaProducer, topic: str, limit: int = 5000) -> tuple[int, KafkaStorageError]:
    """Send one record at a time until the broker refuses one; (records stored, the refusal)."""
    for stored in range(limit):
        try:
            producer.send(topic, b"%08d" % stored + b"x" * (VALUE - 8)).get(timeout=10)
        except KafkaStorageError as exc:
            return stored, exc
    raise AssertionError(f"{limit} records were all accepted")


def set_broker_config(admin: AdminClient, name: str, value: str) -> None:
    entry = ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.BROKER, "0", incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(timeout=20)


def test_full_log_dirs_refuse_writes_until_the_quota_is_raised(
    make_broker: Callable[..., BrokerProcess], unretried_producer, topic_name: str
) -> None:
    metrics_port = free_port()
    broker = make_broker(
        {
            QUOTA: 300_000,
            "metrics.listener": f"127.0.0.1:{metrics_port}",
            "group.initial.rebalance.delay.ms": 0,
        }
    )
    stored, refusal = fill(unretried_producer(broker), topic_name)

    used = segment_bytes(broker)
    assert used <= 300_000 < used + VALUE + 100  # full: the next record does not fit
    assert "log directory quota reached" in str(refusal), refusal
    with pytest.raises(KafkaStorageError):
        unretried_producer(broker).send(topic_name, b"y" * VALUE).get(timeout=10)
    assert segment_bytes(broker) == used
    assert broker.alive
    metrics = gauges(metrics_port)
    assert metrics["dataplane_log_dirs_used_bytes"] == used
    assert metrics["dataplane_log_dirs_quota_bytes"] == 300_000

    # The broker's own bookkeeping is exempt: a consumer group still commits its offsets.
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "quota-check",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic_name])
    first = wait_until(lambda: consumer.poll(0.5), 30, "a record through the consumer group")
    assert not first.error(), first.error()
    committed = consumer.commit(first, asynchronous=False)
    assert committed[0].error is None and committed[0].offset == 1
    consumer.close()

    # (Those few hundred bytes of offsets may take the total past the quota: exempt on purpose.)
    held = segment_bytes(broker, topic_name)
    assert held == used

    # An idempotent producer is refused retriably: its records wait (none fails, none lands).
    delivered: list[bytes] = []
    failed: list[object] = []

    def on_delivery(error: object, message: object) -> None:
        (failed if error else delivered).append(error or message.value())  # type: ignore[attr-defined]

    waiting = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "enable.idempotence": True,
            "linger.ms": 20,
            "retry.backoff.max.ms": 500,
            "message.timeout.ms": 120_000,
        }
    )
    late = [f"late-{i:04d}".encode() for i in range(300)]
    for value in late:
        waiting.produce(topic_name, value, on_delivery=on_delivery)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        waiting.poll(0.2)
    assert delivered == [] and failed == []
    assert segment_bytes(broker, topic_name) == held

    set_broker_config(AdminClient({"bootstrap.servers": broker.bootstrap}), QUOTA, "10000000")
    assert waiting.flush(60) == 0
    assert failed == [] and sorted(delivered) == late
    assert gauges(metrics_port)["dataplane_log_dirs_quota_bytes"] == 10_000_000

    consumer = Consumer(
        {"bootstrap.servers": broker.bootstrap, "group.id": "count", "enable.partition.eof": True}
    )
    consumer.assign([TopicPartition(topic_name, 0, 0)])
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        message = consumer.poll(1)
        if message is None:
            continue
        if message.error():
            break  # end of the partition
        values.append(message.value())
    consumer.close()
    assert len(values) == stored + len(late)
    assert [v for v in values if v.startswith(b"late-")] == late  # each once, in order


def test_retention_frees_space_and_writes_resume(
    make_broker: Callable[..., BrokerProcess], unretried_producer, topic_name: str
) -> None:
    broker = make_broker({QUOTA: 200_000, "log.retention.check.interval.ms": 200})
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 1, 1, config={"segment.bytes": "20000"})])[
        topic_name
    ].result(timeout=20)
    producer = unretried_producer(broker)
    fill(producer, topic_name)

    entry = ConfigEntry("retention.bytes", "50000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ResourceType.TOPIC, topic_name, incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(timeout=20)

    def accepted() -> bool:
        try:
            producer.send(topic_name, b"z" * VALUE).get(timeout=10)
        except KafkaStorageError:
            return False
        return True

    wait_until(accepted, 20, "a write once retention has deleted old segments")
    assert segment_bytes(broker) <= 50_000 + 20_000 + VALUE
