"""A TCP proxy on loopback whose link can be cut and healed, to partition a process from the network.

    proxy = TcpProxy(upstream_port).start()
    proxy.port        # where clients connect instead of upstream_port
    proxy.cut()       # every open connection is reset; new connections are reset at once
                      # (or, with cut(blackhole=True), accepted and left silent)
    proxy.heal()      # new connections are forwarded again

Blocking sockets and one thread per direction per connection: the handful of connections a test
makes (brokers' clients, followers, ZooKeeper sessions) is well within that.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from tests.support.ports import free_port

HOST = "127.0.0.1"
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class _Link:
    """One proxied connection: a client socket and its upstream socket, pumped both ways."""

    def __init__(self, proxy: TcpProxy, client: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.closed = False
        self._lock = threading.Lock()

    def start(self) -> None:
        for source, target in ((self.client, self.upstream), (self.upstream, self.client)):
            threading.Thread(
                target=self._pump, args=(source, target), daemon=True, name="proxy-pump"
            ).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        with self._lock:
            if self.closed:
                return
            self.closed = True
        _reset(self.client)
        _reset(self.upstream)
        self.proxy._forget(self)


class TcpProxy:
    def __init__(self, upstream_port: int, upstream_host: str = HOST, port: int | None = None):
        self.upstream = (upstream_host, upstream_port)
        self.port = port or free_port(HOST)
        self.is_cut = False
        self.blackhole = False
        self._links: set[_Link] = set()
        self._held: list[socket.socket] = []  # connections accepted while blackholed
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.accepted = 0

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(256)
        listener.settimeout(0.2)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="proxy-accept")
        self._thread.start()
        return self

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping:
                    return
                continue
            self.accepted += 1
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.is_cut:
                if self.blackhole:
                    with self._lock:
                        self._held.append(client)
                else:
                    _reset(client)
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            _reset(client)  # upstream down: the client sees the refusal as a reset
            return
        upstream.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(self, client, upstream)
        with self._lock:
            if self.is_cut:
                cut_meanwhile = True
            else:
                cut_meanwhile = False
                self._links.add(link)
        if cut_meanwhile:
            _reset(client)
            _reset(upstream)
            return
        link.start()

    def _forget(self, link: _Link) -> None:
        with self._lock:
            self._links.discard(link)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._links)

    def cut(self, blackhole: bool = False) -> None:
        """Drop every open connection (both ends see a reset) and stop forwarding new ones: they
        are reset at once, or with `blackhole` accepted and never answered."""
        with self._lock:
            self.is_cut = True
            self.blackhole = blackhole
            links = list(self._links)
        for link in links:
            link.close()

    def heal(self) -> None:
        with self._lock:
            self.is_cut = False
            held, self._held = self._held, []
        for sock in held:
            _reset(sock)

    def stop(self) -> None:
        self._stopping = True
        self.cut()
        self.heal()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        if self._thread is not None:
            self._thread.join(2)
