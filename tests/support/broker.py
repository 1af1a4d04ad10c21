"""A real broker process for tests: start, stop (SIGTERM), kill -9, pause, restart, read its log."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port, wait_for_port

HOST = "127.0.0.1"


class BrokerProcess:
    def __init__(
        self, data_dir: Path, overrides: dict[str, object] | None = None, broker_id: int = 0
    ):
        self.data_dir = data_dir
        self.port = free_port(HOST)
        self.broker_id = broker_id
        self.overrides: dict[str, object] = {
            "broker.id": broker_id,
            "listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "log.dirs": str(data_dir / "logs"),
            "num.partitions": 1,
            "log.format": "json",
            **(overrides or {}),
        }
        self.log_path = data_dir / f"broker-{broker_id}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self, timeout: float = 20) -> BrokerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [sys.executable, "-m", "dataplane", "serve"]
        for key, value in self.overrides.items():
            args += ["--override", f"{key}={value}"]
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(args, stdout=log_file, stderr=log_file)
        log_file.close()
        if not wait_for_port(HOST, self.port, timeout):
            self.kill()
            raise RuntimeError(f"broker did not start; log:\n{self.log_text()}")
        return self

    def stop(self, timeout: float = 20) -> int:
        """Graceful shutdown (SIGTERM); returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """Crash the broker (SIGKILL): nothing is flushed or checkpointed."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def restart(self, graceful: bool = True) -> BrokerProcess:
        if graceful:
            self.stop()
        else:
            self.kill()
        return self.start()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_records(self) -> list[dict]:
        records = []
        for line in self.log_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                continue
        return records

    def partition_dir(self, topic: str, partition: int) -> Path:
        return self.data_dir / "logs" / f"{topic}-{partition}"
