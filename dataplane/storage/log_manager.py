"""All partition logs of a broker across its log dirs: loading, placement, checkpoints, shutdown."""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dataplane.storage.checkpoints import read_partition_offsets, write_partition_offsets
from dataplane.storage.log import FlushTimes, PartitionLog, partition_dir_name
from dataplane.storage.segment import DiskUsage

log = logging.getLogger(__name__)

CLEAN_SHUTDOWN_MARKER = ".kafka_cleanshutdown"
RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
REPLICATION_OFFSET_CHECKPOINT = "replication-offset-checkpoint"
CLEANER_OFFSET_CHECKPOINT = "cleaner-offset-checkpoint"
DELETE_SUFFIX = "-delete"

TopicPartition = tuple[str, int]


def parse_partition_dir(name: str) -> TopicPartition | None:
    topic, sep, index = name.rpartition("-")
    if not sep or not topic or not index.isdigit():
        return None
    return topic, int(index)


class LogManager:
    def __init__(self, log_dirs: list[Path], config_for: Callable[[str], dict[str, Any]]) -> None:
        self.log_dirs = log_dirs
        self._config_for = config_for
        self.logs: dict[TopicPartition, PartitionLog] = {}
        self._dir_of: dict[TopicPartition, Path] = {}
        self.high_watermarks: dict[TopicPartition, int] = {}
        self.usage = DiskUsage()  # what every partition's segments hold, kept as they change
        self.flush_times = FlushTimes()

    def load(self) -> None:
        for log_dir in self.log_dirs:
            log_dir.mkdir(parents=True, exist_ok=True)
            marker = log_dir / CLEAN_SHUTDOWN_MARKER
            clean = marker.exists()
            recovery_points = _read_checkpoint(log_dir / RECOVERY_POINT_CHECKPOINT)
            start_offsets = _read_checkpoint(log_dir / LOG_START_OFFSET_CHECKPOINT)
            cleaned_offsets = _read_checkpoint(log_dir / CLEANER_OFFSET_CHECKPOINT)
            self.high_watermarks.update(_read_checkpoint(log_dir / REPLICATION_OFFSET_CHECKPOINT))
            for child in sorted(log_dir.iterdir()):
                if not child.is_dir():
                    continue
                if child.name.endswith(DELETE_SUFFIX):
                    shutil.rmtree(child, ignore_errors=True)
                    continue
                key = parse_partition_dir(child.name)
                if key is None:
                    continue
                started = time.monotonic()
                self.logs[key] = PartitionLog(
                    child,
                    key[0],
                    key[1],
                    self._config_for(key[0]),
                    recovery_point=recovery_points.get(key, 0),
                    log_start_offset=start_offsets.get(key, 0),
                    first_dirty_offset=cleaned_offsets.get(key, 0),
                    clean_shutdown=clean,
                    usage=self.usage,
                    flush_times=self.flush_times,
                )
                self._dir_of[key] = log_dir
                if not clean and self.logs[key].log_end_offset:
                    log.info(
                        "recovered partition log",
                        extra={
                            "topic": key[0],
                            "partition": key[1],
                            "log_end_offset": self.logs[key].log_end_offset,
                            "seconds": round(time.monotonic() - started, 3),
                        },
                    )
            marker.unlink(missing_ok=True)

    def get(self, topic: str, partition: int) -> PartitionLog | None:
        return self.logs.get((topic, partition))

    def get_or_create(self, topic: str, partition: int) -> PartitionLog:
        key = (topic, partition)
        existing = self.logs.get(key)
        if existing is not None:
            return existing
        counts = {d: 0 for d in self.log_dirs}
        for used in self._dir_of.values():
            counts[used] += 1
        log_dir = min(self.log_dirs, key=lambda d: counts[d])
        created = PartitionLog(
            log_dir / partition_dir_name(topic, partition),
            topic,
            partition,
            self._config_for(topic),
            usage=self.usage,
            flush_times=self.flush_times,
        )
        self.logs[key] = created
        self._dir_of[key] = log_dir
        return created

    def delete(self, topic: str, partition: int) -> None:
        key = (topic, partition)
        removed = self.logs.pop(key, None)
        self._dir_of.pop(key, None)
        self.high_watermarks.pop(key, None)
        if removed is None:
            return
        for segment in removed.segments:
            segment.close()
        # Rename first so a crash mid-delete never leaves a half-deleted log that would be loaded.
        doomed = removed.directory.with_name(
            f"{removed.directory.name}.{uuid.uuid4().hex}{DELETE_SUFFIX}"
        )
        removed.directory.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def refresh_configs(self) -> None:
        for (topic, _), partition_log in self.logs.items():
            partition_log.config = self._config_for(topic)

    def __iter__(self) -> Iterator[tuple[TopicPartition, PartitionLog]]:
        return iter(list(self.logs.items()))

    def checkpoint_snapshot(self) -> dict[Path, dict[str, dict[TopicPartition, int]]]:
        """Offsets to checkpoint, per log dir and file; cheap, taken on the event loop."""
        snapshot: dict[Path, dict[str, dict[TopicPartition, int]]] = {
            d: {
                RECOVERY_POINT_CHECKPOINT: {},
                LOG_START_OFFSET_CHECKPOINT: {},
                REPLICATION_OFFSET_CHECKPOINT: {},
                CLEANER_OFFSET_CHECKPOINT: {},
            }
            for d in self.log_dirs
        }
        for key, log_dir in self._dir_of.items():
            files = snapshot[log_dir]
            files[RECOVERY_POINT_CHECKPOINT][key] = self.logs[key].recovery_point
            files[LOG_START_OFFSET_CHECKPOINT][key] = self.logs[key].log_start_offset
            files[REPLICATION_OFFSET_CHECKPOINT][key] = self.high_watermarks.get(key, 0)
            files[CLEANER_OFFSET_CHECKPOINT][key] = self.logs[key].first_dirty_offset
        return snapshot

    @staticmethod
    def write_checkpoints(snapshot: dict[Path, dict[str, dict[TopicPartition, int]]]) -> None:
        """Write a snapshot's checkpoint files (blocking: fsyncs; run off the event loop)."""
        for log_dir, files in snapshot.items():
            for name, offsets in files.items():
                write_partition_offsets(log_dir / name, offsets)

    def close(self) -> None:
        for partition_log in self.logs.values():
            partition_log.close()
        self.write_checkpoints(self.checkpoint_snapshot())
        for log_dir in self.log_dirs:
            (log_dir / CLEAN_SHUTDOWN_MARKER).touch()


def _read_checkpoint(path: Path) -> dict[TopicPartition, int]:
    try:
        return read_partition_offsets(path)
    except ValueError:
        log.warning("ignoring unreadable checkpoint", extra={"path": str(path)})
        return {}
