"""Kafka's checkpoint files: a version line, a count line, then one entry per line.

Written to a temporary file, fsynced and renamed over the old one, so a crash leaves either the old
or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

CHECKPOINT_VERSION = 0


def write_atomically(path: Path, text: str) -> None:
    temp = path.with_name(path.name + ".tmp")
    with open(temp, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_entries(path: Path, entries: Iterable[Sequence[object]]) -> None:
    lines = [" ".join(str(part) for part in entry) for entry in entries]
    write_atomically(path, "\n".join([str(CHECKPOINT_VERSION), str(len(lines)), *lines]) + "\n")


def read_entries(path: Path) -> list[list[str]]:
    """Entries of a checkpoint file; a missing file has none. A malformed one raises ValueError."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return []
    if len(lines) < 2 or int(lines[0]) != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: not a version {CHECKPOINT_VERSION} checkpoint")
    count = int(lines[1])
    entries = [line.split() for line in lines[2 : 2 + count]]
    if len(entries) != count:
        raise ValueError(f"{path}: expected {count} entries, found {len(entries)}")
    return entries


def read_partition_offsets(path: Path) -> dict[tuple[str, int], int]:
    """A log-dir checkpoint (`topic partition offset` lines)."""
    return {(topic, int(part)): int(offset) for topic, part, offset in read_entries(path)}


def write_partition_offsets(path: Path, offsets: dict[tuple[str, int], int]) -> None:
    write_entries(
        path, ((topic, part, offset) for (topic, part), offset in sorted(offsets.items()))
    )
