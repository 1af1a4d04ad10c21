"""Celery entry points; the work itself lives in runner.py and reconciler.py."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from provisioning import reconciler, runner


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_operation(operation_id: str) -> str:
    return runner.execute(operation_id)


@shared_task
def reconcile() -> dict[str, list[str]]:
    return reconciler.reconcile().as_dict()


@worker_ready.connect
def _reconcile_on_start(**_kwargs) -> None:
    """A restarted worker picks up operations its predecessor left behind, without waiting."""
    reconcile.delay()
