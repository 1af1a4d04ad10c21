"""Health ingest and node liveness."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from clusters.models import Cluster, Node, NodeRole, NodeStatus
from monitoring.events import publish_cluster_changed
from monitoring.timeseries import Sample, record

REPORT_FIELDS = (
    "state",
    "uptime_s",
    "partitions_led",
    "under_replicated",
    "bytes_in_per_s",
    "bytes_out_per_s",
    "disk_used_bytes",
)
# Reported by newer brokers only; kept with the node's latest health when present.
OPTIONAL_REPORT_FIELDS = ("version", "log_dirs_used_bytes", "log_dirs_quota_bytes")
SILENT_INTERVALS = 3
# Report fields that are not series: what state a broker is in, and for how long.
NOT_SERIES = {"state", "uptime_s", "version", "metrics", "topics"}


def node_for_report_token(node_id: str, token: str) -> Node | None:
    digest = hashlib.sha256(token.encode()).hexdigest()
    node = Node.objects.select_related("cluster").filter(pk=node_id, role=NodeRole.BROKER).first()
    if node is None or not node.report_token_digest or node.report_token_digest != digest:
        return None
    return node


def report_samples(node: Node, report: dict[str, Any]) -> list[Sample]:
    """The series points in a report: its figures and extra metrics for the broker, and each
    topic's metrics for that topic on this broker."""
    figures = {k: v for k, v in report.items() if k not in NOT_SERIES} | report.get("metrics", {})
    samples = [Sample(name, float(value), broker=node.index) for name, value in figures.items()]
    for topic, metrics in report.get("topics", {}).items():
        samples += [
            Sample(name, float(value), broker=node.index, topic=topic)
            for name, value in metrics.items()
        ]
    return samples


def health_report_ingest(*, node: Node, report: dict[str, Any]) -> int:
    """Keep the report as the node's latest health and as points of its series; returns how many
    points it made."""
    now = timezone.now()
    with transaction.atomic():
        stored = record(node.cluster, report_samples(node, report), at=now)
        node.health = {k: report[k] for k in REPORT_FIELDS} | {
            k: report[k] for k in OPTIONAL_REPORT_FIELDS if k in report
        }
        node.last_report_at = now
        if node.status in (NodeStatus.DOWN, NodeStatus.PROVISIONING, NodeStatus.RUNNING):
            node.status = NodeStatus.RUNNING
        node.save(update_fields=["health", "last_report_at", "status"])
    # Every report changes the figures on screen, so every report is an update.
    publish_cluster_changed(node.cluster)
    return stored


def mark_silent_nodes() -> list[Node]:
    """Brokers with no report for three intervals are down; returns the ones that just went down."""
    cutoff = timezone.now() - timedelta(
        seconds=SILENT_INTERVALS * settings.HEALTH_REPORT_INTERVAL_S
    )
    silent = list(
        Node.objects.select_related("cluster").filter(
            role=NodeRole.BROKER, status=NodeStatus.RUNNING, last_report_at__lt=cutoff
        )
    )
    for node in silent:
        Node.objects.filter(
            pk=node.pk, status=NodeStatus.RUNNING, last_report_at__lt=cutoff
        ).update(status=NodeStatus.DOWN)
    for cluster in {n.cluster_id: n.cluster for n in silent}.values():
        publish_cluster_changed(cluster)
    return silent


def cluster_health_summary(cluster: Cluster) -> dict[str, Any]:
    brokers = list(cluster.nodes.filter(role=NodeRole.BROKER).exclude(status=NodeStatus.DESTROYED))
    return {
        "brokers": len(brokers),
        "brokers_up": sum(1 for n in brokers if n.status == NodeStatus.RUNNING),
        "under_replicated": sum(int(n.health.get("under_replicated", 0)) for n in brokers),
        "bytes_in_per_s": sum(float(n.health.get("bytes_in_per_s", 0)) for n in brokers),
        "bytes_out_per_s": sum(float(n.health.get("bytes_out_per_s", 0)) for n in brokers),
    }
