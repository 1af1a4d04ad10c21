"""Real Kafka clients against a real broker process: confluent-kafka, kafka-python, aiokafka, kcat.

Each client is wrapped in a small driver with the same shape (produce, consume everything, look up
offsets by time, and the admin calls it has), so one test body checks the broker against all of them.
Where a client cannot do something (kcat has no admin API and cannot set record timestamps) the test
says so and checks what it can instead.

One broker serves the whole module (`num.partitions=3`, so kcat's auto-created topics have several
partitions); every test uses its own topic. After each test the broker must still be running and must
not have closed a client connection or failed a request: clients quietly retry after those, which
would hide protocol mistakes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import aiokafka
import kafka
import kafka.admin
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin import NewPartitions as AioNewPartitions
from aiokafka.admin import NewTopic as AioNewTopic
from aiokafka.admin.config_resource import ConfigResource as AioConfigResource
from aiokafka.admin.config_resource import ConfigResourceType as AioConfigResourceType
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    ResourceType,
)

from tests.support.broker import BrokerProcess

TIMEOUT = 10.0  # seconds any single client operation may take
CODECS = ["gzip", "snappy", "lz4", "zstd"]
CODEC_IDS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}
INVALID_CONFIG = 40
INVALID_PARTITIONS = 37
TOPIC_ALREADY_EXISTS = 36
UNKNOWN_TOPIC_OR_PARTITION = 3
NOW_MS = int(time.time() * 1000)


# --- records ------------------------------------------------------------------------------------

Headers = tuple[tuple[str, bytes | None], ...]


@dataclass(frozen=True)
class Rec:
    """One record as produced or consumed. `offset` is -1 before the broker assigns one; `timestamp`
    None means the client stamps it (kcat cannot set timestamps)."""

    partition: int
    key: bytes | None
    value: bytes | None
    headers: Headers = ()
    timestamp: int | None = None
    offset: int = -1
    log_append_time: bool = False  # as consumed: the timestamp is the broker's, not the producer's


def with_offsets(records: list[Rec]) -> list[Rec]:
    """The records as the broker must store them: offsets 0, 1, ... per partition, in send order."""
    next_offset: dict[int, int] = {}
    result = []
    for record in records:
        offset = next_offset.get(record.partition, 0)
        next_offset[record.partition] = offset + 1
        result.append(replace(record, offset=offset))
    return result


def by_partition(records: list[Rec]) -> dict[int, list[Rec]]:
    """Records grouped by partition, keeping the order they were given (consumed) in."""
    grouped: dict[int, list[Rec]] = {}
    for record in records:
        grouped.setdefault(record.partition, []).append(record)
    return grouped


def keyed_records(
    partitions: int, count: int, *, value_size: int = 40, ascii_only: bool = False
) -> list[Rec]:
    """`count` keyed records spread over `partitions`, each with headers and an explicit timestamp
    (an hour ago, 7 ms apart, so they cannot be mistaken for the client's clock)."""
    records = []
    for i in range(count):
        filler = (f"value-{i}-" * value_size)[:value_size].encode()
        headers: list[tuple[str, bytes | None]] = [
            ("index", str(i).encode()),
            ("dup", b"first"),
            ("dup", b"second"),
        ]
        value: bytes | None = filler
        if not ascii_only:
            headers.append(("binary", bytes([i % 256, 0, 255, 10])))
            value = filler + bytes([0, 255, i % 256])
            if i == 3:
                value = None  # a tombstone
        records.append(
            Rec(
                partition=i % partitions,
                key=f"key-{i}".encode(),
                value=value,
                headers=tuple(headers),
                timestamp=NOW_MS - 3_600_000 + 7 * i,
            )
        )
    return records


def kcat_records(partitions: int, per_partition: int, value_size: int = 40) -> list[Rec]:
    """Records kcat can send: text keys and values, and one header set per partition (kcat's -H
    applies to a whole run, and we run it once per partition); no timestamps."""
    records = []
    for p in range(partitions):
        headers: Headers = (("src", b"kcat"), ("partition", str(p).encode()), ("dup", b"x"))
        headers += (("dup", b"y"),)
        for i in range(per_partition):
            value = (f"value-{p}-{i}-" * value_size)[:value_size].encode()
            records.append(Rec(p, f"key-{p}-{i}".encode(), value, headers))
    return records


def assert_same_records(
    consumed: list[Rec], expected: list[Rec], client_time: tuple[int, int] | None = None
) -> None:
    """Per partition: the same records, in order, at offsets 0..n-1. Records produced without a
    timestamp must carry one from the client's clock within `client_time` (low, high) ms."""
    expected = with_offsets(expected) if any(r.offset < 0 for r in expected) else expected
    got = by_partition(consumed)
    want = by_partition(expected)
    assert sorted(got) == sorted(want), "records arrived in other partitions than they were sent to"
    for partition, records in want.items():
        offsets = [r.offset for r in got[partition]]
        assert offsets == list(range(len(records))), f"partition {partition} offsets: {offsets}"
        if client_time is not None:
            low, high = client_time
            for record in got[partition]:
                assert record.timestamp is not None and low <= record.timestamp <= high, record
            got[partition] = [replace(r, timestamp=None) for r in got[partition]]
        assert got[partition] == records, f"partition {partition} differs"


# --- what the broker stored -----------------------------------------------------------------------

_BATCH_HEADER = struct.Struct(">qiibIhiqqqhii")


@dataclass(frozen=True)
class StoredBatch:
    base_offset: int
    attributes: int
    last_offset_delta: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records: int

    @property
    def codec(self) -> int:
        return self.attributes & 0x07


def stored_batches(broker: BrokerProcess, topic: str, partition: int) -> list[StoredBatch]:
    """Batch headers of a partition's segment files, read with Kafka's on-disk layout."""
    batches = []
    for segment in sorted(broker.partition_dir(topic, partition).glob("*.log")):
        data = segment.read_bytes()
        position = 0
        while position + _BATCH_HEADER.size <= len(data):
            (base, length, _epoch, _magic, _crc, attrs, delta, _bts, _mts, pid, pepoch, seq, n) = (
                _BATCH_HEADER.unpack_from(data, position)
            )
            batches.append(StoredBatch(base, attrs, delta, pid, pepoch, seq, n))
            position += 12 + length
    return batches


# --- drivers ------------------------------------------------------------------------------------


class AdminFailed(Exception):
    """An admin request was refused by the broker; `code` is the Kafka error code."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"error {code}: {message}")
        self.code = code


@dataclass
class ConfigValue:
    value: str | None
    is_default: bool


class Driver:
    name: ClassVar[str]
    has_admin: ClassVar[bool] = True

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    def produce(
        self,
        topic: str,
        records: list[Rec],
        *,
        compression: str = "none",
        acks: int = -1,
        idempotent: bool | None = None,
        batching: str = "auto",
    ) -> list[tuple[int, int]]:
        """Send and wait for every delivery; (partition, offset) per record as the client reports
        it (-1 offsets with acks=0). `idempotent=None` keeps the client's default. `batching`:
        "auto" lets the client batch as it likes, "one" sends each partition's records as one
        batch, "small" caps batches at about 1 kB (many batches in flight at once), "each" sends
        every record in a batch (and request) of its own."""
        raise NotImplementedError

    def end_offsets(self, topic: str, partitions: list[int]) -> dict[int, int]:
        raise NotImplementedError

    def consume_all(self, topic: str, partitions: list[int], **options: Any) -> list[Rec]:
        """Everything below the current end offsets, from the beginning, partitions assigned by hand."""
        raise NotImplementedError

    def offsets_for_times(self, topic: str, wanted: dict[int, int]) -> dict[int, int | None]:
        """Offset of the first record at or after each partition's timestamp; None for none."""
        raise NotImplementedError

    # admin
    def create_topic(self, topic: str, partitions: int, configs: dict[str, str] | None = None):
        raise NotImplementedError

    def partition_counts(self) -> dict[str, int]:
        """Every topic the broker lists, with its number of partitions."""
        raise NotImplementedError

    def delete_topic(self, topic: str) -> None:
        raise NotImplementedError

    def create_partitions(self, topic: str, total: int, validate_only: bool = False) -> None:
        raise NotImplementedError

    def describe_configs(self, topic: str) -> dict[str, ConfigValue]:
        raise NotImplementedError

    def alter_configs(self, topic: str, configs: dict[str, str]) -> None:
        """Whole-set AlterConfigs (keys not given go back to their defaults)."""
        raise NotImplementedError

    def incremental_alter_configs(self, topic: str, ops: list[tuple[str, str, str | None]]) -> None:
        """IncrementalAlterConfigs with (name, "SET"|"DELETE"|"APPEND"|"SUBTRACT", value) ops."""
        raise NotImplementedError


# confluent-kafka -------------------------------------------------------------------------------


class ConfluentDriver(Driver):
    name = "confluent"

    @functools.cached_property
    def _admin(self) -> AdminClient:
        # Kept for the driver's lifetime: futures fail if their client is collected first.
        return AdminClient({"bootstrap.servers": self.bootstrap})

    def produce(
        self, topic, records, *, compression="none", acks=-1, idempotent=None, batching="auto"
    ):
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap,
            "compression.type": compression,
            "acks": acks,
            "linger.ms": 5000 if batching == "one" else 5,
            "message.timeout.ms": int(TIMEOUT * 1000),
        }
        if batching == "small":
            conf["batch.size"] = 1000
        if idempotent is not None:
            conf["enable.idempotence"] = idempotent
        producer = Producer(conf)
        delivered: list[tuple[int, int] | None] = [None] * len(records)
        errors: list[KafkaError] = []

        def callback(index: int) -> Callable[[KafkaError | None, Any], None]:
            def on_delivery(error: KafkaError | None, message: Any) -> None:
                if error is not None:
                    errors.append(error)
                else:
                    delivered[index] = (message.partition(), message.offset())

            return on_delivery

        for index, record in enumerate(records):
            extra = {} if record.timestamp is None else {"timestamp": record.timestamp}
            producer.produce(
                topic,
                key=record.key,
                value=record.value,
                partition=record.partition,
                headers=list(record.headers),
                on_delivery=callback(index),
                **extra,
            )
            if batching == "each":
                assert producer.flush(TIMEOUT) == 0, "record still undelivered"
        assert producer.flush(TIMEOUT) == 0, "records still undelivered"
        if errors:
            raise KafkaException(errors[0])
        return delivered  # type: ignore[return-value]

    def _consumer(self, **options: Any) -> Consumer:
        return Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": "compat-confluent",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                **options,
            }
        )

    def end_offsets(self, topic, partitions):
        consumer = self._consumer()
        try:
            return {
                p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=TIMEOUT)[1]
                for p in partitions
            }
        finally:
            consumer.close()

    def consume_all(self, topic, partitions, **options):
        ends = self.end_offsets(topic, partitions)
        consumer = self._consumer(**options)
        records: list[Rec] = []
        try:
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
            pending = {p for p in partitions if ends[p] > 0}
            deadline = time.monotonic() + TIMEOUT
            while pending and time.monotonic() < deadline:
                message = consumer.poll(0.2)
                if message is None:
                    continue
                if message.error():
                    raise KafkaException(message.error())
                timestamp_type, timestamp = message.timestamp()
                assert timestamp_type in (1, 2), f"no timestamp on {message.offset()}"
                records.append(
                    Rec(
                        message.partition(),
                        message.key(),
                        message.value(),
                        tuple(message.headers() or ()),
                        timestamp,
                        message.offset(),
                        log_append_time=timestamp_type == 2,
                    )
                )
                if message.offset() >= ends[message.partition()] - 1:
                    pending.discard(message.partition())
        finally:
            consumer.close()
        return records

    def offsets_for_times(self, topic, wanted):
        consumer = self._consumer()
        try:
            found = consumer.offsets_for_times(
                [TopicPartition(topic, p, ts) for p, ts in wanted.items()], timeout=TIMEOUT
            )
        finally:
            consumer.close()
        for tp in found:
            assert tp.error is None, tp
        return {tp.partition: (None if tp.offset == -1 else tp.offset) for tp in found}

    @staticmethod
    def _wait(futures: dict) -> None:
        for future in futures.values():
            try:
                future.result(TIMEOUT)
            except KafkaException as exc:
                error = exc.args[0]
                raise AdminFailed(error.code(), error.str()) from exc

    def create_topic(self, topic, partitions, configs=None):
        self._wait(
            self._admin.create_topics([NewTopic(topic, partitions, 1, config=configs or {})])
        )

    def partition_counts(self):
        metadata = self._admin.list_topics(timeout=TIMEOUT)
        return {name: len(t.partitions) for name, t in metadata.topics.items()}

    def delete_topic(self, topic):
        self._wait(self._admin.delete_topics([topic], operation_timeout=TIMEOUT))

    def create_partitions(self, topic, total, validate_only=False):
        self._wait(
            self._admin.create_partitions(
                [NewPartitions(topic, total)], validate_only=validate_only
            )
        )

    def describe_configs(self, topic):
        futures = self._admin.describe_configs([ConfigResource(ResourceType.TOPIC, topic)])
        (future,) = futures.values()
        entries = future.result(TIMEOUT)
        return {name: ConfigValue(e.value, e.is_default) for name, e in entries.items()}

    def alter_configs(self, topic, configs):
        resource = ConfigResource(ResourceType.TOPIC, topic, set_config=configs)
        self._wait(self._admin.alter_configs([resource]))

    def incremental_alter_configs(self, topic, ops):
        entries = [
            ConfigEntry(name, value, incremental_operation=AlterConfigOpType[op])
            for name, op, value in ops
        ]
        resource = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries)
        self._wait(self._admin.incremental_alter_configs([resource]))


