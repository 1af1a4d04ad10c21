"""One log segment: a `.log` file of record batches as stored, with its offset and time indexes."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

from dataplane.protocol.records import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    BatchHeader,
    crc_matches,
    peek_offset_and_size,
    read_header,
)
from dataplane.storage.index import OffsetIndex, TimeIndex

_SCAN_CHUNK = 1 << 20


def segment_name(base_offset: int, suffix: str) -> str:
    return f"{base_offset:020d}{suffix}"


class DiskUsage:
    """Bytes held by a set of segments (a broker's log dirs), kept current as segments are opened,
    grow, shrink and close, so that a quota check reads a number instead of walking the disk.
    Counts `.log` files only: indexes add well under 1% and checkpoints a few bytes."""

    __slots__ = ("bytes",)

    def __init__(self) -> None:
        self.bytes = 0


class LogSegment:
    def __init__(
        self,
        directory: Path,
        base_offset: int,
        index_interval_bytes: int,
        usage: DiskUsage | None = None,
    ) -> None:
        self.base_offset = base_offset
        self.log_path = directory / segment_name(base_offset, ".log")
        self.offset_index = OffsetIndex(
            directory / segment_name(base_offset, ".index"), base_offset
        )
        self.time_index = TimeIndex(
            directory / segment_name(base_offset, ".timeindex"), base_offset
        )
        self.index_interval_bytes = index_interval_bytes
        self._fd = os.open(self.log_path, os.O_RDWR | os.O_CREAT, 0o644)
        self._usage = usage if usage is not None else DiskUsage()
        self._size = 0
        self.size = os.fstat(self._fd).st_size
        self.next_offset = base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        self.created_at = time.time()  # replaced by the first batch's timestamp once there is one
        self._bytes_since_index = 0

    @property
    def size(self) -> int:
        return self._size

    @size.setter
    def size(self, value: int) -> None:
        self._usage.bytes += value - self._size
        self._size = value

    # --- loading and recovery -------------------------------------------------------------------

    def load(self, recover: bool) -> int:
        """Read indexes and find the segment's end. With `recover`, check every batch's CRC, truncate
        at the first invalid one and rebuild both indexes. Returns the bytes truncated."""
        if recover:
            return self._recover()
        self.offset_index.load()
        self.time_index.load()
        self.max_timestamp, self.offset_of_max_timestamp = self.time_index.last_entry
        self._scan_tail(self.offset_index.last_position)
        return 0

    def _scan_tail(self, start: int) -> None:
        for header in self.headers(start):
            self._note_batch(header)
        self._bytes_since_index = 0
        self._note_rolling_start()

    def _note_rolling_start(self) -> None:
        """After a restart, segment.ms counts from the first batch's timestamp (as Kafka does), so
        restarts do not postpone rolls; within a run it counts from the first append."""
        first = next(self.headers(0), None)
        if first is not None and first.max_timestamp >= 0:
            self.created_at = first.max_timestamp / 1000

    def _recover(self) -> int:
        valid_end = 0
        offset_entries: list[tuple[int, int]] = []
        time_entries: list[tuple[int, int]] = []
        since_index = self.index_interval_bytes
        for header in self.headers(0, verify=True):
            if since_index >= self.index_interval_bytes:
                offset_entries.append((header.base_offset, header.position))
                since_index = 0
            since_index += header.size
            if header.max_timestamp > self.max_timestamp:
                time_entries.append((header.max_timestamp, header.last_offset))
            self._note_batch(header)
            valid_end = header.position + header.size
        truncated = self.size - valid_end
        if truncated:
            os.ftruncate(self._fd, valid_end)
            self.size = valid_end
        self.offset_index.reset(offset_entries)
        self.time_index.reset(time_entries)
        self._bytes_since_index = since_index
        self._note_rolling_start()
        return truncated

    def _note_batch(self, header: BatchHeader) -> None:
        self.next_offset = header.last_offset + 1
        if header.max_timestamp > self.max_timestamp:
            self.max_timestamp = header.max_timestamp
            self.offset_of_max_timestamp = header.last_offset

    def headers(self, start: int = 0, verify: bool = False) -> Iterator[BatchHeader]:
        """Batch headers from byte `start` to the end; stops at a torn or (with verify) corrupt batch."""
        position = start
        while position + HEADER_SIZE <= self.size:
            head = os.pread(self._fd, HEADER_SIZE, position)
            if len(head) < HEADER_SIZE:
                return
            header = read_header(head)
            header.position = position
            if header.magic != 2 or header.batch_length < HEADER_SIZE - LOG_OVERHEAD:
                return
            if position + header.size > self.size:
                return
            if verify:
                body = os.pread(self._fd, header.size, position)
                header.position = 0
                if not crc_matches(body, header):
                    return
                header.position = position
            yield header
            position += header.size

    # --- appends --------------------------------------------------------------------------------

    def append(self, data: bytes | bytearray | memoryview, headers: list[BatchHeader]) -> None:
        """Write batches (already stamped with offsets) at the end; `headers` positions are relative
        to `data`."""
        position = self.size
        written = os.pwrite(self._fd, data, position)
        if written != len(data):
            raise OSError(f"short write to {self.log_path}: {written} of {len(data)} bytes")
        for header in headers:
            if self._bytes_since_index >= self.index_interval_bytes or position == 0:
                self.offset_index.append(header.base_offset, position + header.position)
                self._bytes_since_index = 0
            self._bytes_since_index += header.size
            if header.max_timestamp > self.max_timestamp:
                self.time_index.append(header.max_timestamp, header.last_offset)
            self._note_batch(header)
        if position == 0:
            self.created_at = time.time()
        self.size = position + len(data)

    # --- reads ----------------------------------------------------------------------------------

    def find_position(self, offset: int) -> tuple[int, BatchHeader | None]:
        """Byte position of the batch that contains `offset` (or the first batch after it)."""
        for header in self.headers(self.offset_index.lookup(offset)):
            if header.last_offset >= offset:
                return header.position, header
        return self.size, None

    def read(self, position: int, max_bytes: int) -> bytes:
        return os.pread(self._fd, max(0, min(max_bytes, self.size - position)), position)

    def batch_size_at(self, position: int) -> int:
        head = os.pread(self._fd, LOG_OVERHEAD, position)
        return peek_offset_and_size(head, 0)[1] if len(head) == LOG_OVERHEAD else 0

    def read_batch(self, header: BatchHeader) -> bytes:
        return os.pread(self._fd, header.size, header.position)

    # --- maintenance ----------------------------------------------------------------------------

    def truncate_to(self, offset: int) -> None:
        """Remove the batch holding `offset` and all after it (batches are dropped whole)."""
        position, _ = self.find_position(offset)
        os.ftruncate(self._fd, position)
        self.size = position
        self.offset_index.truncate_to_position(position)
        self.time_index.truncate_to_offset(offset)
        self.next_offset = self.base_offset
        self.max_timestamp = self.offset_of_max_timestamp = -1
        self._scan_tail(0)

    @property
    def last_modified(self) -> float:
        return os.fstat(self._fd).st_mtime

    def flush(self) -> None:
        os.fsync(self._fd)
        self.offset_index.flush()
        self.time_index.flush()

    def close(self) -> None:
        """Close the files; the segment no longer counts in its usage (it is deleted, replaced by a
        compacted copy, or the broker stops)."""
        os.close(self._fd)
        self.offset_index.close()
        self.time_index.close()
        self._usage.bytes -= self._size
        self._usage = DiskUsage()

    def delete(self) -> None:
        self.close()
        self.log_path.unlink(missing_ok=True)
        self.offset_index.delete()
        self.time_index.delete()
