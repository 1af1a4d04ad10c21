"""Unit tests of the on-disk log: PartitionLog, LogSegment, indexes, checkpoints, producer state.

No network: every test builds its own log in tmp_path from hand-made v2 record batches.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path
from typing import Any

import pytest
from crc32c import crc32c

from dataplane.config import BrokerConfig
from dataplane.protocol.errors import ErrorCode
from dataplane.protocol.records import parse_batches
from dataplane.storage import checkpoints
from dataplane.storage.checkpoints import (
    read_entries,
    read_partition_offsets,
    write_entries,
    write_partition_offsets,
)
from dataplane.storage.log import LEADER_EPOCH_CHECKPOINT, AppendResult, PartitionLog
from dataplane.storage.log_manager import (
    CLEAN_SHUTDOWN_MARKER,
    LOG_START_OFFSET_CHECKPOINT,
    RECOVERY_POINT_CHECKPOINT,
    LogManager,
)
from dataplane.storage.producer_state import SequenceError
from tests.support.batches import (
    CRC_POSITION,
    HEADER_SIZE,
    batch_base_offset,
    batch_size,
    build_batch,
    decode_records,
    split_batches,
)

TOPIC = "events"
NOW_MS = 1_700_000_000_000
PID = 4000


# --- helpers --------------------------------------------------------------------------------------


def make_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    config = BrokerConfig.from_mapping({}).topic_defaults()
    config.update(overrides or {})
    return config


def open_log(
    directory: Path, overrides: dict[str, Any] | None = None, **kwargs: Any
) -> PartitionLog:
    return PartitionLog(directory, TOPIC, 0, make_config(overrides), **kwargs)


def append(
    log: PartitionLog, values: list[bytes], leader_epoch: int = 0, **batch_kwargs: Any
) -> AppendResult:
    data = build_batch(values, **batch_kwargs)
    return log.append(data, parse_batches(data, 1 << 30), leader_epoch)


def value(i: int) -> bytes:
    """Fixed-width values, so that single-record batches all have the same size."""
    return f"value-{i:06d}".encode()


ONE_RECORD_BATCH = len(build_batch([value(0)]))


def whole_batches(data: bytes) -> list[bytes]:
    return [b for b in split_batches(data) if len(b) == batch_size(b)]


def read_records(log: PartitionLog, start: int | None = None) -> list[tuple[int, bytes | None]]:
    """(offset, value) of every record from `start` (default: the log start) to the log end."""
    offset = log.log_start_offset if start is None else start
    out: list[tuple[int, bytes | None]] = []
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20, log.log_end_offset, min_one_batch=True)
        assert data, f"no data at offset {offset} (log end {log.log_end_offset})"
        for batch in whole_batches(data):
            for record_offset, _ts, _key, record_value in decode_records(batch):
                if record_offset >= offset:
                    out.append((record_offset, record_value))
            offset = max(offset, decode_records(batch)[-1][0] + 1)
    return out


def log_files(directory: Path, suffix: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(suffix))


def offset_index_entries(path: Path) -> list[tuple[int, int]]:
    data = path.read_bytes()
    assert len(data) % 8 == 0, f"{path.name} holds a partial entry"
    return [struct.unpack_from(">ii", data, pos) for pos in range(0, len(data), 8)]


def time_index_entries(path: Path) -> list[tuple[int, int]]:
    data = path.read_bytes()
    assert len(data) % 12 == 0, f"{path.name} holds a partial entry"
    return [struct.unpack_from(">qi", data, pos) for pos in range(0, len(data), 12)]


def assert_indexes_consistent(directory: Path) -> None:
    """Every .index entry points at the start of a batch with that offset; every .timeindex entry
    names an offset inside its segment, with non-decreasing timestamps."""
    for log_name in log_files(directory, ".log"):
        base = int(log_name[:20])
        data = (directory / log_name).read_bytes()
        starts = {}
        position = 0
        for batch in split_batches(data):
            starts[position] = batch_base_offset(batch)
            position += len(batch)
        index = directory / f"{base:020d}.index"
        if index.exists():
            for relative, pos in offset_index_entries(index):
                assert pos in starts, f"{index.name}: position {pos} is not a batch start"
                assert starts[pos] == base + relative, f"{index.name}: entry {relative}->{pos}"
        timeindex = directory / f"{base:020d}.timeindex"
        if timeindex.exists():
            entries = time_index_entries(timeindex)
            assert [t for t, _ in entries] == sorted(t for t, _ in entries)
            last = max(starts.values(), default=base)
            for _ts, relative in entries:
                assert base <= base + relative <= last + 10_000


def crash(log: PartitionLog) -> None:
    """Drop a log as a killed process would: file descriptors closed, nothing flushed or written."""
    for segment in log.segments:
        segment.close()


# --- appends and reads ----------------------------------------------------------------------------


def test_append_assigns_contiguous_offsets_and_stamps_batches(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p")
    results = [
        append(log, [b"a", b"b", b"c"], base_offset=999),
        append(log, [b"d"], base_offset=999),
        append(log, [b"e", b"f", b"g", b"h", b"i"], leader_epoch=3, base_offset=999),
    ]
    assert [(r.base_offset, r.last_offset, r.duplicate) for r in results] == [
        (0, 2, False),
        (3, 3, False),
        (4, 8, False),
    ]
    assert log.log_end_offset == 9
    stored = whole_batches((tmp_path / "p" / f"{0:020d}.log").read_bytes())
    assert [batch_base_offset(b) for b in stored] == [0, 3, 4]
    assert [struct.unpack_from(">i", b, 12)[0] for b in stored] == [0, 0, 3]
    for batch in stored:  # offsets and epochs lie outside the CRC: it must still hold
        assert struct.unpack_from(">I", batch, CRC_POSITION)[0] == crc32c(batch[21:])
    assert read_records(log) == list(
        enumerate([b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h", b"i"])
    )


def test_read_starts_at_the_batch_containing_the_offset(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p")
    append(log, [b"a", b"b", b"c"])
    append(log, [b"d"])
    append(log, [b"e", b"f", b"g", b"h", b"i"])
    for offset, expected_base in [(0, 0), (1, 0), (2, 0), (3, 3), (4, 4), (6, 4), (8, 4)]:
        data = log.read(offset, 1 << 20, log.log_end_offset, min_one_batch=True)
        batches = whole_batches(data)
        assert batches, offset
        assert len(b"".join(batches)) == len(data), "reads return whole batches"
        assert batch_base_offset(batches[0]) == expected_base, offset
    assert log.read(9, 1 << 20, log.log_end_offset, min_one_batch=True) == b""
    assert log.read(50, 1 << 20, 100, min_one_batch=True) == b""


def test_read_respects_upper_bound(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p")
    append(log, [b"a", b"b", b"c"])
    append(log, [b"d"])
    append(log, [b"e", b"f"])
    data = log.read(0, 1 << 20, upper_bound=4, min_one_batch=True)
    assert [batch_base_offset(b) for b in whole_batches(data)] == [0, 3]
    assert len(b"".join(whole_batches(data))) == len(data)
    data = log.read(0, 1 << 20, upper_bound=3, min_one_batch=True)
    assert [batch_base_offset(b) for b in whole_batches(data)] == [0]
    assert log.read(4, 1 << 20, upper_bound=4, min_one_batch=True) == b""
    assert log.read(2, 1 << 20, upper_bound=2, min_one_batch=True) == b""


def test_read_respects_max_bytes_and_min_one_batch(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p")
    big = [bytes([i]) * 500 for i in range(4)]
    append(log, big)  # one batch of ~2 kB
    append(log, [b"x"])
    append(log, [b"y"])
    files = whole_batches((tmp_path / "p" / f"{0:020d}.log").read_bytes())
    first, second, third = (len(b) for b in files)
    end = log.log_end_offset

    # Two whole batches fit exactly: exactly those come back.
    data = log.read(4, second + third, end, min_one_batch=False)
    assert data == files[1] + files[2]
    # A limit that cuts the second batch: never more than max_bytes, and the first batch whole.
    data = log.read(4, second + 5, end, min_one_batch=False)
    assert len(data) <= second + 5
    assert data[:second] == files[1]
    # The first batch is larger than max_bytes: with min_one_batch it comes back whole...
    data = log.read(0, 100, end, min_one_batch=True)
    assert data == files[0]
    assert len(data) == first > 100
    # ...and without it, no more than max_bytes come back.
    assert len(log.read(0, 100, end, min_one_batch=False)) <= 100


# --- segments -------------------------------------------------------------------------------------


def test_segments_roll_by_segment_bytes_and_are_named_by_base_offset(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    log = open_log(directory, {"segment.bytes": 3 * ONE_RECORD_BATCH})
    for i in range(10):
        append(log, [value(i)], timestamps=[NOW_MS + i])
    # Three single-record batches fit in a segment: 0-2, 3-5, 6-8, 9.
    expected_bases = [0, 3, 6, 9]
    assert [s.base_offset for s in log.segments] == expected_bases
    for suffix in (".log", ".index", ".timeindex"):
        assert log_files(directory, suffix) == [f"{b:020d}{suffix}" for b in expected_bases]
    for base in expected_bases:
        data = (directory / f"{base:020d}.log").read_bytes()
        assert len(data) <= 3 * ONE_RECORD_BATCH
        assert batch_base_offset(data) == base
        # The first entry of each offset index is the segment's first batch, at relative offset 0.
        assert offset_index_entries(directory / f"{base:020d}.index")[0] == (0, 0)
        assert time_index_entries(directory / f"{base:020d}.timeindex")[0] == (NOW_MS + base, 0)
    assert_indexes_consistent(directory)
    assert read_records(log) == [(i, value(i)) for i in range(10)]


def test_segments_roll_by_segment_ms(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p", {"segment.ms": 300})
    append(log, [b"a"])
    append(log, [b"b"])
    assert [s.base_offset for s in log.segments] == [0]
    time.sleep(0.35)
    append(log, [b"c"])
    assert [s.base_offset for s in log.segments] == [0, 2]
    assert log_files(tmp_path / "p", ".log") == [f"{0:020d}.log", f"{2:020d}.log"]
    append(log, [b"d"])
    assert [s.base_offset for s in log.segments] == [0, 2]
    assert read_records(log) == [(0, b"a"), (1, b"b"), (2, b"c"), (3, b"d")]


def test_index_lookups_find_batches_in_later_segments(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    config = {"segment.bytes": 2000, "index.interval.bytes": 150}
    log = open_log(directory, config)
    expected_base = {}
    offset = 0
    for i in range(60):
        count = 1 + i % 4
        result = append(log, [value(offset + j) for j in range(count)])
        for o in range(result.base_offset, result.last_offset + 1):
            expected_base[o] = result.base_offset
        offset += count
    assert len(log.segments) >= 4
    # Sparse indexes: fewer index entries than batches, yet every offset is found.
    index = directory / f"{log.segments[1].base_offset:020d}.index"
    assert len(offset_index_entries(index)) > 1
    assert_indexes_consistent(directory)

    def check(current: PartitionLog) -> None:
        for o, base in expected_base.items():
            data = current.read(o, 1 << 20, current.log_end_offset, min_one_batch=True)
            assert batch_base_offset(data) == base, o

    check(log)
    log.close()
    check(open_log(directory, config))


# --- reopening and recovery -----------------------------------------------------------------------


def test_clean_reopen_keeps_log_end_offset_and_data(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    config = {"segment.bytes": 4 * ONE_RECORD_BATCH}
    log = open_log(directory, config)
    for i in range(10):
        append(log, [value(i)])
    before = {name: (directory / name).read_bytes() for name in log_files(directory, ".log")}
    log.close()

    reopened = open_log(directory, config, clean_shutdown=True)
    assert reopened.log_end_offset == 10
    assert [s.base_offset for s in reopened.segments] == [0, 4, 8]
    assert {n: (directory / n).read_bytes() for n in log_files(directory, ".log")} == before
    assert read_records(reopened) == [(i, value(i)) for i in range(10)]
    assert append(reopened, [value(10)]).base_offset == 10
    assert read_records(reopened)[-1] == (10, value(10))


def test_clean_reopen_keeps_max_timestamp_of_out_of_order_batches(tmp_path: Path) -> None:
    """Timestamps need not grow with offsets; the segment's largest one drives time retention."""
    directory = tmp_path / "p"
    config = {"index.interval.bytes": 0}  # every batch indexed
    log = open_log(directory, config)
    append(log, [b"late"], timestamps=[NOW_MS + 50_000])
    append(log, [b"a"], timestamps=[NOW_MS])
    append(log, [b"b"], timestamps=[NOW_MS + 1])
    assert log.max_timestamp() == (0, NOW_MS + 50_000)
    log.close()
    reopened = open_log(directory, config, clean_shutdown=True)
    assert reopened.max_timestamp() == (0, NOW_MS + 50_000)
    assert reopened.segments[0].max_timestamp == NOW_MS + 50_000
    assert reopened.offset_for_timestamp(NOW_MS + 10_000) == (0, NOW_MS + 50_000)


