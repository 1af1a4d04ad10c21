"""Sparse segment indexes, kept in memory and appended to Kafka-format files.

`.index`: (relative offset int32, byte position int32) entries; `.timeindex`: (timestamp int64,
relative offset int32) entries with non-decreasing timestamps. Both map a target to the greatest entry
not above it, from which a scan of batch headers finds the exact batch.
"""

from __future__ import annotations

import os
import struct
from bisect import bisect_right
from pathlib import Path

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


class _IndexFile:
    """Append-only entry file: opened lazily, truncated and rewritten only during recovery."""

    def __init__(self, path: Path, entry: struct.Struct) -> None:
        self.path = path
        self._entry = entry
        self._fd: int | None = None

    def load(self) -> list[tuple[int, int]]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        usable = len(data) - len(data) % self._entry.size
        return [self._entry.unpack_from(data, pos) for pos in range(0, usable, self._entry.size)]

    def append(self, first: int, second: int) -> None:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(self._fd, self._entry.pack(first, second))

    def rewrite(self, entries: list[tuple[int, int]]) -> None:
        self.close()
        self.path.write_bytes(b"".join(self._entry.pack(a, b) for a, b in entries))

    def flush(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class OffsetIndex:
    def __init__(self, path: Path, base_offset: int) -> None:
        self.base_offset = base_offset
        self._file = _IndexFile(path, _OFFSET_ENTRY)
        self._offsets: list[int] = []
        self._positions: list[int] = []

    def load(self) -> None:
        entries = self._file.load()
        self._offsets = [self.base_offset + rel for rel, _ in entries]
        self._positions = [pos for _, pos in entries]

    def append(self, offset: int, position: int) -> None:
        if self._offsets and offset <= self._offsets[-1]:
            return
        self._offsets.append(offset)
        self._positions.append(position)
        self._file.append(offset - self.base_offset, position)

    def lookup(self, offset: int) -> int:
        """Byte position of the last indexed batch starting at or before `offset` (0 if none)."""
        index = bisect_right(self._offsets, offset) - 1
        return self._positions[index] if index >= 0 else 0

    @property
    def last_position(self) -> int:
        return self._positions[-1] if self._positions else 0

    def truncate_to_position(self, position: int) -> None:
        """Drop entries at or past `position` (a truncated log tail)."""
        keep = bisect_right(self._positions, position - 1)
        self._offsets, self._positions = self._offsets[:keep], self._positions[:keep]
        self.rewrite()

    def reset(self, entries: list[tuple[int, int]]) -> None:
        self._offsets = [offset for offset, _ in entries]
        self._positions = [position for _, position in entries]
        self.rewrite()

    def rewrite(self) -> None:
        self._file.rewrite(
            [(o - self.base_offset, p) for o, p in zip(self._offsets, self._positions, strict=True)]
        )

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def delete(self) -> None:
        self._file.close()
        self._file.path.unlink(missing_ok=True)


class TimeIndex:
    def __init__(self, path: Path, base_offset: int) -> None:
        self.base_offset = base_offset
        self._file = _IndexFile(path, _TIME_ENTRY)
        self._timestamps: list[int] = []
        self._offsets: list[int] = []

    def load(self) -> None:
        entries = self._file.load()
        self._timestamps = [ts for ts, _ in entries]
        self._offsets = [self.base_offset + rel for _, rel in entries]

    def append(self, timestamp: int, offset: int) -> None:
        if self._timestamps and timestamp <= self._timestamps[-1]:
            return
        self._timestamps.append(timestamp)
        self._offsets.append(offset)
        self._file.append(timestamp, offset - self.base_offset)

    def lookup(self, timestamp: int) -> int:
        """An offset at or before the first record with a timestamp ≥ `timestamp`."""
        index = bisect_right(self._timestamps, timestamp - 1) - 1
        return self._offsets[index] if index >= 0 else self.base_offset

    @property
    def last_entry(self) -> tuple[int, int]:
        """(largest timestamp, its offset) indexed so far, or (-1, -1)."""
        if not self._timestamps:
            return -1, -1
        return self._timestamps[-1], self._offsets[-1]

    def truncate_to_offset(self, offset: int) -> None:
        keep = bisect_right(self._offsets, offset - 1)
        self._timestamps, self._offsets = self._timestamps[:keep], self._offsets[:keep]
        self._file.rewrite(
            [
                (t, o - self.base_offset)
                for t, o in zip(self._timestamps, self._offsets, strict=True)
            ]
        )

    def reset(self, entries: list[tuple[int, int]]) -> None:
        self._timestamps = [ts for ts, _ in entries]
        self._offsets = [offset for _, offset in entries]
        self._file.rewrite([(t, o - self.base_offset) for t, o in entries])

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def delete(self) -> None:
        self._file.close()
        self._file.path.unlink(missing_ok=True)
