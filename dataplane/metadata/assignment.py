"""Replica placement for new partitions: leaders spread evenly, replicas spread across racks."""

from __future__ import annotations

import random
from collections.abc import Sequence
from itertools import zip_longest

from dataplane.metadata.base import BrokerInfo


def rack_alternated(brokers: Sequence[BrokerInfo]) -> list[int]:
    """Broker ids ordered so that neighbours sit in different racks where racks allow."""
    by_rack: dict[str | None, list[int]] = {}
    for broker in sorted(brokers, key=lambda b: b.broker_id):
        by_rack.setdefault(broker.rack, []).append(broker.broker_id)
    return [b for group in zip_longest(*by_rack.values()) for b in group if b is not None]


def assign_replicas(
    brokers: Sequence[BrokerInfo],
    partitions: int,
    replication_factor: int,
    start: int | None = None,
) -> dict[int, list[int]]:
    """Kafka's scheme: partition p's leader is broker (start + p) mod n in a rack-alternated order;
    followers are taken from a shift that grows every n partitions, so replica sets differ across
    the cluster, skipping brokers whose rack already holds a replica while unused racks remain."""
    order = rack_alternated(brokers)
    rack_of = {b.broker_id: b.rack for b in brokers}
    racks = {b.rack for b in brokers}
    count = len(order)
    if replication_factor > count:
        raise ValueError(f"replication factor {replication_factor} exceeds {count} brokers")
    first = random.randrange(count) if start is None else start
    shift_base = random.randrange(count) if start is None else 0
    result = {}
    for p in range(partitions):
        leader_index = (first + p) % count
        shift = (shift_base + p // count) % max(count - 1, 1)
        replicas = [order[leader_index]]
        candidates = [
            order[(leader_index + 1 + (shift + j) % max(count - 1, 1)) % count]
            for j in range(count - 1)
        ]
        while len(replicas) < replication_factor:
            used_racks = {rack_of[r] for r in replicas}
            fresh = [
                c
                for c in candidates
                if c not in replicas and (rack_of[c] not in used_racks or used_racks >= racks)
            ]
            replicas.append(fresh[0] if fresh else next(c for c in candidates if c not in replicas))
        result[p] = replicas
    return result
