"""Metadata for a single broker without ZooKeeper, kept in a JSON file in its first log dir."""

from __future__ import annotations

import base64
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from dataplane.metadata.base import (
    BrokerConfigUpdate,
    BrokerInfo,
    MetadataError,
    MetadataStore,
    PartitionState,
    TopicMetadata,
    acls_with,
    acls_without,
    check_partition_numbering,
    deleted_per_filter,
    patterns_matching,
)
from dataplane.protocol.errors import ErrorCode
from dataplane.security.acl import (
    AccessControlEntry,
    AclBinding,
    AclBindingFilter,
    ResourcePattern,
    acl_znode_path,
    format_acl_znode,
    parse_acl_znode,
    parse_acl_znode_path,
)
from dataplane.storage.checkpoints import write_atomically

METADATA_FILE = "standalone-metadata.json"


class StandaloneMetadataStore(MetadataStore):
    def __init__(self, log_dir: Path, broker: BrokerInfo, cluster_id: str = "") -> None:
        super().__init__()
        self._path = log_dir / METADATA_FILE
        self._broker = broker
        self.controller_id = broker.broker_id
        self._topics: dict[str, TopicMetadata] = {}
        self._next_producer_id = 0
        self._broker_configs: dict[str, dict[str, str]] = {}
        self._user_configs: dict[str, dict[str, str]] = {}
        self.cluster_id = cluster_id
        self._load()

    def _load(self) -> None:
        if not self._path.exists():
            self.cluster_id = self.cluster_id or _new_cluster_id()
            return
        state = json.loads(self._path.read_text())
        self.cluster_id = state["cluster_id"]
        self._next_producer_id = state["next_producer_id"]
        self._broker_configs = state.get("broker_configs", {})
        self._user_configs = state.get("user_configs", {})
        # ACLs as Kafka keeps them in ZooKeeper: each znode path with its JSON document.
        for path, document in state.get("acls", {}).items():
            self.acls.set_resource(
                parse_acl_znode_path(path), parse_acl_znode(json.dumps(document).encode())
            )
        for name, topic in state["topics"].items():
            self._topics[name] = TopicMetadata(
                name=name,
                topic_id=base64.b64decode(topic["id"]),
                partitions={
                    int(index): PartitionState(**partition)
                    for index, partition in topic["partitions"].items()
                },
                configs=topic["configs"],
                internal=topic.get("internal", False),
            )

    def _save(self) -> None:
        state = {
            "cluster_id": self.cluster_id,
            "next_producer_id": self._next_producer_id,
            "broker_configs": self._broker_configs,
            "user_configs": self._user_configs,
            "acls": self._acl_documents(),
            "topics": {
                name: {
                    "id": base64.b64encode(topic.topic_id).decode(),
                    "partitions": {
                        str(index): vars(partition) for index, partition in topic.partitions.items()
                    },
                    "configs": topic.configs,
                    "internal": topic.internal,
                }
                for name, topic in self._topics.items()
            },
        }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self._path, json.dumps(state, indent=1))

    def _acl_documents(self) -> dict[str, dict]:
        by_pattern: dict[ResourcePattern, set[AccessControlEntry]] = defaultdict(set)
        for binding in self.acls.bindings():
            by_pattern[binding.pattern].add(binding.entry)
        return {
            acl_znode_path(pattern): json.loads(format_acl_znode(entries))
            for pattern, entries in sorted(by_pattern.items(), key=lambda item: repr(item[0]))
        }

    async def create_acls(self, bindings: Sequence[AclBinding]) -> None:
        for pattern in {b.pattern for b in bindings}:
            self.acls.set_resource(
                pattern, acls_with(self.acls.acls_of(pattern), pattern, bindings)
            )
        self._save()

    async def delete_acls(self, filters: Sequence[AclBindingFilter]) -> list[list[AclBinding]]:
        removed = []
        for pattern in patterns_matching(self.acls, filters):
            current = self.acls.acls_of(pattern)
            kept = acls_without(current, pattern, filters)
            removed += [AclBinding(pattern, entry) for entry in current - kept]
            self.acls.set_resource(pattern, kept)
        self._save()
        return deleted_per_filter(removed, filters)

    @property
    def topics(self) -> Mapping[str, TopicMetadata]:
        return self._topics

    @property
    def brokers(self) -> Mapping[int, BrokerInfo]:
        return {self._broker.broker_id: self._broker}

    @property
    def broker_configs(self) -> Mapping[str, Mapping[str, str]]:
        return self._broker_configs

    @property
    def user_configs(self) -> Mapping[str, Mapping[str, str]]:
        return self._user_configs

    async def alter_user_config(
        self, user: str, update: Callable[[dict[str, str]], dict[str, str]]
    ) -> dict[str, str]:
        updated = update(dict(self._user_configs.get(user, {})))
        if updated:
            self._user_configs[user] = dict(updated)
        else:
            self._user_configs.pop(user, None)
        self._save()
        self._changed()
        return updated

    async def start(self) -> None:
        self._save()

    async def stop(self) -> None:
        self._save()

    def _partition(self, replicas: list[int] | None) -> PartitionState:
        replicas = replicas or [self._broker.broker_id]
        if replicas != [self._broker.broker_id]:
            raise MetadataError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"replicas {replicas} name brokers other than {self._broker.broker_id}",
            )
        return PartitionState(replicas=replicas, leader=replicas[0], leader_epoch=0, isr=replicas)

    def _check_replication_factor(self, replication_factor: int) -> None:
        if replication_factor not in (-1, 1):
            raise MetadataError(
                ErrorCode.INVALID_REPLICATION_FACTOR,
                f"replication factor {replication_factor} is larger than the 1 available broker",
            )

    async def create_topic(
        self,
        name: str,
        num_partitions: int,
        replication_factor: int,
        configs: Mapping[str, str],
        assignment: Mapping[int, list[int]] | None = None,
        internal: bool = False,
    ) -> TopicMetadata:
        if name in self._topics:
            raise MetadataError(ErrorCode.TOPIC_ALREADY_EXISTS, f"topic {name!r} already exists")
        if assignment:
            check_partition_numbering(assignment)
            partitions = {
                index: self._partition(replicas) for index, replicas in assignment.items()
            }
        else:
            self._check_replication_factor(replication_factor)
            partitions = {index: self._partition(None) for index in range(num_partitions)}
        topic = TopicMetadata(name, uuid.uuid4().bytes, partitions, dict(configs), internal)
        self._topics[name] = topic
        self._save()
        self._changed()
        return topic

    async def delete_topic(self, name: str) -> None:
        if self._topics.pop(name, None) is None:
            raise MetadataError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"no topic {name!r}")
        self._save()
        self._changed()

    async def create_partitions(
        self, name: str, total: int, assignment: list[list[int]] | None = None
    ) -> None:
        topic = self._topics[name]
        current = len(topic.partitions)
        new = total - current
        if assignment is not None and len(assignment) != new:
            raise MetadataError(
                ErrorCode.INVALID_REPLICA_ASSIGNMENT,
                f"{len(assignment)} assignments given for {new} new partitions",
            )
        for offset in range(new):
            replicas = assignment[offset] if assignment else None
            topic.partitions[current + offset] = self._partition(replicas)
        self._save()
        self._changed()

    async def set_topic_configs(self, name: str, configs: Mapping[str, str]) -> None:
        self._topics[name].configs = dict(configs)
        self._save()
        self._changed()

    async def alter_broker_configs(
        self, entity: str, update: BrokerConfigUpdate, validate_only: bool = False
    ) -> dict[str, str]:
        updated = update(dict(self._broker_configs.get(entity, {})))
        if not validate_only:
            self._broker_configs[entity] = dict(updated)
            self._save()
            self._changed()
        return updated

    async def update_isr(
        self, topic: str, partition: int, state: PartitionState, isr: list[int]
    ) -> bool:
        current = self._topics[topic].partitions[partition]
        if current.partition_epoch != state.partition_epoch:
            return False
        current.isr = list(isr)
        current.partition_epoch += 1
        self._save()
        self._changed()
        return True

    async def allocate_producer_ids(self, count: int) -> int:
        first = self._next_producer_id
        self._next_producer_id += count
        self._save()
        return first


def _new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