# kafka-python ----------------------------------------------------------------------------------


class KafkaPythonDriver(Driver):
    name = "kafka-python"

    def _admin(self) -> kafka.KafkaAdminClient:
        return kafka.KafkaAdminClient(
            bootstrap_servers=self.bootstrap, request_timeout_ms=int(TIMEOUT * 1000)
        )

    def produce(
        self, topic, records, *, compression="none", acks=-1, idempotent=None, batching="auto"
    ):
        conf: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "compression_type": None if compression == "none" else compression,
            "acks": acks,
            "linger_ms": 5000 if batching == "one" else 5,
            "request_timeout_ms": int(TIMEOUT * 1000),
        }
        if batching == "small":
            conf["batch_size"] = 1000
        if idempotent is not None:
            conf["enable_idempotence"] = idempotent
        producer = kafka.KafkaProducer(**conf)
        try:
            futures = []
            for r in records:
                future = producer.send(
                    topic,
                    key=r.key,
                    value=r.value,
                    partition=r.partition,
                    headers=list(r.headers),
                    timestamp_ms=r.timestamp,
                )
                futures.append(future)
                if batching == "each":
                    producer.flush(TIMEOUT)
                    future.get(TIMEOUT)
            producer.flush(TIMEOUT)
            results = [f.get(TIMEOUT) for f in futures]
        finally:
            producer.close(timeout=TIMEOUT)
        return [(m.partition, m.offset) for m in results]

    def _consumer(self, **options: Any) -> kafka.KafkaConsumer:
        return kafka.KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=int(TIMEOUT * 1000),
            **options,
        )

    def end_offsets(self, topic, partitions):
        consumer = self._consumer()
        try:
            ends = consumer.end_offsets([kafka.TopicPartition(topic, p) for p in partitions])
        finally:
            consumer.close()
        return {tp.partition: offset for tp, offset in ends.items()}

    def consume_all(self, topic, partitions, **options):
        ends = self.end_offsets(topic, partitions)
        consumer = self._consumer(**options)
        records: list[Rec] = []
        try:
            consumer.assign([kafka.TopicPartition(topic, p) for p in partitions])
            pending = {p for p in partitions if ends[p] > 0}
            deadline = time.monotonic() + TIMEOUT
            while pending and time.monotonic() < deadline:
                for messages in consumer.poll(timeout_ms=200).values():
                    for m in messages:
                        assert m.timestamp_type in (0, 1), m
                        headers = tuple((k, v) for k, v in m.headers)
                        records.append(
                            Rec(
                                m.partition,
                                m.key,
                                m.value,
                                headers,
                                m.timestamp,
                                m.offset,
                                log_append_time=m.timestamp_type == 1,
                            )
                        )
                        if m.offset >= ends[m.partition] - 1:
                            pending.discard(m.partition)
        finally:
            consumer.close()
        return records

    def offsets_for_times(self, topic, wanted):
        consumer = self._consumer()
        try:
            found = consumer.offsets_for_times(
                {kafka.TopicPartition(topic, p): ts for p, ts in wanted.items()}
            )
        finally:
            consumer.close()
        return {tp.partition: (None if v is None else v.offset) for tp, v in found.items()}

    def create_topic(self, topic, partitions, configs=None):
        admin = self._admin()
        try:
            new = kafka.admin.NewTopic(topic, partitions, 1, topic_configs=configs or {})
            response = admin.create_topics([new], raise_errors=False)
        finally:
            admin.close()
        (result,) = response["topics"]
        assert result["name"] == topic
        if result["error_code"]:
            raise AdminFailed(result["error_code"], result.get("error_message") or "")

    def partition_counts(self):
        admin = self._admin()
        try:
            names = admin.list_topics()
            described = admin.describe_topics(names) if names else []
        finally:
            admin.close()
        return {t["name"]: len(t["partitions"]) for t in described}

    def delete_topic(self, topic):
        admin = self._admin()
        try:
            response = admin.delete_topics([topic], raise_errors=False)
        finally:
            admin.close()
        (result,) = response["topics"]
        if result["error_code"]:
            raise AdminFailed(result["error_code"], str(result))

    def create_partitions(self, topic, total, validate_only=False):
        admin = self._admin()
        try:
            response = admin.create_partitions(
                {topic: kafka.admin.NewPartitions(total)},
                validate_only=validate_only,
                raise_errors=False,
            )
        finally:
            admin.close()
        (result,) = response.results
        if result.error_code:
            raise AdminFailed(result.error_code, result.error_message or "")

    def describe_configs(self, topic):
        admin = self._admin()
        try:
            resource = kafka.admin.ConfigResource(kafka.admin.ConfigResourceType.TOPIC, topic)
            described = admin.describe_configs([resource], config_filter="all")
        finally:
            admin.close()
        return {
            name: ConfigValue(entry["value"], entry["config_source"] == "DEFAULT_CONFIG")
            for name, entry in described["topic"][topic].items()
        }

    def _alter(self, topic: str, configs: dict, incremental: bool) -> None:
        admin = self._admin()
        try:
            resource = kafka.admin.ConfigResource(
                kafka.admin.ConfigResourceType.TOPIC, topic, configs
            )
            result = admin.alter_configs(
                [resource], raise_on_unknown=False, incremental=incremental
            )
        finally:
            admin.close()
        outcome = result["topic"][topic]
        if outcome != "OK":
            match = re.search(r"\[Error (\d+)\]", outcome)
            raise AdminFailed(int(match.group(1)) if match else -1, outcome)

    def alter_configs(self, topic, configs):
        self._alter(topic, dict(configs), incremental=False)

    def incremental_alter_configs(self, topic, ops):
        self._alter(topic, {name: (op, value) for name, op, value in ops}, incremental=True)


