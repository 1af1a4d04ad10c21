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
from typing import Any

from django.conf import settings
from django.utils import timezone

from access.kafka import ALLOWED_CIDRS_CONFIG
from clusters.models import (
    INTERNAL_LISTENER_PORT,
    Cluster,
    ClusterCA,
    DataplaneVersion,
    Node,
    NodeRole,
    NodeSize,
    NodeStatus,
)
from provisioning.providers import get_provider
from provisioning.providers.base import Provider

ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar"
ZOOKEEPER_CHROOT = "/streamplane"
GIB = 1024**3
# The broker's limit on what its log directories hold: a node's disk on the local provider, the
# data volume's size on a VM (so the broker refuses writes before the filesystem fills).
QUOTA_CONFIG = "log.dirs.quota.bytes"


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


def step_title(step: Step, node: Node | None) -> str:
    return f"{step.title} {node.index} ({node.name})" if node else step.title


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


def broker_tls_host_vars(node: Node) -> dict[str, str]:
    """A SASL_SSL cluster's broker's TLS material: its keystore (certificate chain and key) and the
    cluster's CA certificate. The certificate is issued once per host and kept, so re-runs write
    the same files and do not restart the broker."""
    from clusters import pki

    ca = node.cluster.ca
    if not node.certificate_pem or node.host not in pki.certificate_hosts(node.certificate_pem):
        issued = pki.issue_broker_certificate(
            pki.KeyPair(ca.certificate_pem, ca.key_pem()), host=node.host, name=node.name
        )
        node.certificate_pem = issued.certificate_pem
        node.set_key(issued.key_pem)
        node.save(update_fields=["certificate_pem", "key_encrypted"])
    leaf = pki.KeyPair(node.certificate_pem, node.key_pem())
    return {
        "tls_keystore_pem": pki.keystore_pem(leaf, ca.certificate_pem),
        "tls_ca_pem": ca.certificate_pem,
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
                host_vars.update(
                    dataplane_version=node.version.version,
                    dataplane_package=node.version.package,
                    log_dirs_quota_bytes=cluster.storage_gib * GIB,
                )
                if cluster.is_secured:
                    host_vars.update(broker_tls_host_vars(node))
            result[node.name] = host_vars
        return result

    zookeeper_connect = (
        ",".join(f"{n.host}:{n.port}" for n in zookeepers) + f"{ZOOKEEPER_CHROOT}-{cluster.pk}"
    )
    broker_settings = {
        "default.replication.factor": cluster.default_replication_factor,
        "offsets.topic.replication.factor": min(3, broker_count),
        "min.insync.replicas": 2 if cluster.default_replication_factor >= 3 else 1,
        "num.partitions": 3,
        "auto.create.topics.enable": "false",
        "cluster.id": str(cluster.pk),
    }
    if cluster.is_secured and cluster.allowed_cidrs:
        # The allow-list a broker starts with, so one created or added later enforces it from its
        # first connection; firewall changes while it runs arrive as dynamic configs.
        broker_settings[ALLOWED_CIDRS_CONFIG] = ",".join(cluster.allowed_cidrs)
    return {
        "all": {
            "vars": {
                "broker_port": settings.LOCAL_BROKER_PORT,
                "internal_port": INTERNAL_LISTENER_PORT,
                "security_protocol": cluster.security_protocol,
                "metrics_port": settings.BROKER_METRICS_PORT,
                "zookeeper_port": settings.LOCAL_ZOOKEEPER_PORT,
                "zookeeper_connect": zookeeper_connect,
                "zookeeper_jar": ZOOKEEPER_JAR,
                "java_command": shutil.which("java") or "java",
                "dataplane_python": sys.executable,
                "health_report_url": settings.CONTROLPLANE_URL.rstrip("/"),
                "health_report_interval_ms": int(settings.HEALTH_REPORT_INTERVAL_S * 1000),
                "broker_settings": broker_settings,
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
    from clusters.kafka import client_config, verify_round_trip

    brokers = ctx.nodes(NodeRole.BROKER)
    verify_round_trip(
        client_config(ctx.cluster),
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
        for p in kafka.cluster_state(kafka.client_config(ctx.cluster)).partitions
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

    client = kafka.client_config(ctx.cluster, brokers=brokers)
    _wait(
        lambda: set(brokers) <= kafka.cluster_state(client).brokers,
        REGISTER_TIMEOUT_S,
        f"brokers {brokers} to register",
        ctx.log,
    )
    targets = kafka.balanced_assignment(kafka.cluster_state(client), brokers)
    ctx.log(f"moving {len(targets)} partition(s) to spread them over brokers {brokers}")
    rate = ctx.plan.get("throttle_bytes_per_s", -1)
    throttled = sorted({n.index for n in ctx.nodes(NodeRole.BROKER)}) if rate > 0 else []
    for broker_id in throttled:
        kafka.broker_alter_configs(client, broker_id, dict.fromkeys(THROTTLES, str(rate)), [])
    if throttled:
        ctx.log(f"replication of moving partitions throttled to {rate} bytes/s per broker")
    try:
        if targets:
            kafka.reassign(client, targets)
        _wait(
            lambda: (
                kafka.reassignments_in_progress(client) == 0
                and not kafka.cluster_state(client).under_replicated
            ),
            CATCH_UP_TIMEOUT_S,
            "the reassignment to complete",
            ctx.log,
        )
    finally:
        # A throttle left behind would slow every later follower catch-up on these brokers.
        for broker_id in throttled:
            kafka.broker_alter_configs(client, broker_id, {}, list(THROTTLES))
        if throttled:
            ctx.log("replication throttle removed")
    moved = kafka.restore_preferred_leaders(client)
    ctx.log(f"reassignment complete; preferred leaders restored on {moved} partition(s)")


# Kafka's throttle for replicas being added by a reassignment, on both ends of the copy.
THROTTLES = ("leader.replication.throttled.rate", "follower.replication.throttled.rate")
# What a scale operation lets the data copy use unless told otherwise: enough to move quickly,
# little enough that client traffic keeps its latency.
DEFAULT_THROTTLE_BYTES_PER_S = 50 * 1024**2


def apply_broker_count(ctx: StepContext) -> None:
    count = len(ctx.nodes(NodeRole.BROKER))
    ctx.cluster.broker_count = count
    ctx.cluster.save(update_fields=["broker_count", "updated_at"])
    ctx.log(f"the cluster has {count} brokers")


def scale_in_plan(
    cluster: Cluster, removed: list[Node], throttle_bytes_per_s: int
) -> tuple[list[tuple[Step, Node | None]], dict]:
    from clusters import kafka
    from clusters.pricing import price_change

    state = kafka.cluster_state(kafka.client_config(cluster))
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
        "price_change_per_hour": price_change(
            cluster, broker_count=cluster.broker_count - len(removed)
        ),
        "throttle_bytes_per_s": throttle_bytes_per_s,
    }
    return steps, plan


def scale_out_plan(
    cluster: Cluster, new_nodes: list[Node], throttle_bytes_per_s: int
) -> tuple[list[tuple[Step, Node | None]], dict]:
    from clusters import kafka
    from clusters.pricing import price_change

    state = kafka.cluster_state(kafka.client_config(cluster))
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
        "price_change_per_hour": price_change(
            cluster, broker_count=cluster.broker_count + len(new_nodes)
        ),
        "throttle_bytes_per_s": throttle_bytes_per_s,
    }
    return steps, plan


# --- delete ---------------------------------------------------------------------------------------


def stop_services(ctx: StepContext) -> None:
    from provisioning.ansible import run_playbook

    provider = ctx.provider
    allocated = [n for n in ctx.nodes() if n.host]
    if not any(provider.describe(n).exists for n in allocated):
        ctx.log("no node has been set up; nothing to stop")
        return
    # Every broker goes at once, so leadership has nowhere to move: a short wait before SIGKILL.
    run_playbook("stop.yml", inventory(ctx), ctx.log, extravars={"broker_stop_timeout_s": 30})
    Node.objects.filter(cluster=ctx.cluster).exclude(status=NodeStatus.DESTROYED).update(
        status=NodeStatus.STOPPED
    )


def destroy_nodes(ctx: StepContext) -> None:
    provider = ctx.provider
    for node in ctx.nodes():
        provider.destroy_node(node, ctx.log)
        node.status = NodeStatus.DESTROYED
        # A destroyed broker's key has nothing left to protect; keeping it only risks it.
        node.certificate_pem = node.key_encrypted = ""
        node.save(update_fields=["status", "certificate_pem", "key_encrypted"])
    provider.release_cluster(ctx.cluster, ctx.log)
    ClusterCA.objects.filter(cluster=ctx.cluster).delete()


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


def roll_broker(ctx: StepContext) -> None:
    """One broker's turn in a roll: may-go-down check, controlled shutdown, the plan's change (a new
    machine size, a new dataplane version, or none for a restart), start, wait until registered and
    fully replicated, preferred leaders back."""
    from clusters import kafka
    from provisioning.ansible import run_playbook

    node = ctx.node
    assert node is not None
    client = kafka.client_config(ctx.cluster)
    state = kafka.cluster_state(client)
    if node.index in state.brokers:
        check_may_go_down(state, node.index)
        ctx.log(f"broker {node.index} may go down: every partition keeps min.insync.replicas")
    else:
        ctx.log(f"broker {node.index} is not registered; restarting it without the check")
    run_playbook("stop.yml", inventory(ctx), ctx.log, limit=node.name)
    target_size = _planned(NodeSize, ctx.plan.get("node_size_id"))
    if target_size is not None and node.size != target_size:
        ctx.provider.resize_node(node, target_size, ctx.log)
        node.node_size = target_size
        node.save(update_fields=["node_size"])
        ctx.log(f"{node.name}: {node.size} from now on")
    target_version = _planned(DataplaneVersion, ctx.plan.get("dataplane_version_id"))
    if target_version is not None and node.version != target_version:
        node.dataplane_version = target_version
        node.save(update_fields=["dataplane_version"])
        ctx.log(f"{node.name}: dataplane {target_version} from now on")
    run_playbook("brokers.yml", inventory(ctx), ctx.log, limit=node.name)
    _wait(
        lambda: node.index in kafka.cluster_state(client).brokers,
        REGISTER_TIMEOUT_S,
        f"broker {node.index} to register",
        ctx.log,
    )
    ctx.log(f"broker {node.index} registered")
    if target_version is not None:
        _wait(
            lambda: _reported_version(node) == target_version.version,
            REGISTER_TIMEOUT_S,
            f"broker {node.index} to report version {target_version}",
            ctx.log,
        )
        ctx.log(f"broker {node.index} reports version {target_version}")
    _wait(
        lambda: not kafka.cluster_state(client).under_replicated,
        CATCH_UP_TIMEOUT_S,
        "under-replicated partitions to reach zero",
        ctx.log,
    )
    ctx.log("no under-replicated partitions")
    moved = kafka.restore_preferred_leaders(client)
    ctx.log(f"preferred leader election for {moved} partition(s)")


def _planned(model, pk):
    return None if pk is None else model.objects.get(pk=pk)


def _reported_version(node: Node) -> str | None:
    node.refresh_from_db(fields=["health"])
    return node.health.get("version")


def apply_cluster_size(ctx: StepContext) -> None:
    target = NodeSize.objects.get(pk=ctx.plan["node_size_id"])
    ctx.cluster.node_size = target
    ctx.cluster.storage_gib = max(ctx.cluster.storage_gib, target.disk_gib)
    ctx.cluster.save(update_fields=["node_size", "storage_gib", "updated_at"])
    ctx.cluster.nodes.filter(role=NodeRole.BROKER).update(node_size=None)
    ctx.log(f"the cluster's brokers now run at {target}")


def apply_cluster_version(ctx: StepContext) -> None:
    target = DataplaneVersion.objects.get(pk=ctx.plan["dataplane_version_id"])
    ctx.cluster.dataplane_version = target
    ctx.cluster.save(update_fields=["dataplane_version", "updated_at"])
    ctx.cluster.nodes.filter(role=NodeRole.BROKER).update(dataplane_version=None)
    ctx.log(f"the cluster's brokers now run dataplane {target}")


# Seconds one broker's turn in a roll takes on the local provider (bench/controlplane.py measures it).
SECONDS_PER_BROKER = 20


def roll_plan(
    cluster: Cluster,
    step_name: str,
    target_size: NodeSize | None = None,
    target_version: DataplaneVersion | None = None,
) -> tuple[list[tuple[Step, Node | None]], dict]:
    """One step per broker, the controller last, so leadership moves once per broker at most."""
    from clusters import kafka
    from clusters.pricing import price_change

    brokers = list(cluster.brokers)
    controller = kafka.cluster_state(kafka.client_config(cluster)).controller
    brokers.sort(key=lambda n: (n.index == controller, n.index))
    steps: list[tuple[Step, Node | None]] = [(STEP_TABLE[step_name], node) for node in brokers]
    plan: dict[str, Any] = {
        "order": [node.name for node in brokers],
        "controller": controller,
        "checks": "before each broker: no partition may fall below min.insync.replicas; after: "
        "registered, zero under-replicated partitions, preferred leaders restored",
        "estimated_duration_s": SECONDS_PER_BROKER * len(brokers),
        "price_change_per_hour": "0",
    }
    if target_size is not None:
        steps.append((STEP_TABLE["apply_cluster_size"], None))
        plan.update(
            node_size_id=target_size.pk,
            from_size=str(cluster.node_size),
            to_size=str(target_size),
            price_change_per_hour=price_change(cluster, node_size=target_size),
        )
    if target_version is not None:
        steps.append((STEP_TABLE["apply_cluster_version"], None))
        plan.update(
            dataplane_version_id=target_version.pk,
            from_version=cluster.dataplane_version.version,
            to_version=target_version.version,
        )
    return steps, plan


# --- storage expansion ----------------------------------------------------------------------------


def expand_broker_storage(ctx: StepContext) -> None:
    """Grow one broker's volume, then its log-directory quota; the broker keeps running."""
    from clusters import kafka
    from provisioning.ansible import run_playbook

    node = ctx.node
    assert node is not None
    target = ctx.plan["storage_gib"]
    ctx.provider.expand_storage(node, target, ctx.log)
    if "data_device" in ctx.provider.inventory_host_vars(node):
        run_playbook("grow_storage.yml", inventory(ctx), ctx.log, limit=node.name)
    kafka.broker_alter_configs(
        kafka.client_config(ctx.cluster), node.index, {QUOTA_CONFIG: str(target * GIB)}, []
    )
    ctx.log(f"broker {node.index}: log directories may hold {target} GiB")


def apply_cluster_storage(ctx: StepContext) -> None:
    ctx.cluster.storage_gib = ctx.plan["storage_gib"]
    ctx.cluster.save(update_fields=["storage_gib", "updated_at"])
    ctx.log(f"every broker has {ctx.cluster.storage_gib} GiB of storage")


def storage_plan(cluster: Cluster, storage_gib: int) -> tuple[list[tuple[Step, Node | None]], dict]:
    from clusters.pricing import price_change

    brokers = list(cluster.brokers)
    steps: list[tuple[Step, Node | None]] = [
        (STEP_TABLE["expand_broker_storage"], node) for node in brokers
    ]
    steps.append((STEP_TABLE["apply_cluster_storage"], None))
    plan = {
        "order": [node.name for node in brokers],
        "from_storage_gib": cluster.storage_gib,
        "storage_gib": storage_gib,
        "restarts": "none: volumes grow and quotas rise while brokers run",
        "estimated_duration_s": 5 * len(brokers),
        "price_change_per_hour": price_change(cluster, storage_gib=storage_gib),
    }
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
    "restart_broker": Step("restart_broker", "Restart broker", roll_broker),
    "resize_broker": Step("resize_broker", "Resize broker", roll_broker),
    "upgrade_broker": Step("upgrade_broker", "Upgrade broker", roll_broker),
    "apply_cluster_size": Step("apply_cluster_size", "Record the new size", apply_cluster_size),
    "apply_cluster_version": Step(
        "apply_cluster_version", "Record the new version", apply_cluster_version
    ),
    "expand_broker_storage": Step(
        "expand_broker_storage", "Expand storage of broker", expand_broker_storage
    ),
    "apply_cluster_storage": Step(
        "apply_cluster_storage", "Record the new storage", apply_cluster_storage
    ),
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
