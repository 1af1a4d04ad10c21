"""The replication throttle's token bucket, with a hand-driven clock and a rate that changes."""

from __future__ import annotations

import pytest

from dataplane.replication import throttle
from dataplane.replication.throttle import Throttle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(throttle.time, "monotonic", fake)
    return fake


def test_rate_limits_bytes_per_second_after_a_one_second_burst(clock: Clock) -> None:
    bucket = Throttle(lambda: 1000)
    assert bucket.open()
    bucket.spend(3000)  # a fetch is not split: it overdraws
    clock.now += 1.9
    assert not bucket.open()
    clock.now += 0.2
    assert bucket.open()
    clock.now += 60
    bucket.open()
    assert bucket.allowance == 1000  # idle time earns no more than a second's worth


def test_unlimited_never_closes(clock: Clock) -> None:
    bucket = Throttle(lambda: -1)
    for _ in range(3):
        bucket.spend(10**9)
        assert bucket.open()


def test_a_new_rate_applies_at_once(clock: Clock) -> None:
    rate = [1000]
    bucket = Throttle(lambda: rate[0])
    bucket.spend(5000)
    assert not bucket.open()
    rate[0] = -1  # the throttle is removed: open at once, whatever the debt
    assert bucket.open()
    rate[0] = 100  # and set again: a fresh one-second burst, then 100 bytes/s
    assert bucket.open()
    bucket.spend(150)
    clock.now += 0.4
    assert not bucket.open()
    clock.now += 0.2
    assert bucket.open()
    rate[0] = 10_000  # raised: a debt is repaid at the new rate
    assert bucket.open()
    bucket.spend(5000)
    clock.now += 0.4
    assert not bucket.open()
    clock.now += 0.2
    assert bucket.open()
