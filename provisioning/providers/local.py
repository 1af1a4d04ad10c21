"""The local provider: every node is a process on this machine with its own loopback address.

Linux routes all of 127.0.0.0/8 to the loopback interface, so each node binds the standard ports on
an address of its own (127.0.x.y) and needs no port bookkeeping. A node's directory holds its config,
data, logs and pidfiles; processes are started detached (start-stop-daemon) so they outlive the worker.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from access.kafka import allowed_cidrs_apply
from clusters.errors import Conflict
from clusters.models import Cluster, Node, NodeRole, NodeSize, NodeStatus
from clusters.models import Provider as ProviderRow
from provisioning.providers.base import Log, NodeObservation

SERVICES = ("broker", "zookeeper")


def pid_alive(pidfile: Path) -> int | None:
    """The pid in a pidfile if that process is alive (and not a zombie)."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state = stat.rsplit(")", 1)[1].split()[0]
    return None if state == "Z" else pid


def stop_pidfile(pidfile: Path, timeout: float = 60.0) -> bool:
    """SIGTERM the process, SIGKILL it after `timeout`. True if something was running."""
    pid = pid_alive(pidfile)
    if pid is None:
        pidfile.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pidfile) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pidfile):
        os.kill(pid, signal.SIGKILL)
        while pid_alive(pidfile):
            time.sleep(0.05)
    pidfile.unlink(missing_ok=True)
    return True


class LocalProvider:
    slug = "local"

    def __init__(self) -> None:
        self.root = Path(settings.LOCAL_PROVIDER_ROOT)
        self.network = ipaddress.ip_network(settings.LOCAL_PROVIDER_NETWORK)
        if not self.network.subnet_of(ipaddress.ip_network("127.0.0.0/8")):
            raise ValueError(f"LOCAL_PROVIDER_NETWORK {self.network} is not a loopback network")

    def node_dir(self, node: Node) -> Path:
        return self.root / str(node.cluster_id) / node.name

    def port_for(self, node: Node) -> int:
        return (
            settings.LOCAL_BROKER_PORT
            if node.role == NodeRole.BROKER
            else settings.LOCAL_ZOOKEEPER_PORT
        )

    def create_nodes(self, cluster: Cluster, nodes: Sequence[Node], log: Log) -> None:
        with transaction.atomic():
            # Serialise allocation across workers: the provider row is the lock.
            ProviderRow.objects.select_for_update().get(slug=self.slug)
            taken = set(
                Node.objects.filter(cluster__provider__slug=self.slug)
                .exclude(status=NodeStatus.DESTROYED)
                .exclude(host="")
                .values_list("host", flat=True)
            )
            free = (str(a) for a in self.network.hosts() if str(a) not in taken)
            for node in nodes:
                if node.host:
                    log(f"{node.name}: already at {node.host}")
                else:
                    try:
                        node.host = next(free)
                    except StopIteration:
                        raise RuntimeError(
                            f"no free address left in {self.network} for {node.name}"
                        ) from None
                    node.port = self.port_for(node)
                    node.provider_ref = str(self.node_dir(node))
                    node.status = NodeStatus.PROVISIONING
                    node.save(update_fields=["host", "port", "provider_ref", "status"])
                    log(f"{node.name}: allocated {node.host}:{node.port}, {node.provider_ref}")
                self.node_dir(node).mkdir(parents=True, exist_ok=True)

    def destroy_node(self, node: Node, log: Log) -> None:
        directory = Path(node.provider_ref) if node.provider_ref else self.node_dir(node)
        for service in SERVICES:
            if stop_pidfile(directory / f"{service}.pid"):
                log(f"{node.name}: stopped {service}")
        if directory.exists():
            shutil.rmtree(directory)
            log(f"{node.name}: removed {directory}")

    def release_cluster(self, cluster: Cluster, log: Log) -> None:
        cluster_dir = self.root / str(cluster.pk)
        if cluster_dir.exists() and not any(cluster_dir.iterdir()):
            cluster_dir.rmdir()
            log(f"removed {cluster_dir}")

    def resize_node(self, node: Node, size: NodeSize, log: Log) -> None:
        # A local node's size is the limits its processes start with (the inventory carries them).
        log(f"{node.name}: starts with the limits of {size.slug}")

    def expand_storage(self, node: Node, storage_gib: int, log: Log) -> None:
        # A local node's disk is a quota the broker enforces; the workflow raises it.
        log(f"{node.name}: log directory quota becomes {storage_gib} GiB")

    def update_firewall(self, cluster: Cluster, log: Log) -> None:
        # Loopback addresses have no network firewall in front of them: the brokers enforce the
        # allow-list themselves, on every listener but the inter-broker one.
        if not cluster.is_secured:
            raise Conflict(
                "A PLAINTEXT cluster's brokers replicate on their one listener, which the local "
                "provider cannot filter; firewall rules need a SASL_SSL cluster."
            )
        allowed_cidrs_apply(cluster, list(cluster.allowed_cidrs))
        allowed = ", ".join(cluster.allowed_cidrs) or "any address"
        log(f"client listeners of {cluster.name} accept {allowed}")

    def describe(self, node: Node) -> NodeObservation:
        directory = Path(node.provider_ref) if node.provider_ref else self.node_dir(node)
        return NodeObservation(
            exists=directory.exists(),
            running={s: pid_alive(directory / f"{s}.pid") is not None for s in SERVICES},
        )

    def inventory_host_vars(self, node: Node) -> dict[str, Any]:
        return {
            "ansible_connection": "local",
            "service_manager": "start-stop-daemon",
            "ansible_python_interpreter": sys.executable,
            "node_host": node.host,
            "node_dir": node.provider_ref,
        }

    def orphans(self, known_refs: set[str]) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(
            str(node_dir)
            for cluster_dir in self.root.iterdir()
            if cluster_dir.is_dir()
            for node_dir in cluster_dir.iterdir()
            if str(node_dir) not in known_refs
        )
