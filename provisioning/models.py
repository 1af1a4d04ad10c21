"""Operations: every change to a cluster, as ordered, idempotent steps run by Celery workers."""

from __future__ import annotations

import uuid
from typing import NamedTuple

from django.db import models

from clusters.models import Cluster, ClusterStatus, Node


class OperationKind(models.TextChoices):
    CREATE = "create"
    DELETE = "delete"
    RESTART = "restart"
    RESIZE = "resize"
    SCALE_OUT = "scale_out"
    SCALE_IN = "scale_in"
    UPGRADE = "upgrade"
    EXPAND_STORAGE = "expand_storage"


class ClusterStatuses(NamedTuple):
    """What an operation of a kind makes its cluster's status: while it runs, then after it."""

    running: str
    succeeded: str
    failed: str


# Changes to a serving cluster stop between steps and leave it serving, even when they fail; a
# failed build or teardown leaves it in need of attention.
_CHANGE = ClusterStatuses(ClusterStatus.UPDATING, ClusterStatus.RUNNING, ClusterStatus.RUNNING)
CLUSTER_STATUSES: dict[str, ClusterStatuses] = {
    OperationKind.CREATE: ClusterStatuses(
        ClusterStatus.CREATING, ClusterStatus.RUNNING, ClusterStatus.FAILED
    ),
    OperationKind.DELETE: ClusterStatuses(
        ClusterStatus.DELETING, ClusterStatus.DELETED, ClusterStatus.FAILED
    ),
    OperationKind.RESTART: _CHANGE,
    OperationKind.RESIZE: _CHANGE,
    OperationKind.SCALE_OUT: _CHANGE,
    OperationKind.SCALE_IN: _CHANGE,
    OperationKind.UPGRADE: _CHANGE,
    OperationKind.EXPAND_STORAGE: _CHANGE,
}


class OperationState(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES = (OperationState.PENDING, OperationState.RUNNING)
# Operations made of independent per-broker steps can stop between them and leave a serving cluster.
CANCELLABLE_KINDS = (
    OperationKind.RESTART,
    OperationKind.RESIZE,
    OperationKind.UPGRADE,
    OperationKind.EXPAND_STORAGE,
)


class Operation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="operations")
    kind = models.CharField(max_length=20, choices=OperationKind.choices)
    state = models.CharField(
        max_length=12, choices=OperationState.choices, default=OperationState.PENDING
    )
    error = models.TextField(blank=True)
    requested_by = models.CharField(max_length=200)
    plan = models.JSONField(default=dict, blank=True)  # what the operation will do, shown up front
    attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)  # honoured between steps
    # The worker running the operation renews this lease; past it, the reconciler takes over.
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One operation at a time per cluster, enforced by the database itself.
            models.UniqueConstraint(
                fields=["cluster"],
                condition=models.Q(state__in=["pending", "running"]),
                name="one_active_operation_per_cluster",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.cluster.name} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_cancellable(self) -> bool:
        return self.kind in CANCELLABLE_KINDS


class OperationStep(models.Model):
    operation = models.ForeignKey(Operation, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=60)  # a key into the workflow's step table
    node = models.ForeignKey(
        Node, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    state = models.CharField(
        max_length=12, choices=OperationState.choices, default=OperationState.PENDING
    )
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["operation", "position"]
        unique_together = [("operation", "position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.title} ({self.state})"
