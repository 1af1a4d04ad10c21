"""A partition hosted by this broker: its log, its replica state and the fetchers waiting on it."""

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
    log_append_time: int = -1
    log_start_offset: int = -1
    message: str | None = None


class Partition:
    def __init__(
        self, topic: str, index: int, log: PartitionLog, state: PartitionState, broker_id: int
    ) -> None:
        self.topic = topic
        self.index = index
        self.log = log
        self.state = state
        self.broker_id = broker_id
        self.high_watermark = log.log_end_offset
        self._waiters: list[asyncio.Future[None]] = []

    @property
    def is_leader(self) -> bool:
        return self.state.leader == self.broker_id

    @property
    def leader_epoch(self) -> int:
        return self.state.leader_epoch

    def check_leader_epoch(self, current_leader_epoch: int) -> ErrorCode:
        """Kafka's fencing of requests that carry a leader epoch (-1 means the client sent none)."""
        if current_leader_epoch < 0 or current_leader_epoch == self.leader_epoch:
            return ErrorCode.NONE
        if current_leader_epoch < self.leader_epoch:
            return ErrorCode.FENCED_LEADER_EPOCH
        return ErrorCode.UNKNOWN_LEADER_EPOCH

    def append(self, data: memoryview | bytes | None) -> AppendOutcome:
        if not self.is_leader:
            return AppendOutcome(ErrorCode.NOT_LEADER_OR_FOLLOWER)
        if data is None:
            return AppendOutcome(ErrorCode.CORRUPT_MESSAGE, message="records are null")
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
        return AppendOutcome(base_offset=result.base_offset, log_append_time=append_time)

    def _advance_high_watermark(self) -> None:
        if self.state.isr == [self.broker_id]:
            self.high_watermark = self.log.log_end_offset
        self.wake_waiters()

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
