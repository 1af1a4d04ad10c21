"""A blocking Kafka admin client on the project's own codecs: enough to inspect groups and lag.

It speaks to any broker that serves the versions below (this one, or Apache Kafka 2.4+).
"""

from __future__ import annotations

import itertools
import socket
import ssl
from dataclasses import dataclass
from types import TracebackType

from dataplane.broker.dispatch import APIS
from dataplane.protocol.client_codec import decode_response, encode_request, frame_size
from dataplane.protocol.errors import ErrorCode

METADATA, FIND_COORDINATOR, LIST_GROUPS, DESCRIBE_GROUPS, OFFSET_FETCH, LIST_OFFSETS = (
    3,
    10,
    16,
    15,
    9,
    2,
)
DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS = 32, 44
ALTER_PARTITION_REASSIGNMENTS, LIST_PARTITION_REASSIGNMENTS = 45, 46
TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4
SET_CONFIG, DELETE_CONFIG = 0, 1
VERSIONS = {
    ALTER_PARTITION_REASSIGNMENTS: 0,
    LIST_PARTITION_REASSIGNMENTS: 0,
    METADATA: 9,
    FIND_COORDINATOR: 3,
    LIST_GROUPS: 4,
    DESCRIBE_GROUPS: 5,
    OFFSET_FETCH: 7,
    LIST_OFFSETS: 7,
    DESCRIBE_CONFIGS: 4,
    INCREMENTAL_ALTER_CONFIGS: 1,
}
LATEST_TIMESTAMP = -1


class AdminError(Exception):
    pass


@dataclass(frozen=True)
class ConfigValue:
    value: str | None
    source: (
        int  # Kafka's ConfigSource: 2 per-broker dynamic, 3 cluster default, 4 static, 5 default
    )
    read_only: bool


@dataclass(frozen=True)
class Node:
    node_id: int
    host: str
    port: int


