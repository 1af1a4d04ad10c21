"""A byte budget per second for the replication traffic of reassignments (Kafka's
`leader.replication.throttled.rate` and `follower.replication.throttled.rate`).

Sans-IO: callers ask `open()` before moving bytes and `spend()` what they moved. The rate is read
from its source on every call, so a dynamic config change takes effect at the next fetch.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Throttle:
    """A token bucket holding at most one second's worth of bytes; -1 means unlimited. A transfer
    may overdraw it (a fetch is not split), after which it stays closed until the debt is repaid."""

    def __init__(self, rate: Callable[[], int]) -> None:
        self._rate_of = rate
        self.rate = rate()
        self.allowance = float(max(self.rate, 0))
        self.updated = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        if self.rate >= 0:
            self.allowance = min(self.rate, self.allowance + (now - self.updated) * self.rate)
        self.updated = now
        rate = self._rate_of()
        if rate != self.rate:
            # A new rate: an unlimited throttle starts with a fresh one-second burst, a limited one
            # keeps its debt (repaid at the new rate) but no more than a second's worth of credit.
            self.allowance = float(max(rate, 0)) if self.rate < 0 else min(self.allowance, rate)
            self.rate = rate

    def open(self) -> bool:
        """May bytes move now?"""
        self._refill()
        return self.rate < 0 or self.allowance > 0

    def spend(self, size: int) -> None:
        if self.rate >= 0:
            self.allowance -= size
