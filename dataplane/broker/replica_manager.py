"""The partitions this broker hosts, kept in step with cluster metadata, and their upkeep."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from dataplane.broker.partition import AppendOutcome, Partition
from dataplane.broker.stats import BrokerStats
from dataplane.config import BrokerConfig, effective_topic_config
from dataplane.metadata.base import MetadataStore, PartitionState, topic_id_text
from dataplane.protocol.errors import ErrorCode
from dataplane.replication.throttle import Throttle
from dataplane.storage import cleaner
from dataplane.storage.log import PartitionLog
from dataplane.storage.log_manager import LogManager

if TYPE_CHECKING:
    from dataplane.replication.fetcher import ReplicaFetcherManager

log = logging.getLogger(__name__)


class ReplicaManager:
    def __init__(self, config: BrokerConfig, metadata: MetadataStore, stats: BrokerStats) -> None:
        self.config = config
        self.broker_id = config.broker_id
        self.metadata = metadata
        self.stats = stats
        self._topic_defaults = config.topic_defaults()
        self.logs = LogManager(config.log_dirs, self.topic_config)
        self.partitions: dict[tuple[str, int], Partition] = {}
        self._flushes: dict[PartitionLog, asyncio.Future[None]] = {}
        self.fetchers: ReplicaFetcherManager | None = None  # set when this broker has peers
        self.isr_shrinks = 0
        self.isr_expands = 0
        # What this broker, as leader, serves to replicas being added by a reassignment; read at
        # every fetch, as `leader.replication.throttled.rate` may change while we run.
        self.leader_throttle = Throttle(lambda: self.config["leader.replication.throttled.rate"])

    def topic_config(self, topic: str) -> dict[str, Any]:
        meta = self.metadata.topics.get(topic)
        return effective_topic_config(meta.configs if meta else {}, self._topic_defaults)

    def load(self) -> None:
        self.logs.load()
        self.reconcile()

    def reconcile(self) -> None:
        """Create logs for partitions assigned here, drop those no longer assigned, apply configs,
        and take on the role (leader or follower) the metadata gives this broker."""
        wanted: dict[tuple[str, int], tuple[PartitionState, str]] = {}
        for topic in self.metadata.topics.values():
            topic_id = topic_id_text(topic.topic_id)
            for index, state in topic.partitions.items():
                if self.broker_id in state.replicas:
                    wanted[(topic.name, index)] = (state, topic_id)
        for key, partition_log in self.logs:
            stored_id = partition_log.topic_id
            if key in wanted and stored_id not in (None, wanted[key][1]):
                # A topic of the same name was deleted and created again while we looked away.
                log.info(
                    "replacing the log of a deleted topic",
                    extra={"topic": key[0], "partition": key[1]},
                )
                wanted_state = wanted.pop(key)
                self._drop(key)
                wanted[key] = wanted_state
            elif key not in wanted:
                self._drop(key)
        self.logs.refresh_configs()
        for key, (state, topic_id) in wanted.items():
            partition = self.partitions.get(key)
            if partition is None:
                partition_log = self.logs.get_or_create(*key)
                if partition_log.topic_id is None:
                    partition_log.record_topic_id(topic_id)
                self.partitions[key] = Partition(
                    key[0],
                    key[1],
                    partition_log,
                    state,
                    self.broker_id,
                    self.logs.high_watermarks.get(key, 0),
                )
            else:
                partition.apply_state(state)
        self.stats.track_topics({topic for topic, _ in self.partitions})
        if self.fetchers is not None:
            self.fetchers.update(
                {
                    key: p.state.leader
                    for key, p in self.partitions.items()
                    if not p.is_leader and p.state.leader >= 0
                }
            )

    def _drop(self, key: tuple[str, int]) -> None:
        partition = self.partitions.pop(key, None)
        if partition is not None:
            partition.close()
        log.info("deleting partition log", extra={"topic": key[0], "partition": key[1]})
        self.logs.delete(*key)

    def get(self, topic: str, index: int) -> Partition | None:
        return self.partitions.get((topic, index))

    async def append(
        self,
        topic: str,
        index: int,
        data: memoryview | bytes | None,
        acks: int,
        timeout_ms: int = 30_000,
    ) -> AppendOutcome:
        """Append as leader and wait until the write is as durable as `acks` and the flush policy
        ask: with acks=all, until every in-sync replica has it."""
        partition = self.partitions.get((topic, index))
        if partition is None:
            return AppendOutcome(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        refused = self._over_quota(partition, data)
        if refused is not None:
            return refused
        min_isr = partition.log.config["min.insync.replicas"] if acks == -1 else None
        outcome = partition.append(data, min_isr)
        if outcome.error:
            return outcome
        if self.stats.recording and not outcome.duplicate and data is not None:
            self.stats.record_append(
                topic, len(data), outcome.last_offset - outcome.base_offset + 1
            )
        await self.flush_if_due(partition.log)
        if acks == -1:
            error = await partition.wait_replicated(outcome.last_offset, timeout_ms / 1000)
            if not error and min_isr is not None and len(partition.state.isr) < min_isr:
                error = ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
            if error:
                outcome.error = error
                outcome.message = f"not replicated to the ISR {partition.state.isr}: {error.name}"
        return outcome

    def _over_quota(
        self, partition: Partition, data: memoryview | bytes | None
    ) -> AppendOutcome | None:
        """Refuse an append that would take the log dirs past `log.dirs.quota.bytes`, with a
        retriable error so that producers wait until space is freed or the quota raised. Only the
        leader refuses (a follower must mirror its leader, or the ISR would shrink for nothing);
        the offsets topic is exempt: its records are small, compacted, and refusing them would
        stop every consumer group."""
        quota = self.config["log.dirs.quota.bytes"]
        if quota < 0 or data is None or not partition.is_leader:
            return None
        used = self.logs.usage.bytes
        if used + len(data) <= quota:
            return None
        topic = self.metadata.topics.get(partition.topic)
        if topic is not None and topic.internal:
            return None
        return AppendOutcome(
            ErrorCode.KAFKA_STORAGE_ERROR,
            message=f"log directory quota reached: {used} of {quota} bytes used, "
            f"{len(data)} more do not fit (log.dirs.quota.bytes)",
        )

    def leader_throttled(self, partition: Partition, replica: int) -> bool:
        """Does the leader throttle apply to `replica` fetching `partition` (a replica being added
        by a reassignment)?"""
        if self.config["leader.replication.throttled.rate"] < 0:
            return False
        topic = self.metadata.topics.get(partition.topic)
        return topic is not None and replica in topic.adding_replicas.get(partition.index, [])

    # --- ISR upkeep (as leader) -----------------------------------------------------------------

    def follower_fetched(self, partition: Partition, replica: int, fetch_offset: int) -> None:
        if partition.record_follower_fetch(replica, fetch_offset):
            topic = self.metadata.topics.get(partition.topic)
            if topic is not None and replica in topic.removing_replicas.get(partition.index, []):
                return  # being reassigned away: it must not rejoin the ISR it is leaving
            if replica in self.metadata.shutting_down:
                return  # draining for a controlled shutdown: the controller just took it out
            self._change_isr(partition, sorted({*partition.state.isr, replica}), "caught up")

    async def shrink_isrs(self) -> None:
        max_lag = self.config["replica.lag.time.max.ms"] / 1000
        for partition in list(self.partitions.values()):
            if not partition.is_leader:
                continue
            lagging = partition.lagging_followers(max_lag)
            if lagging:
                isr = [r for r in partition.state.isr if r not in lagging]
                self._change_isr(partition, isr, f"replicas {lagging} fell behind")

    def _change_isr(self, partition: Partition, isr: list[int], reason: str) -> None:
        if partition.isr_change_pending:
            return
        partition.isr_change_pending = True
        state = partition.state

        async def change() -> None:
            try:
                if await self.metadata.update_isr(partition.topic, partition.index, state, isr):
                    if len(isr) < len(state.isr):
                        self.isr_shrinks += 1
                    else:
                        self.isr_expands += 1
                    log.info(
                        "ISR changed",
                        extra={
                            "topic": partition.topic,
                            "partition": partition.index,
                            "isr": isr,
                            "reason": reason,
                        },
                    )
            except Exception:
                log.warning("ISR change failed", exc_info=True)
            finally:
                partition.isr_change_pending = False

        asyncio.get_running_loop().create_task(change())

    # --- durability -----------------------------------------------------------------------------

    async def flush_if_due(self, partition_log: PartitionLog) -> None:
        """Group commit: appends that arrive while a flush runs share the next one."""
        if not partition_log.needs_flush(time.monotonic()):
            return
        pending = self._flushes.get(partition_log)
        if pending is not None:
            await pending
            if not partition_log.needs_flush(time.monotonic()):
                return
        future = asyncio.get_running_loop().create_future()
        self._flushes[partition_log] = future
        try:
            await asyncio.to_thread(partition_log.flush)
            future.set_result(None)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            if self._flushes.get(partition_log) is future:
                del self._flushes[partition_log]

    async def run_maintenance(self) -> None:
        """Flushes by time, and the periodic jobs (retention, compaction, checkpoints), until
        cancelled."""
        cfg = self.config
        jobs: list[tuple[int, Callable[[], Awaitable[None]]]] = [
            (cfg["log.retention.check.interval.ms"], self.enforce_retention),
            (cfg["replica.high.watermark.checkpoint.interval.ms"], self.write_checkpoints),
        ]
        if self.fetchers is not None:
            jobs.append((max(cfg["replica.lag.time.max.ms"] // 2, 100), self.shrink_isrs))
        jobs.append((cfg["broker.health.log.interval.ms"], self.log_health))
        if cfg["log.cleaner.enable"]:
            jobs.append((cfg["log.cleaner.backoff.ms"], self.compact_logs))
        due = [time.monotonic() + interval / 1000 for interval, _ in jobs]
        while True:
            await asyncio.sleep(cfg["log.flush.scheduler.interval.ms"] / 1000)
            for partition in list(self.partitions.values()):
                await self.flush_if_due(partition.log)
            for index, (interval, job) in enumerate(jobs):
                now = time.monotonic()
                if now >= due[index]:
                    due[index] = now + interval / 1000
                    await job()

    def health(self) -> dict[str, int]:
        """Facts operators watch: partitions this broker leads that lack replicas, and ISR churn."""
        led = [p for p in self.partitions.values() if p.is_leader]
        offline = sum(
            1
            for topic in self.metadata.topics.values()
            for p in topic.partitions.values()
            if p.leader < 0
        )
        return {
            "leader_partitions": len(led),
            "under_replicated": sum(1 for p in led if len(p.state.isr) < len(p.state.replicas)),
            "under_min_isr": sum(
                1 for p in led if len(p.state.isr) < p.log.config["min.insync.replicas"]
            ),
            "offline_partitions": offline,
            "controller": self.metadata.controller_id,
            "isr_shrinks": self.isr_shrinks,
            "isr_expands": self.isr_expands,
            "log_dirs_used_bytes": self.logs.usage.bytes,
            "log_dirs_quota_bytes": self.config["log.dirs.quota.bytes"],
        }

    async def log_health(self) -> None:
        log.info("broker health", extra=self.health())

    async def write_checkpoints(self) -> None:
        await asyncio.to_thread(self.logs.write_checkpoints, self.checkpoint_snapshot())

    async def compact_logs(self) -> None:
        """Clean every compacted log that is dirty enough (rewrites off the event loop)."""
        for key, partition in list(self.partitions.items()):
            partition_log = partition.log
            started = cleaner.now_ms()
            clean_plan = cleaner.plan(partition_log, started)
            if clean_plan is None:
                continue
            try:
                cleaned = await asyncio.to_thread(
                    cleaner.rewrite,
                    clean_plan,
                    partition_log.config["delete.retention.ms"],
                    started,
                )
            except (OSError, ValueError) as exc:
                # The log changed underneath (deleted, truncated): try again next round.
                log.warning(
                    "log cleaning abandoned",
                    extra={"topic": key[0], "partition": key[1], "error": str(exc)},
                )
                continue
            removed = cleaner.swap_in(partition_log, cleaned, clean_plan.first_dirty_offset)
            log.info(
                "log cleaned",
                extra={
                    "topic": key[0],
                    "partition": key[1],
                    "segments": len(cleaned),
                    "records_removed": removed,
                    "ms": cleaner.now_ms() - started,
                },
            )

    async def enforce_retention(self) -> None:
        now_ms = int(time.time() * 1000)
        for key, partition in list(self.partitions.items()):
            deleted = partition.log.enforce_retention(now_ms)
            if deleted:
                log.info(
                    "retention deleted segments",
                    extra={
                        "topic": key[0],
                        "partition": key[1],
                        "segments": deleted,
                        "log_start_offset": partition.log.log_start_offset,
                    },
                )

    def checkpoint_snapshot(self) -> dict:
        for key, partition in self.partitions.items():
            self.logs.high_watermarks[key] = partition.high_watermark
        return self.logs.checkpoint_snapshot()

    def close(self) -> None:
        for key, partition in self.partitions.items():
            self.logs.high_watermarks[key] = partition.high_watermark
            partition.close()
        self.logs.close()
