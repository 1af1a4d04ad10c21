"""Record batches (magic v2) as opaque bytes: only the 61-byte header is ever parsed.

Layout of the header, big-endian:
  0 base_offset int64 | 8 batch_length int32 | 12 partition_leader_epoch int32 | 16 magic int8 |
  17 crc uint32 | 21 attributes int16 | 23 last_offset_delta int32 | 27 base_timestamp int64 |
  35 max_timestamp int64 | 43 producer_id int64 | 51 producer_epoch int16 | 53 base_sequence int32 |
  57 records_count int32
The CRC-32C covers bytes 21..end, so base offset and leader epoch can be patched in place.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from crc32c import crc32c

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # base_offset + batch_length, the part of the header outside batch_length
_HEADER = struct.Struct(">qiibIhiqqqhii")
_OFFSET_AND_LENGTH = struct.Struct(">qi")
_BASE_OFFSET = struct.Struct(">q")
_LEADER_EPOCH = struct.Struct(">i")

NO_PRODUCER_ID = -1
NO_SEQUENCE = -1
COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_BIT = 0x08
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20


class InvalidBatch(ValueError):
    """A record batch that cannot be stored; `corrupt` separates bad CRCs from bad structure."""

    def __init__(self, message: str, corrupt: bool = False) -> None:
        super().__init__(message)
        self.corrupt = corrupt


@dataclass(slots=True)
class BatchHeader:
    position: int  # byte position of the batch within the buffer it was parsed from
    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def last_sequence(self) -> int:
        if self.base_sequence == NO_SEQUENCE:
            return NO_SEQUENCE
        return (self.base_sequence + self.last_offset_delta) & 0x7FFFFFFF

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_BIT)


def read_header(buf: bytes | bytearray | memoryview, position: int = 0) -> BatchHeader:
    return BatchHeader(position, *_HEADER.unpack_from(buf, position))


def peek_offset_and_size(buf: bytes | bytearray | memoryview, position: int) -> tuple[int, int]:
    """(base_offset, total size) of the batch at `position`, from its first 12 bytes."""
    base_offset, batch_length = _OFFSET_AND_LENGTH.unpack_from(buf, position)
    return base_offset, batch_length + LOG_OVERHEAD


def parse_batches(buf: bytes | bytearray | memoryview, max_batch_size: int) -> list[BatchHeader]:
    """Validate a produce request's records field: whole v2 batches, CRCs intact, sizes in bounds."""
    view = memoryview(buf)
    batches = []
    position = 0
    end = len(view)
    while position < end:
        if end - position < HEADER_SIZE:
            raise InvalidBatch("records end with a partial batch header", corrupt=True)
        header = read_header(view, position)
        if header.magic != 2:
            raise InvalidBatch(f"record batch magic {header.magic} is not supported (only v2)")
        if header.batch_length < HEADER_SIZE - LOG_OVERHEAD or position + header.size > end:
            raise InvalidBatch(f"batch length {header.batch_length} does not fit", corrupt=True)
        if header.size > max_batch_size:
            raise InvalidBatch(
                f"batch of {header.size} bytes exceeds the limit of {max_batch_size}"
            )
        if header.records_count <= 0 or header.last_offset_delta < 0:
            raise InvalidBatch("batch holds no records", corrupt=True)
        if crc32c(view[position + 21 : position + header.size]) != header.crc:
            raise InvalidBatch("record batch CRC mismatch", corrupt=True)
        batches.append(header)
        position += header.size
    if not batches:
        raise InvalidBatch("produce request carries no record batch", corrupt=True)
    return batches


def complete_batches(buf: bytes | bytearray | memoryview) -> tuple[list[BatchHeader], int]:
    """Whole, CRC-valid v2 batches at the start of a fetched records blob, and their byte length.

    A fetch response may end with a partial batch; it is left out. A corrupt batch raises."""
    view = memoryview(buf)
    headers = []
    position = 0
    while len(view) - position >= HEADER_SIZE:
        header = read_header(view, position)
        if position + header.size > len(view):
            break
        if header.magic != 2 or not crc_matches(view, header):
            raise InvalidBatch(f"corrupt batch at offset {header.base_offset}", corrupt=True)
        headers.append(header)
        position += header.size
    return headers, position


def crc_matches(buf: bytes | bytearray | memoryview, header: BatchHeader) -> bool:
    start = header.position
    return crc32c(memoryview(buf)[start + 21 : start + header.size]) == header.crc


def stamp(buf: bytearray, position: int, base_offset: int, leader_epoch: int) -> None:
    """Assign the broker's offset and leader epoch to a batch (both lie outside the CRC)."""
    _BASE_OFFSET.pack_into(buf, position, base_offset)
    _LEADER_EPOCH.pack_into(buf, position + 12, leader_epoch)


_ATTRIBUTES = struct.Struct(">h")
_TIMESTAMP = struct.Struct(">q")
_CRC = struct.Struct(">I")


def with_log_append_time(
    data: bytes | memoryview, headers: list[BatchHeader], append_time: int
) -> bytearray:
    """Copy of `data` with every batch marked LogAppendTime at `append_time` (CRCs recomputed)."""
    buf = bytearray(data)
    for header in headers:
        start = header.position
        header.attributes |= TIMESTAMP_TYPE_BIT
        header.max_timestamp = append_time
        _ATTRIBUTES.pack_into(buf, start + 21, header.attributes)
        _TIMESTAMP.pack_into(buf, start + 35, append_time)
        header.crc = crc32c(memoryview(buf)[start + 21 : start + header.size])
        _CRC.pack_into(buf, start + 17, header.crc)
    return buf
