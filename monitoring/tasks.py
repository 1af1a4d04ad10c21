from celery import shared_task

from monitoring import services


@shared_task
def mark_silent_nodes() -> int:
    return len(services.mark_silent_nodes())


@shared_task
def maintain_series() -> dict:
    """Fold finished minutes and hours into coarser points, then drop what has aged out."""
    from monitoring import timeseries

    written = timeseries.roll_up()
    return {"rolled_up": sum(written.values()), "pruned": timeseries.prune()}
