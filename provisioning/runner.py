"""Executing an operation: claim it with a lease, run its unfinished steps in order, record the outcome.

A worker renews the lease while it works. If the worker dies, the lease runs out and the reconciler
hands the operation to another worker, which resumes at the unfinished step (steps are idempotent).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from clusters.models import Cluster
from monitoring.events import publish_cluster_changed
from provisioning.models import CLUSTER_STATUSES, Operation, OperationState, OperationStep
from provisioning.workflows import STEP_TABLE, StepContext

logger = logging.getLogger(__name__)

LOG_FLUSH_S = 1.0


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def claim(operation_id: str, owner: str) -> Operation | None:
    """Take the operation's lease if it is active and nobody else holds a live lease."""
    now = timezone.now()
    with transaction.atomic():
        operation = (
            Operation.objects.select_for_update()
            .select_related("cluster")
            .filter(pk=operation_id)
            .first()
        )
        if operation is None or not operation.is_active:
            return None
        if (
            operation.lease_owner
            and operation.lease_owner != owner
            and operation.lease_expires_at
            and operation.lease_expires_at > now
        ):
            return None
        operation.lease_owner = owner
        operation.lease_expires_at = now + timedelta(seconds=settings.OPERATION_LEASE_S)
        operation.state = OperationState.RUNNING
        operation.attempts += 1
        operation.started_at = operation.started_at or now
        operation.save(
            update_fields=["lease_owner", "lease_expires_at", "state", "attempts", "started_at"]
        )
    return operation


class LeaseKeeper(threading.Thread):
    """Renews the lease every third of its length until stopped."""

    def __init__(self, operation_id, owner: str) -> None:
        super().__init__(daemon=True, name=f"lease-{operation_id}")
        self.operation_id = operation_id
        self.owner = owner
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = settings.OPERATION_LEASE_S / 3
        while not self.stopped.wait(interval):
            try:
                Operation.objects.filter(pk=self.operation_id, lease_owner=self.owner).update(
                    lease_expires_at=timezone.now() + timedelta(seconds=settings.OPERATION_LEASE_S)
                )
            except Exception:  # a database hiccup must not kill the renewals
                logger.exception("lease renewal failed for operation %s", self.operation_id)
            finally:
                close_old_connections()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


class StepLog:
    """Buffers log lines and writes them to the step at most once a second."""

    def __init__(self, step: OperationStep, cluster: Cluster) -> None:
        self.step = step
        self.cluster = cluster
        self.pending: list[str] = []
        self.flushed_at = 0.0

    def __call__(self, line: str) -> None:
        stamp = timezone.now().strftime("%H:%M:%S")
        self.pending.extend(f"{stamp} {part}" for part in line.splitlines() if part.strip())
        if time.monotonic() - self.flushed_at >= LOG_FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        self.step.log += "\n".join(self.pending) + "\n"
        self.pending.clear()
        self.flushed_at = time.monotonic()
        OperationStep.objects.filter(pk=self.step.pk).update(log=self.step.log)
        publish_cluster_changed(self.cluster)


def execute(operation_id: str) -> str:
    """Run the operation if this worker can claim it; return its state afterwards."""
    owner = worker_identity()
    operation = claim(operation_id, owner)
    if operation is None:
        return "skipped"
    cluster = operation.cluster
    publish_cluster_changed(cluster)
    keeper = LeaseKeeper(operation.pk, owner)
    keeper.start()
    try:
        for step in operation.steps.select_related("node").order_by("position"):
            if step.state == OperationState.SUCCEEDED:
                continue
            if Operation.objects.filter(pk=operation.pk, cancel_requested=True).exists():
                return cancel(operation, cluster, step)
            if not run_step(operation, step, cluster):
                return fail(
                    operation,
                    cluster,
                    f"step {step.position + 1} ({step.title}) failed: {step.error}",
                )
        return succeed(operation, cluster)
    finally:
        keeper.stop()


def run_step(operation: Operation, step: OperationStep, cluster: Cluster) -> bool:
    step.state = OperationState.RUNNING
    step.started_at = timezone.now()
    step.error = ""
    step.save(update_fields=["state", "started_at", "error"])
    log = StepLog(step, cluster)
    if operation.attempts > 1:
        log(f"resuming (attempt {operation.attempts})")
    try:
        STEP_TABLE[step.name].run(
            StepContext(cluster=cluster, log=log, node=step.node, plan=operation.plan)
        )
    except Exception as exc:
        logger.warning("operation %s step %s failed", operation.pk, step.name, exc_info=True)
        log("".join(traceback.format_exception_only(exc)).strip())
        log.flush()
        step.state = OperationState.FAILED
        step.error = str(exc) or type(exc).__name__
        step.finished_at = timezone.now()
        step.save(update_fields=["state", "error", "finished_at"])
        return False
    log.flush()
    step.state = OperationState.SUCCEEDED
    step.finished_at = timezone.now()
    step.save(update_fields=["state", "finished_at"])
    publish_cluster_changed(cluster)
    return True


def _finish(
    operation: Operation, cluster: Cluster, state: str, cluster_status: str, error: str
) -> str:
    with transaction.atomic():
        Operation.objects.filter(pk=operation.pk).update(
            state=state,
            error=error,
            finished_at=timezone.now(),
            lease_owner="",
            lease_expires_at=None,
        )
        Cluster.objects.filter(pk=cluster.pk).update(
            status=cluster_status, updated_at=timezone.now()
        )
    publish_cluster_changed(cluster)
    return state


def succeed(operation: Operation, cluster: Cluster) -> str:
    return _finish(
        operation, cluster, OperationState.SUCCEEDED, CLUSTER_STATUSES[operation.kind].succeeded, ""
    )


def cancel(operation: Operation, cluster: Cluster, next_step: OperationStep) -> str:
    """Stop before `next_step`: what ran stays done, the rest is marked cancelled."""
    operation.steps.filter(state=OperationState.PENDING).update(state=OperationState.CANCELLED)
    return _finish(
        operation,
        cluster,
        OperationState.CANCELLED,
        CLUSTER_STATUSES[operation.kind].failed,
        f"cancelled before step {next_step.position + 1} ({next_step.title})",
    )


def fail(operation: Operation, cluster: Cluster, error: str) -> str:
    return _finish(
        operation, cluster, OperationState.FAILED, CLUSTER_STATUSES[operation.kind].failed, error
    )
