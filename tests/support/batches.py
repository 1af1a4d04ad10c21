"""Build Kafka record batches (magic v2, uncompressed) byte by byte, for storage unit tests.

Independent of dataplane's own code so that tests check the broker against the wire format rather
than against itself: header layout, CRC-32C over attributes..end, zigzag varints in records.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from crc32c import crc32c

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
NO_SEQUENCE = -1

# Fields after the CRC: attributes, last offset delta, base timestamp, max timestamp, producer id,
# producer epoch, base sequence, record count.
_AFTER_CRC = struct.Struct(">hiqqqhii")
_BEFORE_CRC = struct.Struct(">qiib")  # base offset, batch length, partition leader epoch, magic
_CRC = struct.Struct(">I")
HEADER_SIZE = _BEFORE_CRC.size + _CRC.size + _AFTER_CRC.size  # 61
CRC_POSITION = _BEFORE_CRC.size  # 17


def varint(value: int) -> bytes:
    """Zigzag-encoded signed varint (Kafka's `varint`/`varlong`)."""
    zigzag = (value << 1) ^ (value >> 63)
    zigzag &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = zigzag & 0x7F
        zigzag >>= 7
        if zigzag:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes_field(value: bytes | None) -> bytes:
    if value is None:
        return varint(-1)
    return varint(len(value)) + value


def encode_record(
    offset_delta: int,
    timestamp_delta: int,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]] = (),
) -> bytes:
    body = bytearray()
    body += b"\x00"  # record attributes
    body += varint(timestamp_delta)
    body += varint(offset_delta)
    body += _bytes_field(key)
    body += _bytes_field(value)
    body += varint(len(headers))
    for name, header_value in headers:
        body += _bytes_field(name.encode())
        body += _bytes_field(header_value)
    return varint(len(body)) + bytes(body)


def build_batch(
    values: Iterable[bytes | None],
    *,
    keys: Sequence[bytes | None] | None = None,
    base_offset: int = 0,
    base_timestamp: int = 1_700_000_000_000,
    timestamps: Sequence[int] | None = None,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = NO_PRODUCER_EPOCH,
    base_sequence: int = NO_SEQUENCE,
    partition_leader_epoch: int = -1,
    attributes: int = 0,
) -> bytes:
    """One uncompressed v2 batch holding `values` (one record each) with a correct CRC-32C.

    `timestamps` gives each record's absolute timestamp (default: all `base_timestamp`); the batch's
    base timestamp is then the first of them and its max timestamp the largest.
    """
    values = list(values)
    if not values:
        raise ValueError("a batch needs at least one record")
    if timestamps is None:
        timestamps = [base_timestamp] * len(values)
    if len(timestamps) != len(values):
        raise ValueError("one timestamp per record")
    if keys is None:
        keys = [None] * len(values)
    first_ts = timestamps[0]
    records = b"".join(
        encode_record(i, ts - first_ts, key, value)
        for i, (key, value, ts) in enumerate(zip(keys, values, timestamps, strict=True))
    )
    after_crc = (
        _AFTER_CRC.pack(
            attributes,
            len(values) - 1,
            first_ts,
            max(timestamps),
            producer_id,
            producer_epoch,
            base_sequence,
            len(values),
        )
        + records
    )
    crc = crc32c(after_crc)
    batch_length = len(after_crc) + _CRC.size + 4 + 1  # leader epoch + magic + crc + rest
    return (
        _BEFORE_CRC.pack(base_offset, batch_length, partition_leader_epoch, 2)
        + _CRC.pack(crc)
        + after_crc
    )


def batch_size(batch: bytes, position: int = 0) -> int:
    """Total bytes of the batch at `position` (its batch length plus the 12 bytes before it)."""
    (length,) = struct.unpack_from(">i", batch, position + 8)
    return length + 12


def split_batches(data: bytes) -> list[bytes]:
    """Whole batches in `data`; a trailing partial batch is returned as is (short)."""
    out = []
    position = 0
    while position + 12 <= len(data):
        size = batch_size(data, position)
        out.append(data[position : position + size])
        position += size
    return out


def batch_base_offset(batch: bytes) -> int:
    return struct.unpack_from(">q", batch, 0)[0]


def batch_record_count(batch: bytes) -> int:
    return struct.unpack_from(">i", batch, 57)[0]


def decode_records(batch: bytes) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """(offset, timestamp, key, value) of each record of an uncompressed batch."""
    base_offset = batch_base_offset(batch)
    (base_timestamp,) = struct.unpack_from(">q", batch, 27)
    count = batch_record_count(batch)
    pos = HEADER_SIZE

    def read_varint() -> int:
        nonlocal pos
        result = shift = 0
        while True:
            byte = batch[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7

    def read_bytes() -> bytes | None:
        nonlocal pos
        length = read_varint()
        if length < 0:
            return None
        value = batch[pos : pos + length]
        pos += length
        return value

    out = []
    for _ in range(count):
        length = read_varint()
        end = pos + length
        pos += 1  # attributes
        ts_delta = read_varint()
        offset_delta = read_varint()
        key = read_bytes()
        value = read_bytes()
        pos = end
        out.append((base_offset + offset_delta, base_timestamp + ts_delta, key, value))
    return out
