"""A ZooKeeper cluster (tests/support/cluster.py) whose brokers each get listeners of their own:
several listeners, other security protocols, per-broker advertised addresses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from tests.support.cluster import Cluster, ClusterBroker
from tests.support.zookeeper import ZooKeeperServer


@contextmanager
def listener_cluster(
    base_dir: Path,
    zookeeper: ZooKeeperServer,
    chroot: str,
    settings: Callable[[ClusterBroker], dict[str, object]],
    overrides: dict[str, object] | None = None,
    count: int = 3,
) -> Iterator[Cluster]:
    """Brokers 1..count, each with `settings(broker)` (listeners and the like) over `overrides`,
    started together and registered; killed on exit. `broker.port` stays the port of the first
    listener (the one waited on at start)."""
    cluster = Cluster(base_dir, zookeeper, chroot, overrides, use_proxies=False)
    try:
        brokers = [cluster._new_broker(broker_id, None) for broker_id in range(1, count + 1)]
        for broker in brokers:
            broker.overrides.update(settings(broker))
        with ThreadPoolExecutor(count) as pool:
            list(pool.map(lambda b: b.start(30), brokers))
        cluster.wait_registered(range(1, count + 1))
        cluster.wait_controller()
        yield cluster
    finally:
        cluster.close()
