"""One client connection: frames in, handlers run, responses out strictly in request order.

Reads land in a reusable buffer; every complete frame in a read is dispatched; responses that are ready
together are written together. Reading pauses while too many requests are in flight and while the
transport's write buffer is full, which bounds memory per connection.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import struct
from collections import deque
from collections.abc import Callable
from time import perf_counter
from typing import TYPE_CHECKING

from dataplane.broker.authentication import SaslSession
from dataplane.broker.context import RequestContext
from dataplane.broker.dispatch import API_VERSIONS_KEY, APIS, Api
from dataplane.broker.handlers.api_versions import supported_api_keys
from dataplane.broker.stats import BrokerStats, RequestStats
from dataplane.protocol.errors import ErrorCode
from dataplane.protocol.framing import FrameDecoder, FrameTooLarge
from dataplane.protocol.header import RequestHeader, peek_api, read_request_header, response_header
from dataplane.protocol.primitives import ProtocolError, Reader, Writer
from dataplane.security.tls import principal_from_certificate

if TYPE_CHECKING:
    from dataplane.broker.server import Broker

log = logging.getLogger(__name__)

_SIZE = struct.Struct(">i")
MAX_IN_FLIGHT = 64
TLS_HANDSHAKE_S = 10.0  # a client that has not finished its TLS handshake by then is dropped
MAX_COALESCED_BYTES = 1 << 20  # responses ready together are written together, up to this much
_DECODE_ERRORS = (ProtocolError, struct.error, IndexError, ValueError, UnicodeDecodeError)

# A request in flight: its response (None: none is sent), where its times are recorded (None when
# recording is off) and when the read that completed its frame happened.
_InFlight = tuple[asyncio.Future[bytes | bytearray | None], RequestStats | None, float]


class KafkaConnection(asyncio.BufferedProtocol):
    def __init__(
        self,
        broker: Broker,
        listener: str = "",
        session: SaslSession | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.broker = broker
        self.listener = listener
        # On an SSL or SASL_SSL listener: requests are read only after the TLS handshake.
        self._tls = tls
        self.tls_principal: str | None = None  # from the client certificate, on SSL listeners
        # On a SASL listener: nothing but ApiVersions and the SASL exchange before it succeeds.
        self.session = session
        self._failure_close: asyncio.TimerHandle | None = None
        self._decoder = FrameDecoder(broker.config["socket.request.max.bytes"])
        self._pending: deque[_InFlight] = deque()
        self._backlog: deque[bytes | memoryview] = deque()  # complete frames not yet started
        self._stats: BrokerStats | None = broker.stats if broker.stats.recording else None
        # One time serves every frame in the backlog: reading pauses while a backlog is held, so
        # all of it came in the same read.
        self._read_at = 0.0
        self._wakeup = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._reading_paused = False
        self._closed = False
        self.peer = "?"
        self.address = ""  # the client's IP address, as the listener firewall sees it
        self._transport: asyncio.Transport | None = None
        self._sender: asyncio.Task[None] | None = None
        self._handshake: asyncio.Task[None] | None = None

    # --- transport callbacks --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.address = peer[0] if peer else ""
        if not self.broker.admits(self.listener, self.address):
            log.warning(
                "connection refused by connections.allowed.cidrs",
                extra={"client": self.peer, "listener": self.listener},
            )
            self.broker.stats.record_connection_refused()
            self._closed = True
            transport.abort()
            return
        self.broker.connections.add(self)
        if self._tls is None:
            self._serve(transport)
            return
        # Not a byte for the Kafka decoder until the handshake has run over this transport.
        transport.pause_reading()
        self._handshake = asyncio.get_running_loop().create_task(
            self._start_tls(transport, self._tls)
        )

    async def _start_tls(self, transport: asyncio.Transport, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            tls_transport = await loop.start_tls(
                transport, self, context, server_side=True, ssl_handshake_timeout=TLS_HANDSHAKE_S
            )
        except (OSError, ConnectionError, TimeoutError) as exc:
            if self._closed:  # the broker closed it (shutdown, firewall), not the client
                return
            self._closed = True
            if isinstance(exc, ssl.SSLError):
                # A client that distrusts our certificate, a client certificate we do not trust,
                # not TLS at all: the connection goes, the broker serves on.
                log.warning(
                    "TLS handshake failed",
                    extra={
                        "client": self.peer,
                        "listener": self.listener,
                        "reason": exc.reason or str(exc),
                    },
                )
                self.broker.stats.record_failed_authentication()
            else:
                # Gone or silent before a TLS message was exchanged (port probes, health checks):
                # a disconnect, not a failed authentication.
                log.debug(
                    "connection closed during the TLS handshake",
                    extra={"client": self.peer, "listener": self.listener, "error": repr(exc)},
                )
            transport.abort()
            self.broker.connections.discard(self)
            return
        if tls_transport is None or self._closed:  # closed by the broker meanwhile
            return
        ssl_object = tls_transport.get_extra_info("ssl_object")
        self.tls_principal = principal_from_certificate(
            ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        )
        self._serve(tls_transport)

    def _serve(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._sender = asyncio.get_running_loop().create_task(self._send_responses())

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._failure_close is not None:
            self._failure_close.cancel()
        self.broker.connections.discard(self)
        for future, _stats, _read_at in self._pending:
            future.cancel()
        self._pending.clear()
        if self._sender is not None:
            self._sender.cancel()

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._decoder.writable()

    def buffer_updated(self, nbytes: int) -> None:
        self.broker.bytes_in += nbytes
        if self._stats is not None:
            self._read_at = perf_counter()
        try:
            self._backlog.extend(self._decoder.filled(nbytes))
        except FrameTooLarge as exc:
            self.abort(str(exc))
            return
        self._dispatch_backlog()

    def _dispatch_backlog(self) -> None:
        """Start requests while fewer than MAX_IN_FLIGHT are pending; hold the rest, unread, and
        stop reading from the socket until the responses drain."""
        backlog = self._backlog
        while backlog and len(self._pending) < self._max_in_flight() and not self._closed:
            self._dispatch(backlog.popleft())
        assert self._transport is not None
        if backlog and not self._reading_paused and not self._closed:
            self._reading_paused = True
            self._transport.pause_reading()
        elif not backlog and self._reading_paused and not self._closed:
            self._reading_paused = False
            self._transport.resume_reading()

    def _max_in_flight(self) -> int:
        # Until authenticated, one request at a time: whether the next may be served depends on
        # how the SASL exchange before it ends.
        if self.session is not None and not self.session.authenticated:
            return 1
        return MAX_IN_FLIGHT

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    def abort(self, reason: str) -> None:
        """Close this connection after bad input; the broker keeps serving everyone else."""
        if self._closed:
            return
        log.warning("closing connection", extra={"client": self.peer, "reason": reason})
        self._closed = True
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        if self._transport is not None and not self._closed:
            self._closed = True
            self._transport.close()

    # --- requests -------------------------------------------------------------------------------

    def _dispatch(self, frame: bytes | memoryview) -> None:
        try:
            api_key, version = peek_api(frame)
        except _DECODE_ERRORS:
            self.abort("frame too short for a request header")
            return
        api = APIS.get(api_key)
        if api is None:
            self.abort(f"unknown API key {api_key}")
            return
        if self.session is not None and not self.session.may_serve(api_key):
            # Kafka closes such a connection too: the client is not speaking SASL.
            self.abort(f"{api.name} request before SASL authentication")
            return
        if not api.serves(version):
            if api_key == API_VERSIONS_KEY:
                self._reply_unsupported_api_versions(frame)
            else:
                self.abort(f"{api.name} v{version} is not supported")
            return
        try:
            reader = Reader(frame)
            header = read_request_header(reader, api.request.is_flexible(version))
            request = api.request.decode(reader, version)
        except _DECODE_ERRORS as exc:
            self.abort(f"malformed {api.name} v{version} request: {exc}")
            return
        stats = None if self._stats is None else self._stats.for_request(api.key, request)
        task = asyncio.get_running_loop().create_task(
            self._process(api, header, request, stats, self._read_at)
        )
        self._pending.append((task, stats, self._read_at))
        self._wakeup.set()

    def _reply_unsupported_api_versions(self, frame: bytes | memoryview) -> None:
        # Answer with a v0 body listing our ranges so the client can retry with a version we know.
        correlation_id = struct.unpack_from(">i", frame, 4)[0]
        api = APIS[API_VERSIONS_KEY]
        body = api.response.encode(
            {
                "error_code": ErrorCode.UNSUPPORTED_VERSION,
                "api_keys": supported_api_keys(self.broker),
            },
            0,
        ).buf
        future = asyncio.get_running_loop().create_future()
        future.set_result(
            self._frame(response_header(correlation_id, False), lambda w: w.raw(body))
        )
        stats = None
        if self._stats is not None:
            stats = self._stats.requests[API_VERSIONS_KEY]
            stats.record_queue_time(perf_counter() - self._read_at)
        self._pending.append((future, stats, self._read_at))
        self._wakeup.set()

    async def _process(
        self,
        api: Api,
        header: RequestHeader,
        request: dict,
        stats: RequestStats | None,
        read_at: float,
    ) -> bytearray | None:
        if stats is not None:
            stats.record_queue_time(perf_counter() - read_at)
        ctx = RequestContext(
            self.broker, header, self.peer, self.listener, self.session, self.tls_principal
        )
        response = await api.handle(ctx, request)
        if response is None:
            return None
        version = header.api_version
        flexible_header = api.response.is_flexible(version) and api.key != API_VERSIONS_KEY
        return self._frame(
            response_header(header.correlation_id, flexible_header),
            lambda writer: api.response.encode(response, version, writer),
        )

    def _close_after_failure(self) -> None:
        """The SASL exchange failed and the client has its answer: close after a delay that slows
        down password guessing (connection.failed.authentication.delay.ms)."""
        if self._failure_close is None and not self._closed:
            delay = self.broker.config["connection.failed.authentication.delay.ms"] / 1000
            self._failure_close = asyncio.get_running_loop().call_later(delay, self.close)

    @staticmethod
    def _frame(header: bytes, encode_body: Callable[[Writer], object]) -> bytearray:
        """Size prefix, header and body encoded into one buffer (no copy to join them)."""
        writer = Writer()
        writer.raw(b"\0\0\0\0")
        writer.raw(header)
        encode_body(writer)
        _SIZE.pack_into(writer.buf, 0, len(writer.buf) - 4)
        return writer.buf

    async def _send_responses(self) -> None:
        transport = self._transport
        assert transport is not None
        pending = self._pending
        while True:
            if not pending:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            try:
                first = await pending[0][0]
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("request handler failed", extra={"client": self.peer})
                self.abort("internal error while handling a request")
                return
            chunks = [first] if first else []
            size = len(first or b"")
            ready = 1  # requests at the head of `pending` whose responses go out in this write
            while ready < len(pending) and pending[ready][0].done() and size < MAX_COALESCED_BYTES:
                done = pending[ready][0]
                if done.exception() is not None:
                    log.error(
                        "request handler failed",
                        exc_info=done.exception(),
                        extra={"client": self.peer},
                    )
                    self.abort("internal error while handling a request")
                    return
                result = done.result()
                if result:
                    chunks.append(result)
                    size += len(result)
                ready += 1
            if chunks:
                self.broker.bytes_out += size
                transport.write(b"".join(chunks) if len(chunks) > 1 else chunks[0])
            self._complete(ready)
            if self.session is not None and self.session.state == "failed":
                self._close_after_failure()
                return
            await self._can_write.wait()
            if self._backlog or self._reading_paused:
                self._dispatch_backlog()

    def _complete(self, count: int) -> None:
        """Retire the first `count` requests, their responses written (or none due)."""
        pending = self._pending
        if self._stats is None:
            for _ in range(count):
                pending.popleft()
            return
        written_at = perf_counter()
        for _ in range(count):
            _future, stats, read_at = pending.popleft()
            if stats is not None:
                stats.record_total_time(written_at - read_at)
