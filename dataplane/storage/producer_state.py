"""Idempotent-producer state of one partition: the last batches each producer wrote.

A retried batch (same producer, epoch and sequence range as one of the last five) is a duplicate and is
answered with its original offsets; a batch whose first sequence does not follow the last one is out of
order. State is rebuilt from batch headers after a snapshot, so it survives restarts.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from dataplane.protocol.errors import ErrorCode
from dataplane.protocol.records import NO_PRODUCER_ID, BatchHeader
from dataplane.storage.checkpoints import write_atomically

RETAINED_BATCHES = 5  # what Kafka keeps; producers have at most five batches in flight
SNAPSHOT_SUFFIX = ".snapshot"


@dataclass(frozen=True, slots=True)
class BatchRecord:
    first_sequence: int
    last_sequence: int
    first_offset: int
    last_offset: int


@dataclass(slots=True)
class ProducerEntry:
    epoch: int
    batches: deque[BatchRecord] = field(default_factory=lambda: deque(maxlen=RETAINED_BATCHES))

    @property
    def last_sequence(self) -> int | None:
        return self.batches[-1].last_sequence if self.batches else None


class SequenceError(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class ProducerStateManager:
    def __init__(self) -> None:
        self.producers: dict[int, ProducerEntry] = {}

    def find_duplicate(self, header: BatchHeader) -> BatchRecord | None:
        """The stored batch this one retries, or None; raises SequenceError for a bad sequence."""
        if header.producer_id == NO_PRODUCER_ID:
            return None
        entry = self.producers.get(header.producer_id)
        if entry is None:
            if header.base_sequence != 0:
                raise SequenceError(
                    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"producer {header.producer_id} is unknown and starts at sequence "
                    f"{header.base_sequence}, not 0",
                )
            return None
        if header.producer_epoch < entry.epoch:
            raise SequenceError(
                ErrorCode.INVALID_PRODUCER_EPOCH,
                f"epoch {header.producer_epoch} is older than {entry.epoch}",
            )
        if header.producer_epoch > entry.epoch:
            if header.base_sequence != 0:
                raise SequenceError(
                    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                    f"new epoch {header.producer_epoch} must start at sequence 0",
                )
            return None
        for batch in entry.batches:
            if (
                batch.first_sequence == header.base_sequence
                and batch.last_sequence == header.last_sequence
            ):
                return batch
        expected = ((entry.last_sequence or 0) + 1) & 0x7FFFFFFF if entry.batches else 0
        if header.base_sequence != expected:
            raise SequenceError(
                ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
                f"producer {header.producer_id} sent sequence {header.base_sequence}, "
                f"expected {expected}",
            )
        return None

    def record(self, header: BatchHeader) -> None:
        """Note a batch appended to the log (its offsets assigned)."""
        if header.producer_id == NO_PRODUCER_ID:
            return
        entry = self.producers.get(header.producer_id)
        if entry is None or header.producer_epoch != entry.epoch:
            entry = self.producers[header.producer_id] = ProducerEntry(header.producer_epoch)
        entry.batches.append(
            BatchRecord(
                header.base_sequence, header.last_sequence, header.base_offset, header.last_offset
            )
        )

    def write_snapshot(self, directory: Path, offset: int) -> Path:
        """Persist the state as of log offset `offset`, replacing older snapshots."""
        state = {
            str(pid): {"epoch": entry.epoch, "batches": [_as_tuple(b) for b in entry.batches]}
            for pid, entry in self.producers.items()
        }
        path = directory / f"{offset:020d}{SNAPSHOT_SUFFIX}"
        write_atomically(path, json.dumps(state))
        for old in directory.glob(f"*{SNAPSHOT_SUFFIX}"):
            if old != path:
                old.unlink(missing_ok=True)
        return path

    def load_snapshot(self, directory: Path, log_end_offset: int) -> int:
        """Load the newest usable snapshot; returns the offset to replay batch headers from."""
        candidates = sorted(directory.glob(f"*{SNAPSHOT_SUFFIX}"), reverse=True)
        for path in candidates:
            offset = int(path.name[: -len(SNAPSHOT_SUFFIX)])
            if offset > log_end_offset:
                path.unlink(missing_ok=True)
                continue
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                path.unlink(missing_ok=True)
                continue
            self.producers = {
                int(pid): ProducerEntry(
                    data["epoch"],
                    deque((BatchRecord(*b) for b in data["batches"]), maxlen=RETAINED_BATCHES),
                )
                for pid, data in state.items()
            }
            return offset
        self.producers = {}
        return 0

    def truncate(self) -> None:
        """Forget everything (after the log was truncated; the owner replays what remains)."""
        self.producers = {}


def _as_tuple(batch: BatchRecord) -> tuple[int, int, int, int]:
    return (batch.first_sequence, batch.last_sequence, batch.first_offset, batch.last_offset)