def test_time_retention_after_clean_reopen_keeps_a_segment_with_recent_records(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "p"
    config = {
        "index.interval.bytes": 0,
        "segment.bytes": 2 * ONE_RECORD_BATCH,
        "retention.ms": 3_600_000,
    }
    now = int(time.time() * 1000)
    log = open_log(directory, config)
    append(log, [value(0)], timestamps=[now])  # recent record first...
    append(log, [value(1)], timestamps=[now - 10 * 3_600_000])  # ...then an old one
    append(log, [value(2)], timestamps=[now])  # segment 2
    assert log.enforce_retention(now) == 0
    log.close()
    reopened = open_log(directory, config, clean_shutdown=True)
    assert reopened.enforce_retention(now) == 0
    assert reopened.log_start_offset == 0
    assert [v for _, v in read_records(reopened)] == [value(0), value(1), value(2)]


def _valid_log(directory: Path, config: dict[str, Any]) -> tuple[PartitionLog, list[bytes]]:
    log = open_log(directory, config)
    for i in range(6):
        append(log, [value(2 * i), value(2 * i + 1)], timestamps=[NOW_MS + i, NOW_MS + i])
    log.close()
    return log, whole_batches((directory / f"{0:020d}.log").read_bytes())


def _garbage(_batches: list[bytes]) -> bytes:
    return bytes(range(7, 207))


def _partial_header(batches: list[bytes]) -> bytes:
    return batches[0][: HEADER_SIZE - 10]


def _partial_batch(batches: list[bytes]) -> bytes:
    torn = bytearray(batches[0][: len(batches[0]) - 5])
    struct.pack_into(">q", torn, 0, 12)  # looks like the next batch, cut short by a crash
    return bytes(torn)


def _zeros(_batches: list[bytes]) -> bytes:
    return bytes(300)  # a preallocated or never-written tail


@pytest.mark.parametrize("tail", [_garbage, _partial_header, _partial_batch, _zeros])
def test_unclean_reopen_truncates_an_invalid_tail(tmp_path: Path, tail: Any) -> None:
    directory = tmp_path / "p"
    config = {"index.interval.bytes": 0}
    _, batches = _valid_log(directory, config)
    log_path = directory / f"{0:020d}.log"
    valid_size = log_path.stat().st_size
    with open(log_path, "ab") as handle:
        handle.write(tail(batches))
    # Stale index entries past the valid end, as a crash might leave them.
    with open(directory / f"{0:020d}.index", "ab") as handle:
        handle.write(struct.pack(">ii", 12, valid_size))

    log = open_log(directory, config, clean_shutdown=False)
    assert log.log_end_offset == 12
    assert log_path.stat().st_size == valid_size
    assert read_records(log) == [(i, value(i)) for i in range(12)]
    assert_indexes_consistent(directory)
    assert all(pos < valid_size for _, pos in offset_index_entries(directory / f"{0:020d}.index"))
    # The log is usable: the next append lands right after the last valid batch.
    assert append(log, [b"next"]).base_offset == 12
    assert read_records(log, 12) == [(12, b"next")]
    log.close()
    assert open_log(directory, config).log_end_offset == 13


@pytest.mark.parametrize("bad", [5, 3], ids=["last-batch", "middle-batch"])
def test_unclean_reopen_truncates_at_a_batch_with_a_bad_crc(tmp_path: Path, bad: int) -> None:
    directory = tmp_path / "p"
    config = {"index.interval.bytes": 0}
    _, batches = _valid_log(directory, config)  # six batches of two records
    log_path = directory / f"{0:020d}.log"
    data = bytearray(log_path.read_bytes())
    start = sum(len(b) for b in batches[:bad])
    data[start + HEADER_SIZE + 3] ^= 0x40  # inside a record: only the CRC can tell
    log_path.write_bytes(bytes(data))

    log = open_log(directory, config, clean_shutdown=False)
    assert log.log_end_offset == 2 * bad
    assert log_path.stat().st_size == start
    assert read_records(log) == [(i, value(i)) for i in range(2 * bad)]
    assert_indexes_consistent(directory)
    assert max(pos for _, pos in offset_index_entries(directory / f"{0:020d}.index")) < start
    assert append(log, [b"after"]).base_offset == 2 * bad
    assert read_records(log, 2 * bad) == [(2 * bad, b"after")]


def test_checkpointed_log_start_beyond_the_recovered_end(tmp_path: Path) -> None:
    """The log start offset never passes the log end: records appended after recovery are readable.

    (Kafka deletes the segments and restarts the log at the checkpointed start in this case.)
    """
    directory = tmp_path / "p"
    log = open_log(directory)
    for i in range(10):
        append(log, [value(i)])
    crash(log)
    log_path = directory / f"{0:020d}.log"
    data = bytearray(log_path.read_bytes())
    data[4 * ONE_RECORD_BATCH + HEADER_SIZE + 1] ^= 0x01  # bit rot in offset 4
    log_path.write_bytes(bytes(data))

    log = open_log(directory, clean_shutdown=False, log_start_offset=8)
    assert log.log_start_offset <= log.log_end_offset
    new = append(log, [b"after recovery"])
    assert new.base_offset >= log.log_start_offset
    assert (new.base_offset, b"after recovery") in read_records(log)


def test_unclean_reopen_rebuilds_missing_indexes(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    config = {"index.interval.bytes": 0, "segment.bytes": 5 * ONE_RECORD_BATCH}
    log = open_log(directory, config)
    for i in range(12):
        append(log, [value(i)], timestamps=[NOW_MS + i])
    crash(log)
    for index in [*directory.glob("*.index"), *directory.glob("*.timeindex")]:
        index.unlink()

    log = open_log(directory, config, clean_shutdown=False)
    assert log.log_end_offset == 12
    assert log_files(directory, ".index") == [f"{b:020d}.index" for b in (0, 5, 10)]
    assert offset_index_entries(directory / f"{5:020d}.index") == [
        (i, i * ONE_RECORD_BATCH) for i in range(5)
    ]
    assert_indexes_consistent(directory)
    assert log.offset_for_timestamp(NOW_MS + 7) == (7, NOW_MS + 7)


def test_torn_batch_in_an_earlier_segment_drops_every_later_segment(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    config = {"segment.bytes": 3 * ONE_RECORD_BATCH}
    log = open_log(directory, config)
    for i in range(9):
        append(log, [value(i)])
    assert [s.base_offset for s in log.segments] == [0, 3, 6]
    crash(log)
    # Flip a byte in the second batch of segment 3 (offset 4).
    middle = directory / f"{3:020d}.log"
    data = bytearray(middle.read_bytes())
    data[ONE_RECORD_BATCH + HEADER_SIZE + 2] ^= 0xFF
    middle.write_bytes(bytes(data))

    log = open_log(directory, config, clean_shutdown=False)
    assert log.log_end_offset == 4
    assert [s.base_offset for s in log.segments] == [0, 3]
    for suffix in (".log", ".index", ".timeindex"):
        assert not (directory / f"{6:020d}{suffix}").exists()
    assert middle.stat().st_size == ONE_RECORD_BATCH
    assert read_records(log) == [(i, value(i)) for i in range(4)]
    assert append(log, [b"new"]).base_offset == 4
    assert read_records(log, 4) == [(4, b"new")]


def test_unclean_reopen_only_checks_segments_from_the_recovery_point(tmp_path: Path) -> None:
    """Segments wholly below the recovery point were flushed: they are loaded without a CRC scan."""
    directory = tmp_path / "p"
    config = {"segment.bytes": 3 * ONE_RECORD_BATCH}
    log = open_log(directory, config)
    for i in range(7):
        append(log, [value(i)])
    crash(log)
    with open(directory / f"{6:020d}.log", "ab") as handle:
        handle.write(b"\x00" * 40)
    log = open_log(directory, config, clean_shutdown=False, recovery_point=6)
    assert log.log_end_offset == 7
    assert (directory / f"{6:020d}.log").stat().st_size == ONE_RECORD_BATCH
    assert log.recovery_point == 6


def test_stray_temporary_files_are_removed_on_load(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    log = open_log(directory)
    append(log, [b"a"])
    log.close()
    (directory / f"{LEADER_EPOCH_CHECKPOINT}.tmp").write_text("half written")
    reopened = open_log(directory)
    assert not list(directory.glob("*.tmp"))
    assert reopened.log_end_offset == 1


# --- retention, deletion, truncation --------------------------------------------------------------


def test_time_retention_deletes_whole_old_segments(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    config = {"segment.bytes": 2 * ONE_RECORD_BATCH, "retention.ms": 3_600_000}
    log = open_log(directory, config)
    now = int(time.time() * 1000)
    old = now - 10 * 3_600_000
    for i in range(4):
        append(log, [value(i)], timestamps=[old + i])
    for i in range(4, 7):
        append(log, [value(i)], timestamps=[now - 1000 + i])
    assert [s.base_offset for s in log.segments] == [0, 2, 4, 6]

    assert log.enforce_retention(now) == 2
    assert log.log_start_offset == 4
    assert [s.base_offset for s in log.segments] == [4, 6]
    assert log_files(directory, ".log") == [f"{4:020d}.log", f"{6:020d}.log"]
    assert not (directory / f"{0:020d}.index").exists()
    assert not (directory / f"{2:020d}.timeindex").exists()
    assert read_records(log) == [(i, value(i)) for i in range(4, 7)]
    assert log.log_end_offset == 7
    assert log.enforce_retention(now) == 0
    # An hour and a bit later everything has expired, including the active segment.
    assert log.enforce_retention(now + 3_700_000) == 2
    assert log.log_start_offset == log.log_end_offset == 7
    assert append(log, [b"fresh"]).base_offset == 7
    assert read_records(log) == [(7, b"fresh")]


def test_time_retention_falls_back_to_file_mtime_without_timestamps(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    log = open_log(directory, {"segment.bytes": ONE_RECORD_BATCH, "retention.ms": 60_000})
    append(log, [value(0)], timestamps=[-1])
    append(log, [value(1)], timestamps=[-1])
    now = int(time.time() * 1000)
    assert log.enforce_retention(now) == 0
    assert log.enforce_retention(now + 120_000) == 2
    assert log.log_start_offset == 2


def test_size_retention_deletes_oldest_whole_segments(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    config = {
        "segment.bytes": 2 * ONE_RECORD_BATCH,
        "retention.bytes": 3 * ONE_RECORD_BATCH,
        "retention.ms": -1,
    }
    log = open_log(directory, config)
    for i in range(10):
        append(log, [value(i)], timestamps=[1])  # ancient, but time retention is off
    assert [s.base_offset for s in log.segments] == [0, 2, 4, 6, 8]
    # 10 batches, 3 allowed: deleting whole 2-batch segments leaves 4 (one more would leave 2).
    assert log.enforce_retention(int(time.time() * 1000)) == 3
    assert log.log_start_offset == 6
    assert [s.base_offset for s in log.segments] == [6, 8]
    assert log.size == 4 * ONE_RECORD_BATCH
    assert log_files(directory, ".log") == [f"{6:020d}.log", f"{8:020d}.log"]
    assert read_records(log) == [(i, value(i)) for i in range(6, 10)]
    assert log.enforce_retention(int(time.time() * 1000)) == 0


@pytest.mark.parametrize(
    "overrides",
    [
        {"retention.ms": -1, "retention.bytes": -1},
        {"cleanup.policy": ("compact",), "retention.ms": 1, "retention.bytes": 0},
    ],
)
def test_retention_off_keeps_everything(tmp_path: Path, overrides: dict[str, Any]) -> None:
    log = open_log(tmp_path / "p", {"segment.bytes": ONE_RECORD_BATCH, **overrides})
    for i in range(4):
        append(log, [value(i)], timestamps=[1])
    assert log.enforce_retention(int(time.time() * 1000)) == 0
    assert log.log_start_offset == 0
    assert len(read_records(log)) == 4


def test_delete_records_before_moves_the_log_start_offset(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    config = {"segment.bytes": 3 * ONE_RECORD_BATCH}
    log = open_log(directory, config)
    for i in range(8):
        append(log, [value(i)], timestamps=[NOW_MS + i])
    assert [s.base_offset for s in log.segments] == [0, 3, 6]

    log.delete_records_before(4)
    assert log.log_start_offset == 4
    assert [s.base_offset for s in log.segments] == [3, 6]  # segment 3 still holds offsets 4-5
    assert not (directory / f"{0:020d}.log").exists()
    assert read_records(log) == [(i, value(i)) for i in range(4, 8)]
    assert log.offset_for_timestamp(0) == (4, NOW_MS + 4)

    log.delete_records_before(2)  # never moves backwards
    assert log.log_start_offset == 4
    log.delete_records_before(100)  # capped at the log end
    assert log.log_start_offset == log.log_end_offset == 8
    assert append(log, [b"more"]).base_offset == 8
    assert read_records(log) == [(8, b"more")]


def test_truncate_to_drops_the_tail(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    config = {"segment.bytes": 3 * ONE_RECORD_BATCH}
    log = open_log(directory, config)
    for i in range(8):
        append(log, [value(i)], leader_epoch=i // 3)
    assert [s.base_offset for s in log.segments] == [0, 3, 6]

    log.truncate_to(8)  # at the end: nothing to do
    assert log.log_end_offset == 8
    log.truncate_to(4)
    assert log.log_end_offset == 4
    assert [s.base_offset for s in log.segments] == [0, 3]
    assert not (directory / f"{6:020d}.log").exists()
    assert (directory / f"{3:020d}.log").stat().st_size == ONE_RECORD_BATCH
    assert read_records(log) == [(i, value(i)) for i in range(4)]
    assert [(e.epoch, e.start_offset) for e in log.epochs] == [(0, 0), (1, 3)]
    assert_indexes_consistent(directory)

    log.truncate_to(3)  # exactly a segment base
    assert log.log_end_offset == 3
    assert read_records(log) == [(i, value(i)) for i in range(3)]
    assert append(log, [b"x"], leader_epoch=5).base_offset == 3
    assert read_records(log) == [*[(i, value(i)) for i in range(3)], (3, b"x")]
    log.close()
    reopened = open_log(directory, config)
    assert reopened.log_end_offset == 4
    assert [(e.epoch, e.start_offset) for e in reopened.epochs] == [(0, 0), (5, 3)]


# --- timestamps and epochs ------------------------------------------------------------------------


def test_offset_for_timestamp_finds_the_exact_record(tmp_path: Path) -> None:
    config = {"segment.bytes": 400, "index.interval.bytes": 0}
    log = open_log(tmp_path / "p", config)
    append(log, [b"a", b"b", b"c", b"d"], timestamps=[100, 300, 200, 400])  # offsets 0-3
    append(log, [b"e", b"f"], timestamps=[500, 600])  # 4-5
    for i in range(6, 16):
        append(log, [value(i)], timestamps=[1000 + 100 * i])
    assert len(log.segments) > 1
    cases = {
        0: (0, 100),
        100: (0, 100),
        101: (1, 300),
        250: (1, 300),
        300: (1, 300),
        301: (3, 400),
        401: (4, 500),
        550: (5, 600),
        601: (6, 1600),
        2400: (14, 2400),
        2401: (15, 2500),
    }
    for timestamp, expected in cases.items():
        assert log.offset_for_timestamp(timestamp) == expected, timestamp
    assert log.offset_for_timestamp(2501) is None


def test_max_timestamp_is_the_record_with_the_largest_timestamp(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p")
    assert log.max_timestamp() == (-1, -1)
    append(log, [b"a", b"b", b"c"], timestamps=[100, 900, 200])  # offsets 0-2
    append(log, [b"d"], timestamps=[300])  # 3
    # The record at offset 1 carries the largest timestamp (KIP-734 ListOffsets MAX_TIMESTAMP).
    assert log.max_timestamp() == (1, 900)
    append(log, [b"e"], timestamps=[950])
    assert log.max_timestamp() == (4, 950)


def test_leader_epoch_checkpoint_and_end_offset_for_epoch(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    log = open_log(directory)
    assert log.end_offset_for_epoch(0) == (-1, -1)
    for _ in range(5):
        append(log, [b"e0"], leader_epoch=0)  # 0-4
    for _ in range(3):
        append(log, [b"e3"], leader_epoch=3)  # 5-7
    append(log, [b"e5", b"e5"], leader_epoch=5)  # 8-9
    append(log, [b"old"], leader_epoch=4)  # an older epoch never rewinds the cache
    assert (directory / LEADER_EPOCH_CHECKPOINT).read_text() == "0\n3\n0 0\n3 5\n5 8\n"
    assert log.latest_epoch == 5
    assert log.end_offset_for_epoch(5) == (5, 11)
    assert log.end_offset_for_epoch(3) == (3, 8)
    assert log.end_offset_for_epoch(4) == (3, 8)
    assert log.end_offset_for_epoch(1) == (0, 5)
    assert log.end_offset_for_epoch(0) == (0, 5)
    assert log.end_offset_for_epoch(6) == (-1, -1)
    assert log.end_offset_for_epoch(-1) == (-1, -1)
    assert [log.epoch_for_offset(o) for o in (0, 4, 5, 7, 8, 20)] == [0, 0, 3, 3, 5, 5]
    log.close()

    reopened = open_log(directory)
    assert [(e.epoch, e.start_offset) for e in reopened.epochs] == [(0, 0), (3, 5), (5, 8)]
    assert reopened.end_offset_for_epoch(4) == (3, 8)
    reopened.truncate_to(7)
    assert (directory / LEADER_EPOCH_CHECKPOINT).read_text() == "0\n2\n0 0\n3 5\n"
    assert reopened.end_offset_for_epoch(3) == (3, 7)


def test_leader_epoch_entries_below_the_log_start_are_folded(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    log = open_log(directory, {"segment.bytes": 2 * ONE_RECORD_BATCH})
    for i in range(6):
        append(log, [value(i)], leader_epoch=i)
    log.delete_records_before(3)
    assert [(e.epoch, e.start_offset) for e in log.epochs] == [(3, 3), (4, 4), (5, 5)]
    assert read_entries(directory / LEADER_EPOCH_CHECKPOINT) == [["3", "3"], ["4", "4"], ["5", "5"]]


# --- idempotent producer state --------------------------------------------------------------------


def produce(
    log: PartitionLog, seq: int, count: int, epoch: int = 0, pid: int = PID
) -> AppendResult:
    return append(
        log,
        [f"p{pid}-e{epoch}-s{seq + i}".encode() for i in range(count)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
    )


def test_duplicate_batch_returns_original_offsets_and_writes_nothing(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p")
    append(log, [b"plain"])  # offset 0, no producer id
    assert produce(log, 0, 3) == AppendResult(1, 3)
    assert produce(log, 3, 2) == AppendResult(4, 5)
    size, end = log.size, log.log_end_offset

    assert produce(log, 0, 3) == AppendResult(1, 3, duplicate=True)
    assert produce(log, 3, 2) == AppendResult(4, 5, duplicate=True)
    assert (log.size, log.log_end_offset) == (size, end)
    assert produce(log, 5, 1) == AppendResult(6, 6)
    assert [v for _, v in read_records(log)] == [
        b"plain",
        *[f"p{PID}-e0-s{i}".encode() for i in range(6)],
    ]


def test_only_the_last_five_batches_are_remembered(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p")
    for seq in range(7):
        produce(log, seq, 1)
    assert produce(log, 2, 1) == AppendResult(2, 2, duplicate=True)
    with pytest.raises(SequenceError) as raised:
        produce(log, 1, 1)
    assert raised.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert log.log_end_offset == 7


def test_sequence_gap_is_rejected_without_writing(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p")
    produce(log, 0, 5)
    size = log.size
    with pytest.raises(SequenceError) as raised:
        produce(log, 7, 1)
    assert raised.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    with pytest.raises(SequenceError) as raised:
        produce(log, 2, 2)  # overlaps an earlier batch but is not a retry of it
    assert raised.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    with pytest.raises(SequenceError) as raised:
        produce(log, 3, 1, pid=PID + 1)  # a new producer must start at 0
    assert raised.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert (log.size, log.log_end_offset) == (size, 5)
    assert produce(log, 5, 1) == AppendResult(5, 5)


def test_older_producer_epoch_is_rejected(tmp_path: Path) -> None:
    log = open_log(tmp_path / "p")
    produce(log, 0, 2, epoch=0)
    with pytest.raises(SequenceError) as raised:
        produce(log, 3, 1, epoch=1)  # a new epoch must start at sequence 0
    assert raised.value.code == ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER
    assert produce(log, 0, 1, epoch=1) == AppendResult(2, 2)
    with pytest.raises(SequenceError) as raised:
        produce(log, 2, 1, epoch=0)
    assert raised.value.code == ErrorCode.INVALID_PRODUCER_EPOCH
    assert log.log_end_offset == 3


def test_producer_state_survives_clean_reopen(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    log = open_log(directory)
    produce(log, 0, 2)
    produce(log, 2, 2)
    produce(log, 0, 1, pid=PID + 1)
    log.close()
    assert [p.name for p in directory.glob("*.snapshot")] == [f"{5:020d}.snapshot"]

    reopened = open_log(directory, clean_shutdown=True)
    assert produce(reopened, 2, 2) == AppendResult(2, 3, duplicate=True)
    assert produce(reopened, 0, 1, pid=PID + 1) == AppendResult(4, 4, duplicate=True)
    with pytest.raises(SequenceError):
        produce(reopened, 6, 1)
    assert produce(reopened, 4, 1) == AppendResult(5, 5)
    assert reopened.log_end_offset == 6


def test_producer_state_is_rebuilt_from_batch_headers_after_a_crash(tmp_path: Path) -> None:
    directory = tmp_path / "p"
    config = {"segment.bytes": 3 * len(build_batch([b"p4000-e0-s0"], producer_id=PID))}
    log = open_log(directory, config)
    for seq in range(8):  # rolls write snapshots along the way
        produce(log, seq, 1)
    assert len(log.segments) > 1
    crash(log)

    recovered = open_log(directory, config, clean_shutdown=False)
    assert recovered.log_end_offset == 8
    assert produce(recovered, 7, 1) == AppendResult(7, 7, duplicate=True)  # after the snapshot
    with pytest.raises(SequenceError):
        produce(recovered, 9, 1)
    assert produce(recovered, 8, 1) == AppendResult(8, 8)
    crash(recovered)

    for snapshot in directory.glob("*.snapshot"):  # no snapshot at all: replay everything
        snapshot.unlink()
    recovered = open_log(directory, config, clean_shutdown=False)
    assert produce(recovered, 8, 1) == AppendResult(8, 8, duplicate=True)
    assert produce(recovered, 4, 1) == AppendResult(4, 4, duplicate=True)
    assert produce(recovered, 9, 1) == AppendResult(9, 9)


def test_producer_state_follows_a_truncated_tail(tmp_path: Path) -> None:
    """A batch lost with a torn tail is no longer a duplicate: its retry must be written again."""
    directory = tmp_path / "p"
    log = open_log(directory)
    for seq in range(4):
        produce(log, seq, 1)
    log.close()  # snapshot at offset 4
    log_path = directory / f"{0:020d}.log"
    data = log_path.read_bytes()
    last = whole_batches(data)[-1]
    log_path.write_bytes(data[: len(data) - len(last)] + last[:-3])

    recovered = open_log(directory, clean_shutdown=False)
    assert recovered.log_end_offset == 3
    assert not (directory / f"{4:020d}.snapshot").exists()
    assert produce(recovered, 3, 1) == AppendResult(3, 3, duplicate=False)
    assert produce(recovered, 2, 1) == AppendResult(2, 2, duplicate=True)
    assert recovered.log_end_offset == 4


# --- checkpoint files -----------------------------------------------------------------------------


def test_checkpoint_files_use_kafkas_text_format(tmp_path: Path) -> None:
    path = tmp_path / RECOVERY_POINT_CHECKPOINT
    write_partition_offsets(path, {("b-topic", 1): 7, ("a-topic", 0): 42, ("a-topic", 10): 0})
    assert path.read_text() == "0\n3\na-topic 0 42\na-topic 10 0\nb-topic 1 7\n"
    assert read_partition_offsets(path) == {
        ("a-topic", 0): 42,
        ("a-topic", 10): 0,
        ("b-topic", 1): 7,
    }
    write_entries(path, [])
    assert path.read_text() == "0\n0\n"
    assert read_entries(path) == []
    assert read_entries(tmp_path / "missing") == []
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("text", ["1\n0\n", "0\n2\nt 0 1\n", "", "0\n"])
def test_malformed_checkpoints_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "checkpoint"
    path.write_text(text)
    with pytest.raises(ValueError):
        read_entries(path)


def test_checkpoint_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / LOG_START_OFFSET_CHECKPOINT
    write_partition_offsets(path, {("t", 0): 5})
    old = path.read_bytes()
    written: dict[str, bytes] = {}
    real_replace = os.replace

    def crash_before_rename(src: Any, dst: Any) -> None:
        written["temp"] = Path(src).read_bytes()
        written["target_during_write"] = Path(dst).read_bytes()
        raise OSError("simulated crash")

    monkeypatch.setattr(checkpoints.os, "replace", crash_before_rename)
    with pytest.raises(OSError):
        write_partition_offsets(path, {("t", 0): 9, ("t", 1): 3})
    # The target is never written in place: it still holds the complete old checkpoint, and the new
    # one was complete in a separate file before the rename.
    assert written["target_during_write"] == old
    assert path.read_bytes() == old
    assert written["temp"] == b"0\n2\nt 0 9\nt 1 3\n"

    monkeypatch.setattr(checkpoints.os, "replace", real_replace)
    write_partition_offsets(path, {("t", 0): 9})
    assert read_partition_offsets(path) == {("t", 0): 9}
    assert not list(tmp_path.glob("*.tmp"))


def test_log_manager_checkpoints_and_clean_shutdown_marker(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    config = make_config({"segment.bytes": 2 * ONE_RECORD_BATCH})
    manager = LogManager([log_dir], lambda _topic: config)
    manager.load()
    log = manager.get_or_create("t", 0)
    for i in range(5):
        append(log, [value(i)])
    log.delete_records_before(3)  # inside segment 2
    manager.close()
    assert (log_dir / CLEAN_SHUTDOWN_MARKER).exists()
    assert (log_dir / RECOVERY_POINT_CHECKPOINT).read_text() == "0\n1\nt 0 5\n"
    assert (log_dir / LOG_START_OFFSET_CHECKPOINT).read_text() == "0\n1\nt 0 3\n"

    reloaded = LogManager([log_dir], lambda _topic: config)
    reloaded.load()
    assert not (log_dir / CLEAN_SHUTDOWN_MARKER).exists()  # consumed: a crash now means recovery
    log = reloaded.get("t", 0)
    assert log is not None
    assert (log.log_start_offset, log.log_end_offset, log.recovery_point) == (3, 5, 5)
    assert read_records(log) == [(i, value(i)) for i in range(3, 5)]
    for segment in log.segments:
        segment.close()


def test_log_manager_recovers_after_a_crash(tmp_path: Path) -> None:
    log_dir = tmp_path / "logs"
    config = make_config()
    manager = LogManager([log_dir], lambda _topic: config)
    manager.load()
    log = manager.get_or_create("t", 0)
    for i in range(3):
        append(log, [value(i)])
    crash(log)  # no close: no marker, no checkpoints
    with open(log_dir / "t-0" / f"{0:020d}.log", "ab") as handle:
        handle.write(b"\xff" * 100)

    reloaded = LogManager([log_dir], lambda _topic: config)
    reloaded.load()
    log = reloaded.get("t", 0)
    assert log is not None
    assert log.log_end_offset == 3
    assert (log_dir / "t-0" / f"{0:020d}.log").stat().st_size == 3 * ONE_RECORD_BATCH
    reloaded.delete("t", 0)
    assert not (log_dir / "t-0").exists()
    assert reloaded.get("t", 0) is None


def log_file_bytes(log_dir: Path) -> int:
    return sum(p.stat().st_size for p in log_dir.glob("*/*.log"))


def test_log_manager_usage_follows_every_change_to_the_segments(tmp_path: Path) -> None:
    """The running total that `log.dirs.quota.bytes` checks equals the `.log` bytes on disk after
    appends, rolls, retention, truncation, a follower reset and deletion (compaction: see
    test_compaction), and is rebuilt from the files on load."""
    log_dir = tmp_path / "logs"
    config = make_config(
        {"segment.bytes": 2 * ONE_RECORD_BATCH, "retention.ms": -1, "retention.bytes": -1}
    )
    manager = LogManager([log_dir], lambda _topic: config)
    manager.load()
    first, second = manager.get_or_create("a", 0), manager.get_or_create("b", 0)
    for i in range(7):
        append(first, [value(i)])
        append(second, [value(i)], producer_id=PID + 1, base_sequence=i)
    assert manager.usage.bytes == log_file_bytes(log_dir) == 14 * ONE_RECORD_BATCH

    config["retention.bytes"] = 3 * ONE_RECORD_BATCH
    assert first.enforce_retention(int(time.time() * 1000)) == 2
    first.truncate_to(first.log_end_offset - 1)
    assert manager.usage.bytes == log_file_bytes(log_dir) == 9 * ONE_RECORD_BATCH

    second.reset_to(100)
    assert manager.usage.bytes == log_file_bytes(log_dir) == 2 * ONE_RECORD_BATCH
    manager.delete("b", 0)
    assert manager.usage.bytes == log_file_bytes(log_dir) == 2 * ONE_RECORD_BATCH

    manager.close()
    assert manager.usage.bytes == 0
    reloaded = LogManager([log_dir], lambda _topic: config)
    reloaded.load()
    assert reloaded.usage.bytes == log_file_bytes(log_dir) == 2 * ONE_RECORD_BATCH
    reloaded.close()
