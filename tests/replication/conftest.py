"""Fixtures for replication tests: one ZooKeeper for the session, a fresh chroot and cluster per test.

When a test fails, the tail of every broker's log is printed with the failure report.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.replication.clients import abort_all_clients
from tests.support.cluster import Cluster
from tests.support.zookeeper import ZooKeeperEnsemble, ZooKeeperServer, unique_chroot

ClusterFactory = Callable[..., Cluster]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    """One standalone ZooKeeper for the whole session (tests keep apart through chroots)."""
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper")).start()
    yield server
    server.stop()


@pytest.fixture
def chroot(request: pytest.FixtureRequest) -> str:
    return unique_chroot(re.sub(r"[^a-zA-Z0-9_-]", "-", request.node.name)[:60])


@pytest.fixture
def make_cluster(
    tmp_path: Path, zookeeper: ZooKeeperServer, chroot: str, request: pytest.FixtureRequest
) -> Iterator[ClusterFactory]:
    """Start a cluster of `count` brokers (ids 1..count) in this test's chroot. `zk` may name another
    ZooKeeper (an ensemble), `broker_overrides` settings for single brokers; clusters are killed at
    the end of the test."""
    clusters: list[Cluster] = []

    def make(
        count: int = 3,
        overrides: dict[str, object] | None = None,
        zk: ZooKeeperServer | ZooKeeperEnsemble | None = None,
        use_proxies: bool = True,
        broker_overrides: dict[int, dict[str, object]] | None = None,
    ) -> Cluster:
        cluster = Cluster(
            tmp_path / f"cluster-{len(clusters)}",
            zk or zookeeper,
            chroot if not clusters else unique_chroot("extra"),
            overrides,
            use_proxies=use_proxies,
        )
        clusters.append(cluster)
        return cluster.start(count, broker_overrides)

    yield make
    abort_all_clients()
    failed = getattr(request.node, "rep_call", None)
    for cluster in clusters:
        if failed is not None and failed.failed:
            print(f"\n===== broker logs ({cluster.base_dir}) =====\n{cluster.dump_logs()}")
        cluster.close()
