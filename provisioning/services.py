"""Starting and retrying operations. One active operation per cluster: a row lock and a unique index."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from clusters.actors import Actor, require_write
from clusters.audit import audit_record
from clusters.errors import Conflict
from clusters.models import Cluster, Node
from monitoring.events import publish_cluster_changed
from provisioning.models import (
    ACTIVE_STATES,
    CLUSTER_STATUSES,
    Operation,
    OperationState,
    OperationStep,
)
from provisioning.workflows import WORKFLOWS, Step, step_title


def enqueue(operation: Operation) -> None:
    from provisioning.tasks import run_operation

    run_operation.delay(str(operation.pk))


def operation_start(
    *,
    cluster: Cluster,
    kind: str,
    requested_by: str,
    steps: list[tuple[Step, Node | None]] | None = None,
    plan: dict | None = None,
) -> Operation:
    """Create the operation with its steps (the kind's fixed workflow unless given); a worker picks
    it up once the transaction commits."""
    if steps is None:
        steps = [(step, None) for step in WORKFLOWS[kind]]
    with transaction.atomic():
        locked = Cluster.objects.select_for_update().get(pk=cluster.pk)
        if locked.operations.filter(state__in=ACTIVE_STATES).exists():
            raise Conflict("Another operation is in progress on this cluster.")
        try:
            with transaction.atomic():
                operation = Operation.objects.create(
                    cluster=locked, kind=kind, requested_by=requested_by, plan=plan or {}
                )
        except IntegrityError:
            raise Conflict("Another operation is in progress on this cluster.") from None
        OperationStep.objects.bulk_create(
            OperationStep(
                operation=operation,
                position=i,
                name=step.name,
                title=step_title(step, node),
                node=node,
            )
            for i, (step, node) in enumerate(steps)
        )
        locked.status = CLUSTER_STATUSES[kind].running
        locked.save(update_fields=["status", "updated_at"])
        cluster.status = locked.status
        transaction.on_commit(lambda: enqueue(operation))
        transaction.on_commit(lambda: publish_cluster_changed(locked))
    return operation


def operation_retry(*, actor: Actor, operation: Operation) -> Operation:
    """Run a failed operation again from its failed step; finished steps are not repeated."""
    require_write(actor)
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=operation.cluster_id)
        operation = Operation.objects.select_for_update().get(pk=operation.pk)
        if operation.state != OperationState.FAILED:
            raise Conflict("Only a failed operation can be retried.")
        if cluster.operations.filter(state__in=ACTIVE_STATES).exists():
            raise Conflict("Another operation is in progress on this cluster.")
        if cluster.operations.filter(created_at__gt=operation.created_at).exists():
            raise Conflict("A later operation has replaced this one.")
        operation.steps.exclude(state=OperationState.SUCCEEDED).update(
            state=OperationState.PENDING, error="", started_at=None, finished_at=None
        )
        operation.state = OperationState.PENDING
        operation.error = ""
        operation.attempts = 0
        operation.finished_at = None
        operation.save(update_fields=["state", "error", "attempts", "finished_at"])
        cluster.status = CLUSTER_STATUSES[operation.kind].running
        cluster.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action="operation.retry",
            obj=operation,
            name=f"{operation.kind} {cluster.name}",
        )
        transaction.on_commit(lambda: enqueue(operation))
        transaction.on_commit(lambda: publish_cluster_changed(cluster))
    return operation


def operation_cancel(*, actor: Actor, operation: Operation) -> Operation:
    """Ask a roll to stop before its next step; the broker in progress finishes its turn."""
    require_write(actor)
    if not operation.is_cancellable:
        raise Conflict(
            f"A {operation.kind} operation cannot be cancelled; it can be retried if it fails."
        )
    with transaction.atomic():
        locked = Operation.objects.select_for_update().get(pk=operation.pk)
        if not locked.is_active:
            raise Conflict(f"The operation has already {locked.state}.")
        locked.cancel_requested = True
        locked.save(update_fields=["cancel_requested"])
        audit_record(
            actor=actor,
            action="operation.cancel",
            obj=locked,
            name=f"{locked.kind} {locked.cluster.name}",
        )
    return locked
