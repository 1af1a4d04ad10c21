"""The group coordinator: Kafka's classic rebalance protocol and committed offsets.

A group lives on the `__consumer_offsets` partition its id hashes to; the broker leading that partition
is its coordinator. Members join (JoinGroup), the leader's assignment is relayed to everyone (SyncGroup),
members prove liveness (Heartbeat) and leave (LeaveGroup). The broker never computes assignments, so
every client-side assignor works. Commits and group metadata are appended to the offsets partition and
replayed from it when the partition is loaded.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from dataplane.groups.consumer_protocol import CONSUMER_PROTOCOL_TYPE, subscribed_topics
from dataplane.groups.group import Group, GroupState, Member
from dataplane.groups.offsets_topic import (
    OFFSETS_TOPIC,
    GroupKey,
    GroupValue,
    OffsetKey,
    OffsetValue,
    decode_group_value,
    decode_key,
    decode_offset_value,
    encode_group_value,
    encode_key,
    encode_offset_value,
    partition_for,
)
from dataplane.protocol.errors import ErrorCode
from dataplane.protocol.record_codec import Record, decode_records, encode_batch

if TYPE_CHECKING:
    from dataplane.broker.replica_manager import ReplicaManager
    from dataplane.config import BrokerConfig

log = logging.getLogger(__name__)

NEW_MEMBER_JOIN_TIMEOUT_MS = 300_000


def _now_ms() -> int:
    return int(time.time() * 1000)


def join_error(code: ErrorCode, member_id: str = "") -> dict:
    return {
        "error_code": code,
        "generation_id": -1,
        "protocol_type": None,
        "protocol_name": None,
        "leader": "",
        "member_id": member_id,
        "members": [],
    }


def sync_response(code: ErrorCode, group: Group | None = None, assignment: bytes = b"") -> dict:
    return {
        "error_code": code,
        "protocol_type": group.protocol_type if group else None,
        "protocol_name": group.protocol_name if group else None,
        "assignment": assignment,
    }


class GroupCoordinator:
    def __init__(self, config: BrokerConfig, replicas: ReplicaManager) -> None:
        self.config = config
        self.replicas = replicas
        self.broker_id = config.broker_id
        self.num_partitions: int = config["offsets.topic.num.partitions"]
        self.groups: dict[str, Group] = {}
        self.loaded: set[int] = set()
        self.loading: dict[int, asyncio.Task[None]] = {}

    # --- ownership ------------------------------------------------------------------------------

    def partition_of(self, group_id: str) -> int:
        return partition_for(group_id, self.num_partitions)

    def ownership_error(self, group_id: str) -> ErrorCode:
        partition = self.replicas.get(OFFSETS_TOPIC, self.partition_of(group_id))
        if partition is None or not partition.is_leader:
            return ErrorCode.NOT_COORDINATOR
        if self.partition_of(group_id) not in self.loaded:
            return ErrorCode.COORDINATOR_LOAD_IN_PROGRESS
        return ErrorCode.NONE

    def on_partitions_changed(self) -> None:
        """Load offsets partitions this broker now leads; forget groups of those it no longer leads."""
        led = {
            index
            for (topic, index), partition in self.replicas.partitions.items()
            if topic == OFFSETS_TOPIC and partition.is_leader
        }
        for index in list(self.loaded):
            if index not in led:
                self._unload(index)
        for index in led - self.loaded - set(self.loading):
            self.loading[index] = asyncio.get_running_loop().create_task(self._load(index))

    def _unload(self, index: int) -> None:
        self.loaded.discard(index)
        for group_id in [g for g in self.groups if self.partition_of(g) == index]:
            group = self.groups.pop(group_id)
            for member in group.members.values():
                self._cancel_member(member, ErrorCode.NOT_COORDINATOR)
            if group.rebalance_timer:
                group.rebalance_timer.cancel()

    async def _load(self, index: int) -> None:
        try:
            partition = self.replicas.get(OFFSETS_TOPIC, index)
            if partition is None:
                return
            entries = await asyncio.to_thread(_read_offsets_partition, partition.log)
            for key, value in entries.items():
                self._apply_loaded(key, value)
            self.loaded.add(index)
            if entries:
                log.info(
                    "loaded offsets partition", extra={"partition": index, "keys": len(entries)}
                )
        finally:
            self.loading.pop(index, None)

    def _apply_loaded(self, key: OffsetKey | GroupKey, value: bytes) -> None:
        group = self.groups.get(key.group)
        if group is None:
            group = self.groups[key.group] = Group(key.group)
        if isinstance(key, OffsetKey):
            group.offsets[(key.topic, key.partition)] = decode_offset_value(value)
        else:
            self._restore_group(group, decode_group_value(value))

    def _restore_group(self, group: Group, stored: GroupValue) -> None:
        """Take over a group from its stored metadata, members included, so that a coordinator
        failover costs its members nothing: they keep their generation and assignment and simply
        carry on heartbeating here (or expire as usual)."""
        group.generation = stored.generation
        group.protocol_type = stored.protocol_type or None
        group.protocol_name = stored.protocol
        group.leader_id = stored.leader
        group.state_since_ms = stored.state_timestamp
        for member in group.members.values():
            self._cancel_member(member, ErrorCode.NOT_COORDINATOR)
        group.members = {}
        group.static_members = {}
        for kept in stored.members:
            member = Member(
                member_id=kept.member_id,
                group_instance_id=kept.group_instance_id,
                client_id=kept.client_id,
                client_host=kept.client_host,
                session_timeout_ms=kept.session_timeout,
                rebalance_timeout_ms=kept.rebalance_timeout,
                protocols=[(stored.protocol or "", kept.subscription)],
                assignment=kept.assignment,
            )
            group.members[member.member_id] = member
            if member.group_instance_id is not None:
                group.static_members[member.group_instance_id] = member.member_id
            self._schedule_member_expiry(group, member, member.session_timeout_ms)
        group.state = GroupState.STABLE if group.members and stored.protocol else GroupState.EMPTY

    async def wait_loaded(self) -> None:
        """Wait for loads in progress (tests and shutdown)."""
        while self.loading:
            await asyncio.gather(*list(self.loading.values()), return_exceptions=True)

    # --- persistence ----------------------------------------------------------------------------

    async def _append(self, group_id: str, records: list[tuple[bytes, bytes | None]]) -> ErrorCode:
        now = _now_ms()
        batch = encode_batch(
            [Record(i, now, key, value) for i, (key, value) in enumerate(records)], base_offset=0
        )
        outcome = await self.replicas.append(
            OFFSETS_TOPIC, self.partition_of(group_id), batch, acks=-1
        )
        if outcome.error in (
            ErrorCode.NOT_LEADER_OR_FOLLOWER,
            ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        ):
            return ErrorCode.NOT_COORDINATOR
        if outcome.error:
            log.warning(
                "offsets topic append failed",
                extra={"group": group_id, "error": outcome.error.name, "reason": outcome.message},
            )
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        return ErrorCode.NONE

    async def _store_group(self, group: Group) -> ErrorCode:
        return await self._append(
            group.group_id,
            [(encode_key(GroupKey(group.group_id)), encode_group_value(group.to_stored()))],
        )

    # --- membership -----------------------------------------------------------------------------

    async def join_group(
        self,
        *,
        group_id: str,
        member_id: str,
        group_instance_id: str | None,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
        client_id: str,
        client_host: str,
        require_known_member_id: bool,
    ) -> dict:
        error = self.ownership_error(group_id)
        if error:
            return join_error(error, member_id)
        if not group_id:
            return join_error(ErrorCode.INVALID_GROUP_ID, member_id)
        low = self.config["group.min.session.timeout.ms"]
        high = self.config["group.max.session.timeout.ms"]
        if not low <= session_timeout_ms <= high:
            return join_error(ErrorCode.INVALID_SESSION_TIMEOUT, member_id)
        if rebalance_timeout_ms < 0:
            rebalance_timeout_ms = session_timeout_ms
        group = self.groups.get(group_id)
        if group is None:
            if member_id:
                return join_error(ErrorCode.UNKNOWN_MEMBER_ID, member_id)
            group = self.groups[group_id] = Group(group_id)
        if group.state == GroupState.DEAD:
            return join_error(ErrorCode.COORDINATOR_NOT_AVAILABLE, member_id)
        if not group.supports(protocol_type, protocols):
            return join_error(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, member_id)
        member_args = {
            "group_instance_id": group_instance_id,
            "client_id": client_id,
            "client_host": client_host,
            "session_timeout_ms": session_timeout_ms,
            "rebalance_timeout_ms": rebalance_timeout_ms,
            "protocols": protocols,
        }
        if not member_id:
            new_id = f"{client_id or 'member'}-{uuid.uuid4()}"
            if group_instance_id is not None:
                old_id = group.static_members.get(group_instance_id)
                if old_id is not None and old_id in group.members:
                    return await self._replace_static_member(group, old_id, new_id, member_args)
                return await self._add_member_and_rebalance(
                    group, new_id, protocol_type, member_args
                )
            if require_known_member_id:
                group.pending_members.add(new_id)
                self._schedule(session_timeout_ms, lambda: self._expire_pending(group, new_id))
                return join_error(ErrorCode.MEMBER_ID_REQUIRED, new_id)
            return await self._add_member_and_rebalance(group, new_id, protocol_type, member_args)
        if member_id in group.pending_members:
            group.pending_members.discard(member_id)
            return await self._add_member_and_rebalance(
                group, member_id, protocol_type, member_args
            )
        if group.is_fenced(group_instance_id, member_id):
            return join_error(ErrorCode.FENCED_INSTANCE_ID, member_id)
        member = group.members.get(member_id)
        if member is None:
            return join_error(ErrorCode.UNKNOWN_MEMBER_ID, member_id)
        return await self._rejoin(group, member, protocols, member_args)

    async def _rejoin(
        self, group: Group, member: Member, protocols: list[tuple[str, bytes]], args: dict[str, Any]
    ) -> dict:
        unchanged = member.protocols == protocols
        if group.state == GroupState.PREPARING_REBALANCE:
            self._update_member(member, args)
            return await self._await_join(group, member)
        if group.state == GroupState.COMPLETING_REBALANCE and unchanged:
            # The member lost our join response: answer it again without a new rebalance.
            return self._join_response(group, member)
        if group.state == GroupState.STABLE and unchanged and member.member_id != group.leader_id:
            return self._join_response(group, member)
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._update_member(member, args)
            future = self._new_join_future(member)
            self._prepare_rebalance(group, f"member {member.member_id} rejoined")
            return await self._await_future(group, member, future)
        return join_error(ErrorCode.UNKNOWN_MEMBER_ID, member.member_id)

    def _update_member(self, member: Member, args: dict[str, Any]) -> None:
        member.protocols = args["protocols"]
        member.session_timeout_ms = args["session_timeout_ms"]
        member.rebalance_timeout_ms = args["rebalance_timeout_ms"]
        member.client_id = args["client_id"]
        member.client_host = args["client_host"]

    async def _add_member_and_rebalance(
        self, group: Group, member_id: str, protocol_type: str, args: dict[str, Any]
    ) -> dict:
        member = Member(member_id=member_id, **args)
        if not group.members:
            group.protocol_type = protocol_type
        group.members[member_id] = member
        if member.group_instance_id is not None:
            group.static_members[member.group_instance_id] = member_id
        if group.leader_id is None:
            group.leader_id = member_id
        future = self._new_join_future(member)
        # A new member that never completes its join is dropped after a while.
        self._schedule_member_expiry(group, member, NEW_MEMBER_JOIN_TIMEOUT_MS)
        if group.state == GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(group)
        else:
            self._prepare_rebalance(group, f"member {member_id} joined")
        return await self._await_future(group, member, future)

    async def _replace_static_member(
        self, group: Group, old_id: str, new_id: str, args: dict[str, Any]
    ) -> dict:
        """A static member restarted: it takes over its old identity, fencing the old member id."""
        old = group.members.pop(old_id)
        self._cancel_member(old, ErrorCode.FENCED_INSTANCE_ID)
        member = Member(member_id=new_id, assignment=old.assignment, **args)
        group.members[new_id] = member
        group.static_members[member.group_instance_id or ""] = new_id
        if group.leader_id == old_id:
            group.leader_id = new_id
        log.info(
            "static member rejoined",
            extra={"group": group.group_id, "instance": member.group_instance_id, "member": new_id},
        )
        if group.state == GroupState.STABLE and old.protocols == member.protocols:
            # Same subscription: keep the current assignment, no rebalance.
            self._schedule_member_expiry(group, member, member.session_timeout_ms)
            error = await self._store_group(group)
            if error:
                return join_error(error, new_id)
            return self._join_response(group, member)
        future = self._new_join_future(member)
        if group.state == GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(group)
        else:
            self._prepare_rebalance(group, f"static member {member.group_instance_id} changed")
        return await self._await_future(group, member, future)

    def _new_join_future(self, member: Member) -> asyncio.Future[dict]:
        member.join_future = asyncio.get_running_loop().create_future()
        return member.join_future

    async def _await_join(self, group: Group, member: Member) -> dict:
        future = self._new_join_future(member)
        self._maybe_complete_join(group)
        return await self._await_future(group, member, future)

    async def _await_future(
        self, group: Group, member: Member, future: asyncio.Future[dict]
    ) -> dict:
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The client connection went away while waiting; Kafka keeps the member until it
            # expires, so do we.
            raise

    def _join_response(self, group: Group, member: Member) -> dict:
        is_leader = member.member_id == group.leader_id
        protocol = group.protocol_name or ""
        return {
            "error_code": ErrorCode.NONE,
            "generation_id": group.generation,
            "protocol_type": group.protocol_type,
            "protocol_name": group.protocol_name,
            "leader": group.leader_id or "",
            "member_id": member.member_id,
            "members": [
                {
                    "member_id": m.member_id,
                    "group_instance_id": m.group_instance_id,
                    "metadata": m.metadata_for(protocol),
                }
                for m in group.members.values()
            ]
            if is_leader
            else [],
        }

    def _prepare_rebalance(self, group: Group, reason: str) -> None:
        if group.state == GroupState.COMPLETING_REBALANCE:
            for member in group.members.values():
                if member.awaiting_sync:
                    assert member.sync_future is not None
                    member.sync_future.set_result(sync_response(ErrorCode.REBALANCE_IN_PROGRESS))
        initial = group.state == GroupState.EMPTY
        group.transition(GroupState.PREPARING_REBALANCE)
        log.info("rebalance started", extra={"group": group.group_id, "reason": reason})
        if group.rebalance_timer:
            group.rebalance_timer.cancel()
        rebalance_timeout = max((m.rebalance_timeout_ms for m in group.members.values()), default=0)
        if initial and self.config["group.initial.rebalance.delay.ms"] > 0:
            # Give the other members of a starting group a moment to join, saving a rebalance each.
            group.initial_delay_pending = True
            delay = min(self.config["group.initial.rebalance.delay.ms"], rebalance_timeout)

            def end_initial_delay() -> None:
                group.initial_delay_pending = False
                group.rebalance_timer = self._schedule(
                    max(rebalance_timeout - delay, 0), lambda: self._complete_join(group)
                )
                self._maybe_complete_join(group)

            group.rebalance_timer = self._schedule(delay, end_initial_delay)
        else:
            group.initial_delay_pending = False
            group.rebalance_timer = self._schedule(
                rebalance_timeout, lambda: self._complete_join(group)
            )
            self._maybe_complete_join(group)

    def _maybe_complete_join(self, group: Group) -> None:
        if (
            group.state == GroupState.PREPARING_REBALANCE
            and not group.initial_delay_pending
            and group.all_members_joined()
        ):
            self._complete_join(group)

    def _complete_join(self, group: Group) -> None:
        if group.state != GroupState.PREPARING_REBALANCE:
            return
        if group.rebalance_timer:
            group.rebalance_timer.cancel()
            group.rebalance_timer = None
        group.initial_delay_pending = False
        for member in list(group.members.values()):
            if not member.awaiting_join and member.group_instance_id is None:
                self._remove_member(group, member, ErrorCode.UNKNOWN_MEMBER_ID)
        group.pending_members.clear()
        group.generation += 1
        if not group.members:
            group.transition(GroupState.EMPTY)
            group.protocol_name = None
            group.leader_id = None
            log.info(
                "group is empty", extra={"group": group.group_id, "generation": group.generation}
            )
            asyncio.get_running_loop().create_task(self._store_group(group))
            return
        group.protocol_name = group.select_protocol()
        if group.leader_id not in group.members or not group.members[group.leader_id].awaiting_join:
            joined = [m for m in group.members.values() if m.awaiting_join]
            group.leader_id = (
                joined[0] if joined else next(iter(group.members.values()))
            ).member_id
        group.transition(GroupState.COMPLETING_REBALANCE)
        log.info(
            "rebalance completed join phase",
            extra={
                "group": group.group_id,
                "generation": group.generation,
                "protocol": group.protocol_name,
                "members": len(group.members),
            },
        )
        for member in group.members.values():
            if member.awaiting_join:
                assert member.join_future is not None
                member.join_future.set_result(self._join_response(group, member))
                member.join_future = None
            self._schedule_member_expiry(group, member, member.session_timeout_ms)

    async def sync_group(
        self,
        *,
        group_id: str,
        generation_id: int,
        member_id: str,
        group_instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: list[tuple[str, bytes]],
    ) -> dict:
        error = self.ownership_error(group_id)
        if error:
            return sync_response(error)
        group = self.groups.get(group_id)
        if group is not None and group.is_fenced(group_instance_id, member_id):
            return sync_response(ErrorCode.FENCED_INSTANCE_ID)
        member = group.members.get(member_id) if group else None
        if group is None or member is None:
            return sync_response(ErrorCode.UNKNOWN_MEMBER_ID)
        if generation_id != group.generation:
            return sync_response(ErrorCode.ILLEGAL_GENERATION)
        if (protocol_type is not None and protocol_type != group.protocol_type) or (
            protocol_name is not None and protocol_name != group.protocol_name
        ):
            return sync_response(ErrorCode.INCONSISTENT_GROUP_PROTOCOL)
        if group.state == GroupState.PREPARING_REBALANCE:
            return sync_response(ErrorCode.REBALANCE_IN_PROGRESS)
        if group.state == GroupState.STABLE:
            self._schedule_member_expiry(group, member, member.session_timeout_ms)
            return sync_response(ErrorCode.NONE, group, member.assignment)
        if group.state != GroupState.COMPLETING_REBALANCE:
            return sync_response(ErrorCode.UNKNOWN_MEMBER_ID)
        future: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        member.sync_future = future
        if member_id == group.leader_id:
            generation = group.generation
            given = dict(assignments)
            for m in group.members.values():
                m.assignment = given.get(m.member_id, b"")
            error = await self._store_group(group)
            if group.state == GroupState.COMPLETING_REBALANCE and group.generation == generation:
                if error:
                    for m in group.members.values():
                        m.assignment = b""
                        if m.awaiting_sync:
                            assert m.sync_future is not None
                            m.sync_future.set_result(sync_response(error))
                    self._prepare_rebalance(group, "could not store the assignment")
                else:
                    group.transition(GroupState.STABLE)
                    log.info(
                        "group stable",
                        extra={"group": group.group_id, "generation": group.generation},
                    )
                    for m in group.members.values():
                        if m.awaiting_sync:
                            assert m.sync_future is not None
                            m.sync_future.set_result(
                                sync_response(ErrorCode.NONE, group, m.assignment)
                            )
        response = await asyncio.shield(future)
        member.sync_future = None
        if member.member_id in group.members:
            self._schedule_member_expiry(group, member, member.session_timeout_ms)
        return response

    def heartbeat(
        self, *, group_id: str, generation_id: int, member_id: str, group_instance_id: str | None
    ) -> ErrorCode:
        error = self.ownership_error(group_id)
        if error:
            return error
        group = self.groups.get(group_id)
        if group is not None and group.is_fenced(group_instance_id, member_id):
            return ErrorCode.FENCED_INSTANCE_ID
        member = group.members.get(member_id) if group else None
        if group is None or member is None:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if group.state in (GroupState.EMPTY, GroupState.DEAD):
            return ErrorCode.UNKNOWN_MEMBER_ID
        if generation_id != group.generation:
            return ErrorCode.ILLEGAL_GENERATION
        self._schedule_member_expiry(group, member, member.session_timeout_ms)
        if group.state == GroupState.PREPARING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    def leave_group(
        self, group_id: str, leaving: list[tuple[str, str | None]]
    ) -> tuple[ErrorCode, list[ErrorCode]]:
        """Remove members given as (member id, group instance id); returns (group error, per member)."""
        error = self.ownership_error(group_id)
        if error:
            return error, [error] * len(leaving)
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.NONE, [ErrorCode.UNKNOWN_MEMBER_ID] * len(leaving)
        results = []
        for member_id, instance_id in leaving:
            if instance_id is not None:
                known_id = group.static_members.get(instance_id)
                if known_id is None:
                    results.append(ErrorCode.UNKNOWN_MEMBER_ID)
                    continue
                if member_id and member_id != known_id:
                    results.append(ErrorCode.FENCED_INSTANCE_ID)
                    continue
                member_id = known_id
            if member_id in group.pending_members:
                group.pending_members.discard(member_id)
                self._maybe_complete_join(group)
                results.append(ErrorCode.NONE)
                continue
            member = group.members.get(member_id)
            if member is None:
                results.append(ErrorCode.UNKNOWN_MEMBER_ID)
                continue
            log.info("member left", extra={"group": group_id, "member": member_id})
            self._remove_member_and_rebalance(group, member, "member left")
            results.append(ErrorCode.NONE)
        return ErrorCode.NONE, results

    def _remove_member(self, group: Group, member: Member, error: ErrorCode) -> None:
        self._cancel_member(member, error)
        group.members.pop(member.member_id, None)
        instance = member.group_instance_id
        if instance is not None and group.static_members.get(instance) == member.member_id:
            del group.static_members[instance]
        if group.leader_id == member.member_id:
            group.leader_id = next(iter(group.members), None)

    def _remove_member_and_rebalance(self, group: Group, member: Member, reason: str) -> None:
        self._remove_member(group, member, ErrorCode.UNKNOWN_MEMBER_ID)
        if group.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            self._prepare_rebalance(group, reason)
        elif group.state == GroupState.PREPARING_REBALANCE:
            self._maybe_complete_join(group)

    def _cancel_member(self, member: Member, error: ErrorCode) -> None:
        if member.expiry is not None:
            member.expiry.cancel()
            member.expiry = None
        if member.awaiting_join:
            assert member.join_future is not None
            member.join_future.set_result(join_error(error, member.member_id))
        if member.awaiting_sync:
            assert member.sync_future is not None
            member.sync_future.set_result(sync_response(error))

    def _schedule(self, delay_ms: int, callback: Any) -> asyncio.TimerHandle:
        return asyncio.get_running_loop().call_later(delay_ms / 1000, callback)

    def _schedule_member_expiry(self, group: Group, member: Member, timeout_ms: int) -> None:
        if member.expiry is not None:
            member.expiry.cancel()
        member.expiry = self._schedule(timeout_ms, lambda: self._expire_member(group, member))

    def _expire_member(self, group: Group, member: Member) -> None:
        if group.members.get(member.member_id) is not member:
            return
        if member.awaiting_join or member.awaiting_sync:
            # A member waiting on us is alive by definition.
            self._schedule_member_expiry(group, member, member.session_timeout_ms)
            return
        log.info(
            "member session expired",
            extra={
                "group": group.group_id,
                "member": member.member_id,
                "timeout_ms": member.session_timeout_ms,
            },
        )
        self._remove_member_and_rebalance(group, member, "member session expired")

    def _expire_pending(self, group: Group, member_id: str) -> None:
        if member_id in group.pending_members:
            group.pending_members.discard(member_id)
            self._maybe_complete_join(group)

    # --- offsets --------------------------------------------------------------------------------

    async def commit_offsets(
        self,
        *,
        group_id: str,
        generation_id: int,
        member_id: str,
        group_instance_id: str | None,
        offsets: list[tuple[str, int, int, int, str | None]],
    ) -> list[ErrorCode]:
        """Commit (topic, partition, offset, leader epoch, metadata) entries; an error per entry."""
        error = self._commit_error(group_id, generation_id, member_id, group_instance_id)
        if error:
            return [error] * len(offsets)
        group = self.groups.get(group_id)
        if group is None:
            group = self.groups[group_id] = Group(group_id)
        metadata_limit = self.config["offset.metadata.max.bytes"]
        now = _now_ms()
        results: list[ErrorCode] = []
        to_store: list[tuple[OffsetKey, OffsetValue]] = []
        topics = self.replicas.metadata.topics
        for topic, partition, offset, leader_epoch, metadata in offsets:
            if topic not in topics or partition not in topics[topic].partitions:
                results.append(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
            elif metadata is not None and len(metadata.encode()) > metadata_limit:
                results.append(ErrorCode.OFFSET_METADATA_TOO_LARGE)
            else:
                results.append(ErrorCode.NONE)
                to_store.append(
                    (
                        OffsetKey(group_id, topic, partition),
                        OffsetValue(offset, leader_epoch, metadata or "", now),
                    )
                )
        if to_store:
            stored = await self._append(
                group_id, [(encode_key(k), encode_offset_value(v)) for k, v in to_store]
            )
            if stored:
                return [stored if r == ErrorCode.NONE else r for r in results]
            for key, value in to_store:
                group.offsets[(key.topic, key.partition)] = value
        member = group.members.get(member_id)
        if member is not None:
            self._schedule_member_expiry(group, member, member.session_timeout_ms)
        return results

    def _commit_error(
        self, group_id: str, generation_id: int, member_id: str, group_instance_id: str | None
    ) -> ErrorCode:
        error = self.ownership_error(group_id)
        if error:
            return error
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.NONE if generation_id < 0 else ErrorCode.ILLEGAL_GENERATION
        if group.state == GroupState.DEAD:
            return ErrorCode.COORDINATOR_NOT_AVAILABLE
        if generation_id < 0 and group.state == GroupState.EMPTY:
            return ErrorCode.NONE
        if group.is_fenced(group_instance_id, member_id):
            return ErrorCode.FENCED_INSTANCE_ID
        if member_id not in group.members:
            return ErrorCode.UNKNOWN_MEMBER_ID
        if generation_id != group.generation:
            return ErrorCode.ILLEGAL_GENERATION
        if group.state == GroupState.COMPLETING_REBALANCE:
            return ErrorCode.REBALANCE_IN_PROGRESS
        return ErrorCode.NONE

    def fetch_offsets(
        self, group_id: str, wanted: list[tuple[str, list[int]]] | None
    ) -> tuple[ErrorCode, list[tuple[str, int, OffsetValue | None]]]:
        """Committed offsets of the requested partitions (all of the group's if `wanted` is None)."""
        error = self.ownership_error(group_id)
        if error:
            return error, []
        group = self.groups.get(group_id)
        offsets = group.offsets if group else {}
        if wanted is None:
            return ErrorCode.NONE, [(t, p, v) for (t, p), v in sorted(offsets.items())]
        return ErrorCode.NONE, [
            (t, p, offsets.get((t, p))) for t, partitions in wanted for p in partitions
        ]

    # --- administration -------------------------------------------------------------------------

    def describe(self, group_id: str) -> tuple[ErrorCode, Group | None]:
        error = self.ownership_error(group_id)
        if error:
            return error, None
        return ErrorCode.NONE, self.groups.get(group_id)

    def list_groups(self) -> list[Group]:
        return [g for g in self.groups.values() if self.partition_of(g.group_id) in self.loaded]

    async def delete_group(self, group_id: str) -> ErrorCode:
        error = self.ownership_error(group_id)
        if error:
            return error
        group = self.groups.get(group_id)
        if group is None or group.state == GroupState.DEAD:
            return ErrorCode.GROUP_ID_NOT_FOUND
        if group.members or group.state != GroupState.EMPTY:
            return ErrorCode.NON_EMPTY_GROUP
        tombstones = [(encode_key(OffsetKey(group_id, t, p)), None) for t, p in group.offsets]
        tombstones.append((encode_key(GroupKey(group_id)), None))
        error = await self._append(group_id, tombstones)
        if error:
            return error
        group.transition(GroupState.DEAD)
        del self.groups[group_id]
        log.info("group deleted", extra={"group": group_id})
        return ErrorCode.NONE

    async def delete_offsets(
        self, group_id: str, partitions: list[tuple[str, int]]
    ) -> tuple[ErrorCode, list[ErrorCode]]:
        error = self.ownership_error(group_id)
        if error:
            return error, []
        group = self.groups.get(group_id)
        if group is None:
            return ErrorCode.GROUP_ID_NOT_FOUND, []
        subscribed: set[str] = set()
        if group.protocol_type == CONSUMER_PROTOCOL_TYPE and group.members:
            for member in group.members.values():
                subscribed |= subscribed_topics(member.metadata_for(group.protocol_name or ""))
        results = []
        doomed = []
        for topic, partition in partitions:
            if topic in subscribed:
                results.append(ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC)
            else:
                results.append(ErrorCode.NONE)
                doomed.append((topic, partition))
        if doomed:
            error = await self._append(
                group_id, [(encode_key(OffsetKey(group_id, t, p)), None) for t, p in doomed]
            )
            if error:
                return error, []
            for key in doomed:
                group.offsets.pop(key, None)
        return ErrorCode.NONE, results

    async def expire_offsets(self) -> int:
        """Drop offsets of groups that have been empty longer than offsets.retention.minutes."""
        retention_ms = self.config["offsets.retention.minutes"] * 60_000
        now = _now_ms()
        removed = 0
        for group in list(self.groups.values()):
            if (
                group.state != GroupState.EMPTY
                or self.partition_of(group.group_id) not in self.loaded
            ):
                continue
            expired = [
                key
                for key, value in group.offsets.items()
                if now - max(value.commit_timestamp, group.state_since_ms) > retention_ms
            ]
            if not expired:
                continue
            tombstones = [(encode_key(OffsetKey(group.group_id, t, p)), None) for t, p in expired]
            if not group.offsets.keys() - set(expired):
                tombstones.append((encode_key(GroupKey(group.group_id)), None))
            if await self._append(group.group_id, tombstones):
                continue
            for key in expired:
                group.offsets.pop(key, None)
            removed += len(expired)
            if not group.offsets and not group.members:
                self.groups.pop(group.group_id, None)
            log.info("expired offsets", extra={"group": group.group_id, "partitions": len(expired)})
        return removed

    async def run_expiry(self) -> None:
        interval = self.config["offsets.retention.check.interval.ms"] / 1000
        while True:
            await asyncio.sleep(interval)
            await self.expire_offsets()

    def shutdown(self) -> None:
        for group in self.groups.values():
            if group.rebalance_timer:
                group.rebalance_timer.cancel()
            for member in group.members.values():
                self._cancel_member(member, ErrorCode.NOT_COORDINATOR)


def _read_offsets_partition(log: Any) -> dict[OffsetKey | GroupKey, bytes]:
    """The latest value of every live key in an offsets partition (tombstones remove keys)."""
    latest: dict[OffsetKey | GroupKey, bytes] = {}
    for header in log.headers_from(log.log_start_offset):
        segment_batch = _read_batch(log, header)
        _, records = decode_records(segment_batch)
        for record in records:
            if record.key is None:
                continue
            key = decode_key(record.key)
            if key is None:
                continue
            if record.value is None:
                latest.pop(key, None)
            else:
                latest[key] = record.value
    return latest


def _read_batch(log: Any, header: Any) -> bytes:
    for segment in log.segments:
        if (
            segment.base_offset
            <= header.base_offset
            < max(segment.next_offset, segment.base_offset + 1)
        ):
            return segment.read_batch(header)
    raise ValueError(f"no segment holds offset {header.base_offset}")
