"""The log of one partition: an ordered list of segments, offsets, retention and recovery."""

from __future__ import annotations

import logging
import shutil
import threading
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataplane.histogram import Histogram, HistogramSnapshot
from dataplane.protocol import records as batches
from dataplane.protocol.record_codec import record_timestamps
from dataplane.protocol.records import BatchHeader
from dataplane.storage.checkpoints import read_entries, write_atomically, write_entries
from dataplane.storage.producer_state import BatchRecord, ProducerStateManager
from dataplane.storage.segment import DiskUsage, LogSegment

log = logging.getLogger(__name__)

LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
PARTITION_METADATA = "partition.metadata"  # which topic (by id) this directory belongs to
CLEANED_SUFFIX = ".cleaned"  # a compacted copy being written; unfinished ones are discarded
_MAX_RELATIVE_OFFSET = 2**31 - 1


@dataclass(frozen=True, slots=True)
class AppendResult:
    base_offset: int
    last_offset: int
    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class EpochEntry:
    epoch: int
    start_offset: int


def partition_dir_name(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


class FlushTimes:
    """How long log flushes (fsync of a log's segments and indexes) take, across a broker's logs:
    Kafka's LogFlushRateAndTimeMs. Flushes run in worker threads, hence the lock; they happen by
    the flush policy and at segment rolls, far too rarely for the lock to cost anything."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._histogram = Histogram()

    def record(self, seconds: float) -> None:
        with self._lock:
            self._histogram.observe(seconds)

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            return self._histogram.snapshot()


class PartitionLog:
    """Appends, reads and maintains one partition's segments. Not thread-safe except `flush`."""

    def __init__(
        self,
        directory: Path,
        topic: str,
        partition: int,
        config: dict[str, Any],
        *,
        recovery_point: int = 0,
        log_start_offset: int = 0,
        first_dirty_offset: int = 0,
        clean_shutdown: bool = True,
        usage: DiskUsage | None = None,
        flush_times: FlushTimes | None = None,
    ) -> None:
        self.directory = directory
        self.usage = usage if usage is not None else DiskUsage()  # shared by the broker's logs
        self.flush_times = flush_times if flush_times is not None else FlushTimes()  # shared too
        self.topic = topic
        self.partition = partition
        self.config = config
        directory.mkdir(parents=True, exist_ok=True)
        self.segments: list[LogSegment] = []
        self.producer_state = ProducerStateManager()
        self.epochs: list[EpochEntry] = []
        self.recovery_point = recovery_point
        self.log_start_offset = log_start_offset
        self.first_dirty_offset = first_dirty_offset  # compaction has cleaned everything below
        self.unflushed_messages = 0
        self.last_flush_time = time.monotonic()
        self._load(clean_shutdown)

    # --- loading --------------------------------------------------------------------------------

    def _load(self, clean_shutdown: bool) -> None:
        for pattern in ("*.tmp", f"*{CLEANED_SUFFIX}"):
            for stray in self.directory.glob(pattern):
                stray.unlink()
        bases = sorted(int(p.name[:20]) for p in self.directory.glob("*.log"))
        truncated_any = False
        for base in bases:
            segment = self.new_segment(base)
            recover = not clean_shutdown and segment.base_offset >= self._segment_base_of(
                self.recovery_point, bases
            )
            if truncated_any:
                # Everything after a torn batch is unreachable: offsets must stay contiguous.
                log.warning(
                    "dropping segment after truncation", extra={"segment": str(segment.log_path)}
                )
                segment.delete()
                continue
            truncated = segment.load(recover)
            if truncated:
                truncated_any = True
                log.warning(
                    "truncated invalid log tail",
                    extra={"segment": str(segment.log_path), "bytes": truncated},
                )
            self.segments.append(segment)
        if not self.segments:
            self.segments.append(self.new_segment(self.log_start_offset))
        if self.log_start_offset > self.log_end_offset:
            # Recovery cut the log below its checkpointed start: nothing left is readable, so start
            # afresh at the start offset rather than hand out offsets nobody may fetch.
            for segment in self.segments:
                segment.delete()
            self.segments = [self.new_segment(self.log_start_offset)]
        self.log_start_offset = max(self.log_start_offset, self.segments[0].base_offset)
        self.recovery_point = min(self.recovery_point, self.log_end_offset)
        self._load_epochs()
        self._rebuild_producer_state()

    def new_segment(self, base_offset: int) -> LogSegment:
        """Open (or create) the segment starting at `base_offset`, counted in this log's usage."""
        return LogSegment(
            self.directory, base_offset, self.config["index.interval.bytes"], self.usage
        )

    @staticmethod
    def _segment_base_of(offset: int, bases: list[int]) -> int:
        index = bisect_right(bases, offset) - 1
        return bases[index] if index >= 0 else 0

    @property
    def topic_id(self) -> str | None:
        try:
            lines = (self.directory / PARTITION_METADATA).read_text().splitlines()
        except FileNotFoundError:
            return None
        fields = dict(line.split(": ", 1) for line in lines if ": " in line)
        return fields.get("topic_id")

    def record_topic_id(self, topic_id: str) -> None:
        write_atomically(self.directory / PARTITION_METADATA, f"version: 0\ntopic_id: {topic_id}\n")

    def _load_epochs(self) -> None:
        try:
            entries = read_entries(self.directory / LEADER_EPOCH_CHECKPOINT)
        except ValueError:
            entries = []
        end = self.log_end_offset
        self.epochs = [EpochEntry(int(e), int(o)) for e, o in entries if int(o) <= end]

    def _rebuild_producer_state(self) -> None:
        replay_from = self.producer_state.load_snapshot(self.directory, self.log_end_offset)
        for header in self.headers_from(replay_from):
            self.producer_state.record(header)

    # --- offsets --------------------------------------------------------------------------------

    @property
    def active_segment(self) -> LogSegment:
        return self.segments[-1]

    @property
    def log_end_offset(self) -> int:
        return self.active_segment.next_offset

    @property
    def size(self) -> int:
        return sum(segment.size for segment in self.segments)

    @property
    def latest_epoch(self) -> int:
        return self.epochs[-1].epoch if self.epochs else -1

    def _segment_for(self, offset: int) -> int:
        index = bisect_right([s.base_offset for s in self.segments], offset) - 1
        return max(index, 0)

    def headers_from(self, offset: int) -> Iterator[BatchHeader]:
        """Headers of every batch whose last offset is ≥ `offset`, in order."""
        for segment in self.segments[self._segment_for(offset) :]:
            if segment.next_offset <= offset:
                continue
            start, _ = segment.find_position(offset)
            yield from segment.headers(start)

    # --- appends --------------------------------------------------------------------------------

    def append(
        self, data: memoryview | bytes, headers: list[BatchHeader], leader_epoch: int
    ) -> AppendResult:
        """Append validated batches as leader: check producer sequences, assign offsets and the leader
        epoch. Raises SequenceError (nothing written) when a batch is out of sequence."""
        duplicate: BatchRecord | None = None
        for header in headers:
            duplicate = self.producer_state.find_duplicate(header)
            if duplicate is not None:
                if len(headers) > 1:
                    # Producers send one batch per partition; a mixed request is not a plain retry.
                    duplicate = None
                    continue
                return AppendResult(duplicate.first_offset, duplicate.last_offset, duplicate=True)
        buf = bytearray(data)
        next_offset = self.log_end_offset
        for header in headers:
            header.base_offset = next_offset
            header.partition_leader_epoch = leader_epoch
            batches.stamp(buf, header.position, next_offset, leader_epoch)
            next_offset = header.last_offset + 1
        first = headers[0].base_offset
        self._write(buf, headers)
        return AppendResult(first, next_offset - 1)

    def append_as_follower(self, data: memoryview | bytes, headers: list[BatchHeader]) -> None:
        """Append batches that already carry offsets and epochs (copied from a leader)."""
        if headers and headers[0].base_offset != self.log_end_offset:
            raise ValueError(
                f"follower append at {headers[0].base_offset}, log ends at {self.log_end_offset}"
            )
        if headers:
            self._write(data, headers)

    def _write(self, buf: bytes | bytearray | memoryview, headers: list[BatchHeader]) -> None:
        self._maybe_roll(len(buf), headers[-1].last_offset)
        for header in headers:
            if header.partition_leader_epoch > self.latest_epoch:
                self.assign_epoch(header.partition_leader_epoch, header.base_offset)
        self.active_segment.append(buf, headers)
        for header in headers:
            self.producer_state.record(header)
            self.unflushed_messages += header.last_offset_delta + 1

    def assign_epoch(self, epoch: int, start_offset: int) -> None:
        if self.epochs and self.epochs[-1].epoch >= epoch:
            return
        self.epochs.append(EpochEntry(epoch, start_offset))
        self._write_epochs()

    def _write_epochs(self) -> None:
        write_entries(
            self.directory / LEADER_EPOCH_CHECKPOINT,
            ((entry.epoch, entry.start_offset) for entry in self.epochs),
        )

    def _maybe_roll(self, incoming: int, last_offset: int) -> None:
        segment = self.active_segment
        if segment.size == 0:
            return
        too_big = segment.size + incoming > self.config["segment.bytes"]
        too_old = (time.time() - segment.created_at) * 1000 >= self.config["segment.ms"]
        too_far = last_offset - segment.base_offset > _MAX_RELATIVE_OFFSET
        if too_big or too_old or too_far:
            self.roll()

    def roll(self) -> LogSegment:
        """Start a new active segment at the log end offset."""
        end = self.log_end_offset
        if self.active_segment.size == 0:
            return self.active_segment
        self._flush_segments([self.active_segment])
        segment = self.new_segment(end)
        self.segments.append(segment)
        self.producer_state.write_snapshot(self.directory, end)
        return segment

    # --- reads ----------------------------------------------------------------------------------

    def read(self, offset: int, max_bytes: int, upper_bound: int, min_one_batch: bool) -> bytes:
        """Batches from the one containing `offset`, up to `max_bytes` (a trailing batch may be cut
        short), never past offset `upper_bound`. With `min_one_batch`, a first batch larger than
        `max_bytes` is returned whole."""
        if offset >= upper_bound:
            return b""
        segment = self.segments[self._segment_for(offset)]
        position, header = segment.find_position(offset)
        while header is None:
            # The offset lies past this segment's last batch (e.g. an emptied segment): try the next.
            index = self.segments.index(segment) + 1
            if index >= len(self.segments):
                return b""
            segment = self.segments[index]
            position, header = segment.find_position(offset)
        if header.base_offset >= upper_bound:
            return b""
        if upper_bound >= segment.next_offset:
            limit = segment.size
        else:
            limit, _ = segment.find_position(upper_bound)
        size = min(max_bytes, limit - position)
        if min_one_batch and size < header.size:
            size = header.size
        return segment.read(position, size)

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record whose timestamp is ≥ `timestamp`, or None."""
        for segment in self.segments:
            if segment.max_timestamp < timestamp:
                continue
            start_offset = max(segment.time_index.lookup(timestamp), self.log_start_offset)
            for header in segment.headers(segment.find_position(start_offset)[0]):
                if header.max_timestamp >= timestamp:
                    batch = segment.read_batch(header)
                    for offset, record_ts in record_timestamps(batch):
                        if record_ts >= timestamp and offset >= self.log_start_offset:
                            return offset, record_ts
        return None

    def max_timestamp(self) -> tuple[int, int]:
        """(offset, timestamp) of the record with the largest timestamp, (-1, -1) if empty."""
        best: LogSegment | None = None
        for segment in self.segments:
            if segment.max_timestamp >= 0 and (
                best is None or segment.max_timestamp > best.max_timestamp
            ):
                best = segment
        if best is None:
            return -1, -1
        # The segment knows the batch; the record inside it with that timestamp is the answer.
        _, header = best.find_position(best.offset_of_max_timestamp)
        if header is None:
            return best.offset_of_max_timestamp, best.max_timestamp
        for offset, timestamp in record_timestamps(best.read_batch(header)):
            if timestamp == best.max_timestamp:
                return offset, timestamp
        return best.offset_of_max_timestamp, best.max_timestamp

    @property
    def last_batch_epoch(self) -> int:
        """The leader epoch of the last record in the log (-1 if empty). Unlike `latest_epoch` it
        ignores an epoch this broker led without writing anything."""
        return (
            self.epoch_for_offset(self.log_end_offset - 1)
            if self.log_end_offset > self.log_start_offset
            else -1
        )

    def epoch_for_offset(self, offset: int) -> int:
        """The leader epoch in which `offset` was (or will next be) written."""
        epoch = -1
        for entry in self.epochs:
            if entry.start_offset > offset:
                break
            epoch = entry.epoch
        return epoch

    def end_offset_for_epoch(self, requested: int) -> tuple[int, int]:
        """Kafka's OffsetForLeaderEpoch answer: (epoch, end offset) for `requested`."""
        if requested < 0 or not self.epochs:
            return -1, -1
        if requested == self.latest_epoch:
            return requested, self.log_end_offset
        later = [entry for entry in self.epochs if entry.epoch > requested]
        if not later:
            return -1, -1
        earlier = [entry for entry in self.epochs if entry.epoch <= requested]
        return (earlier[-1].epoch if earlier else requested), later[0].start_offset

    # --- maintenance ----------------------------------------------------------------------------

    def truncate_to(self, offset: int) -> None:
        """Drop every record at or after `offset` (a follower diverged or a tail was invalid)."""
        if offset >= self.log_end_offset:
            return
        while len(self.segments) > 1 and self.active_segment.base_offset >= offset:
            self.segments.pop().delete()
        if self.active_segment.base_offset >= offset:
            self.active_segment.truncate_to(self.active_segment.base_offset)
            self.active_segment.next_offset = max(offset, self.log_start_offset)
        else:
            self.active_segment.truncate_to(offset)
        self.recovery_point = min(self.recovery_point, self.log_end_offset)
        self.epochs = [entry for entry in self.epochs if entry.start_offset < self.log_end_offset]
        self._write_epochs()
        self.producer_state.truncate()
        self._rebuild_producer_state()

    def reset_to(self, offset: int) -> None:
        """Drop everything and continue from `offset` (a follower that fell below its leader's log
        start)."""
        for segment in self.segments:
            segment.delete()
        self.segments = [self.new_segment(offset)]
        self.log_start_offset = self.recovery_point = offset
        self.epochs = []
        self._write_epochs()
        self.producer_state.truncate()

    def delete_records_before(self, offset: int) -> None:
        """Advance the log start offset (DeleteRecords); whole segments below it are deleted."""
        if offset <= self.log_start_offset:
            return
        self.log_start_offset = min(offset, self.log_end_offset)
        self._delete_segments_below_start()

    def _delete_segments_below_start(self) -> None:
        while self.segments and self.segments[0].next_offset <= self.log_start_offset:
            if len(self.segments) == 1:
                if self.active_segment.size == 0:
                    break
                self.roll()
            self.segments.pop(0).delete()
        if self.epochs and self.epochs[0].start_offset < self.log_start_offset:
            kept = [e for e in self.epochs if e.start_offset > self.log_start_offset]
            floor = [e for e in self.epochs if e.start_offset <= self.log_start_offset][-1]
            self.epochs = [EpochEntry(floor.epoch, self.log_start_offset), *kept]
            self._write_epochs()

    def enforce_retention(self, now_ms: int) -> int:
        """Delete segments past `retention.ms` or beyond `retention.bytes`; returns how many."""
        if "delete" not in self.config["cleanup.policy"]:
            return 0
        retention_ms = self.config["retention.ms"]
        retention_bytes = self.config["retention.bytes"]
        excess = self.size - retention_bytes if retention_bytes >= 0 else 0
        deleted = 0
        while self.segments:
            segment = self.segments[0]
            if segment.size == 0:
                break
            newest = (
                segment.max_timestamp
                if segment.max_timestamp >= 0
                else int(segment.last_modified * 1000)
            )
            expired = retention_ms >= 0 and now_ms - newest > retention_ms
            oversize = excess >= segment.size
            if not (expired or oversize):
                break
            if segment is self.active_segment:
                self.roll()
            excess -= segment.size
            self.log_start_offset = max(self.log_start_offset, segment.next_offset)
            self.segments.pop(0).delete()
            deleted += 1
        if deleted:
            self._delete_segments_below_start()
        return deleted

    def needs_flush(self, now: float) -> bool:
        if not self.unflushed_messages:
            return False
        if self.unflushed_messages >= self.config["flush.messages"]:
            return True
        return (now - self.last_flush_time) * 1000 >= self.config["flush.ms"]

    def flush(self) -> None:
        """fsync everything appended so far and advance the recovery point (safe off the loop)."""
        end = self.log_end_offset
        self.unflushed_messages = 0
        self.last_flush_time = time.monotonic()
        self._flush_segments(
            [
                segment
                for segment in self.segments
                if segment.base_offset >= self.recovery_point or segment is self.active_segment
            ]
        )
        self.recovery_point = max(self.recovery_point, end)

    def _flush_segments(self, segments: list[LogSegment]) -> None:
        started = time.perf_counter()
        for segment in segments:
            segment.flush()
        self.flush_times.record(time.perf_counter() - started)

    def close(self) -> None:
        self.producer_state.write_snapshot(self.directory, self.log_end_offset)
        self.flush()
        for segment in self.segments:
            segment.close()

    def delete(self) -> None:
        for segment in self.segments:
            segment.close()
        shutil.rmtree(self.directory, ignore_errors=True)
