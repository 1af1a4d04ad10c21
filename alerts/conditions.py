"""What each kind of rule looks at: readings per subject, and which of them breach a rule.

A reading is one subject's current value (a broker's disk use, a group's lag on a topic); a rule
breaches on the readings above its threshold, or on every reading for kinds that are a plain fact
(a node is down, the latest operation failed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from alerts import selectors
from alerts.models import AlertRule, RuleKind
from clusters.models import Cluster, Node, NodeRole, NodeStatus
from provisioning.models import OperationState

GIB = 1024**3
# The lag collector runs every few seconds; a point older than this is not the present.
LAG_FRESHNESS = timedelta(minutes=5)
# Kinds that are facts rather than measures: every reading breaches, the threshold is unused.
FACT_KINDS = (RuleKind.NODE_DOWN, RuleKind.OPERATION_FAILED)
# Conditions an operation causes on purpose (a broker stopped for a restart, partitions
# catching up after it): they do not start firing while one runs on the cluster.
EXPECTED_DURING_OPERATIONS = (RuleKind.NODE_DOWN, RuleKind.UNDER_REPLICATED)


@dataclass(frozen=True)
class Reading:
    subject: str  # a stable key
    label: str  # for people
    value: float
    summary: str


class Readings:
    """The facts of one cluster at one moment, each read once however many rules look at it."""

    def __init__(self, cluster: Cluster, now: datetime) -> None:
        self.cluster = cluster
        self.now = now

    def breaches(self, rule: AlertRule) -> dict[str, Reading]:
        readings = self.of_kind(rule.kind)
        if rule.kind not in FACT_KINDS:
            readings = [r for r in readings if r.value > rule.threshold]
        return {r.subject: r for r in readings}

    def of_kind(self, kind: str) -> list[Reading]:
        return {
            RuleKind.NODE_DOWN: lambda: self.nodes_down,
            RuleKind.UNDER_REPLICATED: lambda: self.under_replicated,
            RuleKind.DISK_USAGE: lambda: self.disk_usage,
            RuleKind.CONSUMER_LAG_OFFSETS: lambda: self.lag("lag_offsets", "offsets"),
            RuleKind.CONSUMER_LAG_SECONDS: lambda: self.lag("lag_seconds", "s"),
            RuleKind.OPERATION_FAILED: lambda: self.operation_failed,
        }[RuleKind(kind)]()

    @cached_property
    def operation_active(self) -> bool:
        return selectors.operation_active(self.cluster)

    @cached_property
    def nodes(self) -> list[Node]:
        return selectors.watched_nodes(self.cluster)

    @cached_property
    def nodes_down(self) -> list[Reading]:
        readings = []
        for node in self.nodes:
            if node.status != NodeStatus.DOWN:
                continue
            role = "broker" if node.role == NodeRole.BROKER else "zookeeper"
            label = f"{'broker' if role == 'broker' else 'ZooKeeper'} {node.index}"
            readings.append(
                Reading(f"{role}:{node.index}", label, 1.0, f"{label} ({node.host}) is down")
            )
        return readings

    @cached_property
    def under_replicated(self) -> list[Reading]:
        # Each partition is counted by its leader; a broker that is down leads nothing any more
        # and its last report is stale, so only brokers that are up count.
        count = sum(
            int(n.health.get("under_replicated", 0))
            for n in self.nodes
            if n.role == NodeRole.BROKER and n.status == NodeStatus.RUNNING
        )
        return [Reading("cluster", "cluster", float(count), f"{count} under-replicated partitions")]

    @cached_property
    def disk_usage(self) -> list[Reading]:
        readings = []
        for node in self.nodes:
            if node.role != NodeRole.BROKER or not node.health:
                continue
            used, capacity = self._disk(node.health)
            if not capacity:
                continue
            percent = 100.0 * used / capacity
            label = f"broker {node.index}"
            readings.append(
                Reading(
                    f"broker:{node.index}",
                    label,
                    round(percent, 2),
                    f"{label} uses {percent:.1f}% of its {capacity / GIB:.1f} GiB",
                )
            )
        return readings

    def _disk(self, health: dict) -> tuple[float, float]:
        """Used and available bytes: the log directories against their quota, or, from brokers
        that report no quota, the disk used against the cluster's storage per broker."""
        quota = health.get("log_dirs_quota_bytes")
        if quota is not None and quota > 0 and "log_dirs_used_bytes" in health:
            return float(health["log_dirs_used_bytes"]), float(quota)
        return float(health.get("disk_used_bytes", 0)), float(self.cluster.storage_gib * GIB)

    def lag(self, metric: str, unit: str) -> list[Reading]:
        return [
            Reading(
                f"group:{p.group}/topic:{p.topic}",
                f"group {p.group} on topic {p.topic}",
                p.value,
                f"group {p.group} lags {p.value:g} {unit} on topic {p.topic}",
            )
            for p in selectors.latest_lag(self.cluster, metric, self.now - LAG_FRESHNESS)
        ]

    @cached_property
    def operation_failed(self) -> list[Reading]:
        # Only the latest operation: one that failed and was retried, or followed by one that
        # succeeded, is history, not a present problem.
        operation = selectors.latest_operation(self.cluster)
        if operation is None or operation.state != OperationState.FAILED:
            return []
        error = operation.error.strip().splitlines()[0][:300] if operation.error.strip() else ""
        return [
            Reading(
                f"operation:{operation.pk}",
                f"{operation.get_kind_display().lower()} operation",
                1.0,
                f"the {operation.get_kind_display().lower()} operation failed"
                + (f": {error}" if error else ""),
            )
        ]
