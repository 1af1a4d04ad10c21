"""Pushes this broker's health to the control plane every few seconds (`health.report.url`).

The report is small JSON over HTTP, posted from a worker thread so a slow or absent control plane
never stalls the event loop; a failed post is logged and the next one goes out on schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dataplane import __version__

log = logging.getLogger(__name__)


def disk_used_bytes(log_dirs: Iterable[Path]) -> int:
    total = 0
    for log_dir in log_dirs:
        for root, _dirs, files in os.walk(log_dir):
            for name in files:
                with contextlib.suppress(OSError):  # deleted by retention meanwhile
                    total += os.stat(os.path.join(root, name)).st_size
    return total


class HealthReporter:
    def __init__(
        self,
        url: str,
        token: str,
        interval_s: float,
        facts: Callable[[], dict[str, Any]],
        traffic: Callable[[], tuple[int, int]],
        log_dirs: list[Path],
    ) -> None:
        self.url = url
        self.token = token
        self.interval_s = interval_s
        self.facts = facts
        self.traffic = traffic
        self.log_dirs = log_dirs
        self.started = time.monotonic()
        self.state = "starting"

    def report(
        self, previous: tuple[float, int, int], disk_used: int
    ) -> tuple[dict[str, Any], tuple[float, int, int]]:
        """The next report, and the traffic sample to measure the one after it against."""
        now = time.monotonic()
        bytes_in, bytes_out = self.traffic()
        then, previous_in, previous_out = previous
        elapsed = max(now - then, 1e-3)
        facts = self.facts()
        body = {
            "state": self.state,
            "uptime_s": round(now - self.started, 1),
            "partitions_led": facts["leader_partitions"],
            "under_replicated": facts["under_replicated"],
            "bytes_in_per_s": round((bytes_in - previous_in) / elapsed, 1),
            "bytes_out_per_s": round((bytes_out - previous_out) / elapsed, 1),
            "disk_used_bytes": disk_used,
            "log_dirs_used_bytes": facts["log_dirs_used_bytes"],
            "log_dirs_quota_bytes": facts["log_dirs_quota_bytes"],
            "version": __version__,
        }
        return body, (now, bytes_in, bytes_out)

    def post(self, body: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=max(self.interval_s, 2.0)) as response:
            response.read()

    async def run(self) -> None:
        sample = (time.monotonic(), *self.traffic())
        while True:
            await asyncio.sleep(self.interval_s)
            disk_used = await asyncio.to_thread(disk_used_bytes, self.log_dirs)
            body, sample = self.report(sample, disk_used)
            try:
                await asyncio.to_thread(self.post, body)
            except (OSError, urllib.error.URLError) as exc:
                log.warning("health report to %s failed: %s", self.url, exc)
