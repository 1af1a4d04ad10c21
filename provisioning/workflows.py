"""What each kind of operation does, as ordered steps. Every step is idempotent: a retried or resumed
operation runs the unfinished steps again from the start of each."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from clusters.models import Cluster, Node, NodeRole, NodeSize, NodeStatus
from provisioning.providers import get_provider
from provisioning.providers.base import Provider

ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
ZOOKEEPER_CHROOT = "/streamplane"


@dataclass
class StepContext:
    cluster: Cluster
    log: Callable[[str], None]
    node: Node | None = None  # for steps that act on one node
    plan: dict[str, Any] = field(default_factory=dict)  # the operation's plan

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


def size_limits(size: NodeSize) -> dict[str, Any]:
    """What a node size lets a broker process use: CPUs to run on and an address-space ceiling.
    On the local provider these are enforced per process (taskset, prlimit); on a VM the instance
    type is the limit and these match it."""
    cpus = max(1, min(size.vcpus, os.cpu_count() or 1))
    return {
        "node_size": size.slug,
        "broker_cpu_list": f"0-{cpus - 1}",
        "broker_memory_limit_bytes": size.memory_gib * 1024**3,
    }


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
                host_vars.update(size_limits(node.size))
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


# --- scale out ------------------------------------------------------------------------------------


def new_brokers(ctx: StepContext) -> list[Node]:
    return [n for n in ctx.nodes(NodeRole.BROKER) if n.index in ctx.plan["new_broker_ids"]]


def configure_new_brokers(ctx: StepContext) -> None:
    from provisioning.ansible import run_playbook

    added = new_brokers(ctx)
    for node in added:
        node.report_token_digest = node_report_digest(node_report_token(node))
        node.save(update_fields=["report_token_digest"])
    run_playbook("brokers.yml", inventory(ctx), ctx.log, limit=",".join(n.name for n in added))
    now = timezone.now()
    for node in added:
        node.status = NodeStatus.RUNNING
        node.last_report_at = node.last_report_at or now
        node.save(update_fields=["status", "last_report_at"])


def rebalance_partitions(ctx: StepContext) -> None:
    """Spread partitions over every broker, new ones included, and wait for the data to follow."""
    brokers = sorted(n.index for n in ctx.nodes(NodeRole.BROKER))
    _spread_partitions(ctx, brokers)


def drain_brokers(ctx: StepContext) -> None:
    """Move every replica off the brokers being removed, then confirm they hold none."""
    from clusters import kafka

    leaving = set(ctx.plan["removed_broker_ids"])
    staying = sorted(n.index for n in ctx.nodes(NodeRole.BROKER) if n.index not in leaving)
    _spread_partitions(ctx, staying)
    held = [
        f"{p.topic}-{p.partition}"
        for p in kafka.cluster_state(ctx.cluster.bootstrap_servers).partitions
        if leaving & set(p.replicas)
    ]
    if held:
        raise RuntimeError(
            f"brokers {sorted(leaving)} still hold replicas of {', '.join(held[:10])}"
        )
    ctx.log(f"brokers {sorted(leaving)} hold no replicas")


def decommission_brokers(ctx: StepContext) -> None:
    from provisioning.ansible import run_playbook

    leaving = [n for n in ctx.nodes(NodeRole.BROKER) if n.index in ctx.plan["removed_broker_ids"]]
    if leaving:
        run_playbook("stop.yml", inventory(ctx), ctx.log, limit=",".join(n.name for n in leaving))
    for node in leaving:
        ctx.provider.destroy_node(node, ctx.log)
        # The row goes too, so a later scale out can reuse the broker id.
        node.delete()


def _spread_partitions(ctx: StepContext, brokers: list[int]) -> None:
    from clusters import kafka

    bootstrap = ",".join(
        f"{n.host}:{n.port}" for n in ctx.nodes(NodeRole.BROKER) if n.index in brokers
    )
    _wait(
        lambda: set(brokers) <= kafka.cluster_state(bootstrap).brokers,
        REGISTER_TIMEOUT_S,
        f"brokers {brokers} to register",
        ctx.log,
    )
    targets = kafka.balanced_assignment(kafka.cluster_state(bootstrap), brokers)
    ctx.log(f"moving {len(targets)} partition(s) to spread them over brokers {brokers}")
    if targets:
        kafka.reassign(bootstrap, targets)
    _wait(
        lambda: (
            kafka.reassignments_in_progress(bootstrap) == 0
            and not kafka.cluster_state(bootstrap).under_replicated
        ),
        CATCH_UP_TIMEOUT_S,
        "the reassignment to complete",
        ctx.log,
    )
    state = kafka.cluster_state(bootstrap)
    misplaced = [p for p in state.partitions if p.replicas and p.leader != p.replicas[0]]
    kafka.elect_preferred_leaders(bootstrap, misplaced)
    ctx.log(f"reassignment complete; preferred leaders restored on {len(misplaced)} partition(s)")


def apply_broker_count(ctx: StepContext) -> None:
    count = len(ctx.nodes(NodeRole.BROKER))
    ctx.cluster.broker_count = count
    ctx.cluster.save(update_fields=["broker_count", "updated_at"])
    ctx.log(f"the cluster has {count} brokers")


def scale_in_plan(
    cluster: Cluster, removed: list[Node]
) -> tuple[list[tuple[Step, Node | None]], dict]:
    from clusters import kafka

    state = kafka.cluster_state(cluster.bootstrap_servers)
    staying = sorted(state.brokers - {n.index for n in removed})
    too_wide = sorted({p.topic for p in state.partitions if len(p.replicas) > len(staying)})
    if too_wide:
        raise ValueError(
            f"topics {', '.join(too_wide)} have more replicas than the {len(staying)} brokers left"
        )
    moves = kafka.balanced_assignment(state, staying)
    steps: list[tuple[Step, Node | None]] = [
        (STEP_TABLE[name], None)
        for name in ("drain_brokers", "decommission_brokers", "apply_broker_count")
    ]
    plan = {
        "removed_broker_ids": [n.index for n in removed],
        "partitions_to_move": len(moves),
        "estimated_duration_s": 20 + 2 * len(moves),
        "price_change_per_hour": str(-cluster.node_size.hourly_price * len(removed)),
    }
    return steps, plan


def scale_out_plan(
    cluster: Cluster, new_nodes: list[Node]
) -> tuple[list[tuple[Step, Node | None]], dict]:
    from clusters import kafka

    state = kafka.cluster_state(cluster.bootstrap_servers)
    brokers = sorted(state.brokers | {n.index for n in new_nodes})
    moves = kafka.balanced_assignment(state, brokers)
    steps: list[tuple[Step, Node | None]] = [
        (STEP_TABLE[name], None)
        for name in (
            "allocate_nodes",
            "configure_new_brokers",
            "rebalance_partitions",
            "apply_broker_count",
        )
    ]
    plan = {
        "new_broker_ids": [n.index for n in new_nodes],
        "partitions_to_move": len(moves),
        "estimated_duration_s": 30 + 2 * len(moves),
        "price_change_per_hour": str(cluster.node_size.hourly_price * len(new_nodes)),
    }
    return steps, plan


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


# --- rolling restart ------------------------------------------------------------------------------

REGISTER_TIMEOUT_S = 120
CATCH_UP_TIMEOUT_S = 600


def check_may_go_down(state, broker_id: int) -> None:
    """Refuse to stop a broker if any partition would lose its last replica or fall below min ISR."""
    problems = []
    for p in state.partitions:
        if broker_id not in p.replicas:
            continue
        remaining = [r for r in p.isr if r != broker_id]
        needed = state.min_isr.get(p.topic, 1)
        if len(p.replicas) == 1:
            problems.append(f"{p.topic}-{p.partition} has its only replica on broker {broker_id}")
        elif len(remaining) < needed:
            problems.append(
                f"{p.topic}-{p.partition} would have {len(remaining)} in-sync replica(s) "
                f"{remaining}, below min.insync.replicas={needed}"
            )
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise RuntimeError(f"broker {broker_id} may not go down: {shown}")


def _wait(condition: Callable[[], object], timeout: float, what: str, log: Callable[[str], None]):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except Exception as exc:  # the cluster may answer errors while a broker restarts
            result, last_error = None, exc
        else:
            last_error = None
        if result:
            return result
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(1)


def restart_broker(ctx: StepContext) -> None:
    roll_broker(ctx, target_size=None)


def resize_broker(ctx: StepContext) -> None:
    target = NodeSize.objects.get(pk=ctx.plan["node_size_id"])
    roll_broker(ctx, target_size=target)


def apply_cluster_size(ctx: StepContext) -> None:
    target = NodeSize.objects.get(pk=ctx.plan["node_size_id"])
    ctx.cluster.node_size = target
    ctx.cluster.save(update_fields=["node_size", "updated_at"])
    ctx.cluster.nodes.filter(role=NodeRole.BROKER).update(node_size=None)
    ctx.log(f"the cluster's brokers now run at {target}")


def roll_broker(ctx: StepContext, target_size: NodeSize | None) -> None:
    """One broker of a roll: may-go-down check, controlled shutdown, (new size,) start, wait until
    registered and fully replicated, preferred leaders back."""
    from clusters import kafka
    from provisioning.ansible import run_playbook

    node = ctx.node
    assert node is not None
    bootstrap = ctx.cluster.bootstrap_servers
    state = kafka.cluster_state(bootstrap)
    if node.index in state.brokers:
        check_may_go_down(state, node.index)
        ctx.log(f"broker {node.index} may go down: every partition keeps min.insync.replicas")
    else:
        ctx.log(f"broker {node.index} is not registered; restarting it without the check")
    if target_size is not None and node.size != target_size:
        node.node_size = target_size
        node.save(update_fields=["node_size"])
        ctx.log(f"{node.name}: {node.size} from now on")
    run_playbook("restart_broker.yml", inventory(ctx), ctx.log, limit=node.name)
    _wait(
        lambda: node.index in kafka.cluster_state(bootstrap).brokers,
        REGISTER_TIMEOUT_S,
        f"broker {node.index} to register",
        ctx.log,
    )
    ctx.log(f"broker {node.index} registered")
    _wait(
        lambda: not kafka.cluster_state(bootstrap).under_replicated,
        CATCH_UP_TIMEOUT_S,
        "under-replicated partitions to reach zero",
        ctx.log,
    )
    ctx.log("no under-replicated partitions")
    state = kafka.cluster_state(bootstrap)
    misplaced = [p for p in state.partitions if p.replicas and p.leader != p.replicas[0]]
    kafka.elect_preferred_leaders(bootstrap, misplaced)
    ctx.log(f"preferred leader election for {len(misplaced)} partition(s)")


# Seconds one broker's turn in a roll takes on the local provider (bench/controlplane.py measures it).
SECONDS_PER_BROKER = 20


def roll_plan(
    cluster: Cluster, step_name: str, target_size: NodeSize | None = None
) -> tuple[list[tuple[Step, Node | None]], dict]:
    """One step per broker, the controller last, so leadership moves once per broker at most."""
    from clusters import kafka

    brokers = list(cluster.nodes.filter(role=NodeRole.BROKER).exclude(status=NodeStatus.DESTROYED))
    controller = kafka.cluster_state(cluster.bootstrap_servers).controller
    brokers.sort(key=lambda n: (n.index == controller, n.index))
    steps: list[tuple[Step, Node | None]] = [(STEP_TABLE[step_name], node) for node in brokers]
    plan: dict[str, Any] = {
        "order": [node.name for node in brokers],
        "controller": controller,
        "checks": "before each broker: no partition may fall below min.insync.replicas; after: "
        "registered, zero under-replicated partitions, preferred leaders restored",
        "estimated_duration_s": SECONDS_PER_BROKER * len(brokers),
    }
    if target_size is not None:
        old = cluster.node_size
        steps.append((STEP_TABLE["apply_cluster_size"], None))
        plan.update(
            node_size_id=target_size.pk,
            from_size=str(old),
            to_size=str(target_size),
            price_change_per_hour=str((target_size.hourly_price - old.hourly_price) * len(brokers)),
        )
    return steps, plan


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
STEP_TABLE = {step.name: step for steps in WORKFLOWS.values() for step in steps} | {
    "restart_broker": Step("restart_broker", "Restart broker", restart_broker),
    "resize_broker": Step("resize_broker", "Resize broker", resize_broker),
    "apply_cluster_size": Step("apply_cluster_size", "Record the new size", apply_cluster_size),
    "configure_new_brokers": Step(
        "configure_new_brokers", "Configure and start the new brokers", configure_new_brokers
    ),
    "rebalance_partitions": Step(
        "rebalance_partitions", "Reassign partitions onto every broker", rebalance_partitions
    ),
    "apply_broker_count": Step("apply_broker_count", "Record the broker count", apply_broker_count),
    "drain_brokers": Step(
        "drain_brokers", "Move every replica off the brokers being removed", drain_brokers
    ),
    "decommission_brokers": Step(
        "decommission_brokers", "Stop and remove the drained brokers", decommission_brokers
    ),
}
