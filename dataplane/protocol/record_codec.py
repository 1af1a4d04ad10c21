"""Records inside a v2 batch: decode them (decompressing) and encode new batches.

Only features that must look inside batches use this (offset lookup by timestamp, the consumer
offsets topic, compaction); the produce and fetch paths keep batches opaque.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from crc32c import crc32c

from dataplane.protocol.compression import decompress
from dataplane.protocol.primitives import Reader, encode_varint
from dataplane.protocol.records import (
    COMPRESSION_MASK,
    HEADER_SIZE,
    LOG_OVERHEAD,
    NO_PRODUCER_ID,
    NO_SEQUENCE,
    TIMESTAMP_TYPE_BIT,
    BatchHeader,
    read_header,
)

_HEADER_AFTER_CRC = struct.Struct(">hiqqqhii")
_PREFIX = struct.Struct(">qiib")


@dataclass(slots=True)
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


def _nullable_bytes(reader: Reader) -> bytes | None:
    size = reader.varint()
    return None if size < 0 else bytes(reader.raw(size))


def decode_records(batch: bytes | bytearray | memoryview) -> tuple[BatchHeader, list[Record]]:
    """The header and every record of one stored batch."""
    header = read_header(batch)
    payload = decompress(
        header.attributes & COMPRESSION_MASK, bytes(batch[HEADER_SIZE : header.size])
    )
    log_append_time = header.attributes & TIMESTAMP_TYPE_BIT
    reader = Reader(payload)
    records = []
    for _ in range(header.records_count):
        length = reader.varint()
        end = reader.pos + length
        reader.int8()  # record attributes: unused in v2
        timestamp_delta = reader.varint()
        offset_delta = reader.varint()
        key = _nullable_bytes(reader)
        value = _nullable_bytes(reader)
        headers = []
        for _ in range(reader.varint()):
            name_size = reader.varint()
            name = str(reader.raw(name_size), "utf-8")
            headers.append((name, _nullable_bytes(reader)))
        timestamp = (
            header.max_timestamp if log_append_time else header.base_timestamp + timestamp_delta
        )
        records.append(Record(header.base_offset + offset_delta, timestamp, key, value, headers))
        reader.pos = end
    return header, records


def record_timestamps(batch: bytes | bytearray | memoryview) -> list[tuple[int, int]]:
    """(offset, timestamp) of every record in one stored batch."""
    return [(r.offset, r.timestamp) for r in decode_records(batch)[1]]


def _varint_bytes(value: bytes | None) -> bytes:
    if value is None:
        return encode_varint(-1)
    return encode_varint(len(value)) + value


def _encode_record(record: Record, base_offset: int, base_timestamp: int) -> bytes:
    body = bytearray(b"\x00")
    body += encode_varint(record.timestamp - base_timestamp)
    body += encode_varint(record.offset - base_offset)
    body += _varint_bytes(record.key)
    body += _varint_bytes(record.value)
    body += encode_varint(len(record.headers))
    for name, value in record.headers:
        body += _varint_bytes(name.encode())
        body += _varint_bytes(value)
    return encode_varint(len(body)) + bytes(body)


def encode_batch(
    records: list[Record],
    *,
    base_offset: int | None = None,
    last_offset_delta: int | None = None,
    partition_leader_epoch: int = -1,
    attributes: int = 0,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = -1,
    base_sequence: int = NO_SEQUENCE,
    max_timestamp: int | None = None,
) -> bytes:
    """An uncompressed v2 batch holding `records` at their own offsets and timestamps.

    Compression bits in `attributes` are cleared; the timestamp type and flags are kept."""
    if not records:
        raise ValueError("a batch needs at least one record")
    base = records[0].offset if base_offset is None else base_offset
    base_timestamp = min(r.timestamp for r in records)
    newest = max(r.timestamp for r in records) if max_timestamp is None else max_timestamp
    payload = b"".join(_encode_record(r, base, base_timestamp) for r in records)
    delta = records[-1].offset - base if last_offset_delta is None else last_offset_delta
    after_crc = (
        _HEADER_AFTER_CRC.pack(
            attributes & ~COMPRESSION_MASK,
            delta,
            base_timestamp,
            newest,
            producer_id,
            producer_epoch,
            base_sequence,
            len(records),
        )
        + payload
    )
    batch_length = HEADER_SIZE - LOG_OVERHEAD + len(payload)
    return (
        _PREFIX.pack(base, batch_length, partition_leader_epoch, 2)
        + struct.pack(">I", crc32c(after_crc))
        + after_crc
    )
