"""Log compaction (`cleanup.policy=compact`): keep the latest record of every key.

The active segment is never touched. Cleaning builds a map of key → latest offset over the cleanable
segments, then rewrites each of them keeping only records that are the latest for their key; a
tombstone (null value) that is the latest for its key is kept until it is older than
`delete.retention.ms`, so consumers that are behind still see the delete. Offsets never change, so a
compacted log has gaps, as in Kafka. Batches that lose nothing are copied byte for byte; rewritten
batches keep their producer fields and are stored uncompressed.

The rewrite happens in a worker thread into `<segment>.cleaned`; the swap happens on the caller's
thread: index files go first, then the data file is renamed over the old one, then the indexes are
rebuilt, so a crash at any point leaves a log that recovery reads correctly.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from dataplane.protocol.record_codec import decode_records, encode_batch
from dataplane.storage.log import CLEANED_SUFFIX, PartitionLog
from dataplane.storage.segment import LogSegment

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanPlan:
    segments: list[LogSegment]
    first_dirty_offset: int


@dataclass(frozen=True)
class CleanedSegment:
    segment: LogSegment
    path: Path
    records_before: int
    records_after: int


def cleanable_segments(partition_log: PartitionLog, now_ms: int) -> list[LogSegment]:
    """Segments the cleaner may rewrite: all but the active one, stopping at the first whose records
    are younger than `min.compaction.lag.ms`."""
    lag = partition_log.config["min.compaction.lag.ms"]
    result = []
    for segment in partition_log.segments[:-1]:
        if lag and segment.max_timestamp > now_ms - lag:
            break
        result.append(segment)
    return result


def dirty_ratio(partition_log: PartitionLog, now_ms: int) -> float:
    segments = cleanable_segments(partition_log, now_ms)
    total = sum(s.size for s in segments)
    if not total:
        return 0.0
    dirty = sum(s.size for s in segments if s.next_offset > partition_log.first_dirty_offset)
    return dirty / total


def plan(partition_log: PartitionLog, now_ms: int) -> CleanPlan | None:
    """What to clean now, or None if the log is not compacted or not dirty enough."""
    if "compact" not in partition_log.config["cleanup.policy"]:
        return None
    if dirty_ratio(partition_log, now_ms) < partition_log.config["min.cleanable.dirty.ratio"]:
        return None
    segments = cleanable_segments(partition_log, now_ms)
    return CleanPlan(segments, segments[-1].next_offset) if segments else None


def _latest_offsets(segments: list[LogSegment]) -> dict[bytes, int]:
    latest: dict[bytes, int] = {}
    for segment in segments:
        for header in segment.headers(0):
            for record in decode_records(segment.read_batch(header))[1]:
                if record.key is not None:
                    latest[record.key] = record.offset
    return latest


def rewrite(clean_plan: CleanPlan, delete_retention_ms: int, now_ms: int) -> list[CleanedSegment]:
    """Write the compacted copy of every planned segment next to it (run off the event loop)."""
    latest = _latest_offsets(clean_plan.segments)
    tombstone_horizon = now_ms - delete_retention_ms
    results = []
    for segment in clean_plan.segments:
        path = segment.log_path.with_name(segment.log_path.name + CLEANED_SUFFIX)
        before = after = 0
        with open(path, "wb") as out:
            for header in segment.headers(0):
                batch = segment.read_batch(header)
                _, records = decode_records(batch)
                kept = [
                    r
                    for r in records
                    if r.key is None
                    or (
                        latest.get(r.key) == r.offset
                        and (r.value is not None or r.timestamp > tombstone_horizon)
                    )
                ]
                before += len(records)
                after += len(kept)
                if len(kept) == len(records):
                    out.write(batch)
                elif kept:
                    out.write(
                        encode_batch(
                            kept,
                            base_offset=header.base_offset,
                            last_offset_delta=header.last_offset_delta,
                            partition_leader_epoch=header.partition_leader_epoch,
                            attributes=header.attributes,
                            producer_id=header.producer_id,
                            producer_epoch=header.producer_epoch,
                            base_sequence=header.base_sequence,
                            max_timestamp=header.max_timestamp,
                        )
                    )
            out.flush()
            os.fsync(out.fileno())
        results.append(CleanedSegment(segment, path, before, after))
    return results


def swap_in(
    partition_log: PartitionLog, cleaned: list[CleanedSegment], first_dirty_offset: int
) -> int:
    """Replace segments with their cleaned copies (on the log's owning thread). Returns how many
    records were removed."""
    removed = 0
    for item in cleaned:
        if item.segment not in partition_log.segments:
            # Deleted meanwhile (retention, topic deletion): drop the copy.
            item.path.unlink(missing_ok=True)
            continue
        index = partition_log.segments.index(item.segment)
        removed += item.records_before - item.records_after
        if item.records_after == 0:
            # Nothing left: the segment goes; offsets stay where they were.
            item.path.unlink()
            partition_log.segments.pop(index).delete()
            continue
        base = item.segment.base_offset
        item.segment.close()
        item.segment.offset_index.delete()
        item.segment.time_index.delete()
        os.replace(item.path, item.segment.log_path)
        replacement = partition_log.new_segment(base)
        replacement.load(recover=True)
        partition_log.segments[index] = replacement
    partition_log.first_dirty_offset = max(partition_log.first_dirty_offset, first_dirty_offset)
    return removed


def now_ms() -> int:
    return int(time.time() * 1000)
