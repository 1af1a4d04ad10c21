"""Writing, downsampling, pruning and reading time series.

Raw samples are kept for hours, minute means for days and hour means for months; a periodic job
folds finished minutes and hours into the coarser resolutions and prunes what has aged out, so the
table's size depends on the number of series, not on how long the platform has run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import F, FloatField, Max, Sum
from django.db.models.functions import Trunc
from django.utils import timezone

from clusters.models import Cluster
from monitoring.models import Point, Resolution, Rollup, Series

RETENTION = {
    Resolution.RAW: timedelta(hours=6),
    Resolution.MINUTE: timedelta(days=8),
    Resolution.HOUR: timedelta(days=400),
}
# Each coarser resolution is folded from the next finer one.
SOURCE = {Resolution.MINUTE: Resolution.RAW, Resolution.HOUR: Resolution.MINUTE}
TRUNC_KIND = {Resolution.MINUTE: "minute", Resolution.HOUR: "hour"}


@dataclass(frozen=True)
class Sample:
    metric: str
    value: float
    broker: int | None = None
    topic: str = ""
    group: str = ""

    @property
    def key(self) -> str:
        broker = "" if self.broker is None else str(self.broker)
        return f"{self.metric}|{broker}|{self.topic}|{self.group}"


def record(cluster: Cluster, samples: Iterable[Sample], at: datetime | None = None) -> int:
    """Store raw samples taken at `at` (now by default); returns how many were stored."""
    at = at or timezone.now()
    samples = list(samples)
    if not samples:
        return 0
    # One transaction: a series never exists without its first point (prune removes empty ones).
    with transaction.atomic():
        series = _series_for(cluster, samples)
        Point.objects.bulk_create(
            [
                Point(
                    series=series[s.key],
                    resolution=Resolution.RAW,
                    at=at,
                    value=s.value,
                    max=s.value,
                )
                for s in samples
            ],
            update_conflicts=True,
            unique_fields=["series", "resolution", "at"],
            update_fields=["value", "max"],
        )
    return len(samples)


def _series_for(cluster: Cluster, samples: list[Sample]) -> dict[str, Series]:
    keys = {s.key for s in samples}
    known = {s.key: s for s in Series.objects.filter(cluster=cluster, key__in=keys)}
    missing = [s for s in {s.key: s for s in samples}.values() if s.key not in known]
    if missing:
        Series.objects.bulk_create(
            [
                Series(
                    cluster=cluster,
                    key=s.key,
                    metric=s.metric,
                    broker=s.broker,
                    topic=s.topic,
                    group=s.group,
                )
                for s in missing
            ],
            ignore_conflicts=True,  # another report may have created it meanwhile
        )
        known = {s.key: s for s in Series.objects.filter(cluster=cluster, key__in=keys)}
    return known


def roll_up(now: datetime | None = None) -> dict[int, int]:
    """Fold every finished minute into minute points and every finished hour into hour points
    (idempotent: a bucket is recomputed from its source, not added to); returns points written."""
    now = now or timezone.now()
    written = {}
    for resolution in (Resolution.MINUTE, Resolution.HOUR):
        step = timedelta(seconds=resolution)
        finished_before = _bucket_start(now, resolution)
        with transaction.atomic():
            mark, _ = Rollup.objects.select_for_update().get_or_create(
                resolution=resolution,
                defaults={"done_until": finished_before - RETENTION[SOURCE[resolution]]},
            )
            start = max(mark.done_until, now - RETENTION[SOURCE[resolution]] - step)
            written[resolution] = _fold(SOURCE[resolution], resolution, start, finished_before)
            mark.done_until = max(mark.done_until, finished_before)
            mark.save(update_fields=["done_until"])
    return written


def _fold(source: int, resolution: int, start: datetime, end: datetime) -> int:
    buckets = (
        Point.objects.filter(
            resolution=source, at__gte=_bucket_start(start, resolution), at__lt=end
        )
        .annotate(bucket=Trunc("at", TRUNC_KIND[resolution], tzinfo=UTC))
        .values("series_id", "bucket")
        # Source points are means of `count` samples, so the bucket's mean weighs them by it.
        .annotate(
            weighted=Sum(F("value") * F("count"), output_field=FloatField()),
            weight=Sum("count"),
            peak=Max("max"),
        )
    )
    points = [
        Point(
            series_id=b["series_id"],
            resolution=resolution,
            at=b["bucket"],
            value=b["weighted"] / b["weight"],
            max=b["peak"],
            count=b["weight"],
        )
        for b in buckets
    ]
    Point.objects.bulk_create(
        points,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["series", "resolution", "at"],
        update_fields=["value", "max", "count"],
    )
    return len(points)


def prune(now: datetime | None = None) -> int:
    """Drop points older than their resolution keeps; returns how many went."""
    now = now or timezone.now()
    deleted = 0
    for resolution, keep in RETENTION.items():
        count, _ = Point.objects.filter(resolution=resolution, at__lt=now - keep).delete()
        deleted += count
    # Series whose every point aged out (a deleted topic or group) go too.
    Series.objects.filter(points__isnull=True).delete()
    return deleted


def _bucket_start(moment: datetime, resolution: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % resolution, tz=moment.tzinfo or UTC)


# The finest resolution a chart of this span gets: at most a few hundred points a series.
SPAN_LIMITS = ((timedelta(hours=1), Resolution.RAW), (timedelta(days=2), Resolution.MINUTE))


def resolution_for(since: datetime, until: datetime, now: datetime | None = None) -> int:
    now = now or timezone.now()
    for limit, resolution in SPAN_LIMITS:
        if until - since <= limit and now - since <= RETENTION[resolution]:
            return resolution
    return Resolution.HOUR


def query(
    cluster: Cluster,
    metric: str,
    since: datetime,
    until: datetime | None = None,
    *,
    broker: int | None = None,
    topic: str | None = None,
    group: str | None = None,
    resolution: int | None = None,
    now: datetime | None = None,
) -> dict:
    """The cluster's series of `metric` (narrowed by broker, topic or group) between two moments,
    at the resolution the span calls for unless one is given."""
    now = now or timezone.now()
    until = until or now
    if resolution is None:
        resolution = resolution_for(since, until, now)
    series = Series.objects.filter(cluster=cluster, metric=metric)
    if broker is not None:
        series = series.filter(broker=broker)
    if topic is not None:
        series = series.filter(topic=topic)
    if group is not None:
        series = series.filter(group=group)
    by_id = {
        s.pk: {"broker": s.broker, "topic": s.topic, "group": s.group, "points": []} for s in series
    }
    for series_id, at, value, peak in _points(by_id, resolution, since, until):
        by_id[series_id]["points"].append([at, value, peak])
    if resolution != Resolution.RAW:
        # The live edge: what has not been rolled up yet comes from the raw points, so a chart of
        # any span reaches the present.
        for series_id, series in by_id.items():
            rolled = series["points"]
            edge = rolled[-1][0] + timedelta(seconds=resolution) if rolled else since
            series["points"] += [
                [at, value, peak]
                for _id, at, value, peak in _points([series_id], Resolution.RAW, edge, until)
            ]
    for series in by_id.values():
        series["points"] = [[at.isoformat(), value, peak] for at, value, peak in series["points"]]
    return {
        "metric": metric,
        "resolution_s": resolution,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "series": sorted(
            by_id.values(),
            key=lambda s: (s["broker"] is None, s["broker"] or 0, s["topic"], s["group"]),
        ),
    }


def _points(series_ids, resolution: int, since: datetime, until: datetime):
    return (
        Point.objects.filter(
            series_id__in=series_ids, resolution=resolution, at__gte=since, at__lte=until
        )
        .order_by("series_id", "at")
        .values_list("series_id", "at", "value", "max")
    )


def latest(cluster: Cluster, metric: str, **labels: object) -> dict[str, float]:
    """The newest raw value of each matching series, by series key."""
    series = Series.objects.filter(cluster=cluster, metric=metric, **labels)
    result = {}
    for s in series:
        point = s.points.filter(resolution=Resolution.RAW).order_by("-at").first()
        if point is not None:
            result[s.key] = point.value
    return result


def metric_names(cluster: Cluster) -> list[str]:
    return sorted(set(Series.objects.filter(cluster=cluster).values_list("metric", flat=True)))
