from celery import shared_task

from monitoring import services


@shared_task
def mark_silent_nodes() -> int:
    return len(services.mark_silent_nodes())