class _Connection:
    def __init__(
        self, host: str, port: int, timeout: float, tls: ssl.SSLContext | None = None
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        self.sock = sock if tls is None else tls.wrap_socket(sock, server_hostname=host)
        self.correlation = itertools.count(1)

    def call(self, api_key: int, body: dict) -> dict:
        version = VERSIONS[api_key]
        api = APIS[api_key]
        correlation_id = next(self.correlation)
        self.sock.sendall(
            encode_request(api_key, version, correlation_id, "dataplane-admin", api.request, body)
        )
        frame = self._read(frame_size(self._read(4)))
        received, response = decode_response(api_key, version, api.response, frame)
        if received != correlation_id:
            raise AdminError("response out of order")
        return response

    def _read(self, size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise AdminError("broker closed the connection")
            data += chunk
        return bytes(data)

    def close(self) -> None:
        self.sock.close()


class AdminClient:
    def __init__(
        self, bootstrap_servers: str, timeout: float = 10.0, tls: ssl.SSLContext | None = None
    ) -> None:
        """`tls`: connect over TLS with this context (an SSL listener), else in plain text."""
        self.timeout = timeout
        self.tls = tls
        self._connections: dict[tuple[str, int], _Connection] = {}
        self._bootstrap = [_parse_address(a) for a in bootstrap_servers.split(",") if a.strip()]
        if not self._bootstrap:
            raise AdminError("no bootstrap servers given")

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _call(self, address: tuple[str, int], api_key: int, body: dict) -> dict:
        connection = self._connections.get(address)
        if connection is None:
            connection = self._connections[address] = _Connection(*address, self.timeout, self.tls)
        return connection.call(api_key, body)

    def _any(self, api_key: int, body: dict) -> dict:
        errors = []
        for address in self._bootstrap:
            try:
                return self._call(address, api_key, body)
            except OSError as exc:
                errors.append(f"{address[0]}:{address[1]}: {exc}")
        raise AdminError("no bootstrap server answered: " + "; ".join(errors))

    def metadata(self, topics: list[str] | None = None) -> dict:
        wanted = None if topics is None else [{"name": t} for t in topics]
        return self._any(METADATA, {"topics": wanted, "allow_auto_topic_creation": False})

    def _controller(self, api_key: int, body: dict) -> dict:
        """Send to the active controller, which alone takes cluster changes."""
        metadata = self.metadata([])
        controller = next(
            (b for b in metadata["brokers"] if b["node_id"] == metadata["controller_id"]), None
        )
        if controller is None:
            raise AdminError("the cluster has no active controller")
        return self._call((controller["host"], controller["port"]), api_key, body)

    def alter_partition_reassignments(
        self, targets: dict[tuple[str, int], list[int] | None]
    ) -> None:
        """Move partitions to new replica lists (None cancels a partition's reassignment)."""
        by_topic: dict[str, list[dict]] = {}
        for (topic, partition), replicas in sorted(targets.items()):
            by_topic.setdefault(topic, []).append(
                {"partition_index": partition, "replicas": replicas}
            )
        response = self._controller(
            ALTER_PARTITION_REASSIGNMENTS,
            {
                "timeout_ms": int(self.timeout * 1000),
                "topics": [{"name": t, "partitions": p} for t, p in by_topic.items()],
            },
        )
        _raise_for(response["error_code"], f"reassignment ({response.get('error_message')})")
        for topic in response["responses"]:
            for partition in topic["partitions"]:
                _raise_for(
                    partition["error_code"],
                    f"reassigning {topic['name']}-{partition['partition_index']}"
                    f" ({partition.get('error_message')})",
                )

    def list_partition_reassignments(self) -> dict[tuple[str, int], dict[str, list[int]]]:
        """Reassignments in progress: replicas, adding and removing, per partition."""
        response = self._controller(
            LIST_PARTITION_REASSIGNMENTS, {"timeout_ms": int(self.timeout * 1000), "topics": None}
        )
        _raise_for(response["error_code"], "listing reassignments")
        return {
            (topic["name"], p["partition_index"]): {
                "replicas": p["replicas"],
                "adding": p["adding_replicas"],
                "removing": p["removing_replicas"],
            }
            for topic in response["topics"]
            for p in topic["partitions"]
        }

    def nodes(self) -> list[Node]:
        return [Node(b["node_id"], b["host"], b["port"]) for b in self.metadata([])["brokers"]]

    def topic_config(self, topics: list[str], key: str) -> dict[str, str]:
        """One config value of each topic."""
        if not topics:
            return {}
        response = self._any(
            DESCRIBE_CONFIGS,
            {
                "resources": [
                    {
                        "resource_type": TOPIC_RESOURCE,
                        "resource_name": t,
                        "configuration_keys": [key],
                    }
                    for t in topics
                ],
                "include_synonyms": False,
                "include_documentation": False,
            },
        )
        return {
            r["resource_name"]: c["value"]
            for r in response["results"]
            if r["error_code"] == ErrorCode.NONE
            for c in r["configs"]
            if c["name"] == key
        }

    def broker_configs(self, broker_id: int | None) -> dict[str, ConfigValue]:
        """A broker's effective settings (asked of that broker), or with None the cluster-wide
        dynamic defaults that are set (asked of any broker)."""
        body = {
            "resources": [
                {
                    "resource_type": BROKER_RESOURCE,
                    "resource_name": "" if broker_id is None else str(broker_id),
                    "configuration_keys": None,
                }
            ],
            "include_synonyms": False,
            "include_documentation": False,
        }
        if broker_id is None:
            response = self._any(DESCRIBE_CONFIGS, body)
        else:
            node = next((n for n in self.nodes() if n.node_id == broker_id), None)
            if node is None:
                raise AdminError(f"broker {broker_id} is not in the cluster")
            response = self._call((node.host, node.port), DESCRIBE_CONFIGS, body)
        (result,) = response["results"]
        _raise_for(result["error_code"], f"describing broker configs ({result['error_message']})")
        return {
            c["name"]: ConfigValue(c["value"], c["config_source"], c["read_only"])
            for c in result["configs"]
        }

    def alter_broker_configs(
        self,
        broker_id: int | None,
        set_configs: dict[str, str],
        delete: list[str] | None = None,
        validate_only: bool = False,
    ) -> None:
        """Set and delete dynamic settings of one broker, or with None the cluster-wide defaults
        (any broker takes the change; every broker applies it without a restart)."""
        changes = [
            {"name": k, "config_operation": SET_CONFIG, "value": v} for k, v in set_configs.items()
        ] + [{"name": k, "config_operation": DELETE_CONFIG, "value": None} for k in delete or []]
        response = self._any(
            INCREMENTAL_ALTER_CONFIGS,
            {
                "resources": [
                    {
                        "resource_type": BROKER_RESOURCE,
                        "resource_name": "" if broker_id is None else str(broker_id),
                        "configs": changes,
                    }
                ],
                "validate_only": validate_only,
            },
        )
        (result,) = response["responses"]
        _raise_for(result["error_code"], f"altering broker configs ({result['error_message']})")

    def coordinator(self, group_id: str) -> tuple[str, int]:
        response = self._any(FIND_COORDINATOR, {"key": group_id, "key_type": 0})
        _raise_for(response["error_code"], f"finding the coordinator of {group_id!r}")
        return response["host"], response["port"]

    def list_groups(self) -> list[dict]:
        groups = []
        for node in self.nodes():
            response = self._call((node.host, node.port), LIST_GROUPS, {"states_filter": []})
            _raise_for(response["error_code"], f"listing groups on broker {node.node_id}")
            groups.extend(response["groups"])
        return sorted(groups, key=lambda g: g["group_id"])

    def describe_group(self, group_id: str) -> dict:
        response = self._call(self.coordinator(group_id), DESCRIBE_GROUPS, {"groups": [group_id]})
        group = response["groups"][0]
        _raise_for(group["error_code"], f"describing {group_id!r}")
        return group

    def committed_offsets(self, group_id: str) -> dict[tuple[str, int], int]:
        response = self._call(
            self.coordinator(group_id), OFFSET_FETCH, {"group_id": group_id, "topics": None}
        )
        _raise_for(response["error_code"], f"fetching offsets of {group_id!r}")
        return {
            (topic["name"], p["partition_index"]): p["committed_offset"]
            for topic in response["topics"]
            for p in topic["partitions"]
            if p["committed_offset"] >= 0
        }

    def end_offsets(self, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        """High watermarks, asked of each partition's leader."""
        metadata = self.metadata(sorted({t for t, _ in partitions}))
        brokers = {b["node_id"]: (b["host"], b["port"]) for b in metadata["brokers"]}
        leaders = {
            (topic["name"], p["partition_index"]): p["leader_id"]
            for topic in metadata["topics"]
            for p in topic["partitions"]
        }
        by_leader: dict[int, list[tuple[str, int]]] = {}
        for tp in partitions:
            by_leader.setdefault(leaders.get(tp, -1), []).append(tp)
        result = {}
        for leader, tps in by_leader.items():
            if leader not in brokers:
                continue
            topics: dict[str, list[dict]] = {}
            for topic, partition in tps:
                topics.setdefault(topic, []).append(
                    {
                        "partition_index": partition,
                        "current_leader_epoch": -1,
                        "timestamp": LATEST_TIMESTAMP,
                    }
                )
            response = self._call(
                brokers[leader],
                LIST_OFFSETS,
                {
                    "replica_id": -1,
                    "isolation_level": 0,
                    "topics": [{"name": t, "partitions": ps} for t, ps in topics.items()],
                },
            )
            for topic in response["topics"]:
                for p in topic["partitions"]:
                    if p["error_code"] == ErrorCode.NONE:
                        result[(topic["name"], p["partition_index"])] = p["offset"]
        return result


def _parse_address(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit():
        raise AdminError(f"{text!r} is not host:port")
    return host.strip("[]"), int(port)


def _raise_for(code: int, doing: str) -> None:
    if code != ErrorCode.NONE:
        try:
            name = ErrorCode(code).name
        except ValueError:
            name = str(code)
        raise AdminError(f"{doing}: {name}")
