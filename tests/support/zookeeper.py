"""Real Apache ZooKeeper servers for tests: a single node, or an ensemble on loopback.

Each node is a `QuorumPeerMain` JVM (Debian's zookeeper.jar) with its own conf dir (zoo.cfg and a
log4j.properties) and data dir. tickTime is 500 ms so that session timeouts of 2-6 s are allowed
(ZooKeeper bounds them to 2-20 ticks by default; maxSessionTimeout is raised anyway).

    server = ZooKeeperServer(tmp_dir).start()         # standalone
    ensemble = ZooKeeperEnsemble(tmp_dir, 3).start()  # three nodes, quorum and election ports
    ensemble.connect_string("/chroot")                 # "127.0.0.1:a,127.0.0.1:b,127.0.0.1:c/chroot"

Tests share one session-scoped server and each takes its own chroot (`unique_chroot`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from kazoo.client import KazooClient

from tests.support.ports import free_port

HOST = "127.0.0.1"
ZOOKEEPER_JAR = Path("/usr/share/java/zookeeper.jar")
LOG4J_SOURCE = Path("/etc/zookeeper/conf/log4j.properties")
TICK_MS = 500

_chroots = itertools.count()


def four_letter_word(port: int, word: str, timeout: float = 1.0) -> str:
    """Send a four-letter command (ruok, srvr) and return the whole answer ('' on failure)."""
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(word.encode())
            chunks = []
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks).decode(errors="replace")
    except OSError:
        return ""


def unique_chroot(prefix: str = "test") -> str:
    """A chroot path no other test uses."""
    return f"/{prefix}-{os.getpid()}-{next(_chroots)}-{uuid.uuid4().hex[:8]}"


class ZooKeeperNode:
    """One ZooKeeper server process. `peers` (myid → (quorum port, election port)) makes it part
    of an ensemble; without it the node runs standalone."""

    def __init__(
        self,
        base_dir: Path,
        myid: int = 1,
        client_port: int | None = None,
        peers: dict[int, tuple[int, int]] | None = None,
    ) -> None:
        self.base_dir = base_dir
        self.myid = myid
        self.client_port = client_port or free_port(HOST)
        self.peers = peers
        self.conf_dir = base_dir / "conf"
        self.data_dir = base_dir / "data"
        self.log_path = base_dir / "zookeeper.log"
        self.process: subprocess.Popen[bytes] | None = None

    # --- configuration --------------------------------------------------------------------------

    def _write_config(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(LOG4J_SOURCE, self.conf_dir / "log4j.properties")
        lines = [
            f"tickTime={TICK_MS}",
            "initLimit=10",
            "syncLimit=5",
            f"dataDir={self.data_dir}",
            f"clientPort={self.client_port}",
            f"clientPortAddress={HOST}",
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok,srvr",
            "minSessionTimeout=1000",
            "maxSessionTimeout=60000",
            "maxClientCnxns=0",
            "autopurge.purgeInterval=0",
        ]
        if self.peers:
            (self.data_dir / "myid").write_text(f"{self.myid}\n")
            lines.append("cnxTimeout=1000")
            lines += [
                f"server.{sid}={HOST}:{quorum}:{election}"
                for sid, (quorum, election) in sorted(self.peers.items())
            ]
        else:
            lines.append("standaloneEnabled=true")
        (self.conf_dir / "zoo.cfg").write_text("\n".join(lines) + "\n")

    # --- lifecycle ------------------------------------------------------------------------------

    def launch(self) -> ZooKeeperNode:
        """Start the JVM without waiting for it to serve."""
        assert not self.alive, "already running"
        self._write_config()
        args = [
            "java",
            "-Xmx128m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dzookeeper.root.logger=INFO,CONSOLE",
            f"-Dzookeeper.log.dir={self.base_dir}",
            "-cp",
            f"{self.conf_dir}:{ZOOKEEPER_JAR}",
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            str(self.conf_dir / "zoo.cfg"),
        ]
        log_file = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        self.process = subprocess.Popen(
            args, stdout=log_file, stderr=log_file, stdin=subprocess.DEVNULL
        )
        log_file.close()
        return self

    def start(self, timeout: float = 30) -> ZooKeeperNode:
        self.launch()
        self.wait_serving(timeout)
        return self

    def wait_serving(self, timeout: float = 30) -> None:
        """Until the node answers `ruok` and `srvr` says it serves (standalone, leader or
        follower), and a kazoo session can be opened."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"ZooKeeper exited; log:\n{self.log_text()[-4000:]}")
            if self.ruok() and "Mode:" in self.srvr():
                break
            time.sleep(0.1)
        else:
            raise RuntimeError(
                f"ZooKeeper on port {self.client_port} did not serve within {timeout}s; "
                f"srvr={self.srvr()!r}; log:\n{self.log_text()[-4000:]}"
            )
        client = KazooClient(hosts=f"{HOST}:{self.client_port}", timeout=5)
        try:
            client.start(max(deadline - time.monotonic(), 5))
        finally:
            client.stop()
            client.close()

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM (ZooKeeper has no graceful path beyond that), SIGKILL if it lingers."""
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def pause(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- probes ---------------------------------------------------------------------------------

    def ruok(self) -> bool:
        return four_letter_word(self.client_port, "ruok") == "imok"

    def srvr(self) -> str:
        return four_letter_word(self.client_port, "srvr")

    def mode(self) -> str | None:
        """'standalone', 'leader' or 'follower', or None if not serving."""
        for line in self.srvr().splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None

    @property
    def address(self) -> str:
        return f"{HOST}:{self.client_port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class ZooKeeperServer(ZooKeeperNode):
    """A standalone ZooKeeper: the server most tests share (each in its own chroot)."""

    def __init__(self, base_dir: Path, client_port: int | None = None) -> None:
        super().__init__(base_dir, 1, client_port)

    @property
    def nodes(self) -> list[ZooKeeperNode]:
        return [self]

    def connect_string(self, chroot: str = "") -> str:
        return self.address + chroot

    @contextlib.contextmanager
    def client(self, chroot: str = "", timeout: float = 10) -> Iterator[KazooClient]:
        with kazoo_client(self.connect_string(chroot), timeout) as zk:
            yield zk


class ZooKeeperEnsemble:
    """`size` ZooKeeper nodes forming one quorum on loopback (client, quorum, election ports)."""

    def __init__(self, base_dir: Path, size: int = 3) -> None:
        peers = {sid: (free_port(HOST), free_port(HOST)) for sid in range(1, size + 1)}
        self.nodes = [
            ZooKeeperNode(base_dir / f"zk-{sid}", sid, free_port(HOST), peers)
            for sid in range(1, size + 1)
        ]

    def start(self, timeout: float = 60) -> ZooKeeperEnsemble:
        for node in self.nodes:
            node.launch()
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            node.wait_serving(max(deadline - time.monotonic(), 1))
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()

    def leader(self) -> ZooKeeperNode | None:
        return next((n for n in self.nodes if n.alive and n.mode() == "leader"), None)

    def connect_string(self, chroot: str = "") -> str:
        return ",".join(n.address for n in self.nodes) + chroot

    @contextlib.contextmanager
    def client(self, chroot: str = "", timeout: float = 10) -> Iterator[KazooClient]:
        with kazoo_client(self.connect_string(chroot), timeout) as zk:
            yield zk


@contextlib.contextmanager
def kazoo_client(hosts: str, timeout: float = 10) -> Iterator[KazooClient]:
    """A started kazoo client (hosts may carry a /chroot), stopped and closed afterwards."""
    zk = KazooClient(hosts=hosts, timeout=timeout)
    zk.start(timeout)
    try:
        yield zk
    finally:
        zk.stop()
        zk.close()
