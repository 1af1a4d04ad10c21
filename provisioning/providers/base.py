"""The provider interface the workflows use."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from clusters.models import Cluster, Node, NodeSize

Log = Callable[[str], None]


@dataclass(frozen=True)
class NodeObservation:
    """What the provider sees of a node right now."""

    exists: bool
    running: dict[str, bool]  # service ("broker", "zookeeper") → alive


class Provider(Protocol):
    slug: str

    def create_nodes(self, cluster: Cluster, nodes: Sequence[Node], log: Log) -> None:
        """Give every node without a host an address and a place to live. Idempotent."""

    def destroy_node(self, node: Node, log: Log) -> None:
        """Stop whatever runs on the node and release it. Idempotent."""

    def release_cluster(self, cluster: Cluster, log: Log) -> None:
        """Release what the cluster's nodes shared (network, firewall) once every node is destroyed.
        Idempotent."""

    def resize_node(self, node: Node, size: NodeSize, log: Log) -> None:
        """Give a node whose broker is stopped the machine of `size`; its data stays. Idempotent."""

    def expand_storage(self, node: Node, storage_gib: int, log: Log) -> None:
        """Grow the node's data volume to `storage_gib` while it runs. Idempotent."""

    def update_firewall(self, cluster: Cluster, log: Log) -> None:
        """Let exactly the networks in `cluster.allowed_cidrs` reach the cluster's client listener;
        the control plane's own access stays. Idempotent."""

    def describe(self, node: Node) -> NodeObservation: ...

    def inventory_host_vars(self, node: Node) -> dict[str, Any]:
        """How Ansible reaches the node (connection settings) plus its address and directory."""

    def orphans(self, known_refs: set[str]) -> list[str]:
        """Resources the provider holds that no live node claims."""
