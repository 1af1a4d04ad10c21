"""A cluster of real broker processes (ids 1..N) sharing a ZooKeeper chroot, for replication tests.

Every broker sits behind two TCP proxies: one in front of its listener (the port it advertises, so
clients and followers always go through it) and one in front of ZooKeeper (its zookeeper.connect).
Cutting both (`cut_network`) isolates the broker from clients, followers and ZooKeeper while the
process keeps running; `heal_network` reconnects it.

Observations come from ZooKeeper itself (a kazoo client of the test's own, straight to the server):
partition state znodes (leader, ISR, leader epoch), broker registrations, the controller.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import subprocess
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

from tests.support import waiting, wire
from tests.support.broker import HOST, BrokerProcess
from tests.support.proxy import TcpProxy
from tests.support.wire import WireClient
from tests.support.zookeeper import ZooKeeperEnsemble, ZooKeeperServer

T = TypeVar("T")

# Settings that make failure detection and recovery take seconds, not minutes.
FAST_SETTINGS: dict[str, object] = {
    "zookeeper.session.timeout.ms": 4000,
    "replica.lag.time.max.ms": 3000,
    "replica.fetch.wait.max.ms": 200,
    "replica.fetch.backoff.ms": 200,
    "replica.high.watermark.checkpoint.interval.ms": 1000,
    "group.initial.rebalance.delay.ms": 0,
    "group.min.session.timeout.ms": 1000,
    "offsets.topic.num.partitions": 3,
    "offsets.topic.replication.factor": 3,
    "controlled.shutdown.timeout.ms": 10000,
    "log.cleaner.enable": "false",
}

# librdkafka settings for clients that must notice failovers quickly.
FAST_CLIENT: dict[str, object] = {
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
    "retry.backoff.ms": 100,
    "retry.backoff.max.ms": 500,
    "topic.metadata.refresh.interval.ms": 1000,
    "socket.connection.setup.timeout.ms": 3000,
    # A frozen (SIGSTOP) or blackholed broker never answers: give up on its connection quickly.
    "socket.timeout.ms": 6000,
}


_LISTENER_PORTS = range(20000, 32000)  # below Linux's ephemeral range (32768-60999)
_taken_ports: set[int] = set()


def listener_port() -> int:
    """A free loopback port outside the ephemeral range. A broker restarts on its port; an ephemeral
    one could meanwhile be taken as the source port of some outgoing connection."""
    for _ in range(200):
        port = random.choice(_LISTENER_PORTS)
        if port in _taken_ports:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
        _taken_ports.add(port)
        return port
    raise RuntimeError("no free listener port")


def wait_until(
    predicate: Callable[[], T], timeout: float = 20, message: str = "", interval: float = 0.1
) -> T:
    """Poll until `predicate` is truthy; exceptions count as "not yet" (mid-failover)."""
    return waiting.wait_until(predicate, timeout, message, interval, retry_errors=True)


class ClusterBroker(BrokerProcess):
    """A broker process behind a listener proxy (advertised) and a ZooKeeper proxy."""

    def __init__(
        self,
        data_dir: Path,
        broker_id: int,
        zookeeper_connect: Callable[[ClusterBroker], str],
        overrides: dict[str, object],
        use_proxies: bool = True,
    ) -> None:
        super().__init__(data_dir, overrides, broker_id)
        self.port = listener_port()
        self.overrides["listeners"] = f"PLAINTEXT://{HOST}:{self.port}"
        self.listener_proxy: TcpProxy | None = None
        self.zk_proxy: TcpProxy | None = None
        self.paused = False
        if use_proxies:
            self.listener_proxy = TcpProxy(self.port).start()
            self.overrides["advertised.listeners"] = (
                f"PLAINTEXT://{HOST}:{self.listener_proxy.port}"
            )
        self.overrides["zookeeper.connect"] = zookeeper_connect(self)

    def pause(self) -> None:
        super().pause()
        self.paused = True

    def resume(self) -> None:
        super().resume()
        self.paused = False

    def start(self, timeout: float = 20) -> ClusterBroker:
        self.paused = False
        super().start(timeout)
        return self

    @property
    def reachable(self) -> bool:
        """Running, not frozen, and not cut off from the network."""
        cut = any(p.is_cut for p in self.proxies())
        return self.alive and not self.paused and not cut

    @property
    def advertised(self) -> str:
        """Where clients and followers reach this broker."""
        return self.listener_proxy.address if self.listener_proxy else self.bootstrap

    def proxies(self) -> list[TcpProxy]:
        return [p for p in (self.listener_proxy, self.zk_proxy) if p is not None]

    def log_messages(self, message: str) -> list[dict]:
        return [r for r in self.log_records() if r.get("msg") == message]


class Cluster:
    """N brokers sharing `chroot` on `zookeeper` (a server or an ensemble)."""

    def __init__(
        self,
        base_dir: Path,
        zookeeper: ZooKeeperServer | ZooKeeperEnsemble,
        chroot: str,
        overrides: dict[str, object] | None = None,
        use_proxies: bool = True,
    ) -> None:
        self.base_dir = base_dir
        self.zookeeper = zookeeper
        self.chroot = chroot
        self.overrides = {**FAST_SETTINGS, **(overrides or {})}
        self.use_proxies = use_proxies
        self.brokers: dict[int, ClusterBroker] = {}
        self._zk: KazooClient | None = None
        self._admin: AdminClient | None = None
        self._fresh_admins: list[AdminClient] = []

    # --- brokers --------------------------------------------------------------------------------

    def _zookeeper_connect(self, broker: ClusterBroker) -> str:
        if not self.use_proxies:
            return self.zookeeper.connect_string(self.chroot)
        assert isinstance(self.zookeeper, ZooKeeperServer), "proxies front a single ZooKeeper"
        broker.zk_proxy = TcpProxy(self.zookeeper.client_port).start()
        return broker.zk_proxy.address + self.chroot

    def _new_broker(self, broker_id: int, overrides: dict[str, object] | None) -> ClusterBroker:
        broker = ClusterBroker(
            self.base_dir / f"broker-{broker_id}",
            broker_id,
            self._zookeeper_connect,
            {**self.overrides, **(overrides or {})},
            self.use_proxies,
        )
        self.brokers[broker_id] = broker
        return broker

    def start(
        self, count: int, broker_overrides: dict[int, dict[str, object]] | None = None
    ) -> Cluster:
        """Start brokers 1..count together and wait until all are registered. `broker_overrides`
        adds settings for single brokers."""
        overrides = broker_overrides or {}
        brokers = [self._new_broker(i, overrides.get(i)) for i in range(1, count + 1)]
        with ThreadPoolExecutor(len(brokers)) as pool:
            list(pool.map(lambda b: b.start(30), brokers))
        self.wait_registered([b.broker_id for b in brokers])
        self.wait_controller()
        self.wait_known([b.broker_id for b in brokers])
        return self

    def add_broker(self, overrides: dict[str, object] | None = None) -> ClusterBroker:
        """Start one more broker with the next id."""
        broker = self._new_broker(max(self.brokers, default=0) + 1, overrides)
        broker.start(30)
        self.wait_registered([broker.broker_id])
        self.wait_known([broker.broker_id])
        return broker

    def start_broker(self, broker_id: int) -> ClusterBroker:
        """(Re)start a stopped broker and wait for its registration."""
        broker = self.brokers[broker_id]
        broker.start(30)
        self.wait_registered([broker_id])
        self.wait_known([broker_id])
        return broker

    def stop_broker(self, broker_id: int, timeout: float = 20) -> int:
        """SIGTERM (a controlled shutdown) and wait for the exit code; a broker still running after
        `timeout` seconds fails the test (and is killed)."""
        broker = self.brokers[broker_id]
        try:
            return broker.stop(timeout)
        except subprocess.TimeoutExpired:
            tail = "\n".join(broker.log_text().splitlines()[-15:])
            broker.kill()
            raise AssertionError(
                f"broker {broker_id} did not exit within {timeout}s of SIGTERM; log tail:\n{tail}"
            ) from None

    def restart_broker(self, broker_id: int, graceful: bool = True) -> ClusterBroker:
        broker = self.brokers[broker_id]
        if graceful:
            self.stop_broker(broker_id)
        else:
            broker.kill()
        self.wait_unregistered(broker_id)
        return self.start_broker(broker_id)

    def __getitem__(self, broker_id: int) -> ClusterBroker:
        return self.brokers[broker_id]

    def alive(self) -> list[ClusterBroker]:
        return [b for b in self.brokers.values() if b.alive]

    # --- network --------------------------------------------------------------------------------

    def cut_network(self, broker_id: int, blackhole: bool = False) -> None:
        """Isolate a broker: its listener and its ZooKeeper link are cut (the process runs on)."""
        broker = self.brokers[broker_id]
        assert broker.proxies(), "this cluster runs without proxies"
        for proxy in broker.proxies():
            proxy.cut(blackhole)

    def heal_network(self, broker_id: int) -> None:
        for proxy in self.brokers[broker_id].proxies():
            proxy.heal()

    # --- clients --------------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return ",".join(b.advertised for b in self.brokers.values())

    def bootstrap_of(self, broker_ids: Iterable[int]) -> str:
        return ",".join(self.brokers[i].advertised for i in broker_ids)

    def client_config(self, **extra: object) -> dict[str, object]:
        return {"bootstrap.servers": self.bootstrap, **FAST_CLIENT, **extra}

    def admin(self, fresh: bool = False) -> AdminClient:
        """A confluent AdminClient for the whole cluster; `fresh` for one that has no cached view
        of a cluster that has changed since (a dead controller, say)."""
        if fresh:
            # Kept until the cluster closes: a client collected before its futures resolve fails
            # them with _DESTROY.
            self._fresh_admins.append(AdminClient(self.client_config()))
            return self._fresh_admins[-1]
        if self._admin is None:
            self._admin = AdminClient(self.client_config())
        return self._admin

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        replication_factor: int = 3,
        config: dict[str, str] | None = None,
        assignment: list[list[int]] | None = None,
        wait_full_isr: bool = True,
    ) -> None:
        if assignment is not None:
            topic = NewTopic(
                name,
                num_partitions=len(assignment),
                replica_assignment=assignment,
                config=config or {},
            )
        else:
            topic = NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=replication_factor,
                config=config or {},
            )
        self.admin(fresh=True).create_topics([topic], operation_timeout=15, request_timeout=20)[
            name
        ].result(timeout=30)
        count = len(assignment) if assignment is not None else partitions
        self.wait_topic_ready(name, count, wait_full_isr)

    def create_partitions(self, name: str, total: int) -> None:
        self.admin(fresh=True).create_partitions(
            [NewPartitions(name, total)], operation_timeout=15, request_timeout=20
        )[name].result(timeout=30)

    def delete_topic(self, name: str) -> None:
        self.admin(fresh=True).delete_topics([name], operation_timeout=15, request_timeout=20)[
            name
        ].result(timeout=30)

    def wait_topic_ready(self, name: str, partitions: int, full_isr: bool = True) -> None:
        """Every partition has a state znode with a live leader (and with `full_isr`, an ISR of
        all its replicas)."""

        def ready() -> bool:
            replicas = self.assignment(name)
            if len(replicas) != partitions:
                return False
            live = set(self.registered())
            for p, assigned in replicas.items():
                state = self.partition_state(name, p)
                if state is None or state["leader"] not in live:
                    return False
                if full_isr and sorted(state["isr"]) != sorted(assigned):
                    return False
                if not self.brokers_agree(name, p, state):
                    return False
            return True

        wait_until(ready, 30, f"topic {name} to have leaders and full ISRs")

    # --- ZooKeeper observations -----------------------------------------------------------------

    @property
    def zk(self) -> KazooClient:
        if self._zk is None:
            client = KazooClient(hosts=self.zookeeper.connect_string(), timeout=10)
            client.start(15)
            self._zk = client
        return self._zk

    def _path(self, relative: str) -> str:
        return self.chroot + relative

    def read_json(self, relative: str) -> Any | None:
        try:
            data, _ = self.zk.get(self._path(relative))
        except NoNodeError:
            return None
        return json.loads(data) if data else None

    def registered(self) -> list[int]:
        try:
            return sorted(int(c) for c in self.zk.get_children(self._path("/brokers/ids")))
        except NoNodeError:
            return []

    def wait_registered(self, broker_ids: Iterable[int], timeout: float = 30) -> None:
        wanted = set(broker_ids)
        wait_until(
            lambda: wanted <= set(self.registered()),
            timeout,
            f"brokers {sorted(wanted)} to register",
        )

    def known_brokers(self, broker_id: int) -> list[int]:
        """The brokers that `broker_id` lists in its Metadata answer (asked on its own port)."""
        with WireClient.to(self.brokers[broker_id], timeout=5) as client:
            return sorted(b["node_id"] for b in wire.metadata(client, [])["brokers"])

    def wait_known(self, broker_ids: Iterable[int], timeout: float = 30) -> None:
        """Until every reachable broker's metadata (hence the controller's too) lists
        `broker_ids`."""
        wanted = set(broker_ids)
        wait_until(
            lambda: all(
                wanted <= set(self.known_brokers(b.broker_id))
                for b in self.brokers.values()
                if b.reachable
            ),
            timeout,
            f"every broker to know brokers {sorted(wanted)}",
        )

    def wait_unregistered(self, broker_id: int, timeout: float = 30) -> None:
        wait_until(
            lambda: broker_id not in self.registered(),
            timeout,
            f"broker {broker_id} registration to go away",
        )

    def controller(self) -> int:
        data = self.read_json("/controller")
        return data["brokerid"] if data else -1

    def wait_controller(self, timeout: float = 30) -> int:
        return wait_until(
            lambda: self.controller() if self.controller() in self.registered() else 0,
            timeout,
            "a live controller",
        )

    def topics(self) -> list[str]:
        try:
            return sorted(self.zk.get_children(self._path("/brokers/topics")))
        except NoNodeError:
            return []

    def assignment(self, topic: str) -> dict[int, list[int]]:
        data = self.read_json(f"/brokers/topics/{topic}")
        return {int(p): r for p, r in data["partitions"].items()} if data else {}

    def reassignment_in_progress(self, topic: str) -> dict[str, dict[int, list[int]]]:
        data = self.read_json(f"/brokers/topics/{topic}") or {}
        return {
            key: {int(p): r for p, r in data.get(key, {}).items()}
            for key in ("adding_replicas", "removing_replicas")
        }

    def partition_state(self, topic: str, partition: int) -> dict | None:
        """{'leader', 'leader_epoch', 'isr', 'controller_epoch', ...} from ZooKeeper."""
        return self.read_json(f"/brokers/topics/{topic}/partitions/{partition}/state")

    def partition_epoch(self, topic: str, partition: int) -> int:
        """The state znode's version: it grows with every leader or ISR change."""
        try:
            _, stat = self.zk.get(
                self._path(f"/brokers/topics/{topic}/partitions/{partition}/state")
            )
        except NoNodeError:
            return -1
        return stat.version

    def leader(self, topic: str, partition: int = 0) -> int:
        state = self.partition_state(topic, partition)
        return state["leader"] if state else -1

    def isr(self, topic: str, partition: int = 0) -> list[int]:
        state = self.partition_state(topic, partition)
        return sorted(state["isr"]) if state else []

    def brokers_agree(self, topic: str, partition: int, state: dict) -> bool:
        """Every reachable broker's Metadata shows `state`'s leader and ISR: the brokers' caches
        (the controller's included) have caught up with ZooKeeper."""
        for broker in self.brokers.values():
            if not broker.reachable:
                continue
            entry = self.metadata_via(broker.broker_id, topic).get(partition)
            if entry is None or entry["leader_id"] != state["leader"]:
                return False
            if sorted(entry["isr_nodes"]) != sorted(state["isr"]):
                return False
        return True

    def wait_leader(
        self,
        topic: str,
        partition: int = 0,
        predicate: Callable[[int], bool] = lambda leader: leader >= 0,
        timeout: float = 30,
        message: str = "",
    ) -> int:
        """Until ZooKeeper names a live leader satisfying `predicate` and every reachable broker's
        metadata agrees; returns the leader."""

        def check() -> int | None:
            state = self.partition_state(topic, partition)
            if state is None or not predicate(state["leader"]):
                return None
            if state["leader"] not in self.registered():
                return None
            return state["leader"] if self.brokers_agree(topic, partition, state) else None

        return wait_until(check, timeout, message or f"a leader for {topic}-{partition}")

    def wait_isr(
        self, topic: str, partition: int, wanted: Iterable[int], timeout: float = 30
    ) -> None:
        """Until the ISR in ZooKeeper is `wanted` and every reachable broker's metadata agrees."""
        target = sorted(wanted)

        def check() -> bool:
            state = self.partition_state(topic, partition)
            return (
                state is not None
                and sorted(state["isr"]) == target
                and self.brokers_agree(topic, partition, state)
            )

        wait_until(
            check,
            timeout,
            f"ISR of {topic}-{partition} to become {target} (now {self.isr(topic, partition)})",
        )

    # --- replicas on disk ------------------------------------------------------------------------

    def log_bytes(self, broker_id: int, topic: str, partition: int) -> bytes:
        """A replica's whole log: its segment files in offset order, concatenated ('' if none)."""
        directory = self.brokers[broker_id].partition_dir(topic, partition)
        return b"".join(p.read_bytes() for p in sorted(directory.glob("*.log")))

    def wait_replicas_identical(self, topic: str, timeout: float = 20) -> None:
        """Every replica of every partition of `topic` holds exactly the same bytes (replication
        has quiesced and no replica kept a divergent tail)."""

        def identical() -> bool:
            return all(
                len({self.log_bytes(r, topic, p) for r in replicas}) == 1
                for p, replicas in self.assignment(topic).items()
            )

        try:
            wait_until(identical, timeout, f"the replicas of {topic} to hold identical logs")
        except AssertionError as exc:
            sizes = {
                p: {r: len(self.log_bytes(r, topic, p)) for r in replicas}
                for p, replicas in self.assignment(topic).items()
            }
            raise AssertionError(f"{exc}; log sizes per partition and replica: {sizes}") from None

    def metadata_via(self, broker_id: int, topic: str) -> dict[int, dict]:
        """{partition: Metadata entry} for `topic` as broker `broker_id` answers it (asked on its own
        port, so a frozen or cut-off broker elsewhere cannot stall the question)."""
        with WireClient.to(self.brokers[broker_id], timeout=5) as client:
            [entry] = wire.metadata(client, [topic])["topics"]
        return {p["partition_index"]: p for p in entry["partitions"]}

    def metadata_leader(self, topic: str, partition: int = 0) -> int:
        """The leader as a client sees it (Metadata through any broker)."""
        metadata = self.admin(fresh=True).list_topics(topic, timeout=10)
        return metadata.topics[topic].partitions[partition].leader

    # --- teardown -------------------------------------------------------------------------------

    def close(self) -> None:
        for broker in self.brokers.values():
            with contextlib.suppress(Exception):
                broker.kill()
        for broker in self.brokers.values():
            for proxy in broker.proxies():
                proxy.stop()
        if self._zk is not None:
            with contextlib.suppress(Exception):
                self._zk.stop()
                self._zk.close()
        self._admin = None
        self._fresh_admins.clear()

    def dump_logs(self, tail: int = 60) -> str:
        """The last lines of every broker's log, for failure messages."""
        parts = []
        for broker in self.brokers.values():
            lines = broker.log_text().splitlines()[-tail:]
            parts.append(f"--- broker {broker.broker_id} ---\n" + "\n".join(lines))
        return "\n".join(parts)


@contextlib.contextmanager
def running_cluster(
    base_dir: Path,
    zookeeper: ZooKeeperServer | ZooKeeperEnsemble,
    chroot: str,
    count: int,
    overrides: dict[str, object] | None = None,
    use_proxies: bool = True,
    broker_overrides: dict[int, dict[str, object]] | None = None,
) -> Iterator[Cluster]:
    cluster = Cluster(base_dir, zookeeper, chroot, overrides, use_proxies)
    try:
        yield cluster.start(count, broker_overrides)
    finally:
        cluster.close()
