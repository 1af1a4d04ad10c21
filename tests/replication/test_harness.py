"""The harness itself: the TCP proxy forwards, cuts (reset or blackhole) and heals; the shared
ZooKeeper answers its four-letter words and hands out separate chroots."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.support.proxy import TcpProxy
from tests.support.zookeeper import ZooKeeperServer, kazoo_client, unique_chroot


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


def roundtrip(port: int, payload: bytes = b"ping", timeout: float = 2) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


def test_proxy_forwards_cuts_and_heals(echo_port):
    proxy = TcpProxy(echo_port).start()
    try:
        assert roundtrip(proxy.port) == b"ping"
        held = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        held.sendall(b"a")
        assert held.recv(10) == b"a"

        proxy.cut()
        # The open connection is dropped...
        with pytest.raises(OSError):
            held.sendall(b"b")
            if not held.recv(10):
                raise ConnectionResetError("closed")
        held.close()
        # ...and new ones are reset at once.
        with pytest.raises(OSError):
            if not roundtrip(proxy.port):
                raise ConnectionResetError("closed")

        proxy.heal()
        assert roundtrip(proxy.port) == b"ping"

        proxy.cut(blackhole=True)
        with pytest.raises(TimeoutError):
            roundtrip(proxy.port, timeout=0.5)  # accepted, never answered
        proxy.heal()
        assert roundtrip(proxy.port) == b"ping"
    finally:
        proxy.stop()


def test_zookeeper_answers_and_chroots_are_separate(zookeeper: ZooKeeperServer):
    assert zookeeper.ruok()
    assert zookeeper.mode() == "standalone"
    first, second = unique_chroot(), unique_chroot()
    assert first != second
    with kazoo_client(zookeeper.connect_string()) as zk:
        zk.ensure_path(first + "/brokers/ids")
        assert zk.exists(second) is None
        zk.delete(first, recursive=True)
