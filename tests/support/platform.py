"""The whole control plane as real processes for tests: a fresh PostgreSQL database, migrations,
the ASGI server (uvicorn) and a Celery worker with its beat, all sharing one Redis, with a loopback
network and a node directory of their own so the clusters they provision cannot meet anyone else's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.support.ports import free_port, wait_for_port
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TERMINAL_STATES = ("succeeded", "failed", "cancelled")


def _database_url(name: str) -> str:
    base, _, _old = POSTGRES.rpartition("/")
    return f"{base}/{name}"


class Platform:
    def __init__(self, base_dir: Path, web_workers: int = 1) -> None:
        self.base_dir = base_dir
        self.web_workers = web_workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        tag = f"{os.getpid()}-{secrets.token_hex(3)}"
        self.database = f"streamplane_test_{tag.replace('-', '_')}"
        # A /26 of loopback addresses picked from the process id keeps parallel runs apart.
        second, third = 100 + os.getpid() % 100, (os.getpid() // 100) % 250
        self.network = f"127.{second}.{third}.0/26"
        self.nodes_root = base_dir / "nodes"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "controlplane.settings",
            "DATABASE_URL": _database_url(self.database),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "STREAMPLANE_VAR_DIR": str(base_dir / "var"),
            "LOCAL_PROVIDER_ROOT": str(self.nodes_root),
            "LOCAL_PROVIDER_NETWORK": self.network,
            "CONTROLPLANE_URL": self.url,
            "CELERY_QUEUE": f"test-{tag}",
            "CHANNELS_PREFIX": f"test-{tag}",
            "HEALTH_REPORT_INTERVAL_S": "2",
            "OPERATION_LEASE_S": "6",
            "RECONCILE_INTERVAL_S": "3",
            "LAG_INTERVAL_S": "2",
            "ALERT_INTERVAL_S": "2",
            "PYTHONUNBUFFERED": "1",
        }
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.worker_starts = 0

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Platform:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.manage("migrate", "--noinput")
        self.web = self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "controlplane.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--workers",
                str(self.web_workers),
            ],
        )
        self.start_worker()
        if not wait_for_port("127.0.0.1", self.port, 30):
            raise RuntimeError(f"the web server did not start; see {self.base_dir / 'web.log'}")
        return self

    def start_worker(self) -> None:
        self.worker_starts += 1
        self.worker = self._spawn(
            f"worker-{self.worker_starts}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "controlplane",
                "worker",
                "--beat",
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "--loglevel",
                "INFO",
                "--schedule",
                str(self.base_dir / f"beat-{self.worker_starts}"),
                "--hostname",
                f"worker{self.worker_starts}@%h",
            ],
        )

    def kill_worker(self) -> None:
        """SIGKILL the worker and everything it started (a machine dying, not a polite stop)."""
        assert self.worker is not None
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait()

    def stop(self) -> None:
        self.destroy_leftover_nodes()
        for process in (self.worker, self.web):
            if process and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def destroy_leftover_nodes(self) -> None:
        """Stop any node process a failed test left behind (found by its pidfile)."""
        for pidfile in self.nodes_root.glob("*/*/*.pid"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.base_dir / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        return process

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def sql(self, query: str, *params: Any) -> list[tuple]:
        """Run a statement on the platform's database; the rows it returns, if any."""
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    # --- tenants and clients ----------------------------------------------------------------------

    def tenant(
        self,
        organisation: str,
        username: str,
        password: str | None = None,
        token: str | None = "ci",
        read_only: bool = False,
        role: str = "owner",
    ) -> str | None:
        """Create an organisation member (and a token); returns the token's secret."""
        import json

        args = ["create_tenant", "--organisation", organisation, "--username", username, "--json"]
        args += ["--role", role]
        if password:
            args += ["--password", password]
        if token:
            args += ["--token", token]
        if read_only:
            args.append("--read-only")
        return json.loads(self.manage(*args))["token"]

    def api(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=60)

    # --- waiting ----------------------------------------------------------------------------------

    def wait_operation(self, api: httpx.Client, operation_id: str, timeout: float = 240) -> dict:
        def finished() -> dict | None:
            operation = api.get(f"/operations/{operation_id}/").json()
            return operation if operation["state"] in TERMINAL_STATES else None

        return wait_until(finished, timeout, f"operation {operation_id} to finish", interval=0.5)

    def describe_failure(self) -> str:
        """The tail of each process log, for assertion messages."""
        parts = []
        for log in sorted(self.base_dir.glob("*.log")):
            parts.append(
                f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            )
        return "\n".join(parts)


class Bootstrap:
    """What the replication test clients need of a cluster: its client settings."""

    def __init__(self, servers: str) -> None:
        self.bootstrap = servers

    def client_config(self, **extra: object) -> dict[str, object]:
        return {"bootstrap.servers": self.bootstrap, **extra}


def node_processes(nodes_root: Path) -> list[int]:
    """Pids of live processes whose command line mentions a directory under `nodes_root`."""
    found = []
    marker = str(nodes_root)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(int(proc.name))
    return found


def broker_processes(nodes_root: Path) -> list[int]:
    """Pids of the broker processes among the node processes under `nodes_root`."""
    return sorted(
        pid
        for pid in node_processes(nodes_root)
        if b"dataplane" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )


def wait_gone(nodes_root: Path, timeout: float = 60) -> None:
    wait_until(lambda: not node_processes(nodes_root), timeout, "node processes to exit")
