"""Time series: a simulated month of samples, folded and pruned as the periodic job does, leaves a
bounded table whose coarse points are exact means and maxima of what was recorded; queries pick the
resolution the span calls for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.cluster_rows import create_local_cluster


@pytest.fixture
def cluster(django_db: str):
    return create_local_cluster("series", broker_count=2)


def test_a_simulated_month_stays_bounded(cluster) -> None:
    from monitoring import timeseries
    from monitoring.models import Point, Resolution
    from monitoring.timeseries import Sample

    start = datetime(2026, 1, 1, tzinfo=UTC)
    # A topic that existed only at the start: its hour point stays, and when that ages out too its
    # series goes.
    timeseries.record(cluster, [Sample("bytes_in_per_s", 1.0, broker=0, topic="gone")], at=start)
    sample_every = timedelta(minutes=5)  # a month of 2-second reports would take too long to write
    days = 31
    largest = 0
    now = start
    while now < start + timedelta(days=days):
        minute = int((now - start) / timedelta(minutes=1))
        # Two brokers: one steady, one whose value is the minute of the hour (0, 5, ... 55).
        timeseries.record(
            cluster,
            [
                Sample("bytes_in_per_s", 100.0, broker=0),
                Sample("bytes_in_per_s", float(minute % 60), broker=1),
            ],
            at=now,
        )
        now += sample_every
        if now.minute == 0:  # the job runs every minute in production; hourly is enough here
            timeseries.roll_up(now)
            timeseries.prune(now)
            largest = max(largest, Point.objects.filter(series__cluster=cluster).count())

    points = Point.objects.filter(series__cluster=cluster, series__topic="")
    counts = {r: points.filter(resolution=r).count() for r in Resolution}
    # Raw for 6 hours, minutes for 8 days, hours for the whole month; two series.
    assert counts[Resolution.RAW] <= 2 * (6 * 12 + 1)
    assert counts[Resolution.MINUTE] <= 2 * (8 * 24 * 12 + 12)
    assert counts[Resolution.HOUR] == 2 * days * 24  # the last hour finished as the month ended
    bound = 2 * ((6 * 12 + 1) + (8 * 24 * 12 + 12) + days * 24) + 3  # and "gone": raw, minute, hour
    assert largest <= bound, (largest, bound)

    hours = points.filter(resolution=Resolution.HOUR, series__broker=1, series__topic="")
    assert {round(p.value, 6) for p in hours} == {27.5}
    assert {p.max for p in hours} == {55.0}
    assert {p.count for p in hours} == {12}
    steady = points.filter(resolution=Resolution.HOUR, series__broker=0, series__topic="")
    assert {p.value for p in steady} == {100.0}

    # Rolling up again changes nothing: buckets are recomputed, not added to.
    before = list(points.filter(resolution=Resolution.MINUTE).values_list("at", "value", "count"))
    timeseries.roll_up(now)
    after = list(points.filter(resolution=Resolution.MINUTE).values_list("at", "value", "count"))
    assert sorted(before) == sorted(after)

    # Queries: the last 20 minutes in raw points, the last day in minutes, the month in hours.
    recent = timeseries.query(
        cluster, "bytes_in_per_s", now - timedelta(minutes=20), now, topic="", now=now
    )
    assert recent["resolution_s"] == 0
    assert [s["broker"] for s in recent["series"]] == [0, 1]
    assert len(recent["series"][0]["points"]) == 4  # the last sample was 5 minutes before `now`
    day = timeseries.query(
        cluster, "bytes_in_per_s", now - timedelta(days=1), now, broker=1, topic="", now=now
    )
    assert day["resolution_s"] == 60 and len(day["series"]) == 1
    month = timeseries.query(cluster, "bytes_in_per_s", start, now, topic="", now=now)
    assert month["resolution_s"] == 3600
    assert len(month["series"][1]["points"]) == counts[Resolution.HOUR] // 2

    assert cluster.series.filter(topic="gone").exists()
    timeseries.prune(start + timedelta(days=401))
    assert not cluster.series.filter(topic="gone").exists()
