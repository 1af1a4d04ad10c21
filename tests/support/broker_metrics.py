"""A broker's Prometheus endpoint (the metrics.listener setting), read over HTTP."""

from __future__ import annotations

import urllib.request

from tests.support.broker import HOST


def broker_metric(metrics_port: int, name: str) -> float:
    """The first sample of series `name`: for unlabelled series such as
    dataplane_failed_authentication_total."""
    with urllib.request.urlopen(f"http://{HOST}:{metrics_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    for line in text.splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} in the metrics")
