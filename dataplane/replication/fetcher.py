"""Followers copy their leaders' logs with Fetch requests (replica_id = this broker), as in Kafka.

One fetcher task per leader broker serves every partition this broker follows from it. Each request
carries the follower's log end offset and the epoch of its last batch; the leader answers with new
batches and its high watermark, or with the point where the logs diverge (KIP-320), where the
follower truncates before fetching again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
from collections import deque
from typing import TYPE_CHECKING

from dataplane.broker.dispatch import APIS
from dataplane.protocol.client_codec import decode_response, encode_request
from dataplane.protocol.errors import ErrorCode
from dataplane.protocol.framing import FrameDecoder, FrameTooLarge
from dataplane.protocol.primitives import ProtocolError
from dataplane.protocol.records import InvalidBatch
from dataplane.replication.throttle import Throttle

if TYPE_CHECKING:
    from dataplane.broker.partition import Partition
    from dataplane.broker.replica_manager import ReplicaManager

log = logging.getLogger(__name__)

FETCH, LIST_OFFSETS = 1, 2
FETCH_VERSION, LIST_OFFSETS_VERSION = 12, 7
LATEST_TIMESTAMP = -1
TopicPartition = tuple[str, int]


class _ResponseFrames(asyncio.BufferedProtocol):
    """Receives a peer's response frames straight into a reusable buffer (a large frame into one of
    its own, never copied), where a StreamReader copied each megabyte-sized fetch response twice and
    paused and resumed the socket every 128 KiB on the way."""

    def __init__(self, max_frame_size: int) -> None:
        self._decoder = FrameDecoder(max_frame_size)
        self._frames: deque[bytes | memoryview] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._error: Exception | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._decoder.writable()

    def buffer_updated(self, nbytes: int) -> None:
        try:
            self._frames.extend(self._decoder.filled(nbytes))
        except FrameTooLarge as exc:
            assert self.transport is not None
            self.transport.abort()
            self._fail(ProtocolError(str(exc)))
            return
        self._wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the leader closed the connection"))

    def _fail(self, error: Exception) -> None:
        if self._error is None:
            self._error = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next_frame(self) -> bytes | memoryview:
        """The next complete frame (without its size prefix); raises once the connection is gone."""
        while not self._frames:
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._frames.popleft()


class PeerConnection:
    """One connection to another broker, one request at a time."""

    def __init__(
        self, transport: asyncio.Transport, frames: _ResponseFrames, client_id: str
    ) -> None:
        self.transport = transport
        self.frames = frames
        self.client_id = client_id
        self.correlation = itertools.count(1)

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        client_id: str,
        timeout: float,
        max_frame_size: int,
        tls: ssl.SSLContext | None = None,
    ) -> PeerConnection:
        """Connect to `host:port` (over TLS with `tls`, the peer verified as `host`); responses
        larger than `max_frame_size` close the connection."""
        transport, frames = await asyncio.wait_for(
            asyncio.get_running_loop().create_connection(
                lambda: _ResponseFrames(max_frame_size),
                host,
                port,
                ssl=tls,
                server_hostname=host if tls is not None else None,
            ),
            timeout,
        )
        return cls(transport, frames, client_id)

    async def request(self, api_key: int, version: int, body: dict, timeout: float) -> dict:
        api = APIS[api_key]
        correlation_id = next(self.correlation)
        # Requests are small and one at a time, so the transport's buffer never needs draining.
        self.transport.write(
            encode_request(api_key, version, correlation_id, self.client_id, api.request, body)
        )
        frame = await asyncio.wait_for(self.frames.next_frame(), timeout)
        received, response = decode_response(api_key, version, api.response, frame)
        if received != correlation_id:
            raise ProtocolError(f"response {received} does not answer request {correlation_id}")
        return response

    def close(self) -> None:
        self.transport.close()


class ReplicaFetcher:
    def __init__(self, manager: ReplicaFetcherManager, leader: int) -> None:
        self.manager = manager
        self.leader = leader
        self.partitions: set[TopicPartition] = set()
        self.delayed: dict[TopicPartition, float] = {}
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._connection: PeerConnection | None = None

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def _connect(self) -> PeerConnection:
        if self._connection is None:
            broker = self.manager.replicas.metadata.brokers.get(self.leader)
            if broker is None:
                raise ConnectionError(f"leader {self.leader} is not registered")
            # A registration's host and port are its inter-broker listener's, also in those
            # written before registrations named every listener.
            endpoint = broker.endpoint(self.manager.listener)
            self._connection = await PeerConnection.open(
                endpoint.host if endpoint else broker.host,
                endpoint.port if endpoint else broker.port,
                f"replica-fetcher-{self.manager.broker_id}",
                10,
                self.manager.config["socket.request.max.bytes"],
                self.manager.tls,
            )
        return self._connection

    async def _run(self) -> None:
        backoff = self.manager.config["replica.fetch.backoff.ms"] / 1000
        while True:
            active = self._fetchable()
            if not active:
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(backoff):
                        await self.changed.wait()
                continue
            try:
                await self._fetch_once(active)
            except asyncio.CancelledError:
                raise
            except (
                OSError,
                ProtocolError,
                TimeoutError,
                ConnectionError,
            ) as exc:
                # A TLS refusal (an untrusted or misnamed peer) does not heal by retrying.
                log.log(
                    logging.WARNING if isinstance(exc, ssl.SSLError) else logging.DEBUG,
                    "fetch from leader failed",
                    extra={"leader": self.leader, "error": str(exc)},
                )
                if self._connection is not None:
                    self._connection.close()
                    self._connection = None
                await asyncio.sleep(backoff)

    def _fetchable(self) -> list[Partition]:
        now = time.monotonic()
        result = []
        for key in sorted(self.partitions):
            if self.delayed.get(key, 0) > now:
                continue
            partition = self.manager.replicas.get(*key)
            if partition is None or partition.is_leader or partition.state.leader != self.leader:
                continue
            if self.manager.is_throttled(key) and not self.manager.throttle.open():
                continue
            result.append(partition)
        return result

    async def _fetch_once(self, partitions: list[Partition]) -> None:
        config = self.manager.config
        connection = await self._connect()
        topics: dict[str, list[dict]] = {}
        for partition in partitions:
            topics.setdefault(partition.topic, []).append(
                {
                    "partition": partition.index,
                    "current_leader_epoch": partition.leader_epoch,
                    "fetch_offset": partition.log.log_end_offset,
                    "last_fetched_epoch": partition.log.last_batch_epoch,
                    "log_start_offset": partition.log.log_start_offset,
                    "partition_max_bytes": config["replica.fetch.max.bytes"],
                }
            )
        wait_ms = config["replica.fetch.wait.max.ms"]
        response = await connection.request(
            FETCH,
            FETCH_VERSION,
            {
                "replica_id": self.manager.broker_id,
                "max_wait_ms": wait_ms,
                "min_bytes": 1,
                "max_bytes": config["replica.fetch.response.max.bytes"],
                "isolation_level": 0,
                "session_id": 0,
                "session_epoch": -1,
                "topics": [{"topic": t, "partitions": ps} for t, ps in topics.items()],
                "forgotten_topics_data": [],
                "rack_id": "",
            },
            timeout=wait_ms / 1000 + 30,
        )
        for topic in response["responses"]:
            for result in topic["partitions"]:
                key = (topic["topic"], result["partition_index"])
                partition = self.manager.replicas.get(*key)
                if (
                    partition is None
                    or partition.is_leader
                    or partition.state.leader != self.leader
                ):
                    continue
                await self._handle(connection, partition, result)

    async def _handle(self, connection: PeerConnection, partition: Partition, result: dict) -> None:
        key = (partition.topic, partition.index)
        error = result["error_code"]
        if error == ErrorCode.NONE:
            diverging = result.get("diverging_epoch") or {}
            if diverging.get("epoch", -1) >= 0 or diverging.get("end_offset", -1) >= 0:
                self._truncate_diverged(partition, diverging["epoch"], diverging["end_offset"])
                return
            records = result["records"]
            if records:
                stats = self.manager.replicas.stats
                if stats.recording:
                    # Kafka's ReplicationBytesInPerSec: what came in, a cut-off last batch too.
                    stats.replication_bytes_in += len(records)
                try:
                    size = partition.append_from_leader(
                        records, result["high_watermark"], result["log_start_offset"]
                    )
                except (InvalidBatch, ValueError) as exc:
                    log.warning(
                        "bad data from leader",
                        extra={"topic": key[0], "partition": key[1], "error": str(exc)},
                    )
                    self.delayed[key] = time.monotonic() + 1
                    return
                if self.manager.is_throttled(key):
                    self.manager.throttle.spend(size)
            else:
                partition.update_follower_high_watermark(result["high_watermark"])
            return
        if error == ErrorCode.OFFSET_OUT_OF_RANGE:
            await self._handle_out_of_range(connection, partition, result["log_start_offset"])
            return
        # Not leader, fenced or unknown epoch: our metadata is behind; wait for it to catch up.
        self.delayed[key] = (
            time.monotonic() + self.manager.config["replica.fetch.backoff.ms"] / 1000
        )

    def _truncate_diverged(self, partition: Partition, leader_epoch: int, leader_end: int) -> None:
        """KIP-320: drop what the leader does not have, from the first divergent epoch on."""
        log_ = partition.log
        if leader_epoch < 0:
            target = min(partition.high_watermark, log_.log_end_offset)
        else:
            own_epoch, own_end = log_.end_offset_for_epoch(leader_epoch)
            target = min(leader_end, own_end if own_epoch >= 0 else leader_end, log_.log_end_offset)
        log.info(
            "truncating diverged follower log",
            extra={
                "topic": partition.topic,
                "partition": partition.index,
                "from": log_.log_end_offset,
                "to": target,
                "leader_epoch": leader_epoch,
            },
        )
        partition.truncate_to(max(target, log_.log_start_offset))

    async def _handle_out_of_range(
        self, connection: PeerConnection, partition: Partition, leader_log_start: int
    ) -> None:
        response = await connection.request(
            LIST_OFFSETS,
            LIST_OFFSETS_VERSION,
            {
                "replica_id": self.manager.broker_id,
                "isolation_level": 0,
                "topics": [
                    {
                        "name": partition.topic,
                        "partitions": [
                            {
                                "partition_index": partition.index,
                                "current_leader_epoch": partition.leader_epoch,
                                "timestamp": LATEST_TIMESTAMP,
                            }
                        ],
                    }
                ],
            },
            timeout=30,
        )
        answer = response["topics"][0]["partitions"][0]
        if answer["error_code"]:
            return
        leader_end = answer["offset"]
        own_end = partition.log.log_end_offset
        if own_end > leader_end:
            partition.truncate_to(leader_end)
        elif 0 <= own_end < leader_log_start:
            # Everything we would fetch next is gone from the leader: start over at its log start.
            partition.log.reset_to(leader_log_start)
            partition.high_watermark = leader_log_start
        else:
            return  # in range after all (the leader moved meanwhile): just fetch again
        log.info(
            "follower offset out of range",
            extra={
                "topic": partition.topic,
                "partition": partition.index,
                "was_at": own_end,
                "now_at": partition.log.log_end_offset,
            },
        )


class ReplicaFetcherManager:
    def __init__(self, replicas: ReplicaManager) -> None:
        self.replicas = replicas
        self.config = replicas.config
        self.broker_id = replicas.broker_id
        self.fetchers: dict[int, ReplicaFetcher] = {}
        # Read at every fetch: `follower.replication.throttled.rate` may change while we run.
        self.throttle = Throttle(lambda: self.config["follower.replication.throttled.rate"])
        self.stopped = False
        # Leaders are reached on the inter-broker listener, over TLS (our keystore as client
        # certificate) when it is an SSL listener.
        self.listener = self.config.inter_broker_listener_name
        self.tls = (
            self.config.ssl_client_context(self.listener)
            if self.config.security_protocol(self.listener) == "SSL"
            else None
        )

    def is_throttled(self, key: TopicPartition) -> bool:
        topic = self.replicas.metadata.topics.get(key[0])
        return topic is not None and self.broker_id in topic.adding_replicas.get(key[1], [])

    def update(self, leaders: dict[TopicPartition, int]) -> None:
        """Follow exactly these partitions, each from its leader."""
        if self.stopped:
            return
        by_leader: dict[int, set[TopicPartition]] = {}
        for key, leader in leaders.items():
            by_leader.setdefault(leader, set()).add(key)
        for leader in list(self.fetchers):
            if leader not in by_leader:
                self.fetchers.pop(leader).stop()
        for leader, keys in by_leader.items():
            fetcher = self.fetchers.get(leader)
            if fetcher is None:
                fetcher = self.fetchers[leader] = ReplicaFetcher(self, leader)
                fetcher.start()
            fetcher.partitions = keys
            fetcher.delayed.clear()  # metadata moved on: whatever we waited for may have changed
            fetcher.changed.set()

    def stop(self) -> None:
        self.stopped = True  # metadata changes during shutdown must not start fetchers again
        for fetcher in self.fetchers.values():
            fetcher.stop()
        self.fetchers.clear()