# aiokafka --------------------------------------------------------------------------------------


class AiokafkaDriver(Driver):
    name = "aiokafka"

    def produce(
        self, topic, records, *, compression="none", acks=-1, idempotent=None, batching="auto"
    ):
        return asyncio.run(self._produce(topic, records, compression, acks, idempotent, batching))

    async def _produce(self, topic, records, compression, acks, idempotent, batching):
        conf: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "compression_type": None if compression == "none" else compression,
            "acks": acks,
            "linger_ms": 5,
            "request_timeout_ms": int(TIMEOUT * 1000),
        }
        if batching == "small":
            conf["max_batch_size"] = 1000
        if idempotent is not None:
            conf["enable_idempotence"] = idempotent
        producer = aiokafka.AIOKafkaProducer(**conf)
        await producer.start()
        try:
            if batching == "one":
                return await self._send_batches(producer, topic, records)
            futures = []
            for r in records:
                future = await producer.send(
                    topic,
                    key=r.key,
                    value=r.value,
                    partition=r.partition,
                    headers=list(r.headers),
                    timestamp_ms=r.timestamp,
                )
                futures.append(future)
                if batching == "each":
                    await asyncio.wait_for(future, TIMEOUT)
            await asyncio.wait_for(producer.flush(), TIMEOUT)
            results = [await f for f in futures]
        finally:
            await producer.stop()
        # With acks=0 aiokafka resolves deliveries to None: nothing to report.
        return [(-1, -1) if m is None else (m.partition, m.offset) for m in results]

    @staticmethod
    async def _send_batches(
        producer: aiokafka.AIOKafkaProducer, topic: str, records: list[Rec]
    ) -> list[tuple[int, int]]:
        """aiokafka's explicit batch API: one batch per partition."""
        delivered = {}
        for partition, group in by_partition(records).items():
            batch = producer.create_batch()
            for r in group:
                assert batch.append(
                    key=r.key, value=r.value, timestamp=r.timestamp, headers=list(r.headers)
                ), "batch full"
            future = await producer.send_batch(batch, topic, partition=partition)
            metadata = await asyncio.wait_for(future, TIMEOUT)
            delivered[partition] = metadata.offset
        result = []
        for r in records:
            result.append((r.partition, delivered[r.partition]))
            delivered[r.partition] += 1
        return result

    def _consumer(self, **options: Any) -> aiokafka.AIOKafkaConsumer:
        return aiokafka.AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=int(TIMEOUT * 1000),
            **options,
        )

    def end_offsets(self, topic, partitions):
        async def run() -> dict[int, int]:
            consumer = self._consumer()
            await consumer.start()
            try:
                ends = await asyncio.wait_for(
                    consumer.end_offsets([aiokafka.TopicPartition(topic, p) for p in partitions]),
                    TIMEOUT,
                )
            finally:
                await consumer.stop()
            return {tp.partition: offset for tp, offset in ends.items()}

        return asyncio.run(run())

    def consume_all(self, topic, partitions, **options):
        ends = self.end_offsets(topic, partitions)

        async def run() -> list[Rec]:
            consumer = self._consumer(**options)
            await consumer.start()
            records: list[Rec] = []
            try:
                consumer.assign([aiokafka.TopicPartition(topic, p) for p in partitions])
                pending = {p for p in partitions if ends[p] > 0}
                deadline = time.monotonic() + TIMEOUT
                while pending and time.monotonic() < deadline:
                    batches = await consumer.getmany(timeout_ms=200)
                    for messages in batches.values():
                        for m in messages:
                            assert m.timestamp_type in (0, 1), m
                            headers = tuple((k, v) for k, v in m.headers)
                            records.append(
                                Rec(
                                    m.partition,
                                    m.key,
                                    m.value,
                                    headers,
                                    m.timestamp,
                                    m.offset,
                                    log_append_time=m.timestamp_type == 1,
                                )
                            )
                            if m.offset >= ends[m.partition] - 1:
                                pending.discard(m.partition)
            finally:
                await consumer.stop()
            return records

        return asyncio.run(run())

    def offsets_for_times(self, topic, wanted):
        async def run() -> dict[int, int | None]:
            consumer = self._consumer()
            await consumer.start()
            try:
                found = await asyncio.wait_for(
                    consumer.offsets_for_times(
                        {aiokafka.TopicPartition(topic, p): ts for p, ts in wanted.items()}
                    ),
                    TIMEOUT,
                )
            finally:
                await consumer.stop()
            return {tp.partition: (None if v is None else v.offset) for tp, v in found.items()}

        return asyncio.run(run())

    def _admin_call(self, call: Callable[[AIOKafkaAdminClient], Any]) -> Any:
        async def run() -> Any:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self.bootstrap, request_timeout_ms=int(TIMEOUT * 1000)
            )
            await admin.start()
            try:
                return await asyncio.wait_for(call(admin), TIMEOUT)
            finally:
                await admin.close()

        return asyncio.run(run())

    def create_topic(self, topic, partitions, configs=None):
        response = self._admin_call(
            lambda admin: admin.create_topics(
                [AioNewTopic(topic, partitions, 1, topic_configs=configs or {})]
            )
        )
        for name, code, message in response.topic_errors:
            assert name == topic
            if code:
                raise AdminFailed(code, message or "")

    def partition_counts(self):
        async def call(admin: AIOKafkaAdminClient) -> dict[str, int]:
            names = await admin.list_topics()
            described = await admin.describe_topics(names) if names else []
            return {t["topic"]: len(t["partitions"]) for t in described}

        return self._admin_call(call)

    def delete_topic(self, topic):
        response = self._admin_call(lambda admin: admin.delete_topics([topic]))
        for name, code in response.topic_error_codes:
            assert name == topic
            if code:
                raise AdminFailed(code)

    def create_partitions(self, topic, total, validate_only=False):
        try:
            self._admin_call(
                lambda admin: admin.create_partitions(
                    {topic: AioNewPartitions(total)}, validate_only=validate_only
                )
            )
        except aiokafka.errors.KafkaError as exc:
            raise AdminFailed(exc.errno, str(exc)) from exc

    def describe_configs(self, topic):
        (response,) = self._admin_call(
            lambda admin: admin.describe_configs(
                [AioConfigResource(AioConfigResourceType.TOPIC, topic)]
            )
        )
        (resource,) = response.resources
        error_code, message, _type, name, entries = resource[:5]
        if error_code:
            raise AdminFailed(error_code, message or "")
        assert name == topic
        # v0 entries carry is_default; later versions a config source (5 is DEFAULT_CONFIG).
        if response.API_VERSION == 0:
            return {entry[0]: ConfigValue(entry[1], entry[3]) for entry in entries}
        return {entry[0]: ConfigValue(entry[1], entry[3] == 5) for entry in entries}

    def alter_configs(self, topic, configs):
        responses = self._admin_call(
            lambda admin: admin.alter_configs(
                [AioConfigResource(AioConfigResourceType.TOPIC, topic, configs)]
            )
        )
        for response in responses:
            for error_code, message, _type, name in response.resources:
                assert name == topic
                if error_code:
                    raise AdminFailed(error_code, message or "")


