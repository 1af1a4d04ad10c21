"""The controller: one broker, elected through ZooKeeper, decides leadership for the cluster.

It gives new partitions their first leader and ISR, elects leaders from the ISR when brokers die or
drain for a controlled shutdown, moves leadership back to preferred replicas, carries out topic
deletions and partition reassignments. Every write it makes is fenced: a ZooKeeper transaction that
also checks the version of `/controller_epoch` it bumped when it was elected, so a deposed controller
cannot change anything. Brokers learn the outcome from their watches on the same znodes.

Decisions are recomputed from the whole cached state whenever anything changes (level-triggered), so
a missed or repeated event never leaves work undone; conditional writes make repetition harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING

from kazoo.client import KazooState
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError

from dataplane.metadata.base import PartitionState, TopicMetadata
from dataplane.metadata.zookeeper import NO_STATE, assignment_json, state_json

if TYPE_CHECKING:
    from dataplane.config import BrokerConfig
    from dataplane.metadata.zookeeper import ZooKeeperMetadataStore

log = logging.getLogger(__name__)

RETRY_INTERVAL = 1.0


class NotController(Exception):
    """Our fenced write failed: another broker is controller now."""


class Controller:
    def __init__(self, store: ZooKeeperMetadataStore, config: BrokerConfig) -> None:
        self.store = store
        self.zk = store.zk
        self.config = config
        self.broker_id = config.broker_id
        self.active = False
        self.epoch = -1
        self._epoch_version = -1
        self._wakeup = asyncio.Event()
        self._next_preferred_check = 0.0
        self._lock = asyncio.Lock()  # one decision at a time: passes and admin requests

    def poke(self) -> None:
        self._wakeup.set()

    def _on_session(self, state: str) -> None:
        if state == KazooState.LOST and self.active:
            log.warning("controller lost its ZooKeeper session; resigning")
            self.active = False
        self.poke()

    async def run(self) -> None:
        self.store.subscribe(self.poke)
        self.store.session_listeners.append(self._on_session)
        self.poke()
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # arrives together with the wake-up, and this loop would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY_INTERVAL):
                    await self._wakeup.wait()
            self._wakeup.clear()
            try:
                if self.active and self.store.controller_id not in (-1, self.broker_id):
                    log.info(
                        "another broker became controller",
                        extra={"controller": self.store.controller_id},
                    )
                    self.active = False
                if not self.active and self.store.controller_id == -1:
                    await self._try_to_become_controller()
                if self.active:
                    async with self._lock:
                        await self.reconcile()
            except NotController:
                log.info("controller deposed", extra={"broker_id": self.broker_id})
                self.active = False
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("controller pass failed; retrying")

    # --- election -------------------------------------------------------------------------------

    async def _try_to_become_controller(self) -> None:
        def elect() -> tuple[int, int] | None:
            epoch_path = self.store.path("/controller_epoch")
            try:
                data, stat = self.zk.get(epoch_path)
            except NoNodeError:
                with contextlib.suppress(NodeExistsError):
                    self.zk.create(epoch_path, b"0")
                data, stat = self.zk.get(epoch_path)
            epoch = int(data) + 1
            payload = json.dumps(
                {
                    "version": 2,
                    "brokerid": self.broker_id,
                    "timestamp": str(int(time.time() * 1000)),
                    "kraftControllerEpoch": -1,
                }
            ).encode()
            transaction = self.zk.transaction()
            transaction.set_data(epoch_path, str(epoch).encode(), version=stat.version)
            transaction.create(self.store.path("/controller"), payload, ephemeral=True)
            results = transaction.commit()
            if any(isinstance(r, Exception) for r in results):
                return None
            return epoch, stat.version + 1

        elected = await asyncio.to_thread(elect)
        if elected is None:
            return
        self.epoch, self._epoch_version = elected
        self.active = True
        self._next_preferred_check = time.monotonic() + self._preferred_interval()
        log.info(
            "became controller", extra={"broker_id": self.broker_id, "controller_epoch": self.epoch}
        )

    def _preferred_interval(self) -> float:
        return self.config["leader.imbalance.check.interval.seconds"]

    # --- fenced writes --------------------------------------------------------------------------

    def _commit(self, build: object) -> None:
        """Run a transaction (built by `build(transaction)`) together with the epoch check."""
        transaction = self.zk.transaction()
        transaction.check(self.store.path("/controller_epoch"), self._epoch_version)
        build(transaction)  # type: ignore[operator]
        results = transaction.commit()
        if isinstance(results[0], BadVersionError | NoNodeError):
            raise NotController()
        for result in results[1:]:
            if isinstance(result, Exception):
                raise result

    async def _write_state(
        self, topic: str, partition: int, current: PartitionState, new: PartitionState
    ) -> bool:
        new.controller_epoch = self.epoch
        path = self.store.path(self.store.state_path(topic, partition))

        def write() -> None:
            if current.partition_epoch == NO_STATE:
                self.zk.ensure_path(path.rsplit("/", 1)[0])
                self._commit(lambda t: t.create(path, state_json(new)))
            else:
                self._commit(
                    lambda t: t.set_data(path, state_json(new), version=current.partition_epoch)
                )

        try:
            await asyncio.to_thread(write)
        except (BadVersionError, NodeExistsError, NoNodeError):
            return False  # changed meanwhile; the next pass sees the new state
        log.info(
            "partition state changed",
            extra={
                "topic": topic,
                "partition": partition,
                "leader": new.leader,
                "leader_epoch": new.leader_epoch,
                "isr": new.isr,
            },
        )
        return True

    # --- the reconciliation pass ----------------------------------------------------------------

    async def reconcile(self) -> None:
        for name in sorted(self.store.pending_deletions):
            await self._delete_topic(name)
        live = set(self.store.brokers)
        draining = self.store.shutting_down
        preferred_due = time.monotonic() >= self._next_preferred_check
        if preferred_due:
            self._next_preferred_check = time.monotonic() + self._preferred_interval()
        for topic in list(self.store.topics.values()):
            if topic.name in self.store.pending_deletions:
                continue
            for index, state in sorted(topic.partitions.items()):
                decided = decide(
                    state,
                    live,
                    draining,
                    unclean_allowed=self._unclean_allowed(topic),
                    rebalance_to_preferred=preferred_due
                    and self.config["auto.leader.rebalance.enable"],
                )
                if decided is not None:
                    await self._write_state(topic.name, index, state, decided)
            if topic.adding_replicas or topic.removing_replicas:
                await self._advance_reassignment(topic)

    def _unclean_allowed(self, topic: TopicMetadata) -> bool:
        value = topic.configs.get("unclean.leader.election.enable")
        if value is None:
            return bool(self.config["unclean.leader.election.enable"])
        return value.lower() == "true"

    async def elect_preferred(
        self, partitions: list[tuple[str, int]]
    ) -> dict[tuple[str, int], str | None]:
        """On-demand preferred leader election; returns an error text per partition (None = ok)."""
        live = set(self.store.brokers)
        results: dict[tuple[str, int], str | None] = {}
        for topic_name, index in partitions:
            topic = self.store.topics.get(topic_name)
            state = topic.partitions.get(index) if topic else None
            if topic is None or state is None:
                results[(topic_name, index)] = "unknown partition"
                continue
            preferred = state.replicas[0]
            if state.leader == preferred:
                results[(topic_name, index)] = "already led by its preferred replica"
                continue
            if preferred not in live or preferred not in state.isr:
                results[(topic_name, index)] = "the preferred replica is not in sync"
                continue
            new = PartitionState(
                state.replicas, preferred, state.leader_epoch + 1, state.isr, state.partition_epoch
            )
            ok = await self._write_state(topic_name, index, state, new)
            results[(topic_name, index)] = None if ok else "the partition changed meanwhile; retry"
        return results

    # --- topic deletion -------------------------------------------------------------------------

    async def _delete_topic(self, name: str) -> None:
        def delete() -> None:
            topic_path = self.store.path(f"/brokers/topics/{name}")
            doomed: list[str] = []
            try:
                for partition in self.zk.get_children(topic_path + "/partitions"):
                    base = f"{topic_path}/partitions/{partition}"
                    doomed += [c and f"{base}/{c}" for c in self.zk.get_children(base)]
                    doomed.append(base)
                doomed.append(topic_path + "/partitions")
            except NoNodeError:
                pass
            if self.zk.exists(topic_path):
                doomed.append(topic_path)
            if self.zk.exists(self.store.path(f"/config/topics/{name}")):
                doomed.append(self.store.path(f"/config/topics/{name}"))
            doomed.append(self.store.path(f"/admin/delete_topics/{name}"))

            def build(transaction: object) -> None:
                for path in doomed:
                    transaction.delete(path)  # type: ignore[attr-defined]

            self._commit(build)

        try:
            await asyncio.to_thread(delete)
            log.info("topic deleted", extra={"topic": name})
        except (NoNodeError, BadVersionError):
            pass

    # --- reassignment ---------------------------------------------------------------------------

    async def reassign(self, topic_name: str, index: int, target: list[int] | None) -> str | None:
        """Start (or with `target` None, cancel) moving a partition to `target` replicas."""
        async with self._lock:
            return await self._reassign(topic_name, index, target)

    async def _reassign(self, topic_name: str, index: int, target: list[int] | None) -> str | None:
        topic = self.store.topics.get(topic_name)
        if topic is None or index not in topic.partitions:
            return "unknown partition"
        current = topic.partitions[index].replicas
        original = [r for r in current if r not in topic.adding_replicas.get(index, [])]
        if target is None:
            if index not in topic.adding_replicas and index not in topic.removing_replicas:
                return "no reassignment is in progress"
            replicas, adding, removing = original, {}, {}
        else:
            unknown = set(target) - set(self.store.brokers)
            if unknown or len(set(target)) != len(target) or not target:
                return f"invalid target replicas {target}"
            replicas = target + [r for r in original if r not in target]
            adding = {index: [r for r in target if r not in original]}
            removing = {index: [r for r in original if r not in target]}
        await self._write_assignment(topic, index, replicas, adding, removing)
        return None

    async def _write_assignment(
        self,
        topic: TopicMetadata,
        index: int,
        replicas: list[int],
        adding: dict[int, list[int]],
        removing: dict[int, list[int]],
    ) -> None:
        """Change one partition's replicas (and its reassignment bookkeeping) in the topic znode:
        read, modify, write back conditional on the version read, so concurrent changes to other
        partitions of the same topic are never overwritten."""
        path = self.store.path(f"/brokers/topics/{topic.name}")

        def write() -> None:
            while True:
                data, stat = self.zk.get(path)
                stored = json.loads(data)
                partitions = {int(p): r for p, r in stored["partitions"].items()}
                all_adding = {int(p): r for p, r in stored.get("adding_replicas", {}).items()}
                all_removing = {int(p): r for p, r in stored.get("removing_replicas", {}).items()}
                partitions[index] = replicas
                all_adding.pop(index, None)
                all_removing.pop(index, None)
                all_adding.update({p: r for p, r in adding.items() if r})
                all_removing.update({p: r for p, r in removing.items() if r})
                payload = assignment_json(topic.topic_id, partitions, all_adding, all_removing)
                try:
                    self._commit(
                        lambda t, data=payload, version=stat.version: t.set_data(
                            path, data, version=version
                        )
                    )
                    return
                except BadVersionError:
                    continue

        await asyncio.to_thread(write)
        await self.store.wait_for(
            lambda: (
                self.store.topics.get(topic.name) is not None
                and self.store.topics[topic.name].partitions.get(index) is not None
                and self.store.topics[topic.name].partitions[index].replicas == replicas
            ),
            10,
        )

    async def _advance_reassignment(self, topic: TopicMetadata) -> None:
        """Once every added replica is in sync: lead from the target set, then drop the removed."""
        for index in sorted(set(topic.adding_replicas) | set(topic.removing_replicas)):
            state = topic.partitions.get(index)
            if state is None or state.partition_epoch == NO_STATE:
                continue
            adding = topic.adding_replicas.get(index, [])
            removing = topic.removing_replicas.get(index, [])
            if not set(adding) <= set(state.isr):
                continue  # still catching up
            target = [r for r in state.replicas if r not in removing]
            if state.leader not in target:
                candidates = [r for r in target if r in state.isr and r in self.store.brokers]
                if not candidates:
                    continue
                moved = PartitionState(
                    state.replicas,
                    candidates[0],
                    state.leader_epoch + 1,
                    state.isr,
                    state.partition_epoch,
                )
                await self._write_state(topic.name, index, state, moved)
                return  # continue once the new leader is visible
            if removing:
                trimmed = [r for r in state.isr if r in target]
                if trimmed != state.isr:
                    new = PartitionState(
                        state.replicas,
                        state.leader,
                        state.leader_epoch,
                        trimmed,
                        state.partition_epoch,
                    )
                    await self._write_state(topic.name, index, state, new)
                    return
            await self._write_assignment(topic, index, target, {index: []}, {index: []})
            log.info(
                "reassignment completed",
                extra={"topic": topic.name, "partition": index, "replicas": target},
            )
            return


def decide(
    state: PartitionState,
    live: set[int],
    draining: set[int],
    *,
    unclean_allowed: bool,
    rebalance_to_preferred: bool,
) -> PartitionState | None:
    """The state a partition should move to given which brokers are alive and which are draining
    for a controlled shutdown, or None if it is fine as it is."""
    replicas = state.replicas
    usable = [r for r in replicas if r in live and r not in draining]
    if state.partition_epoch == NO_STATE:
        first = usable or [r for r in replicas if r in live]
        if not first:
            return None
        return PartitionState(replicas, first[0], 0, [r for r in replicas if r in live], NO_STATE)
    isr_alive = [r for r in state.isr if r in live and r not in draining]
    leader_ok = state.leader in live and state.leader not in draining
    if (
        state.leader in draining
        and state.leader in live
        and not [r for r in isr_alive if r != state.leader]
    ):
        leader_ok = True  # the only in-sync replica keeps leading until it really stops
    if not leader_ok:
        candidates = [r for r in replicas if r in isr_alive]
        new_isr = isr_alive
        if not candidates and unclean_allowed:
            candidates = usable
            new_isr = usable[:1]
            if candidates:
                log.warning("unclean leader election", extra={"leader": candidates[0]})
        if candidates:
            return PartitionState(
                replicas, candidates[0], state.leader_epoch + 1, new_isr, state.partition_epoch
            )
        if state.leader == -1:
            return None
        # Nobody in sync is alive: offline until one of the ISR comes back.
        return PartitionState(
            replicas, -1, state.leader_epoch + 1, state.isr, state.partition_epoch
        )
    shrunk = [r for r in state.isr if r in live and (r not in draining or r == state.leader)]
    if shrunk != state.isr and shrunk:
        return PartitionState(
            replicas, state.leader, state.leader_epoch, shrunk, state.partition_epoch
        )
    preferred = replicas[0] if replicas else -1
    if (
        rebalance_to_preferred
        and state.leader != preferred
        and preferred in state.isr
        and preferred in live
        and preferred not in draining
    ):
        return PartitionState(
            replicas, preferred, state.leader_epoch + 1, state.isr, state.partition_epoch
        )
    return None
