"""What each kind of operation does, as ordered steps. Every step is idempotent: a retried or resumed
operation runs the unfinished steps again from the start of each."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from clusters.models import Cluster, Node, NodeRole, NodeStatus
from provisioning.providers import get_provider
from provisioning.providers.base import Provider

ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
ZOOKEEPER_CHROOT = "/streamplane"


@dataclass
class StepContext:
    cluster: Cluster
    log: Callable[[str], None]

    @property
    def provider(self) -> Provider:
        return get_provider(self.cluster.provider.slug)

    def nodes(self, role: str | None = None) -> list[Node]:
        queryset = self.cluster.nodes.exclude(status=NodeStatus.DESTROYED)
        if role:
            queryset = queryset.filter(role=role)
        return list(queryset.order_by("role", "index"))


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    run: Callable[[StepContext], None]


def node_report_token(node: Node) -> str:
    """A node's health-report credential, derived from the secret key so re-runs write the same one."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"node:{node.pk}".encode(), hashlib.sha256)
    return "spn_" + digest.hexdigest()


def node_report_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def inventory(ctx: StepContext) -> dict[str, Any]:
    cluster = ctx.cluster
    provider = ctx.provider
    zookeepers = ctx.nodes(NodeRole.ZOOKEEPER)
    brokers = ctx.nodes(NodeRole.BROKER)
    broker_count = len(brokers)

    def hosts(nodes: list[Node]) -> dict[str, Any]:
        result = {}
        for node in nodes:
            host_vars = provider.inventory_host_vars(node)
            host_vars.update(node_index=node.index, node_id=str(node.pk))
            if node.role == NodeRole.BROKER:
                host_vars["health_report_token"] = node_report_token(node)
            result[node.name] = host_vars
        return result

    zookeeper_connect = (
        ",".join(f"{n.host}:{n.port}" for n in zookeepers) + f"{ZOOKEEPER_CHROOT}-{cluster.pk}"
    )
    return {
        "all": {
            "vars": {
                "broker_port": settings.LOCAL_BROKER_PORT,
                "zookeeper_port": settings.LOCAL_ZOOKEEPER_PORT,
                "zookeeper_connect": zookeeper_connect,
                "zookeeper_jar": ZOOKEEPER_JAR,
                "java_command": shutil.which("java") or "java",
                "dataplane_command": f"{sys.executable} -m dataplane",
                "health_report_url": settings.CONTROLPLANE_URL.rstrip("/"),
                "health_report_interval_ms": int(settings.HEALTH_REPORT_INTERVAL_S * 1000),
                "broker_settings": {
                    "default.replication.factor": cluster.default_replication_factor,
                    "offsets.topic.replication.factor": min(3, broker_count),
                    "min.insync.replicas": 2 if cluster.default_replication_factor >= 3 else 1,
                    "num.partitions": 3,
                    "auto.create.topics.enable": "false",
                    "cluster.id": str(cluster.pk),
                },
            },
            "children": {
                "zookeeper": {"hosts": hosts(zookeepers)},
                "brokers": {"hosts": hosts(brokers)},
            },
        }
    }


# --- create ---------------------------------------------------------------------------------------


def allocate_nodes(ctx: StepContext) -> None:
    ctx.provider.create_nodes(ctx.cluster, ctx.nodes(), ctx.log)


def configure_zookeeper(ctx: StepContext) -> None:
    from provisioning.ansible import run_playbook

    run_playbook("zookeeper.yml", inventory(ctx), ctx.log)
    Node.objects.filter(cluster=ctx.cluster, role=NodeRole.ZOOKEEPER).exclude(
        status=NodeStatus.DESTROYED
    ).update(status=NodeStatus.RUNNING)


def configure_brokers(ctx: StepContext) -> None:
    from provisioning.ansible import run_playbook

    for node in ctx.nodes(NodeRole.BROKER):
        node.report_token_digest = node_report_digest(node_report_token(node))
        node.save(update_fields=["report_token_digest"])
    run_playbook("brokers.yml", inventory(ctx), ctx.log)


def verify_cluster(ctx: StepContext) -> None:
    from clusters.kafka import verify_round_trip

    brokers = ctx.nodes(NodeRole.BROKER)
    verify_round_trip(
        ctx.cluster.bootstrap_servers,
        expected_brokers={n.index for n in brokers},
        replication_factor=min(3, len(brokers)),
        topic=f"__streamplane-verify-{uuid.uuid4().hex[:8]}",
        log=ctx.log,
    )
    now = timezone.now()
    for node in brokers:
        node.status = NodeStatus.RUNNING
        # A fresh broker gets the same grace as one that just reported.
        node.last_report_at = node.last_report_at or now
        node.save(update_fields=["status", "last_report_at"])


# --- delete ---------------------------------------------------------------------------------------


def stop_services(ctx: StepContext) -> None:
    from provisioning.ansible import run_playbook

    allocated = [n for n in ctx.nodes() if n.host]
    if not allocated or not any(Path(n.provider_ref).exists() for n in allocated):
        ctx.log("no node has been set up; nothing to stop")
        return
    run_playbook("stop.yml", inventory(ctx), ctx.log)
    Node.objects.filter(cluster=ctx.cluster).exclude(status=NodeStatus.DESTROYED).update(
        status=NodeStatus.STOPPED
    )


def destroy_nodes(ctx: StepContext) -> None:
    provider = ctx.provider
    for node in ctx.nodes():
        provider.destroy_node(node, ctx.log)
        node.status = NodeStatus.DESTROYED
        node.save(update_fields=["status"])


WORKFLOWS: dict[str, list[Step]] = {
    "create": [
        Step("allocate_nodes", "Allocate nodes", allocate_nodes),
        Step("configure_zookeeper", "Configure and start ZooKeeper", configure_zookeeper),
        Step("configure_brokers", "Configure and start brokers", configure_brokers),
        Step("verify", "Verify brokers and a test topic", verify_cluster),
    ],
    "delete": [
        Step("stop_services", "Stop brokers and ZooKeeper", stop_services),
        Step("destroy_nodes", "Destroy nodes and their data", destroy_nodes),
    ],
}
STEPS = {(kind, step.name): step for kind, steps in WORKFLOWS.items() for step in steps}