# kcat ------------------------------------------------------------------------------------------


def run_kcat(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["kcat", "-q", *args], input=stdin, capture_output=True, timeout=TIMEOUT + 5, check=False
    )


class KcatDriver(Driver):
    """kcat: no admin API (topics come from auto-creation), no way to set record timestamps, one
    header set per run. Everything is sent as text lines: key TAB value."""

    name = "kcat"
    has_admin = False

    def produce(
        self, topic, records, *, compression="none", acks=-1, idempotent=None, batching="auto"
    ):
        for partition, group in by_partition(records).items():
            headers = group[0].headers
            assert all(r.headers == headers for r in group), "kcat sends one header set per run"
            assert all(r.timestamp is None for r in group), "kcat cannot set timestamps"
            args = ["-P", "-b", self.bootstrap, "-t", topic, "-p", str(partition), "-K", "\t"]
            args += ["-z", compression] if compression != "none" else []
            args += ["-X", f"acks={acks}", "-X", f"message.timeout.ms={int(TIMEOUT * 1000)}"]
            if idempotent is not None:
                args += ["-X", f"enable.idempotence={str(idempotent).lower()}"]
            assert batching in ("auto", "one"), f"batching {batching!r} not supported with kcat"
            if batching == "one":
                args += ["-X", "linger.ms=1000"]
            for name, value in headers:
                args += ["-H", f"{name}={(value or b'').decode()}"]
            lines = b"".join((r.key or b"") + b"\t" + (r.value or b"") + b"\n" for r in group)
            done = run_kcat(*args, stdin=lines)
            assert done.returncode == 0 and not done.stderr, done.stderr.decode()
        return []  # kcat does not report offsets

    def end_offsets(self, topic, partitions):
        args = ["-Q", "-b", self.bootstrap]
        for p in partitions:
            args += ["-t", f"{topic}:{p}:-1"]
        return {p: offset for p, offset in self._query(args).items()}

    def _query(self, args: list[str]) -> dict[int, int]:
        done = run_kcat(*args)
        assert done.returncode == 0, done.stderr.decode()
        found = {}
        for line in done.stdout.decode().splitlines():
            match = re.fullmatch(r"\S+ \[(\d+)\] offset (-?\d+)", line.strip())
            assert match, f"unexpected kcat -Q output {line!r}"
            found[int(match.group(1))] = int(match.group(2))
        return found

    def consume_all(self, topic, partitions, **options):
        records = []
        for partition in partitions:
            args = ["-C", "-b", self.bootstrap, "-t", topic, "-p", str(partition), "-J", "-e"]
            args += ["-o", "beginning"]
            for key, value in options.items():
                args += ["-X", f"{key}={value}"]
            done = run_kcat(*args)
            assert done.returncode == 0, done.stderr.decode()
            for line in done.stdout.decode().splitlines():
                message = json.loads(line)
                assert message["tstype"] in ("create", "logappend"), message
                raw = message.get("headers") or []
                headers = tuple(
                    (k, None if v is None else v.encode())
                    for k, v in zip(raw[0::2], raw[1::2], strict=True)
                )
                key, value = message["key"], message["payload"]
                records.append(
                    Rec(
                        message["partition"],
                        None if key is None else key.encode(),
                        None if value is None else value.encode(),
                        headers,
                        message["ts"],
                        message["offset"],
                        log_append_time=message["tstype"] == "logappend",
                    )
                )
        return records

    def offsets_for_times(self, topic, wanted):
        args = ["-Q", "-b", self.bootstrap]
        for p, ts in wanted.items():
            args += ["-t", f"{topic}:{p}:{ts}"]
        return {p: (None if o == -1 else o) for p, o in self._query(args).items()}

    def partition_counts(self):
        done = run_kcat("-L", "-J", "-b", self.bootstrap)
        assert done.returncode == 0, done.stderr.decode()
        listing = json.loads(done.stdout)
        return {t["topic"]: len(t["partitions"]) for t in listing["topics"]}


