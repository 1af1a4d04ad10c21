"""moto in server mode as a real process: an EC2 API on a free loopback port for the AWS provider's
tests, reached over HTTP through boto3 exactly as the provider reaches AWS (`endpoint_url`).

    server = MotoServer(tmp_dir).start()
    server.url      # "http://127.0.0.1:<port>"
    server.stop()   # by its pid
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.ports import free_port
from tests.support.waiting import wait_until

HOST = "127.0.0.1"


class MotoServer:
    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.port = free_port(HOST)
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = base_dir / "moto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> MotoServer:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        env = {
            # The server answers whatever credentials a client signs with; keep the test
            # process's own AWS settings (if any) out of it.
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_")
        }
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        wait_until(self._ready, 30, f"moto server on {self.url} (see {self.log_path})", 0.1)
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"moto server exited; see {self.log_path}")
        try:
            return httpx.get(f"{self.url}/moto-api/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
