"""The controller's leadership decisions and replica placement, as pure functions."""

from __future__ import annotations

import itertools

import pytest

from dataplane.metadata.assignment import assign_replicas, rack_alternated
from dataplane.metadata.base import BrokerInfo, PartitionState
from dataplane.metadata.controller import decide
from dataplane.metadata.zookeeper import NO_STATE


def state(
    leader: int, isr: list[int], replicas: list[int] | None = None, epoch: int = 4
) -> PartitionState:
    return PartitionState(replicas or [1, 2, 3], leader, epoch, isr, partition_epoch=9)


def run(
    s: PartitionState, live: set[int], draining: set[int] = frozenset(), **flags: bool
) -> PartitionState | None:
    return decide(
        s,
        live,
        set(draining),
        unclean_allowed=flags.get("unclean", False),
        rebalance_to_preferred=flags.get("preferred", False),
    )


def test_a_new_partition_is_led_by_its_first_live_replica() -> None:
    new = PartitionState([2, 3, 1], -1, -1, [], NO_STATE)
    decided = run(new, {1, 3})
    assert decided is not None
    assert (decided.leader, decided.leader_epoch, decided.isr) == (3, 0, [3, 1])
    assert run(new, set()) is None


def test_a_dead_leader_is_replaced_from_the_isr_with_a_new_epoch() -> None:
    decided = run(state(1, [1, 2, 3]), {2, 3})
    assert decided is not None
    assert (decided.leader, decided.leader_epoch, decided.isr) == (2, 5, [2, 3])


def test_no_replica_outside_the_isr_is_elected_unless_unclean_election_is_allowed() -> None:
    offline = run(state(1, [1]), {2, 3})
    assert offline is not None and offline.leader == -1
    assert offline.isr == [1], "the ISR keeps the last in-sync replica so it can come back"
    assert run(state(-1, [1], epoch=5), {2, 3}) is None, "nothing to do while it is offline"
    unclean = run(state(1, [1]), {2, 3}, unclean=True)
    assert unclean is not None and (unclean.leader, unclean.isr) == (2, [2])


def test_the_returning_in_sync_replica_takes_back_an_offline_partition() -> None:
    decided = run(state(-1, [1], epoch=5), {1, 2, 3})
    assert decided is not None and (decided.leader, decided.leader_epoch) == (1, 6)


def test_controlled_shutdown_moves_leadership_and_leaves_the_isr() -> None:
    moved = run(state(1, [1, 2, 3]), {1, 2, 3}, draining={1})
    assert moved is not None and moved.leader == 2 and 1 not in moved.isr
    follower_draining = run(state(1, [1, 2, 3]), {1, 2, 3}, draining={3})
    assert follower_draining is not None
    assert (follower_draining.leader, follower_draining.leader_epoch, follower_draining.isr) == (
        1,
        4,
        [1, 2],
    )
    assert run(state(1, [1]), {1, 2, 3}, draining={1}) is None, (
        "the only in-sync replica keeps leading"
    )


def test_dead_followers_leave_the_isr_without_a_leader_change() -> None:
    decided = run(state(1, [1, 2, 3]), {1, 2})
    assert decided is not None and (decided.leader, decided.leader_epoch, decided.isr) == (
        1,
        4,
        [1, 2],
    )
    assert run(state(1, [1, 2, 3]), {1, 2, 3}) is None


def test_preferred_leader_returns_only_when_in_sync_and_asked() -> None:
    away = state(2, [1, 2, 3])
    assert run(away, {1, 2, 3}) is None
    back = run(away, {1, 2, 3}, preferred=True)
    assert back is not None and (back.leader, back.leader_epoch) == (1, 5)
    assert run(state(2, [2, 3]), {1, 2, 3}, preferred=True) is None, "not in sync yet"


@pytest.mark.parametrize(("brokers", "factor"), [(3, 3), (4, 3), (5, 2), (6, 3), (1, 1)])
def test_replica_placement_is_distinct_and_leaders_are_spread(brokers: int, factor: int) -> None:
    infos = [BrokerInfo(i, "h", 1) for i in range(1, brokers + 1)]
    partitions = brokers * 4
    placed = assign_replicas(infos, partitions, factor, start=0)
    assert all(len(set(r)) == factor for r in placed.values())
    leaders = [r[0] for r in placed.values()]
    assert {leaders.count(b) for b in range(1, brokers + 1)} == {4}


def test_replicas_spread_across_racks() -> None:
    infos = [
        BrokerInfo(i, "h", 1, rack)
        for i, rack in zip(range(1, 7), itertools.cycle("ab"), strict=False)
    ]
    infos.sort(key=lambda b: (b.rack, b.broker_id))
    order = rack_alternated(infos)
    assert [next(b.rack for b in infos if b.broker_id == i) for i in order] == list("ababab")
    for replicas in assign_replicas(infos, 12, 2, start=0).values():
        racks = {next(b.rack for b in infos if b.broker_id == r) for r in replicas}
        assert racks == {"a", "b"}
