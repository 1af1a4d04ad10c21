"""Cluster metadata in ZooKeeper, in Kafka's znode layout, kept current in memory through watches.

    /cluster/id                                   the cluster id
    /brokers/ids/<id>                             ephemeral broker registration (endpoints, rack)
    /brokers/topics/<topic>                       replica assignment (+ reassignments under way)
    /brokers/topics/<topic>/partitions/<p>/state  leader, leader epoch, ISR; znode version = partition epoch
    /config/topics/<topic>                        topic config overrides
    /config/brokers/<id>, /config/brokers/<default>  dynamic broker configs (one broker, all brokers)
    /config/users/<sanitized user>                SCRAM credentials (watched; logins read the cache)
    /controller, /controller_epoch                the active controller and its fencing epoch
    /admin/delete_topics/<topic>                  deletions for the controller to carry out
    /admin/controlled_shutdown/<id>               brokers asking to be drained before they stop
    /admin/reassign_partitions                    reassignments asked for
    /latest_producer_id_block                     producer id blocks handed out
    /kafka-acl/<Type>/<name>                      literal ACLs of one resource (Kafka's JSON)
    /kafka-acl-extended/prefixed/<Type>/<name>    prefixed ACLs of one resource
    /kafka-acl-changes/acl_changes_<seq>          "TOPIC:name": literal ACLs of a resource changed
    /kafka-acl-extended-changes/acl_changes_<seq> the same for prefixed ACLs, as JSON

Each broker watches its own and the default broker config znode, so a change applies as soon as it is
written; Kafka's change notifications (/config/changes) are neither written nor needed. ACLs follow
Kafka's ACL change notifications instead (one znode per resource is too many to watch): every ACL
write adds one, every broker watches for them and reloads the resource named, and notifications
older than ACL_CHANGE_EXPIRY_MS are purged, as Kafka's brokers do.

kazoo calls block and its watches fire on kazoo's threads: blocking calls run in worker threads, and
watch callbacks hand their data to the event loop, which alone mutates the cache.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import BadVersionError, KazooException, NodeExistsError, NoNodeError
from kazoo.retry import KazooRetry

from dataplane.metadata.assignment import assign_replicas
from dataplane.metadata.base import (
    DEFAULT_BROKER_ENTITY,
    BrokerConfigUpdate,
    BrokerInfo,
    Endpoint,
    MetadataError,
    MetadataStore,
    PartitionState,
    TopicMetadata,
    acls_with,
    acls_without,
    check_partition_numbering,
    deleted_per_filter,
    patterns_matching,
    topic_id_text,
)
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import (
    LITERAL_ACL_ROOT,
    PREFIXED_ACL_ROOT,
    AccessControlEntry,
    AclBinding,
    AclBindingFilter,
    InvalidAcl,
    PatternType,
    ResourcePattern,
    ResourceType,
    acl_znode_path,
    format_acl_znode,
    parse_acl_znode,
    parse_acl_znode_path,
)
from dataplane.security.scram import (
    USER_CONFIG_ROOT,
    desanitize_user,
    format_user_config,
    parse_user_config,
    user_config_path,
)

log = logging.getLogger(__name__)

NO_STATE = -1  # partition_epoch of a partition whose state znode the controller has not written yet
LITERAL_ACL_CHANGES = "/kafka-acl-changes"
PREFIXED_ACL_CHANGES = "/kafka-acl-extended-changes"
ACL_CHANGE_PREFIX = "acl_changes_"
ACL_CHANGE_EXPIRY_MS = 15 * 60 * 1000  # Kafka's: a broker away longer reloads every ACL anyway


def split_connect(connect: str) -> tuple[str, str]:
    """'h1:2181,h2:2181/chroot' → ('h1:2181,h2:2181', '/chroot')."""
    hosts, slash, chroot = connect.partition("/")
    return hosts, ("/" + chroot.strip("/")) if slash and chroot.strip("/") else ""


def topic_id_bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def broker_info_from_json(broker_id: int, data: bytes) -> BrokerInfo:
    """A /brokers/ids/<id> registration as Kafka writes it: every listener in `endpoints`
    (`NAME://host:port`), its security protocol in `listener_security_protocol_map`."""
    info = json.loads(data)
    protocols = info.get("listener_security_protocol_map") or {}
    endpoints = []
    for text in info.get("endpoints") or ():
        listener, _, address = text.partition("://")
        host, _, port = address.rpartition(":")
        endpoints.append(
            Endpoint(listener, host.strip("[]"), int(port), protocols.get(listener, listener))
        )
    return BrokerInfo(broker_id, info["host"], info["port"], info.get("rack"), tuple(endpoints))


def state_json(state: PartitionState) -> bytes:
    return json.dumps(
        {
            "controller_epoch": state.controller_epoch,
            "leader": state.leader,
            "version": 1,
            "leader_epoch": state.leader_epoch,
            "isr": state.isr,
        }
    ).encode()


def assignment_json(
    topic_id: bytes,
    partitions: Mapping[int, list[int]],
    adding: Mapping[int, list[int]] | None = None,
    removing: Mapping[int, list[int]] | None = None,
) -> bytes:
    return json.dumps(
        {
            "version": 3,
            "topic_id": topic_id_text(topic_id),
            "partitions": {str(p): r for p, r in sorted(partitions.items())},
            "adding_replicas": {str(p): r for p, r in (adding or {}).items()},
            "removing_replicas": {str(p): r for p, r in (removing or {}).items()},
        }
    ).encode()


def format_acl_change(pattern: ResourcePattern) -> bytes:
    """A change notification's data, as Kafka writes it: "TOPIC:name" for a literal pattern,
    JSON naming type, name and pattern type for a prefixed one."""
    if pattern.pattern_type == PatternType.LITERAL:
        return f"{pattern.resource_type.name}:{pattern.name}".encode()
    return json.dumps(
        {
            "version": 1,
            "resourceType": pattern.resource_type.name,
            "name": pattern.name,
            "patternType": pattern.pattern_type.name,
        }
    ).encode()


def parse_acl_change(root: str, data: bytes) -> ResourcePattern:
    """The resource a change notification under `root` names; InvalidAcl if unreadable. Type names
    are read regardless of case, as Kafka reads them."""
    try:
        if root == LITERAL_ACL_CHANGES:
            kind, sep, name = data.decode().partition(":")
            pattern_type = PatternType.LITERAL
        else:
            document = json.loads(data)
            kind, name = document["resourceType"], document["name"]
            pattern_type = PatternType[document["patternType"].upper()]
            sep = ":"
        resource_type = ResourceType[kind.upper()]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidAcl(f"unreadable ACL change notification: {exc!r}") from None
    if not sep or not name or pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
        raise InvalidAcl(f"unreadable ACL change notification: {data!r}")
    return ResourcePattern(resource_type, name, pattern_type)


def _acl_change_root(pattern: ResourcePattern) -> str:
    return (
        LITERAL_ACL_CHANGES if pattern.pattern_type == PatternType.LITERAL else PREFIXED_ACL_CHANGES
    )


class ZooKeeperMetadataStore(MetadataStore):
    def __init__(
        self,
        connect: str,
        broker: BrokerInfo,
        session_timeout_ms: int,
        cluster_id: str = "",
        registration_timeout: float = 60.0,
    ) -> None:
        super().__init__()
        hosts, self.chroot = split_connect(connect)
        retry = KazooRetry(max_tries=-1, delay=0.1, max_delay=1.0)
        self.zk = KazooClient(
            hosts=hosts,
            timeout=session_timeout_ms / 1000,
            connection_retry=retry,
            command_retry=KazooRetry(max_tries=5, delay=0.1, max_delay=1.0),
        )
        self.broker = broker
        self.cluster_id = cluster_id
        self.controller_id = -1
        self.registration_timeout = registration_timeout
        self._topics: dict[str, TopicMetadata] = {}
        self._assignments: dict[str, dict[str, Any]] = {}
        self._states: dict[tuple[str, int], PartitionState] = {}
        self._configs: dict[str, dict[str, str]] = {}
        self._broker_configs: dict[str, dict[str, str]] = {}  # entity → dynamic configs
        self._user_configs: dict[str, dict[str, str]] = {}  # user name → SCRAM credentials
        self._watched_users: set[str] = set()  # znode names under /config/users being watched
        self._brokers: dict[int, BrokerInfo] = {}
        self.pending_deletions: set[str] = set()
        self._watched: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._notify_pending = False
        self.session_listeners: list[Callable[[str], None]] = []
        self._listed: set[str] | None = None  # topic names at the first listing
        self._state_seen: set[tuple[str, int]] = set()
        self._started_registration = False
        # The last ACL change notification handled under each change root, by sequence number.
        self._acl_changes_seen: dict[str, int] = {}
        self._acl_refresh = asyncio.Lock()  # one reload at a time, so none applies stale data

    # --- paths ----------------------------------------------------------------------------------

    def path(self, relative: str) -> str:
        return self.chroot + relative

    @staticmethod
    def state_path(topic: str, partition: int) -> str:
        return f"/brokers/topics/{topic}/partitions/{partition}/state"

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and load the cluster's metadata (without registering this broker yet)."""
        self._loop = asyncio.get_running_loop()
        self.zk.add_listener(self._on_connection_state)
        await asyncio.to_thread(self.zk.start, 30)
        await asyncio.to_thread(self._ensure_layout)

        def watch() -> None:
            self.zk.ChildrenWatch(self.path("/brokers/ids"), self._watch_brokers)
            self.zk.ChildrenWatch(self.path("/brokers/topics"), self._watch_topics)
            self.zk.ChildrenWatch(self.path("/admin/delete_topics"), self._watch_deletions)
            self.zk.ChildrenWatch(self.path("/admin/controlled_shutdown"), self._watch_shutdowns)
            self.zk.DataWatch(self.path("/controller"), self._watch_controller)
            self.zk.ChildrenWatch(self.path(USER_CONFIG_ROOT), self._watch_users)
            for root in (LITERAL_ACL_CHANGES, PREFIXED_ACL_CHANGES):
                self.zk.ChildrenWatch(self.path(root), self._acl_change_watcher(root))
            for entity in self._broker_config_entities:
                self.zk.DataWatch(
                    self.path(f"/config/brokers/{entity}"), self._broker_config_watcher(entity)
                )

        await self._load_acls()
        await asyncio.to_thread(watch)
        if not await self.wait_for(self._synced, 60):
            raise MetadataError(
                ErrorCode.UNKNOWN_SERVER_ERROR, "could not load metadata from ZooKeeper"
            )

    def _synced(self) -> bool:
        """Every listed topic has its assignment, every partition state has been read, and so have
        the broker config znodes that apply to this broker."""
        if self._listed is None or not self._broker_config_entities <= set(self._broker_configs):
            return False
        for name in self._listed:
            assignment = self._assignments.get(name)
            if assignment is None:
                return False
            if any((name, int(p)) not in self._state_seen for p in assignment["partitions"]):
                return False
        return True

    async def register(self) -> None:
        """Announce this broker to the cluster (once it can serve)."""
        await self._register()
        await self.wait_for(lambda: self.broker.broker_id in self._brokers, 30)

    async def stop(self, timeout: float = 10.0) -> None:
        """Close the session (our ephemeral nodes go at once). With ZooKeeper unreachable kazoo may
        keep retrying, so give up after `timeout` rather than hang the shutdown."""
        done = threading.Event()

        def close() -> None:
            try:
                self.zk.stop()
                self.zk.close()
            finally:
                done.set()

        threading.Thread(target=close, name="zookeeper-close", daemon=True).start()
        if not await asyncio.to_thread(done.wait, timeout):
            log.warning("ZooKeeper session did not close in time; exiting anyway")

    def _ensure_layout(self) -> None:
        for relative in (
            "/brokers/ids",
            "/brokers/topics",
            "/config/topics",
            "/config/brokers",
            USER_CONFIG_ROOT,
            "/admin/delete_topics",
            "/admin/controlled_shutdown",
            LITERAL_ACL_ROOT,
            PREFIXED_ACL_ROOT,
            LITERAL_ACL_CHANGES,
            PREFIXED_ACL_CHANGES,
        ):
            self.zk.ensure_path(self.path(relative))
        with contextlib.suppress(NodeExistsError):
            self.zk.create(
                self.path("/cluster/id"),
                json.dumps({"version": "1", "id": self.cluster_id or _new_cluster_id()}).encode(),
                makepath=True,
            )
        data, _ = self.zk.get(self.path("/cluster/id"))
        stored = json.loads(data)["id"]
        if self.cluster_id and self.cluster_id != stored:
            raise MetadataError(
                ErrorCode.INVALID_REQUEST,
                f"cluster.id {self.cluster_id} does not match {stored} in ZooKeeper",
            )
        self.cluster_id = stored

    async def _register(self) -> None:
        """Create our ephemeral registration; a previous session's may linger until it expires."""
        self._started_registration = True
        endpoints = self.broker.endpoints or (
            Endpoint("PLAINTEXT", self.broker.host, self.broker.port),
        )
        payload = json.dumps(
            {
                "listener_security_protocol_map": {
                    e.listener: e.security_protocol for e in endpoints
                },
                "endpoints": [f"{e.listener}://{e.host}:{e.port}" for e in endpoints],
                "jmx_port": -1,
                "features": {},
                "host": self.broker.host,
                "timestamp": str(int(time.time() * 1000)),
                "port": self.broker.port,
                "version": 5,
                "rack": self.broker.rack,
            }
        ).encode()
        path = self.path(f"/brokers/ids/{self.broker.broker_id}")
        deadline = time.monotonic() + self.registration_timeout
        while True:
            try:
                await asyncio.to_thread(self.zk.create, path, payload, ephemeral=True)
                log.info("registered in ZooKeeper", extra={"broker_id": self.broker.broker_id})
                return
            except NodeExistsError:
                _, stat = await asyncio.to_thread(self.zk.get, path)
                if stat.ephemeralOwner == self.zk.client_id[0]:
                    return
                if time.monotonic() > deadline:
                    raise MetadataError(
                        ErrorCode.INVALID_REQUEST,
                        f"broker id {self.broker.broker_id} is registered by another live broker",
                    ) from None
                await asyncio.sleep(0.5)

    def _on_connection_state(self, state: str) -> None:
        if self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._session_changed, state)

    def _session_changed(self, state: str) -> None:
        log.info("ZooKeeper connection state", extra={"state": state})
        if state == KazooState.CONNECTED and self._started_registration:
            # After a session loss our ephemeral nodes are gone: register again.
            self._loop.create_task(self._reregister())  # type: ignore[union-attr]
        for listener in self.session_listeners:
            listener(state)

    async def _reregister(self) -> None:
        try:
            exists = await asyncio.to_thread(
                self.zk.exists, self.path(f"/brokers/ids/{self.broker.broker_id}")
            )
            if exists is None or exists.ephemeralOwner != self.zk.client_id[0]:
                await self._register()
        except Exception:  # the connection may drop again; the next CONNECTED retries
            log.warning("re-registration failed", exc_info=True)

    # --- watches (kazoo threads) → cache (event loop) -------------------------------------------

    def _post(self, func: Callable[..., None], *args: Any) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(func, *args)

    def _watch_brokers(self, children: list[str]) -> None:
        self._post(self._refresh_brokers_async, sorted(children))

    def _refresh_brokers_async(self, children: list[str]) -> None:
        self._loop.create_task(self._refresh_brokers(children))  # type: ignore[union-attr]

    async def _refresh_brokers(self, children: list[str]) -> None:
        brokers = {}
        for child in children:
            try:
                data, _ = await asyncio.to_thread(self.zk.get, self.path(f"/brokers/ids/{child}"))
            except NoNodeError:
                continue
            brokers[int(child)] = broker_info_from_json(int(child), data)
        self._brokers = brokers
        self._notify()

    def _watch_topics(self, children: list[str]) -> None:
        self._post(self._topics_listed, set(children))

    def _watch_data(self, path: str, callback: Callable[[bytes | None, Any], bool]) -> None:
        """Start a data watch without blocking the caller (kazoo reads the node first)."""
        assert self._loop is not None
        self._loop.run_in_executor(None, lambda: self.zk.DataWatch(path, callback))

    def _topics_listed(self, names: set[str]) -> None:
        if self._listed is None:
            self._listed = set(names)
        for name in names - self._watched:
            self._watched.add(name)
            self._watch_data(self.path(f"/brokers/topics/{name}"), self._topic_watcher(name))
            self._watch_data(self.path(f"/config/topics/{name}"), self._config_watcher(name))
        for name in self._watched - names:
            self._watched.discard(name)
            self._assignments.pop(name, None)
            self._configs.pop(name, None)
            for key in [k for k in self._states if k[0] == name]:
                del self._states[key]
            self._rebuild(name)

    def _topic_watcher(self, name: str) -> Callable[[bytes | None, Any], bool]:
        watched_partitions: set[int] = set()

        def on_change(data: bytes | None, _stat: Any) -> bool:
            if data is None:
                return name in self._watched
            assignment = json.loads(data)
            for partition in {int(p) for p in assignment["partitions"]} - watched_partitions:
                watched_partitions.add(partition)
                self._post(
                    self._watch_data,
                    self.path(self.state_path(name, partition)),
                    self._state_watcher(name, partition),
                )
            self._post(self._set_assignment, name, assignment)
            return True

        return on_change

    def _state_watcher(self, name: str, partition: int) -> Callable[[bytes | None, Any], bool]:
        def on_change(data: bytes | None, stat: Any) -> bool:
            self._post(self._set_state, name, partition, data, stat.version if stat else NO_STATE)
            return data is not None or name in self._watched

        return on_change

    def _config_watcher(self, name: str) -> Callable[[bytes | None, Any], bool]:
        def on_change(data: bytes | None, _stat: Any) -> bool:
            configs = json.loads(data)["config"] if data else {}
            self._post(self._set_configs, name, configs)
            return name in self._watched or data is not None

        return on_change

    @property
    def _broker_config_entities(self) -> set[str]:
        return {DEFAULT_BROKER_ENTITY, str(self.broker.broker_id)}

    def _broker_config_watcher(self, entity: str) -> Callable[[bytes | None, Any], bool]:
        def on_change(data: bytes | None, _stat: Any) -> bool:
            try:
                stored = json.loads(data)["config"] if data else {}
                configs = {str(k): str(v) for k, v in stored.items()}
            except (ValueError, KeyError, TypeError, AttributeError):
                # Written by hand, perhaps: ignore it rather than stop watching.
                log.warning("unreadable broker config znode", extra={"entity": entity})
                configs = {}
            self._post(self._set_broker_configs, entity, configs)
            return True

        return on_change

    def _watch_users(self, children: list[str]) -> None:
        # Runs on a kazoo thread; a DataWatch per user keeps its credentials current and ends when
        # the user's znode goes.
        for child in set(children) - self._watched_users:
            self._watched_users.add(child)
            self.zk.DataWatch(self.path(f"{USER_CONFIG_ROOT}/{child}"), self._user_watcher(child))

    def _user_watcher(self, node: str) -> Callable[[bytes | None, Any], bool]:
        def on_change(data: bytes | None, _stat: Any) -> bool:
            try:
                user = desanitize_user(node)
                config = parse_user_config(data)
            except ValueError:
                log.warning("unreadable user config znode", extra={"znode": node})
                return True
            self._post(self._set_user_config, user, config)
            if data is None:
                self._watched_users.discard(node)
                return False
            return True

        return on_change

    def _set_user_config(self, user: str, config: dict[str, str]) -> None:
        if config:
            self._user_configs[user] = config
        else:
            self._user_configs.pop(user, None)
        self._notify()

    def _set_broker_configs(self, entity: str, configs: dict[str, str]) -> None:
        self._broker_configs[entity] = configs
        self._notify()

    def _set_assignment(self, name: str, assignment: dict[str, Any]) -> None:
        if name in self._watched:
            self._assignments[name] = assignment
            self._rebuild(name)

    def _set_state(self, name: str, partition: int, data: bytes | None, version: int) -> None:
        self._state_seen.add((name, partition))
        if data is None:
            self._states.pop((name, partition), None)
        else:
            state = json.loads(data)
            self._states[(name, partition)] = PartitionState(
                replicas=[],
                leader=state["leader"],
                leader_epoch=state["leader_epoch"],
                isr=state["isr"],
                partition_epoch=version,
                controller_epoch=state.get("controller_epoch", 0),
            )
        self._rebuild(name)

    def _set_configs(self, name: str, configs: dict[str, str]) -> None:
        self._configs[name] = configs
        self._rebuild(name)

    def _rebuild(self, name: str) -> None:
        assignment = self._assignments.get(name)
        if assignment is None:
            if self._topics.pop(name, None) is not None:
                self._notify()
            return
        partitions = {}
        for key, replicas in assignment["partitions"].items():
            index = int(key)
            state = self._states.get((name, index))
            if state is None:
                partitions[index] = PartitionState(list(replicas), -1, -1, [], NO_STATE)
            else:
                partitions[index] = PartitionState(
                    list(replicas),
                    state.leader,
                    state.leader_epoch,
                    list(state.isr),
                    state.partition_epoch,
                    state.controller_epoch,
                )
        self._topics[name] = TopicMetadata(
            name=name,
            topic_id=topic_id_bytes(assignment["topic_id"])
            if assignment.get("topic_id")
            else bytes(16),
            partitions=partitions,
            configs=dict(self._configs.get(name, {})),
            internal=name.startswith("__"),
            adding_replicas={int(p): r for p, r in assignment.get("adding_replicas", {}).items()},
            removing_replicas={
                int(p): r for p, r in assignment.get("removing_replicas", {}).items()
            },
        )
        self._notify()

    def _watch_deletions(self, children: list[str]) -> None:
        self._post(self._set_deletions, set(children))

    def _set_deletions(self, names: set[str]) -> None:
        self.pending_deletions = names
        self._notify()

    def _watch_shutdowns(self, children: list[str]) -> None:
        self._post(self._set_shutdowns, {int(c) for c in children})

    def _set_shutdowns(self, ids: set[int]) -> None:
        self.shutting_down = ids
        self._notify()

    def _watch_controller(self, data: bytes | None, _stat: Any) -> bool:
        controller = json.loads(data)["brokerid"] if data else -1
        self._post(self._set_controller, controller)
        return True

    def _set_controller(self, controller: int) -> None:
        self.controller_id = controller
        self._notify()

    def _notify(self) -> None:
        # Many watches fire together (a topic, its partitions): tell listeners once per burst.
        if not self._notify_pending and self._loop is not None:
            self._notify_pending = True
            self._loop.call_soon(self._flush_notify)

    def _flush_notify(self) -> None:
        self._notify_pending = False
        self._changed()

    async def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until the cache satisfies `condition` (re-checked on every change)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    # --- reads ----------------------------------------------------------------------------------

    @property
    def topics(self) -> Mapping[str, TopicMetadata]:
        return self._topics

    @property
    def brokers(self) -> Mapping[int, BrokerInfo]:
        return self._brokers

    @property
    def broker_configs(self) -> Mapping[str, Mapping[str, str]]:
        return self._broker_configs

    # --- writes ---------------------------------------------------------------------------------

    async def create_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        configs: Mapping[str, str],
        assignment: Mapping[int, list[int]] | None = None,
        internal: bool = False,
    ) -> TopicMetadata:
        if name in self._topics or name in self.pending_deletions:
            raise MetadataError(ErrorCode.TOPIC_ALREADY_EXISTS, f"topic {name!r} already exists")
        live = sorted(self._brokers.values(), key=lambda b: b.broker_id)
        if assignment:
            check_partition_numbering(assignment)
            unknown = {r for replicas in assignment.values() for r in replicas} - set(self._brokers)
            if unknown:
                raise MetadataError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT, f"unknown brokers {sorted(unknown)}"
                )
            partitions = {p: list(r) for p, r in assignment.items()}
        else:
            if replication_factor > len(live):
                raise MetadataError(
                    ErrorCode.INVALID_REPLICATION_FACTOR,
                    f"replication factor {replication_factor} is larger than the {len(live)} available brokers",
                )
            partitions = assign_replicas(live, num_partitions, replication_factor)
        topic_id = uuid.uuid4().bytes

        def write() -> None:
            transaction = self.zk.transaction()
            transaction.create(
                self.path(f"/config/topics/{name}"),
                json.dumps({"version": 1, "config": dict(configs)}).encode(),
            )
            transaction.create(
                self.path(f"/brokers/topics/{name}"), assignment_json(topic_id, partitions)
            )
            results = transaction.commit()
            if any(isinstance(r, NodeExistsError) for r in results):
                raise MetadataError(
                    ErrorCode.TOPIC_ALREADY_EXISTS, f"topic {name!r} already exists"
                )
            for result in results:
                if isinstance(result, Exception):
                    raise result

        await asyncio.to_thread(write)
        # The controller gives every partition a leader; answer once it has (or after a while).
        await self.wait_for(
            lambda: (
                name in self._topics
                and all(p.leader >= 0 for p in self._topics[name].partitions.values())
            ),
            10,
        )
        return self._topics.get(name) or TopicMetadata(
            name,
            topic_id,
            {p: PartitionState(r, -1, -1, [], NO_STATE) for p, r in partitions.items()},
            dict(configs),
        )

    async def delete_topic(self, name: str) -> None:
        if name not in self._topics:
            raise MetadataError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"no topic {name!r}")
        with contextlib.suppress(NodeExistsError):
            await asyncio.to_thread(self.zk.create, self.path(f"/admin/delete_topics/{name}"))
        await self.wait_for(lambda: name not in self._topics, 10)

    async def create_partitions(
        self, name: str, total: int, assignment: list[list[int]] | None = None
    ) -> None:
        topic = self._topics.get(name)
        if topic is None:
            raise MetadataError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"no topic {name!r}")
        current = {p: s.replicas for p, s in topic.partitions.items()}
        new = total - len(current)
        if assignment is not None:
            if len(assignment) != new:
                raise MetadataError(
                    ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                    f"{len(assignment)} assignments given for {new} new partitions",
                )
            added = {len(current) + i: list(r) for i, r in enumerate(assignment)}
        else:
            factor = len(next(iter(current.values()))) if current else 1
            live = sorted(self._brokers.values(), key=lambda b: b.broker_id)
            if factor > len(live):
                raise MetadataError(ErrorCode.INVALID_REPLICATION_FACTOR, "not enough live brokers")
            fresh = assign_replicas(live, new, factor, start=len(current))
            added = {len(current) + i: fresh[i] for i in range(new)}

        def write() -> None:
            path = self.path(f"/brokers/topics/{name}")
            data, stat = self.zk.get(path)
            stored = json.loads(data)
            partitions = {int(p): r for p, r in stored["partitions"].items()}
            partitions.update(added)
            self.zk.set(path, assignment_json(topic.topic_id, partitions), version=stat.version)

        try:
            await asyncio.to_thread(write)
        except BadVersionError:
            raise MetadataError(
                ErrorCode.INVALID_REQUEST, "the topic changed meanwhile; retry"
            ) from None
        await self.wait_for(
            lambda: (
                name in self._topics
                and len(self._topics[name].partitions) >= total
                and all(p.leader >= 0 for p in self._topics[name].partitions.values())
            ),
            10,
        )

    async def set_topic_configs(self, name: str, configs: Mapping[str, str]) -> None:
        await asyncio.to_thread(
            self.zk.set,
            self.path(f"/config/topics/{name}"),
            json.dumps({"version": 1, "config": dict(configs)}).encode(),
        )
        await self.wait_for(
            lambda: name in self._topics and self._topics[name].configs == dict(configs), 10
        )

    async def alter_broker_configs(
        self, entity: str, update: BrokerConfigUpdate, validate_only: bool = False
    ) -> dict[str, str]:
        path = self.path(f"/config/brokers/{entity}")

        def alter() -> dict[str, str]:
            while True:  # compare-and-set: a concurrent writer makes us start over
                try:
                    data, stat = self.zk.get(path)
                    current = json.loads(data).get("config", {}) if data else {}
                    version = stat.version
                except NoNodeError:
                    current, version = {}, None
                updated = update(dict(current))
                if validate_only:
                    return updated
                payload = json.dumps({"version": 1, "config": updated}).encode()
                try:
                    if version is None:
                        self.zk.create(path, payload, makepath=True)
                    else:
                        self.zk.set(path, payload, version=version)
                    return updated
                except (NodeExistsError, BadVersionError):
                    continue

        updated = await asyncio.to_thread(alter)
        if not validate_only and entity in self._broker_config_entities:
            # Answer once our own view has it, so that a describe right after sees the change.
            await self.wait_for(lambda: self._broker_configs.get(entity) == updated, 10)
        return updated

    @property
    def user_configs(self) -> Mapping[str, Mapping[str, str]]:
        return self._user_configs

    async def alter_user_config(
        self, user: str, update: Callable[[dict[str, str]], dict[str, str]]
    ) -> dict[str, str]:
        path = self.path(user_config_path(user))

        def alter() -> dict[str, str]:
            while True:  # compare-and-set, as alter_broker_configs
                try:
                    data, stat = self.zk.get(path)
                    current, version = parse_user_config(data), stat.version
                except NoNodeError:
                    current, version = {}, None
                updated = update(dict(current))
                try:
                    if version is None:
                        if updated:
                            self.zk.create(path, format_user_config(updated), makepath=True)
                    elif updated:
                        self.zk.set(path, format_user_config(updated), version=version)
                    else:
                        self.zk.delete(path, version=version)
                    return updated
                except (NodeExistsError, BadVersionError, NoNodeError):
                    continue

        updated = await asyncio.to_thread(alter)
        # Answer once our own view has it, so that a describe or a login right after sees it.
        await self.wait_for(lambda: dict(self._user_configs.get(user, {})) == updated, 10)
        return updated

    # --- ACLs -----------------------------------------------------------------------------------

    async def _load_acls(self) -> None:
        """Read every stored ACL. The latest change notifications are noted first: whatever changes
        meanwhile has a later one, which the change watches handle once they start."""

        def load() -> dict[ResourcePattern, set[AccessControlEntry]]:
            for root in (LITERAL_ACL_CHANGES, PREFIXED_ACL_CHANGES):
                children = self.zk.get_children(self.path(root))
                self._acl_changes_seen[root] = max(map(_change_sequence, children), default=-1)
            loaded = {}
            for root in (LITERAL_ACL_ROOT, PREFIXED_ACL_ROOT):
                for kind in self.zk.get_children(self.path(root)):
                    with contextlib.suppress(NoNodeError):
                        for name in self.zk.get_children(self.path(f"{root}/{kind}")):
                            try:
                                pattern = parse_acl_znode_path(f"{root}/{kind}/{name}")
                            except InvalidAcl:
                                log.warning(
                                    "ignoring a znode outside Kafka's ACL layout",
                                    extra={"znode": f"{root}/{kind}/{name}"},
                                )
                                continue
                            loaded[pattern] = self._read_acl_resource(pattern)
            return loaded

        async with self._acl_refresh:
            for pattern, entries in (await asyncio.to_thread(load)).items():
                self.acls.set_resource(pattern, entries)
        log.info("ACLs loaded", extra={"acls": len(self.acls)})

    def _read_acl_resource(self, pattern: ResourcePattern) -> set[AccessControlEntry]:
        """A resource's ACLs as stored now (none if its znode is gone or unreadable)."""
        try:
            data, _ = self.zk.get(self.path(acl_znode_path(pattern)))
            return parse_acl_znode(data)
        except NoNodeError:
            return set()
        except InvalidAcl as exc:
            log.warning(
                "unreadable ACL znode: its ACLs are ignored",
                extra={"znode": acl_znode_path(pattern), "problem": str(exc)},
            )
            return set()

    def _acl_change_watcher(self, root: str) -> Callable[[list[str]], None]:
        def on_change(children: list[str]) -> None:
            self._post(self._acl_changes_listed, root, children)

        return on_change

    def _acl_changes_listed(self, root: str, children: list[str]) -> None:
        self._loop.create_task(self._refresh_acls(root, children))  # type: ignore[union-attr]

    async def _refresh_acls(self, root: str, children: list[str]) -> None:
        async with self._acl_refresh:
            try:
                changed = await asyncio.to_thread(self._read_acl_changes, root, children)
            except KazooException as exc:
                # The next notification (or the watch firing again on reconnection) retries.
                log.warning("could not read ACL changes", extra={"error": repr(exc)})
                return
            for pattern, entries in changed.items():
                self.acls.set_resource(pattern, entries)

    def _read_acl_changes(
        self, root: str, children: list[str]
    ) -> dict[ResourcePattern, set[AccessControlEntry]]:
        """Reload the resources named by notifications not handled yet, then purge expired ones."""
        seen = self._acl_changes_seen.get(root, -1)
        fresh = sorted((c for c in children if _change_sequence(c) > seen), key=_change_sequence)
        patterns: dict[ResourcePattern, None] = {}
        for child in fresh:
            try:
                data, _ = self.zk.get(self.path(f"{root}/{child}"))
                patterns[parse_acl_change(root, data)] = None
            except NoNodeError:
                continue  # purged by another broker: too old to matter
            except InvalidAcl as exc:
                log.warning("ignoring an ACL change notification", extra={"problem": str(exc)})
        changed = {pattern: self._read_acl_resource(pattern) for pattern in patterns}
        if fresh:
            self._acl_changes_seen[root] = _change_sequence(fresh[-1])
        self._purge_acl_changes(root, children)
        return changed

    def _purge_acl_changes(self, root: str, children: list[str]) -> None:
        expired_before = time.time() * 1000 - ACL_CHANGE_EXPIRY_MS
        for child in sorted(children, key=_change_sequence):
            path = self.path(f"{root}/{child}")
            stat = self.zk.exists(path)
            if stat is None:
                continue
            if stat.ctime >= expired_before:
                return
            with contextlib.suppress(NoNodeError):
                self.zk.delete(path)

    def _update_acl_resource(
        self,
        pattern: ResourcePattern,
        change: Callable[[set[AccessControlEntry]], set[AccessControlEntry]],
    ) -> tuple[set[AccessControlEntry], set[AccessControlEntry], tuple[str, int] | None]:
        """Replace a resource's ACLs with `change(current)` by compare-and-set, as Kafka does, and
        announce it with a change notification. Returns the ACLs before and after, and the
        notification written (root, sequence), None when nothing changed. Worker thread."""
        path = self.path(acl_znode_path(pattern))
        while True:
            try:
                data, stat = self.zk.get(path)
                current, version = parse_acl_znode(data), stat.version
            except NoNodeError:
                current, version = set(), None
            updated = change(set(current))
            if updated == current:
                return current, updated, None
            try:
                if version is None:
                    self.zk.create(path, format_acl_znode(updated), makepath=True)
                elif updated:
                    self.zk.set(path, format_acl_znode(updated), version=version)
                else:
                    self.zk.delete(path, version=version)
            except (NodeExistsError, BadVersionError, NoNodeError):
                continue
            root = _acl_change_root(pattern)
            created = self.zk.create(
                self.path(f"{root}/{ACL_CHANGE_PREFIX}"),
                format_acl_change(pattern),
                sequence=True,
                makepath=True,
            )
            return current, updated, (root, _change_sequence(created.rpartition("/")[2]))

    async def _wait_for_acl_changes(self, written: list[tuple[str, int]]) -> None:
        """Answer once our own cache has handled our notifications, so that a describe or an
        authorization right after sees the change."""
        await self.wait_for(
            lambda: all(self._acl_changes_seen.get(root, -1) >= seq for root, seq in written), 10
        )

    async def create_acls(self, bindings: Sequence[AclBinding]) -> None:
        patterns = list(dict.fromkeys(b.pattern for b in bindings))

        def write() -> list[tuple[str, int]]:
            written = []
            for pattern in patterns:
                _, _, notification = self._update_acl_resource(
                    pattern, lambda current, pattern=pattern: acls_with(current, pattern, bindings)
                )
                if notification is not None:
                    written.append(notification)
            return written

        try:
            written = await asyncio.to_thread(write)
        except InvalidAcl as exc:
            raise MetadataError(ErrorCode.UNKNOWN_SERVER_ERROR, str(exc)) from None
        await self._wait_for_acl_changes(written)

    async def delete_acls(self, filters: Sequence[AclBindingFilter]) -> list[list[AclBinding]]:
        patterns = patterns_matching(self.acls, filters)

        def write() -> tuple[list[AclBinding], list[tuple[str, int]]]:
            removed, written = [], []
            for pattern in patterns:
                current, kept, notification = self._update_acl_resource(
                    pattern,
                    lambda current, pattern=pattern: acls_without(current, pattern, filters),
                )
                removed += [AclBinding(pattern, entry) for entry in current - kept]
                if notification is not None:
                    written.append(notification)
            return removed, written

        try:
            removed, written = await asyncio.to_thread(write)
        except InvalidAcl as exc:
            raise MetadataError(ErrorCode.UNKNOWN_SERVER_ERROR, str(exc)) from None
        await self._wait_for_acl_changes(written)
        return deleted_per_filter(removed, filters)

    async def allocate_producer_ids(self, count: int) -> int:
        def allocate() -> int:
            path = self.path("/latest_producer_id_block")
            while True:
                try:
                    data, stat = self.zk.get(path)
                except NoNodeError:
                    block = {
                        "version": 1,
                        "broker": self.broker.broker_id,
                        "block_start": "0",
                        "block_end": str(count - 1),
                    }
                    try:
                        self.zk.create(path, json.dumps(block).encode(), makepath=True)
                        return 0
                    except NodeExistsError:
                        continue
                start = int(json.loads(data)["block_end"]) + 1
                block = {
                    "version": 1,
                    "broker": self.broker.broker_id,
                    "block_start": str(start),
                    "block_end": str(start + count - 1),
                }
                try:
                    self.zk.set(path, json.dumps(block).encode(), version=stat.version)
                    return start
                except BadVersionError:
                    continue

        return await asyncio.to_thread(allocate)

    async def update_isr(
        self, topic: str, partition: int, state: PartitionState, isr: list[int]
    ) -> bool:
        updated = PartitionState(
            state.replicas,
            state.leader,
            state.leader_epoch,
            list(isr),
            state.partition_epoch,
            state.controller_epoch,
        )
        path = self.path(self.state_path(topic, partition))
        try:
            new_stat = await asyncio.to_thread(
                self.zk.set, path, state_json(updated), version=state.partition_epoch
            )
        except (BadVersionError, NoNodeError):
            return False  # changed meanwhile: the watch brings the new state
        # The watch may already have brought a newer state (the controller writing right after
        # us); ours must not replace it.
        self._set_state_if_newer(topic, partition, state_json(updated), new_stat.version)
        return True

    def _set_state_if_newer(self, name: str, partition: int, data: bytes, version: int) -> None:
        cached = self._states.get((name, partition))
        if cached is None or cached.partition_epoch < version:
            self._set_state(name, partition, data, version)

    async def controlled_shutdown(self, timeout: float) -> None:
        """Ask the controller to move leadership off this broker, and wait until it has."""
        me = self.broker.broker_id
        if not self.zk.connected:
            log.warning("controlled shutdown not possible: ZooKeeper is unreachable")
            return
        path = self.path(f"/admin/controlled_shutdown/{me}")
        try:
            await asyncio.to_thread(self.zk.create, path, ephemeral=True)
        except NodeExistsError:
            pass
        except KazooException as exc:
            # No ZooKeeper, no controller to drain us: the cluster will see our session end.
            log.warning("controlled shutdown not possible", extra={"error": repr(exc)})
            return
        drained = await self.wait_for(
            lambda: (
                not any(
                    p.leader == me and len(p.replicas) > 1
                    for t in self._topics.values()
                    for p in t.partitions.values()
                )
            ),
            timeout,
        )
        log.info("controlled shutdown", extra={"broker_id": me, "drained": drained})


def _change_sequence(child: str) -> int:
    """The sequence number of an ACL change notification znode (-1 for any other name)."""
    if not child.startswith(ACL_CHANGE_PREFIX):
        return -1
    try:
        return int(child[len(ACL_CHANGE_PREFIX) :])
    except ValueError:
        return -1


def _new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