DRIVERS: dict[str, type[Driver]] = {
    d.name: d for d in (ConfluentDriver, KafkaPythonDriver, AiokafkaDriver, KcatDriver)
}
ALL_CLIENTS = list(DRIVERS)
ADMIN_CLIENTS = [name for name, d in DRIVERS.items() if d.has_admin]


# --- fixtures -----------------------------------------------------------------------------------

BROKER_TROUBLE = ("closing connection", "request handler failed")


@pytest.fixture(scope="module")
def shared_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    broker = BrokerProcess(tmp_path_factory.mktemp("compat"), {"num.partitions": 3})
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


@pytest.fixture(autouse=True)
def broker_stays_healthy(shared_broker: BrokerProcess) -> Iterator[None]:
    """Fail a test whose clients made the broker drop a connection or fail a request."""
    seen = len(shared_broker.log_records())
    yield
    assert shared_broker.alive, f"broker died:\n{shared_broker.log_text()[-3000:]}"
    trouble = [
        r
        for r in shared_broker.log_records()[seen:]
        if r.get("level") in ("warning", "error") and r.get("msg") in BROKER_TROUBLE
    ]
    assert not trouble, f"broker reported trouble with clients: {trouble}"


@pytest.fixture
def bootstrap(shared_broker: BrokerProcess) -> str:
    return shared_broker.bootstrap


def driver(name: str, bootstrap: str) -> Driver:
    return DRIVERS[name](bootstrap)


def make_topic(client: Driver, topic: str, partitions: int, configs: dict | None = None) -> None:
    """Create through the client's admin API; kcat falls back to confluent's."""
    admin = client if client.has_admin else ConfluentDriver(client.bootstrap)
    admin.create_topic(topic, partitions, configs)


def wait_for_end_offsets(client: Driver, topic: str, expected: dict[int, int]) -> dict[int, int]:
    deadline = time.monotonic() + TIMEOUT
    while True:
        ends = client.end_offsets(topic, sorted(expected))
        if ends == expected or time.monotonic() > deadline:
            return ends
        time.sleep(0.05)


def counts(records: list[Rec]) -> dict[int, int]:
    return {p: len(rs) for p, rs in by_partition(records).items()}


# --- 1. topic creation --------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ALL_CLIENTS)
def test_create_topic_with_several_partitions(
    client_name: str, bootstrap: str, shared_broker: BrokerProcess, topic_name: str
) -> None:
    client = driver(client_name, bootstrap)
    if client.has_admin:
        client.create_topic(topic_name, 4)
        expected_partitions = 4
    else:
        # kcat has no admin API: producing to an unknown topic auto-creates it with num.partitions.
        client.produce(topic_name, kcat_records(1, 1))
        expected_partitions = 3
    assert client.partition_counts().get(topic_name) == expected_partitions
    for p in range(expected_partitions):
        assert shared_broker.partition_dir(topic_name, p).is_dir()
    assert not shared_broker.partition_dir(topic_name, expected_partitions).exists()


@pytest.mark.parametrize("client_name", ADMIN_CLIENTS)
def test_create_existing_topic_is_refused(
    client_name: str, bootstrap: str, topic_name: str
) -> None:
    client = driver(client_name, bootstrap)
    client.create_topic(topic_name, 2)
    with pytest.raises(AdminFailed) as refused:
        client.create_topic(topic_name, 2)
    assert refused.value.code == TOPIC_ALREADY_EXISTS
    assert client.partition_counts()[topic_name] == 2


# --- 2. keyed records with headers and timestamps -----------------------------------------------


