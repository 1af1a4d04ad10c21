"""Fixed-bucket histograms, cheap enough to record every request (sans-IO).

An observation is one `bisect` over a short tuple of bounds and two additions: no allocation, no
lock. Buckets follow Prometheus' meaning (`le`: values at most the bound), so they render as a
Prometheus histogram as they are, and quantiles are estimated the way `histogram_quantile` does it.
Counts are kept per bucket and made cumulative only when read.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

# Seconds, 1-2-5 steps from 50 µs to a minute: queue times of tens of microseconds, produce times
# of milliseconds and fetch long polls of up to `fetch.max.wait.ms` all land between two bounds at
# most 2.5x apart, so an interpolated p99 is within that factor at worst.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.00005,
    0.0001,
    0.0002,
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
    2.0,
    5.0,
    10.0,
    30.0,
    60.0,
)


class Histogram:
    """Observations counted into buckets; the last bucket (+Inf) takes what exceeds every bound.
    Not thread-safe: record from one thread (the event loop), or under a lock."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def snapshot(self) -> HistogramSnapshot:
        return HistogramSnapshot(self.bounds, tuple(self.counts), self.sum)


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    """A histogram's counts at one moment; two of them subtract to what happened in between."""

    bounds: tuple[float, ...]
    counts: tuple[int, ...]  # per bucket, not cumulative; the last is +Inf
    sum: float

    @property
    def count(self) -> int:
        return sum(self.counts)

    def cumulative(self) -> list[int]:
        """Counts as Prometheus buckets carry them: each includes every bucket below it."""
        total = 0
        result = []
        for count in self.counts:
            total += count
            result.append(total)
        return result

    def since(self, earlier: HistogramSnapshot) -> HistogramSnapshot:
        """What was observed after `earlier` (a snapshot of the same histogram)."""
        return HistogramSnapshot(
            self.bounds,
            tuple(now - then for now, then in zip(self.counts, earlier.counts, strict=True)),
            self.sum - earlier.sum,
        )

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0 ≤ q ≤ 1), interpolated linearly within its bucket as Prometheus'
        `histogram_quantile` does; the highest bound if it falls in +Inf; None without observations."""
        total = self.count
        if total == 0:
            return None
        rank = q * total
        below = 0
        for index, count in enumerate(self.counts):
            if count and below + count >= rank:
                if index == len(self.bounds):
                    return self.bounds[-1]
                lower = self.bounds[index - 1] if index else 0.0
                upper = self.bounds[index]
                return lower + (upper - lower) * (rank - below) / count
            below += count
        return self.bounds[-1]


def combined(
    snapshots: Iterable[HistogramSnapshot], bounds: tuple[float, ...]
) -> HistogramSnapshot:
    """Several histograms with the same bounds as one (e.g. every API's queue time)."""
    counts = [0] * (len(bounds) + 1)
    total = 0.0
    for snapshot in snapshots:
        assert snapshot.bounds == bounds, "only histograms with the same buckets add up"
        for index, count in enumerate(snapshot.counts):
            counts[index] += count
        total += snapshot.sum
    return HistogramSnapshot(bounds, tuple(counts), total)
