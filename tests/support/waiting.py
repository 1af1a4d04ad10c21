"""Polling with a deadline: the one way tests (and benches) wait for a condition."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 20,
    message: str = "",
    interval: float = 0.1,
    retry_errors: bool = False,
) -> T:
    """Poll `predicate` until it returns something truthy (which is returned); fail after `timeout`
    seconds. With `retry_errors`, an exception from the predicate counts as "not yet" (a cluster
    may be mid-failover); otherwise it propagates at once."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            if not retry_errors:
                raise
            last_error = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message}{detail}")
        time.sleep(interval)