@pytest.mark.parametrize("client_name", ALL_CLIENTS)
def test_round_trip_keys_values_headers_timestamps(
    client_name: str, bootstrap: str, topic_name: str
) -> None:
    client = driver(client_name, bootstrap)
    if client.has_admin:
        client.create_topic(topic_name, 3)
        records = keyed_records(3, 30)
        delivered = client.produce(topic_name, records)
        expected = with_offsets(records)
        assert delivered == [(r.partition, r.offset) for r in expected]
        consumed = client.consume_all(topic_name, [0, 1, 2])
        assert_same_records(consumed, expected)
    else:
        records = kcat_records(3, 10)
        before = int(time.time() * 1000)
        client.produce(topic_name, records)
        after = int(time.time() * 1000)
        consumed = client.consume_all(topic_name, [0, 1, 2])
        assert_same_records(consumed, records, client_time=(before - 1, after + 1))


@pytest.mark.parametrize("consumer_name", ALL_CLIENTS)
def test_consumers_read_explicit_timestamps_from_another_client(
    consumer_name: str, bootstrap: str, topic_name: str
) -> None:
    """kcat cannot set timestamps, so here confluent writes them and every client reads them."""
    producer = ConfluentDriver(bootstrap)
    producer.create_topic(topic_name, 2)
    records = keyed_records(2, 12, ascii_only=True)
    producer.produce(topic_name, records)
    consumed = driver(consumer_name, bootstrap).consume_all(topic_name, [0, 1])
    assert_same_records(consumed, records)


@pytest.mark.parametrize("client_name", ALL_CLIENTS)
def test_consume_with_tiny_fetch_sizes(client_name: str, bootstrap: str, topic_name: str) -> None:
    """Fetches far smaller than the log force many round trips and batches cut off at the fetch
    limit; the consumer must still see every record exactly once, in order."""
    client = driver(client_name, bootstrap)
    make_topic(client, topic_name, 2)
    records = keyed_records(2, 60, value_size=300, ascii_only=True)
    ConfluentDriver(bootstrap).produce(topic_name, records)
    librdkafka = {
        "fetch.max.bytes": 1024,
        "max.partition.fetch.bytes": 1024,
        "message.max.bytes": 1000,  # librdkafka's floor, and fetch.max.bytes may not be below it
    }
    tiny = {
        "confluent": librdkafka,
        "kafka-python": {"fetch_max_bytes": 1024, "max_partition_fetch_bytes": 1024},
        "aiokafka": {"fetch_max_bytes": 1024, "max_partition_fetch_bytes": 1024},
        "kcat": librdkafka,
    }[client_name]
    consumed = client.consume_all(topic_name, [0, 1], **tiny)
    assert_same_records(consumed, records)


# --- 3. compression -----------------------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("client_name", ALL_CLIENTS)
def test_compressed_round_trip(
    client_name: str, codec: str, bootstrap: str, shared_broker: BrokerProcess, topic_name: str
) -> None:
    client = driver(client_name, bootstrap)
    make_topic(client, topic_name, 2)
    if client.has_admin:
        records = keyed_records(2, 40, value_size=200)
    else:
        records = kcat_records(2, 20, value_size=200)
    client.produce(topic_name, records, compression=codec)
    consumed = client.consume_all(topic_name, [0, 1])
    if client.has_admin:
        assert_same_records(consumed, records)
    else:
        assert_same_records(consumed, records, client_time=(NOW_MS, int(time.time() * 1000)))
    # The records must really have travelled (and be stored) compressed with the codec asked for:
    # a client that decides the broker cannot take a codec silently sends them uncompressed.
    for partition in (0, 1):
        batches = stored_batches(shared_broker, topic_name, partition)
        assert batches, f"nothing stored in partition {partition}"
        codecs = {b.codec for b in batches}
        assert codecs == {CODEC_IDS[codec]}, f"{client_name} sent {codec} as codecs {codecs}"


# --- 4. offsets for times -----------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["none", *CODECS])
@pytest.mark.parametrize("client_name", ALL_CLIENTS)
def test_offsets_for_times(
    client_name: str, codec: str, bootstrap: str, shared_broker: BrokerProcess, topic_name: str
) -> None:
    """Partition 0 holds ten records in ONE batch, partition 1 the same timestamps in ten batches;
    a lookup must find the exact record, not just its batch (the broker has to look inside the
    batch, decompressing it). kcat (-Q) looks up offsets that kafka-python wrote, since kcat cannot
    set timestamps."""
    client = driver(client_name, bootstrap)
    writer = client if client.has_admin else KafkaPythonDriver(bootstrap)
    writer.create_topic(topic_name, 2)
    base = NOW_MS - 600_000
    stamps = [base + 10 * i for i in range(10)]  # base, base+10, ..., base+90

    def rec(partition: int, i: int) -> Rec:
        return Rec(partition, f"k{i}".encode(), b"v" * 100, (), stamps[i])

    writer.produce(topic_name, [rec(0, i) for i in range(10)], compression=codec, batching="one")
    writer.produce(topic_name, [rec(1, i) for i in range(10)], compression=codec, batching="each")
    assert [b.records for b in stored_batches(shared_broker, topic_name, 0)] == [10]
    assert [b.records for b in stored_batches(shared_broker, topic_name, 1)] == [1] * 10
    stored_codecs = {b.codec for p in (0, 1) for b in stored_batches(shared_broker, topic_name, p)}
    assert stored_codecs == {CODEC_IDS[codec]}, (
        f"{writer.name} sent {codec} as codecs {stored_codecs} (see test_compressed_round_trip)"
    )

    cases = {
        base - 1000: 0,  # before everything: the first record
        base: 0,
        base + 1: 1,
        base + 35: 4,  # between records: the first one after
        base + 40: 4,  # exactly a record's timestamp
        base + 89: 9,
        base + 90: 9,
        base + 91: None,  # after the last record: none
    }
    for timestamp, expected in cases.items():
        found = client.offsets_for_times(topic_name, {0: timestamp, 1: timestamp})
        assert found == {0: expected, 1: expected}, f"timestamp base{timestamp - base:+d}"


def test_offsets_for_times_and_reads_across_many_segments(
    bootstrap: str, shared_broker: BrokerProcess, topic_name: str
) -> None:
    """A tiny segment.bytes makes the log roll every few batches: reads and time lookups must
    cross segment files seamlessly."""
    client = KafkaPythonDriver(bootstrap)
    client.create_topic(topic_name, 1, {"segment.bytes": "1000"})
    base = NOW_MS - 100_000
    records = [Rec(0, f"k{i}".encode(), b"v" * 200, (), base + 10 * i) for i in range(40)]
    client.produce(topic_name, records, batching="each")
    assert len(list(shared_broker.partition_dir(topic_name, 0).glob("*.log"))) >= 10
    for reader in (client, ConfluentDriver(bootstrap), AiokafkaDriver(bootstrap)):
        assert_same_records(reader.consume_all(topic_name, [0]), records)
        found = reader.offsets_for_times(topic_name, {0: base + 155})
        assert found == {0: 16}, reader.name
        assert reader.offsets_for_times(topic_name, {0: base + 390}) == {0: 39}, reader.name
        assert reader.offsets_for_times(topic_name, {0: base + 391}) == {0: None}, reader.name


