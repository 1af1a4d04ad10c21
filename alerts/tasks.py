"""Celery entry points: the periodic evaluation and one notification attempt per task."""

from __future__ import annotations

from celery import shared_task

from alerts import delivery, services


@shared_task
def evaluate_alerts() -> dict[str, int]:
    return services.alerts_evaluate()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_notification(delivery_id: str) -> str:
    """One attempt; a failed one is retried by the periodic sweep when its backoff is due, so a
    worker never sleeps on a slow receiver."""
    attempted = delivery.delivery_attempt(delivery_id)
    return attempted.state if attempted else "skipped"
