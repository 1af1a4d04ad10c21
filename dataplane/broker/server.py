"""The broker: binds listeners, owns metadata and partitions, runs upkeep, shuts down cleanly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from dataplane.broker.authentication import SaslSession, fake_salt_secret
from dataplane.broker.connection import KafkaConnection
from dataplane.broker.dispatch import APIS, Api
from dataplane.broker.health_report import HealthReporter
from dataplane.broker.metrics import MetricsServer, broker_exposition, broker_facts
from dataplane.broker.replica_manager import ReplicaManager
from dataplane.broker.stats import BrokerStats
from dataplane.config import TLS_SECURITY_PROTOCOLS, BrokerConfig
from dataplane.groups.coordinator import GroupCoordinator
from dataplane.groups.offsets_topic import OFFSETS_TOPIC
from dataplane.metadata.base import (
    DEFAULT_BROKER_ENTITY,
    BrokerInfo,
    Endpoint,
    MetadataError,
    MetadataStore,
    TopicMetadata,
)
from dataplane.metadata.controller import Controller
from dataplane.metadata.standalone import StandaloneMetadataStore
from dataplane.metadata.zookeeper import ZooKeeperMetadataStore
from dataplane.protocol.errors import ErrorCode
from dataplane.replication.fetcher import ReplicaFetcherManager
from dataplane.security.firewall import is_allowed, parse_allowed_cidrs
from dataplane.security.scram import ScramCredential, scram_credentials

log = logging.getLogger(__name__)

PRODUCER_ID_BLOCK = 1000


class Broker:
    def __init__(self, config: BrokerConfig) -> None:
        self.config = config
        self.apis: Mapping[int, Api] = APIS
        self.connections: set[KafkaConnection] = set()
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._producer_ids: list[int] = []
        self.metadata: MetadataStore | None = None  # set once listeners are bound
        self.controller: Controller | None = None
        self.bytes_in = 0  # every byte read from or written to clients and followers
        self.bytes_out = 0
        self.stats = BrokerStats(
            {key: api.name for key, api in self.apis.items()},
            config["metrics.recording.enabled"],
        )
        self.health_reporter: HealthReporter | None = None
        self.metrics_server: MetricsServer | None = None
        self.started = time.monotonic()
        self._dynamic_configs: tuple[dict[str, str], dict[str, str]] | None = None
        self.advertised_endpoints: dict[str, tuple[str, int]] = {}  # by listener name
        self._sasl_secret = b""  # set from the cluster id once metadata is loaded
        # connections.allowed.cidrs, parsed; kept current by apply_dynamic_configs.
        self.allowed_networks = parse_allowed_cidrs(config["connections.allowed.cidrs"])
        self.replicas: ReplicaManager
        self.groups: GroupCoordinator

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        bound_ports = {}
        for listener in self.config.listeners:
            protocol = self.config.security_protocol(listener.name)
            sasl = protocol.startswith("SASL_")
            tls = (
                self.config.ssl_server_context(listener.name)
                if protocol in TLS_SECURITY_PROTOCOLS
                else None
            )
            server = await loop.create_server(
                lambda name=listener.name, sasl=sasl, tls=tls: KafkaConnection(
                    self, name, self._sasl_session() if sasl else None, tls
                ),
                listener.host or None,
                listener.port,
                reuse_address=True,
                backlog=1024,
                start_serving=False,  # not before metadata, logs and groups are loaded
            )
            self._servers.append(server)
            bound_ports[listener.name] = server.sockets[0].getsockname()[1]
        # The registration holds every advertised listener: a client is answered, for every
        # broker, with the endpoint of the listener it came in on.
        endpoints = tuple(
            Endpoint(
                listener.name,
                listener.host,
                listener.port or bound_ports.get(listener.name, 0),
                self.config.security_protocol(listener.name),
            )
            for listener in self.config.advertised_listeners
        )
        inter_broker = self.config.inter_broker_listener_name
        advertised = next((e for e in endpoints if e.listener == inter_broker), endpoints[0])
        me = BrokerInfo(
            self.config.broker_id,
            advertised.host,
            advertised.port,
            self.config["broker.rack"] or None,
            endpoints,
        )
        self.advertised_endpoints = {e.listener: (e.host, e.port) for e in endpoints}
        if self.config["zookeeper.connect"]:
            store = ZooKeeperMetadataStore(
                self.config["zookeeper.connect"],
                me,
                self.config["zookeeper.session.timeout.ms"],
                self.config["cluster.id"],
            )
            self.metadata = store
        else:
            self.metadata = StandaloneMetadataStore(
                self.config.log_dirs[0], me, self.config["cluster.id"]
            )
        await self.metadata.start()
        self._sasl_secret = fake_salt_secret(self.metadata.cluster_id)
        # Dynamic configs first: what is built next reads its settings from the config.
        self.apply_dynamic_configs()
        self.metadata.subscribe(self.apply_dynamic_configs)
        self.replicas = ReplicaManager(self.config, self.metadata, self.stats)
        await asyncio.to_thread(self.replicas.load)
        self.groups = GroupCoordinator(self.config, self.replicas)
        if isinstance(self.metadata, ZooKeeperMetadataStore):
            self.replicas.fetchers = ReplicaFetcherManager(self.replicas)
            self.controller = Controller(self.metadata, self.config)
            self._tasks.append(loop.create_task(self.controller.run()))
        self.metadata.subscribe(self.replicas.reconcile)
        self.metadata.subscribe(self.groups.on_partitions_changed)
        self.replicas.reconcile()
        self.groups.on_partitions_changed()
        self._tasks.append(loop.create_task(self.replicas.run_maintenance()))
        self._tasks.append(loop.create_task(self.groups.run_expiry()))
        for server in self._servers:
            await server.start_serving()
        if isinstance(self.metadata, ZooKeeperMetadataStore):
            await self.metadata.register()
        if self.config["metrics.listener"]:
            host, _, port = self.config["metrics.listener"].rpartition(":")
            self.metrics_server = MetricsServer(
                host or "127.0.0.1", int(port), lambda: broker_exposition(self)
            )
            await self.metrics_server.start()
        if self.config["health.report.url"]:
            self.health_reporter = HealthReporter(
                self.config["health.report.url"],
                self.config["health.report.token"],
                self.config["health.report.interval.ms"] / 1000,
                lambda: broker_facts(self),
                self.stats,
                self.replicas.logs.flush_times,
                self.config.log_dirs,
            )
            self.health_reporter.state = "running"
            self._tasks.append(loop.create_task(self.health_reporter.run()))
        log.info(
            "broker started",
            extra={
                "broker_id": self.config.broker_id,
                "listeners": [
                    f"{s.sockets[0].getsockname()[0]}:{s.sockets[0].getsockname()[1]}"
                    for s in self._servers
                ],
                "advertised": f"{me.host}:{me.port}",
                "cluster_id": self.metadata.cluster_id,
                "partitions": len(self.replicas.partitions),
            },
        )

    def _sasl_session(self) -> SaslSession:
        return SaslSession(self.config.sasl_mechanisms, self.scram_credentials, self._sasl_secret)

    def scram_credentials(self, user: str) -> dict[str, ScramCredential]:
        """A user's SCRAM credentials by mechanism name (empty for an unknown user), from the
        metadata view (ZooKeeper's /config/users, watched). Raises ValueError when unreadable."""
        assert self.metadata is not None
        return scram_credentials(self.metadata.user_configs.get(user, {}))

    def endpoint(self, listener: str, broker: BrokerInfo) -> tuple[str, int] | None:
        """Where a client on `listener` reaches `broker`: the broker's registered endpoint on the
        listener of that name; None if it has none (such brokers are not shown to that client)."""
        if broker.broker_id == self.config.broker_id and listener in self.advertised_endpoints:
            return self.advertised_endpoints[listener]
        endpoint = broker.endpoint(listener)
        return None if endpoint is None else (endpoint.host, endpoint.port)

    def apply_dynamic_configs(self) -> None:
        """Bring the dynamic broker configs in metadata into effect. Runs on every metadata change
        (cheap when these did not change); what uses a dynamic setting reads it from the config
        each time, so nothing else needs telling."""
        assert self.metadata is not None
        stored = self.metadata.broker_configs
        layers = (
            dict(stored.get(str(self.config.broker_id), {})),
            dict(stored.get(DEFAULT_BROKER_ENTITY, {})),
        )
        if layers == self._dynamic_configs:
            return
        self._dynamic_configs = layers
        changed, problems = self.config.apply_dynamic(*layers)
        for problem in problems:
            log.warning("dynamic broker config ignored", extra={"problem": problem})
        if changed:
            log.info(
                "dynamic broker configs in effect",
                extra={"changed": {name: self.config[name] for name in sorted(changed)}},
            )
        if "connections.allowed.cidrs" in changed:
            self.allowed_networks = parse_allowed_cidrs(self.config["connections.allowed.cidrs"])
            for connection in list(self.connections):
                if not self.admits(connection.listener, connection.address):
                    log.warning(
                        "closing a connection connections.allowed.cidrs no longer allows",
                        extra={"client": connection.peer, "listener": connection.listener},
                    )
                    connection.close()

    def admits(self, listener: str, address: str) -> bool:
        """Whether a client at `address` may use `listener`: the listener firewall
        (connections.allowed.cidrs) holds on every listener but the inter-broker one, so that
        brokers always reach each other."""
        if listener == self.config.inter_broker_listener_name:
            return True
        return is_allowed(self.allowed_networks, address)

    @property
    def bound_port(self) -> int:
        return self._servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        log.info("broker stopping", extra={"broker_id": self.config.broker_id})
        if self.health_reporter is not None:
            self.health_reporter.state = "shutting_down"
        if self.metadata is not None and self.config["controlled.shutdown.enable"]:
            try:
                await self.metadata.controlled_shutdown(
                    self.config["controlled.shutdown.timeout.ms"] / 1000
                )
            except Exception:
                log.warning("controlled shutdown failed; stopping anyway", exc_info=True)
        if self.replicas.fetchers is not None:
            self.replicas.fetchers.stop()
        for server in self._servers:
            server.close()
        if self.metrics_server is not None:
            await self.metrics_server.stop()
        for connection in list(self.connections):
            connection.close()
        if self.metadata is not None:
            self.groups.shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.metadata is not None:
            await asyncio.to_thread(self.replicas.close)
            await self.metadata.stop()
        log.info("broker stopped", extra={"broker_id": self.config.broker_id})

    # --- services used by handlers --------------------------------------------------------------

    async def create_topic(
        self,
        name: str,
        num_partitions: int | None = None,
        replication_factor: int | None = None,
        configs: Mapping[str, str] | None = None,
        assignment: Mapping[int, list[int]] | None = None,
    ) -> TopicMetadata:
        assert self.metadata is not None
        partitions = num_partitions or self.config["num.partitions"]
        factor = replication_factor or self.config["default.replication.factor"]
        if factor > len(self.metadata.brokers) and not assignment:
            raise MetadataError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"replication factor {factor} is larger than the {len(self.metadata.brokers)} "
                "available brokers",
            )
        topic = await self.metadata.create_topic(
            name, partitions, factor, configs or {}, assignment
        )
        log.info("topic created", extra={"topic": name, "partitions": len(topic.partitions)})
        return topic

    async def coordinator_for(self, group_id: str) -> BrokerInfo | None:
        """The broker leading the group's offsets partition, creating the offsets topic if needed."""
        assert self.metadata is not None
        topic = self.metadata.topics.get(OFFSETS_TOPIC)
        if topic is None:
            # A lone standalone broker keeps one copy; a cluster waits for enough brokers to hold
            # the configured number rather than create a topic that can never be fully replicated.
            replication = (
                1
                if isinstance(self.metadata, StandaloneMetadataStore)
                else self.config["offsets.topic.replication.factor"]
            )
            try:
                topic = await self.metadata.create_topic(
                    OFFSETS_TOPIC,
                    self.config["offsets.topic.num.partitions"],
                    replication,
                    {
                        "cleanup.policy": "compact",
                        "segment.bytes": str(self.config["offsets.topic.segment.bytes"]),
                    },
                    internal=True,
                )
                log.info("created the offsets topic", extra={"partitions": len(topic.partitions)})
            except MetadataError as exc:
                if exc.code == ErrorCode.INVALID_REPLICATION_FACTOR:
                    log.warning("cannot create the offsets topic yet", extra={"reason": str(exc)})
                    return None
                if exc.code != ErrorCode.TOPIC_ALREADY_EXISTS:
                    raise
                topic = self.metadata.topics.get(OFFSETS_TOPIC)
                if topic is None:  # created by another broker, not yet visible here
                    return None
        state = topic.partitions.get(self.groups.partition_of(group_id))
        if state is None:
            return None
        return self.metadata.brokers.get(state.leader)

    async def next_producer_id(self) -> int:
        assert self.metadata is not None
        if not self._producer_ids:
            first = await self.metadata.allocate_producer_ids(PRODUCER_ID_BLOCK)
            self._producer_ids = list(range(first + PRODUCER_ID_BLOCK - 1, first - 1, -1))
        return self._producer_ids.pop()