# --- 5. topic configs ---------------------------------------------------------------------------

CONFIG_WAYS = [
    ("confluent", "alter"),
    ("confluent", "incremental"),
    ("kafka-python", "alter"),
    ("kafka-python", "incremental"),
    ("aiokafka", "alter"),
]


def set_configs(client: Driver, way: str, topic: str, configs: dict[str, str]) -> None:
    if way == "alter":
        client.alter_configs(topic, configs)
    else:
        client.incremental_alter_configs(topic, [(k, "SET", v) for k, v in configs.items()])


@pytest.mark.parametrize(
    ("client_name", "way"), CONFIG_WAYS, ids=[f"{c}-{w}" for c, w in CONFIG_WAYS]
)
def test_describe_and_alter_topic_configs(
    client_name: str, way: str, bootstrap: str, topic_name: str
) -> None:
    client = driver(client_name, bootstrap)
    client.create_topic(topic_name, 1, {"retention.ms": "86400000"})
    before = client.describe_configs(topic_name)
    assert before["retention.ms"] == ConfigValue("86400000", False)
    assert before["cleanup.policy"] == ConfigValue("delete", True)
    assert before["max.message.bytes"] == ConfigValue("1048588", True)
    assert before["segment.bytes"] == ConfigValue("1073741824", True)

    wanted = {"retention.ms": "3600000", "cleanup.policy": "compact", "max.message.bytes": "4096"}
    set_configs(client, way, topic_name, wanted)
    after = client.describe_configs(topic_name)
    for name, value in wanted.items():
        assert after[name] == ConfigValue(value, False), name
    assert after["segment.bytes"] == ConfigValue("1073741824", True)

    invalid = [
        {"retention.ms": "not-a-number"},
        {"cleanup.policy": "bogus"},
        {"max.message.bytes": "-5"},
        {"segment.bytes": "10"},
        {"message.timestamp.type": "WallClockTime"},
        {"no.such.topic.config": "1"},
    ]
    for configs in invalid:
        with pytest.raises(AdminFailed) as refused:
            set_configs(client, way, topic_name, {**wanted, **configs})
        assert refused.value.code == INVALID_CONFIG, configs
    assert client.describe_configs(topic_name) == after, "a refused change altered the topic"


@pytest.mark.parametrize("client_name", ["confluent", "kafka-python"])
def test_incremental_alter_configs_append_subtract_delete(
    client_name: str, bootstrap: str, topic_name: str
) -> None:
    client = driver(client_name, bootstrap)
    client.create_topic(topic_name, 1)
    client.incremental_alter_configs(
        topic_name, [("cleanup.policy", "APPEND", "compact"), ("retention.ms", "SET", "1000")]
    )
    described = client.describe_configs(topic_name)
    assert described["cleanup.policy"] == ConfigValue("delete,compact", False)
    assert described["retention.ms"] == ConfigValue("1000", False)

    client.incremental_alter_configs(topic_name, [("cleanup.policy", "SUBTRACT", "delete")])
    described = client.describe_configs(topic_name)
    assert described["cleanup.policy"] == ConfigValue("compact", False)
    assert described["retention.ms"] == ConfigValue("1000", False), "SUBTRACT touched another key"

    client.incremental_alter_configs(topic_name, [("retention.ms", "DELETE", None)])
    described = client.describe_configs(topic_name)
    assert described["retention.ms"] == ConfigValue("604800000", True)
    assert described["cleanup.policy"] == ConfigValue("compact", False)

    with pytest.raises(AdminFailed) as refused:
        client.incremental_alter_configs(topic_name, [("retention.ms", "APPEND", "5")])
    assert refused.value.code == INVALID_CONFIG


def test_alter_configs_replaces_the_whole_set(bootstrap: str, topic_name: str) -> None:
    """Kafka's (non-incremental) AlterConfigs: keys left out go back to their defaults."""
    client = ConfluentDriver(bootstrap)
    client.create_topic(topic_name, 1, {"retention.ms": "1000", "cleanup.policy": "compact"})
    client.alter_configs(topic_name, {"max.message.bytes": "5000"})
    described = client.describe_configs(topic_name)
    assert described["max.message.bytes"] == ConfigValue("5000", False)
    assert described["retention.ms"] == ConfigValue("604800000", True)
    assert described["cleanup.policy"] == ConfigValue("delete", True)


def test_create_topic_with_invalid_config_is_refused(bootstrap: str, topic_name: str) -> None:
    client = ConfluentDriver(bootstrap)
    with pytest.raises(AdminFailed) as refused:
        client.create_topic(topic_name, 1, {"retention.ms": "soon"})
    assert refused.value.code == INVALID_CONFIG
    assert topic_name not in client.partition_counts()


@pytest.mark.parametrize("client_name", ALL_CLIENTS)
def test_max_message_bytes_is_enforced(client_name: str, bootstrap: str, topic_name: str) -> None:
    """A lowered max.message.bytes takes effect: small records still go in, a batch larger than
    the limit is refused with MESSAGE_TOO_LARGE and nothing of it is stored."""
    admin = ConfluentDriver(bootstrap)
    admin.create_topic(topic_name, 1)
    admin.incremental_alter_configs(topic_name, [("max.message.bytes", "SET", "2000")])
    client = driver(client_name, bootstrap)
    small = [Rec(0, b"small", b"s" * 100, (), None)]
    big = [Rec(0, b"big", b"b" * 5000, (), None)]
    client.produce(topic_name, small)
    if client_name == "kcat":
        args = ["-P", "-b", bootstrap, "-t", topic_name, "-p", "0", "-K", "\t"]
        args += ["-X", "message.timeout.ms=5000"]
        done = run_kcat(*args, stdin=b"big\t" + b"b" * 5000 + b"\n")
        assert done.returncode != 0 or b"too large" in done.stderr.lower(), done
    else:
        with pytest.raises(Exception) as refused:  # each client raises its own type
            client.produce(topic_name, big)
        assert re.search(r"too.?large", str(refused.value), re.IGNORECASE) or (
            type(refused.value).__name__ == "MessageSizeTooLargeError"
        ), repr(refused.value)
    assert client.end_offsets(topic_name, [0]) == {0: 1}
    consumed = client.consume_all(topic_name, [0])
    assert [(r.key, r.value) for r in consumed] == [(b"small", b"s" * 100)]


