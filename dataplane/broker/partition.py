"""A partition hosted by this broker: its log, its replica role and state, and who waits on it.

As leader it appends, tracks how far each follower has fetched, advances the high watermark (the
smallest log end offset in the ISR) and completes acks=all produces once the high watermark passes
them. As follower it only appends what it copies from the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from dataplane.metadata.base import PartitionState
from dataplane.protocol import records
from dataplane.protocol.errors import ErrorCode
from dataplane.storage.log import PartitionLog
from dataplane.storage.producer_state import SequenceError


@dataclass(slots=True)
class AppendOutcome:
    error: ErrorCode = ErrorCode.NONE
    base_offset: int = -1
    last_offset: int = -1
    log_append_time: int = -1
    log_start_offset: int = -1
    message: str | None = None
    duplicate: bool = False  # an idempotent producer's retry of a batch already in the log


@dataclass(slots=True)
class FollowerState:
    log_end_offset: int = -1
    last_caught_up: float = 0.0
    last_fetch_time: float = 0.0
    leader_end_at_last_fetch: int = -1


class Partition:
    def __init__(
        self,
        topic: str,
        index: int,
        log: PartitionLog,
        state: PartitionState,
        broker_id: int,
        high_watermark: int = 0,
    ) -> None:
        self.topic = topic
        self.index = index
        self.log = log
        self.broker_id = broker_id
        self.state = PartitionState([], -1, -1, [], -1)
        self.high_watermark = min(high_watermark, log.log_end_offset)
        self.followers: dict[int, FollowerState] = {}
        self.isr_change_pending = False
        self._waiters: list[asyncio.Future[None]] = []
        self._replication_waiters: list[tuple[int, asyncio.Future[ErrorCode]]] = []
        self.apply_state(state)

    # --- role -----------------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self.state.leader == self.broker_id

    @property
    def leader_epoch(self) -> int:
        return self.state.leader_epoch

    def apply_state(self, state: PartitionState) -> None:
        """Take on the role the metadata now gives this broker for the partition."""
        was_leader = self.is_leader
        new_epoch = state.leader_epoch != self.state.leader_epoch
        self.state = state
        if self.is_leader:
            if not was_leader or new_epoch:
                self.log.assign_epoch(state.leader_epoch, self.log.log_end_offset)
                now = time.monotonic()
                self.followers = {
                    r: FollowerState(last_caught_up=now if r in state.isr else 0.0)
                    for r in state.replicas
                    if r != self.broker_id
                }
            for replica in state.replicas:
                if replica != self.broker_id and replica not in self.followers:
                    self.followers[replica] = FollowerState()
            self._advance_high_watermark()
        else:
            self.followers = {}
            self._fail_replication_waiters(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        self.wake_waiters()

    def check_leader_epoch(self, current_leader_epoch: int) -> ErrorCode:
        """Kafka's fencing of requests that carry a leader epoch (-1 means the client sent none)."""
        if current_leader_epoch < 0 or current_leader_epoch == self.leader_epoch:
            return ErrorCode.NONE
        if current_leader_epoch < self.leader_epoch:
            return ErrorCode.FENCED_LEADER_EPOCH
        return ErrorCode.UNKNOWN_LEADER_EPOCH

    # --- leader: appends ------------------------------------------------------------------------

    def append(self, data: memoryview | bytes | None, min_isr: int | None = None) -> AppendOutcome:
        """Append as leader. With `min_isr` (acks=all), refuse while the ISR is smaller."""
        if not self.is_leader:
            return AppendOutcome(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        if data is None:
            return AppendOutcome(ErrorCode.CORRUPT_MESSAGE, message="records are null")
        if min_isr is not None and len(self.state.isr) < min_isr:
            return AppendOutcome(
                ErrorCode.NOT_ENOUGH_REPLICAS,
                message=f"ISR {self.state.isr} is smaller than min.insync.replicas={min_isr}",
            )
        try:
            headers = records.parse_batches(data, self.log.config["max.message.bytes"])
        except records.InvalidBatch as exc:
            code = ErrorCode.CORRUPT_MESSAGE if exc.corrupt else ErrorCode.MESSAGE_TOO_LARGE
            if "magic" in str(exc):
                code = ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT
            return AppendOutcome(code, message=str(exc))
        if any(h.attributes & (records.TRANSACTIONAL_BIT | records.CONTROL_BIT) for h in headers):
            return AppendOutcome(
                ErrorCode.UNSUPPORTED_FOR_MESSAGE_FORMAT,
                message="transactional batches are not supported",
            )
        append_time = -1
        if self.log.config["message.timestamp.type"] == "LogAppendTime":
            append_time = int(time.time() * 1000)
            data = records.with_log_append_time(data, headers, append_time)
        try:
            result = self.log.append(data, headers, self.leader_epoch)
        except SequenceError as exc:
            return AppendOutcome(exc.code, message=str(exc))
        if not result.duplicate:
            self._advance_high_watermark()
            self.wake_waiters()
        return AppendOutcome(
            base_offset=result.base_offset,
            last_offset=result.last_offset,
            log_append_time=append_time,
            log_start_offset=self.log.log_start_offset,
            duplicate=result.duplicate,
        )

    async def wait_replicated(self, last_offset: int, timeout: float) -> ErrorCode:
        """Wait until the high watermark passes `last_offset` (acks=all)."""
        if self.high_watermark > last_offset:
            return ErrorCode.NONE
        future: asyncio.Future[ErrorCode] = asyncio.get_running_loop().create_future()
        self._replication_waiters.append((last_offset, future))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return ErrorCode.REQUEST_TIMED_OUT
        finally:
            with contextlib.suppress(ValueError):
                self._replication_waiters.remove((last_offset, future))

    def _fail_replication_waiters(self, error: ErrorCode) -> None:
        waiters, self._replication_waiters = self._replication_waiters, []
        for _, future in waiters:
            if not future.done():
                future.set_result(error)

    # --- leader: followers and the high watermark -----------------------------------------------

    def record_follower_fetch(self, replica: int, fetch_offset: int) -> bool:
        """Note a follower's fetch; returns True if it has caught up and should join the ISR."""
        state = self.followers.get(replica)
        if state is None or not self.is_leader:
            return False
        now = time.monotonic()
        leader_end = self.log.log_end_offset
        if fetch_offset >= leader_end:
            state.last_caught_up = now
        elif fetch_offset >= state.leader_end_at_last_fetch >= 0:
            # It has everything we had when it last asked: it was caught up then.
            state.last_caught_up = max(state.last_caught_up, state.last_fetch_time)
        state.log_end_offset = fetch_offset
        state.last_fetch_time = now
        state.leader_end_at_last_fetch = leader_end
        self._advance_high_watermark()
        epoch_start = self.log.epochs[-1].start_offset if self.log.epochs else 0
        return (
            replica not in self.state.isr
            and replica in self.state.replicas
            and fetch_offset >= self.high_watermark
            and fetch_offset >= epoch_start
        )

    def lagging_followers(self, max_lag_seconds: float) -> list[int]:
        now = time.monotonic()
        return [
            r
            for r in self.state.isr
            if r != self.broker_id
            and now - self.followers.get(r, FollowerState()).last_caught_up > max_lag_seconds
        ]

    def _advance_high_watermark(self) -> None:
        if not self.is_leader:
            return
        ends = [self.log.log_end_offset]
        for replica in self.state.isr:
            if replica != self.broker_id:
                ends.append(self.followers.get(replica, FollowerState()).log_end_offset)
        candidate = min(ends)
        if candidate > self.high_watermark:
            self.high_watermark = candidate
            self._complete_replication_waiters()
            self.wake_waiters()

    def _complete_replication_waiters(self) -> None:
        remaining = []
        for last_offset, future in self._replication_waiters:
            if last_offset < self.high_watermark:
                if not future.done():
                    future.set_result(ErrorCode.NONE)
            else:
                remaining.append((last_offset, future))
        self._replication_waiters = remaining

    # --- follower -------------------------------------------------------------------------------

    def append_from_leader(
        self, data: memoryview | bytes, leader_high_watermark: int, leader_log_start: int
    ) -> int:
        """Copy whole batches fetched from the leader; returns how many bytes were appended."""
        headers, length = records.complete_batches(data)
        headers = [h for h in headers if h.base_offset >= self.log.log_end_offset]
        if headers:
            start = headers[0].position
            end = headers[-1].position + headers[-1].size
            view = memoryview(data)[start:end]
            for header in headers:
                header.position -= start
            self.log.append_as_follower(view, headers)
        self.update_follower_high_watermark(leader_high_watermark)
        if leader_log_start > self.log.log_start_offset:
            self.log.delete_records_before(min(leader_log_start, self.log.log_end_offset))
        return length

    def update_follower_high_watermark(self, leader_high_watermark: int) -> None:
        new = min(leader_high_watermark, self.log.log_end_offset)
        if new > self.high_watermark:
            self.high_watermark = new

    def truncate_to(self, offset: int) -> None:
        self.log.truncate_to(offset)
        self.high_watermark = min(self.high_watermark, self.log.log_end_offset)

    # --- waiting readers ------------------------------------------------------------------------

    def wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def add_waiter(self, waiter: asyncio.Future[None]) -> None:
        self._waiters.append(waiter)

    def remove_waiter(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def delete_records(self, offset: int) -> tuple[ErrorCode, int]:
        """Move the log start offset to `offset` (-1 means the high watermark)."""
        if not self.is_leader:
            return ErrorCode.NOT_LEADER_OR_FOLLOWER, -1
        target = self.high_watermark if offset == -1 else offset
        if target < 0 or target > self.high_watermark:
            return ErrorCode.OFFSET_OUT_OF_RANGE, -1
        self.log.delete_records_before(target)
        return ErrorCode.NONE, self.log.log_start_offset

    def close(self) -> None:
        self._fail_replication_waiters(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        self.wake_waiters()
