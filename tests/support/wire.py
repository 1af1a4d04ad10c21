"""A tiny blocking Kafka client for tests, built on the broker's own protocol codecs.

It speaks exactly what the wire carries: a size-prefixed request with header v1 (v2 for flexible
versions: the client id stays a classic nullable string, then an empty tagged-field section), and a
size-prefixed response with header v0 (v1, a tagged-field section, for flexible versions — except
ApiVersions, whose response header is always v0 so that any client can parse it).

Record batches come from tests/support/batches.py; `batch` and `fetched_records` adapt it to the
wire tests.
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass

from crc32c import crc32c

from dataplane.broker.dispatch import APIS
from dataplane.protocol.primitives import Reader, Writer
from dataplane.protocol.schema import Message
from tests.support import batches

API_VERSIONS = 18
PRODUCE = 0
FETCH = 1
LIST_OFFSETS = 2
METADATA = 3
CREATE_TOPICS = 19
INIT_PRODUCER_ID = 22
OFFSET_FOR_LEADER_EPOCH = 23

_SIZE = struct.Struct(">i")


class ConnectionClosed(ConnectionError):
    """The broker closed (or reset) the connection."""


def request_message(api_key: int) -> Message:
    return APIS[api_key].request


def response_message(api_key: int) -> Message:
    return APIS[api_key].response


def response_header_is_flexible(api_key: int, version: int) -> bool:
    return api_key != API_VERSIONS and response_message(api_key).is_flexible(version)


def encode_request_header(
    api_key: int,
    version: int,
    correlation_id: int,
    client_id: str | None,
    flexible: bool,
) -> bytes:
    writer = Writer()
    writer.int16(api_key)
    writer.int16(version)
    writer.int32(correlation_id)
    writer.string(client_id)  # never compact, even in header v2
    if flexible:
        writer.uvarint(0)  # no tagged fields
    return bytes(writer.buf)


def frame(payload: bytes | bytearray) -> bytes:
    return _SIZE.pack(len(payload)) + bytes(payload)


def encode_request(
    api_key: int,
    version: int,
    body: dict,
    correlation_id: int,
    client_id: str | None = "wire-test",
) -> bytes:
    """A whole size-prefixed request frame."""
    message = request_message(api_key)
    flexible = message.is_flexible(version)
    header = encode_request_header(api_key, version, correlation_id, client_id, flexible)
    return frame(header + bytes(message.encode(body, version).buf))


def decode_response(payload: bytes, api_key: int, version: int, strict: bool = True) -> dict:
    """Decode a response frame (without its size prefix). Adds `_correlation_id`. With `strict`, the
    body must be consumed exactly."""
    reader = Reader(payload)
    correlation_id = reader.int32()
    if response_header_is_flexible(api_key, version):
        reader.skip_tagged_fields()
    body = response_message(api_key).decode(reader, version)
    if strict and reader.remaining():
        raise AssertionError(
            f"{reader.remaining()} bytes left over after decoding api {api_key} v{version}"
        )
    body["_correlation_id"] = correlation_id
    return plain(body)


def plain(value):
    """Decoded values with memoryviews turned into bytes, so they compare and print nicely."""
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class _Pending:
    correlation_id: int
    api_key: int
    version: int


class WireClient:
    """One blocking connection. `send` queues the expectation of a response (unless told none is
    coming); `recv` reads the next response and decodes it as the oldest pending request's answer."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout: float = 10.0,
        client_id: str | None = "wire-test",
        source: str | None = None,
    ) -> None:
        # `source`: the local address to connect from (another loopback address, say).
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=(source, 0) if source else None
        )
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.client_id = client_id
        self._ids = itertools.count(1)
        self._pending: deque[_Pending] = deque()
        self._buffer = bytearray()

    @classmethod
    def to(cls, broker, **kwargs) -> WireClient:
        host, _, port = broker.bootstrap.rpartition(":")
        return cls(host, int(port), **kwargs)

    def __enter__(self) -> WireClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    # --- structured -----------------------------------------------------------------------------

    def send(
        self,
        api_key: int,
        version: int,
        body: dict,
        expect_response: bool = True,
        correlation_id: int | None = None,
    ) -> int:
        if correlation_id is None:
            correlation_id = next(self._ids)
        self.send_raw(encode_request(api_key, version, body, correlation_id, self.client_id))
        if expect_response:
            self._pending.append(_Pending(correlation_id, api_key, version))
        return correlation_id

    def recv(self, timeout: float | None = None) -> dict:
        """The next response, decoded as the answer to the oldest request still awaiting one; fails
        if its correlation id is not that request's."""
        assert self._pending, "no request is awaiting a response"
        expected = self._pending.popleft()
        payload = self.recv_raw(timeout)
        (correlation_id,) = _SIZE.unpack_from(payload)
        if correlation_id != expected.correlation_id:
            raise AssertionError(
                f"response with correlation id {correlation_id} arrived while "
                f"{expected.correlation_id} (api {expected.api_key}) was the oldest request"
            )
        return decode_response(payload, expected.api_key, expected.version)

    def request(self, api_key: int, version: int, body: dict, timeout: float | None = None) -> dict:
        self.send(api_key, version, body)
        return self.recv(timeout)

    # --- raw ------------------------------------------------------------------------------------

    def send_raw(self, data: bytes | bytearray) -> None:
        self.sock.sendall(data)

    def _fill(self, size: int, deadline: float) -> None:
        while len(self._buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"no complete response within the timeout ({self._buffer!r:.80})"
                )
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(max(65536, size - len(self._buffer)))
            except (ConnectionResetError, BrokenPipeError) as exc:
                raise ConnectionClosed(str(exc)) from exc
            except TimeoutError:
                continue
            if not chunk:
                raise ConnectionClosed("broker closed the connection")
            self._buffer += chunk

    def recv_raw(self, timeout: float | None = None) -> bytes:
        """The next size-prefixed frame's payload (without the size)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        self._fill(4, deadline)
        (size,) = _SIZE.unpack_from(self._buffer)
        self._fill(4 + size, deadline)
        payload = bytes(self._buffer[4 : 4 + size])
        del self._buffer[: 4 + size]
        return payload

    def wait_closed(self, timeout: float = 5.0) -> bool:
        """True once the broker has closed the connection (EOF or reset); any bytes it sent first are
        discarded. False if it is still open after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            except TimeoutError:
                return False
            if not chunk:
                return True