# --- 6. delete topics ---------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ADMIN_CLIENTS)
def test_delete_topic(
    client_name: str, bootstrap: str, shared_broker: BrokerProcess, topic_name: str
) -> None:
    client = driver(client_name, bootstrap)
    client.create_topic(topic_name, 3)
    client.produce(topic_name, keyed_records(3, 9))
    assert client.end_offsets(topic_name, [0, 1, 2]) == {0: 3, 1: 3, 2: 3}

    client.delete_topic(topic_name)
    assert topic_name not in client.partition_counts()
    assert not shared_broker.partition_dir(topic_name, 0).exists()
    with pytest.raises(AdminFailed) as missing:
        client.delete_topic(topic_name)
    assert missing.value.code == UNKNOWN_TOPIC_OR_PARTITION

    # Re-created under the same name (with fewer partitions) it starts empty, at offset 0.
    client.create_topic(topic_name, 2)
    assert client.partition_counts()[topic_name] == 2
    assert client.end_offsets(topic_name, [0, 1]) == {0: 0, 1: 0}
    fresh = keyed_records(2, 4)
    assert client.produce(topic_name, fresh) == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert_same_records(client.consume_all(topic_name, [0, 1]), fresh)


# --- 7. create partitions -----------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ADMIN_CLIENTS)
def test_create_partitions(
    client_name: str, bootstrap: str, shared_broker: BrokerProcess, topic_name: str
) -> None:
    client = driver(client_name, bootstrap)
    client.create_topic(topic_name, 2)
    before = keyed_records(2, 4)
    client.produce(topic_name, before)

    client.create_partitions(topic_name, 7, validate_only=True)
    assert client.partition_counts()[topic_name] == 2, "validate_only added partitions"
    assert not shared_broker.partition_dir(topic_name, 2).exists()

    client.create_partitions(topic_name, 5)
    assert client.partition_counts()[topic_name] == 5
    assert shared_broker.partition_dir(topic_name, 4).is_dir()

    after = keyed_records(5, 10)
    client.produce(topic_name, after)
    consumed = client.consume_all(topic_name, [0, 1, 2, 3, 4])
    assert_same_records(consumed, before + after)

    with pytest.raises(AdminFailed) as refused:
        client.create_partitions(topic_name, 3)  # fewer than it has
    assert refused.value.code == INVALID_PARTITIONS
    assert client.partition_counts()[topic_name] == 5


# --- 8. idempotent producers --------------------------------------------------------------------

IDEMPOTENT = [("confluent", True), ("kafka-python", None), ("aiokafka", True)]


@pytest.mark.parametrize(
    ("client_name", "idempotent"),
    IDEMPOTENT,
    ids=["confluent-enable.idempotence", "kafka-python-default", "aiokafka-enable_idempotence"],
)
def test_idempotent_producer(
    client_name: str,
    idempotent: bool | None,
    bootstrap: str,
    shared_broker: BrokerProcess,
    topic_name: str,
) -> None:
    client = driver(client_name, bootstrap)
    client.create_topic(topic_name, 3)
    records = keyed_records(3, 300)
    delivered = client.produce(
        topic_name, records, idempotent=idempotent, compression="zstd", batching="small"
    )
    expected = with_offsets(records)
    assert delivered == [(r.partition, r.offset) for r in expected]
    assert client.end_offsets(topic_name, [0, 1, 2]) == {0: 100, 1: 100, 2: 100}
    assert_same_records(client.consume_all(topic_name, [0, 1, 2]), expected)

    # The records really went through the idempotent path, in many batches: one producer id, and
    # sequences that run with the offsets.
    producer_ids = set()
    for partition in range(3):
        batches = stored_batches(shared_broker, topic_name, partition)
        assert len(batches) >= 5, f"only {len(batches)} batches: sequences barely exercised"
        producer_ids |= {(b.producer_id, b.producer_epoch) for b in batches}
        assert [b.base_sequence for b in batches] == [b.base_offset for b in batches]
    assert len(producer_ids) == 1
    ((producer_id, epoch),) = producer_ids
    assert producer_id >= 0 and epoch >= 0


def test_two_idempotent_producers_get_distinct_ids(
    bootstrap: str, shared_broker: BrokerProcess, topic_name: str
) -> None:
    client = ConfluentDriver(bootstrap)
    client.create_topic(topic_name, 1)
    client.produce(topic_name, keyed_records(1, 5), idempotent=True)
    client.produce(topic_name, keyed_records(1, 5), idempotent=True)
    batches = stored_batches(shared_broker, topic_name, 0)
    assert len({b.producer_id for b in batches}) == 2
    assert client.end_offsets(topic_name, [0]) == {0: 10}


# --- 9. acks=0 and acks=1 -----------------------------------------------------------------------


@pytest.mark.parametrize("acks", [0, 1])
@pytest.mark.parametrize("client_name", ALL_CLIENTS)
def test_acks(client_name: str, acks: int, bootstrap: str, topic_name: str) -> None:
    client = driver(client_name, bootstrap)
    make_topic(client, topic_name, 2)
    records = keyed_records(2, 20) if client.has_admin else kcat_records(2, 10)
    # kafka-python's default idempotence needs acks=all, so it is switched off here.
    delivered = client.produce(topic_name, records, acks=acks, idempotent=False)
    if client.has_admin and acks == 1:
        assert delivered == [(r.partition, r.offset) for r in with_offsets(records)]
    elif client.has_admin:
        assert len(delivered) == len(records)  # acks=0: delivered without offsets
    assert wait_for_end_offsets(client, topic_name, counts(records)) == counts(records)
    consumed = client.consume_all(topic_name, [0, 1])
    if client.has_admin:
        assert_same_records(consumed, records)
    else:
        assert_same_records(consumed, records, client_time=(NOW_MS, int(time.time() * 1000)))


# --- message.timestamp.type=LogAppendTime -------------------------------------------------------


@pytest.mark.parametrize("client_name", ALL_CLIENTS)
def test_log_append_time_topic(client_name: str, bootstrap: str, topic_name: str) -> None:
    """On a LogAppendTime topic the broker's clock replaces the producer's timestamps, and
    consumers see the broker's time on every record."""
    client = driver(client_name, bootstrap)
    make_topic(client, topic_name, 1, {"message.timestamp.type": "LogAppendTime"})
    records = keyed_records(1, 5, ascii_only=True) if client.has_admin else kcat_records(1, 5)
    before = int(time.time() * 1000)
    client.produce(topic_name, records)
    after = int(time.time() * 1000)
    consumed = client.consume_all(topic_name, [0])
    expected = [replace(r, timestamp=None, log_append_time=True) for r in records]
    assert_same_records(consumed, expected, client_time=(before - 1, after + 1))
    # Lookups by time use the broker's timestamps too, not the producer's.
    assert client.offsets_for_times(topic_name, {0: NOW_MS - 3_600_000}) == {0: 0}
    assert client.offsets_for_times(topic_name, {0: after + 1000}) == {0: None}
