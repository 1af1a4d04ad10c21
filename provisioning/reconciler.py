"""Compares what the database says with what runs, and restarts or ends work that lost its worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from clusters.models import Cluster, ClusterStatus, Node, NodeRole, NodeStatus, Provider
from monitoring.events import publish_cluster_changed
from provisioning.models import CLUSTER_STATUSES, Operation, OperationState
from provisioning.providers import get_provider
from provisioning.services import enqueue

logger = logging.getLogger(__name__)

# A pending operation nobody picked up in this long lost its queue message (e.g. Redis restarted).
PENDING_GRACE = timedelta(seconds=30)


@dataclass
class Report:
    resumed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        return self.__dict__.copy()


def reconcile() -> Report:
    report = Report()
    _recover_operations(report)
    _find_drift(report)
    _find_orphans(report)
    for kind, items in report.as_dict().items():
        for item in items:
            logger.warning("reconciler: %s: %s", kind, item)
    return report


def _recover_operations(report: Report) -> None:
    now = timezone.now()
    stale = Operation.objects.filter(
        Q(state=OperationState.RUNNING, lease_expires_at__lt=now)
        | Q(state=OperationState.RUNNING, lease_expires_at__isnull=True)
        | Q(state=OperationState.PENDING, created_at__lt=now - PENDING_GRACE, lease_owner="")
    )
    for operation in stale.select_related("cluster"):
        with transaction.atomic():
            locked = Operation.objects.select_for_update().get(pk=operation.pk)
            if (
                locked.state == OperationState.RUNNING
                and locked.lease_expires_at
                and locked.lease_expires_at >= now
            ):
                continue  # renewed meanwhile
            if locked.attempts >= settings.OPERATION_MAX_ATTEMPTS:
                locked.state = OperationState.FAILED
                locked.error = f"its worker stopped {locked.attempts} times; retry the operation to run it again"
                locked.finished_at = now
                locked.lease_owner = ""
                locked.lease_expires_at = None
                locked.save()
                locked.steps.filter(state=OperationState.RUNNING).update(
                    state=OperationState.FAILED, error="worker lost", finished_at=now
                )
                Cluster.objects.filter(pk=locked.cluster_id).update(
                    status=CLUSTER_STATUSES[locked.kind].failed
                )
                report.failed.append(
                    f"operation {locked.pk} ({locked.kind} {operation.cluster.name})"
                )
            else:
                locked.lease_owner = ""
                locked.lease_expires_at = None
                locked.save(update_fields=["lease_owner", "lease_expires_at"])
                transaction.on_commit(lambda op=locked: enqueue(op))
                report.resumed.append(
                    f"operation {locked.pk} ({locked.kind} {operation.cluster.name})"
                )
        publish_cluster_changed(operation.cluster)


def _find_drift(report: Report) -> None:
    """Running clusters whose processes are not all there: the nodes show as down until they are back."""
    for cluster in Cluster.objects.filter(status=ClusterStatus.RUNNING).select_related("provider"):
        try:
            _cluster_drift(cluster, report)
        except Exception as exc:  # one provider's outage must not hide the other clusters' drift
            report.drift.append(f"{cluster.name}: the provider could not be asked ({exc})")


def _cluster_drift(cluster: Cluster, report: Report) -> None:
    provider = get_provider(cluster.provider.slug)
    changed = False
    for node in cluster.nodes.filter(status__in=(NodeStatus.RUNNING, NodeStatus.DOWN)):
        service = "broker" if node.role == NodeRole.BROKER else "zookeeper"
        alive = provider.describe(node).running.get(service, False)
        if not alive:
            report.drift.append(f"{node.name}: {service} is not running")
            if node.status == NodeStatus.RUNNING:
                node.status = NodeStatus.DOWN
                node.save(update_fields=["status"])
                changed = True
        elif node.status == NodeStatus.DOWN and node.role == NodeRole.ZOOKEEPER:
            # Brokers come back up through their health reports; ZooKeeper sends none.
            node.status = NodeStatus.RUNNING
            node.save(update_fields=["status"])
            changed = True
    if changed:
        publish_cluster_changed(cluster)


def _find_orphans(report: Report) -> None:
    known = set(
        Node.objects.exclude(status=NodeStatus.DESTROYED)
        .exclude(provider_ref="")
        .values_list("provider_ref", flat=True)
    )
    for slug in Provider.objects.filter(enabled=True).values_list("slug", flat=True):
        try:
            report.orphans.extend(get_provider(slug).orphans(known))
        except Exception as exc:  # likewise: report it and look at the next provider
            report.orphans.append(f"{slug}: the provider could not be asked ({exc})")
