from celery import shared_task
from django.conf import settings

from monitoring import lag, services


@shared_task
def mark_silent_nodes() -> int:
    return len(services.mark_silent_nodes())


@shared_task
def maintain_series() -> dict:
    """Fold finished minutes and hours into coarser points, then drop what has aged out."""
    from monitoring import timeseries

    written = timeseries.roll_up()
    return {"rolled_up": sum(written.values()), "pruned": timeseries.prune()}


# A tick still queued when the next one is due is dropped rather than run late.
@shared_task(expires=float(settings.CELERY_BEAT_SCHEDULE["collect-consumer-lag"]["schedule"]))
def collect_consumer_lag() -> dict:
    """Consumer lag of every running cluster's groups, as series (see monitoring.lag)."""
    return lag.collect_all()