# --- conveniences -------------------------------------------------------------------------------


def metadata(client: WireClient, topics: list[str] | None = None, version: int = 12) -> dict:
    body = {
        "topics": None if topics is None else [{"name": t} for t in topics],
        "allow_auto_topic_creation": False,
    }
    return client.request(METADATA, version, body)


def create_topic(
    client: WireClient,
    name: str,
    partitions: int = 1,
    configs: dict[str, str] | None = None,
    version: int = 4,
) -> dict:
    response = client.request(
        CREATE_TOPICS,
        version,
        {
            "topics": [
                {
                    "name": name,
                    "num_partitions": partitions,
                    "replication_factor": 1,
                    "assignments": [],
                    "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()],
                }
            ],
            "timeout_ms": 10000,
            "validate_only": False,
        },
    )
    assert response["topics"][0]["error_code"] == 0, response
    return response


def produce_body(
    topic: str,
    partition: int,
    records: bytes | None,
    acks: int = 1,
    timeout_ms: int = 10000,
) -> dict:
    return {
        "transactional_id": None,
        "acks": acks,
        "timeout_ms": timeout_ms,
        "topic_data": [
            {"name": topic, "partition_data": [{"index": partition, "records": records}]}
        ],
    }


def produce(
    client: WireClient,
    topic: str,
    partition: int,
    records: bytes | None,
    acks: int = 1,
    version: int = 9,
) -> dict:
    """The single partition response of a one-partition Produce."""
    response = client.request(PRODUCE, version, produce_body(topic, partition, records, acks))
    [topic_response] = response["responses"]
    [partition_response] = topic_response["partition_responses"]
    return partition_response


def fetch_body(
    partitions: dict[str, dict[int, int]],
    max_wait_ms: int = 0,
    min_bytes: int = 1,
    partition_max_bytes: int = 1 << 20,
    max_bytes: int = 50 << 20,
) -> dict:
    """`partitions` maps topic → {partition: fetch offset}."""
    return {
        "replica_id": -1,
        "max_wait_ms": max_wait_ms,
        "min_bytes": min_bytes,
        "max_bytes": max_bytes,
        "isolation_level": 0,
        "session_id": 0,
        "session_epoch": -1,
        "topics": [
            {
                "topic": topic,
                "partitions": [
                    {
                        "partition": index,
                        "current_leader_epoch": -1,
                        "fetch_offset": offset,
                        "log_start_offset": -1,
                        "partition_max_bytes": partition_max_bytes,
                    }
                    for index, offset in wanted.items()
                ],
            }
            for topic, wanted in partitions.items()
        ],
        "forgotten_topics_data": [],
        "rack_id": "",
    }


def list_offset(
    client: WireClient, topic: str, partition: int, timestamp: int, version: int = 7
) -> dict:
    response = client.request(
        LIST_OFFSETS,
        version,
        {
            "replica_id": -1,
            "isolation_level": 0,
            "topics": [
                {
                    "name": topic,
                    "partitions": [{"partition_index": partition, "timestamp": timestamp}],
                }
            ],
        },
    )
    return response["topics"][0]["partitions"][0]


def init_producer_id(client: WireClient, version: int = 4) -> dict:
    return client.request(
        INIT_PRODUCER_ID,
        version,
        {"transactional_id": None, "transaction_timeout_ms": 60000},
    )


# --- record batches (built and decoded by tests/support/batches.py) -----------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def batch(values: list[bytes | None] | int, **kwargs) -> bytes:
    """`batches.build_batch` stamped with the current time (retention never deletes it mid-test);
    an int gives that many records b"v0", b"v1", …"""
    if isinstance(values, int):
        values = [f"v{i}".encode() for i in range(values)]
    kwargs.setdefault("base_timestamp", now_ms())
    return batches.build_batch(values, **kwargs)


@dataclass(frozen=True)
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def fetched_records(data: bytes) -> list[Record]:
    """Every record of the whole uncompressed batches in a Fetch's records field, CRCs checked (a
    trailing partial batch, which a Fetch may return, is ignored)."""
    records = []
    for one in batches.split_batches(data):
        if len(one) < batches.HEADER_SIZE or len(one) < batches.batch_size(one):
            break
        (crc,) = struct.unpack_from(">I", one, batches.CRC_POSITION)
        assert crc32c(one[batches.CRC_POSITION + 4 :]) == crc, "fetched batch fails its CRC"
        records += [Record(*fields) for fields in batches.decode_records(one)]
    return records
