"""Hostile and broken clients: each bad input costs its own connection and nothing else.

After every case the broker must still be alive, keep serving a connection that was already open, and
serve a brand-new client; when the broker itself closes the connection it logs why.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import time

import pytest

from dataplane.broker.dispatch import APIS
from dataplane.protocol.primitives import encode_uvarint
from tests.support import wire
from tests.support.wire import (
    CREATE_TOPICS,
    FETCH,
    METADATA,
    PRODUCE,
    WireClient,
    batch,
    create_topic,
    fetch_body,
    fetched_records,
    frame,
    produce,
    produce_body,
)

MAX_REQUEST = 65536


@pytest.fixture
def small_broker(make_broker):
    return make_broker({"socket.request.max.bytes": MAX_REQUEST})


def _closing_records(broker) -> list[dict]:
    return [r for r in broker.log_records() if r.get("msg") == "closing connection"]


def _handler_failures(broker) -> list[dict]:
    return [r for r in broker.log_records() if r.get("msg") == "request handler failed"]


def _serves(broker) -> None:
    with WireClient.to(broker, timeout=5) as client:
        response = wire.metadata(client)
    assert response["brokers"][0]["port"] == broker.port


def _header(api_key: int, version: int, correlation_id: int = 1, flexible: bool = False) -> bytes:
    return wire.encode_request_header(api_key, version, correlation_id, "bad-client", flexible)


def assert_refused(broker, data: bytes, reason: str, bystander: WireClient | None = None) -> None:
    """Send `data` on a fresh connection: the broker closes it, logs `reason`, and serves on."""
    logged_before = len(_closing_records(broker))
    with WireClient.to(broker, timeout=5) as client:
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            client.send_raw(data)  # the broker may close before it has read everything
        assert client.wait_closed(5), f"connection left open after {data[:40]!r}"
    assert broker.alive
    deadline = time.monotonic() + 3
    while True:
        new = _closing_records(broker)[logged_before:]
        if any(reason in r.get("reason", "") for r in new):
            break
        assert time.monotonic() < deadline, (
            f"no 'closing connection' record with reason {reason!r}; got {new}"
        )
        time.sleep(0.05)
    if bystander is not None:
        assert wire.metadata(bystander)["brokers"], "an unrelated open connection was disturbed"
    _serves(broker)


# --- frames and headers ---------------------------------------------------------------------------


def test_frame_over_socket_request_max_bytes_is_refused(small_broker) -> None:
    with WireClient.to(small_broker) as bystander:
        wire.metadata(bystander)
        too_big = struct.pack(">i", MAX_REQUEST + 1) + _header(METADATA, 1) + bytes(1000)
        assert_refused(small_broker, too_big, "socket.request.max.bytes", bystander)
        # The size alone is enough: nothing of the body needs to arrive.
        assert_refused(small_broker, struct.pack(">i", 0x7FFFFFFF), "socket.request.max.bytes")
        assert_refused(small_broker, struct.pack(">i", -5), "socket.request.max.bytes")


def _produce_frame_of_size(topic: str, size: int) -> bytes:
    """A valid Produce v9 frame whose size prefix says exactly `size`."""
    value_size = size - 200
    for _ in range(20):
        body = produce_body(topic, 0, batch([b"x" * value_size]))
        data = wire.encode_request(PRODUCE, 9, body, 7)
        if len(data) - 4 == size:
            return data
        value_size += size - (len(data) - 4)
    raise AssertionError("could not hit the size")


def test_frame_of_exactly_socket_request_max_bytes_is_served(small_broker, topic_name) -> None:
    with WireClient.to(small_broker) as client:
        create_topic(client, topic_name)
        data = _produce_frame_of_size(topic_name, MAX_REQUEST)
        assert struct.unpack_from(">i", data)[0] == MAX_REQUEST
        client.send_raw(data)
        response = wire.decode_response(client.recv_raw(), PRODUCE, 9)
        assert response["_correlation_id"] == 7
        [result] = response["responses"][0]["partition_responses"]
        assert (result["error_code"], result["base_offset"]) == (0, 0)


def test_frames_too_short_for_a_header_are_refused(small_broker) -> None:
    assert_refused(small_broker, frame(b""), "too short")
    assert_refused(small_broker, frame(b"\x00\x03\x00"), "too short")


def test_every_truncation_of_a_request_is_refused(small_broker) -> None:
    """Each proper prefix of a valid request, framed as if it were whole, is malformed."""
    cases = [
        (METADATA, 1, {"topics": [{"name": "some.topic"}]}),
        (METADATA, 12, {"topics": [{"name": "some.topic", "topic_id": bytes(16)}]}),
    ]
    with WireClient.to(small_broker) as bystander:
        for api_key, version, body in cases:
            whole = wire.encode_request(api_key, version, body, 3)[4:]
            for cut in range(4, len(whole)):
                assert_refused(small_broker, frame(whole[:cut]), "malformed", bystander)


def test_truncated_produce_records_are_refused(small_broker, topic_name) -> None:
    with WireClient.to(small_broker) as client:
        create_topic(client, topic_name)
    whole = wire.encode_request(PRODUCE, 9, produce_body(topic_name, 0, batch(3)), 1)[4:]
    for cut in (len(whole) - 1, len(whole) - 30, len(whole) // 2):
        assert_refused(small_broker, frame(whole[:cut]), "malformed")


def test_half_a_frame_then_disconnect(small_broker) -> None:
    request = wire.encode_request(METADATA, 12, {"topics": None}, 1)
    for cut in (2, 4, 7, len(request) - 1):
        with socket.create_connection(("127.0.0.1", small_broker.port)) as sock:
            sock.sendall(request[:cut])
    # And a client that leaves while its Fetch is still waiting for data.
    with WireClient.to(small_broker) as client:
        create_topic(client, "left.behind")
        client.send(FETCH, 12, fetch_body({"left.behind": {0: 0}}, max_wait_ms=5000))
    time.sleep(0.2)
    assert small_broker.alive
    _serves(small_broker)
    with WireClient.to(small_broker) as client:
        assert produce(client, "left.behind", 0, batch(1))["error_code"] == 0


@pytest.mark.parametrize("api_key", [-1, 65, 67, 9999, 32767])
def test_unknown_api_key_is_refused(small_broker, api_key: int) -> None:
    assert_refused(small_broker, frame(_header(api_key, 0) + b"\x00" * 8), "unknown API key")


@pytest.mark.parametrize(
    ("api_key", "version"),
    [(METADATA, 13), (METADATA, -1), (PRODUCE, 2), (PRODUCE, 12), (FETCH, 3), (FETCH, 13)],
)
def test_unsupported_version_of_another_api_is_refused(small_broker, api_key, version) -> None:
    assert_refused(small_broker, frame(_header(api_key, version) + bytes(16)), "not supported")


def test_garbage_is_refused(small_broker) -> None:
    with WireClient.to(small_broker) as bystander:
        # Someone speaks HTTP or TLS to the Kafka port: the "size" is huge.
        http = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
        assert_refused(small_broker, http, "socket.request.max.bytes", bystander)
        tls_hello = bytes.fromhex("160301020001000200") + bytes(64)
        assert_refused(small_broker, tls_hello, "socket.request.max.bytes", bystander)
        # Random bytes in a correctly sized frame, behind a key no broker serves.
        rng = random.Random(1234)
        for _ in range(5):
            payload = struct.pack(">h", rng.randint(100, 30000)) + rng.randbytes(500)
            assert_refused(small_broker, frame(payload), "unknown API key", bystander)
        # Random bytes after the header of every API we serve.
        for api in APIS.values():
            version = api.max_version
            garbage = b"\x7f\xff\xff\xff" + rng.randbytes(64)
            flexible = api.request.is_flexible(version)
            data = frame(_header(api.key, version, 9, flexible) + garbage)
            assert_refused(small_broker, data, "malformed", bystander)


def test_huge_lengths_inside_a_frame_are_refused(small_broker, topic_name) -> None:
    with WireClient.to(small_broker) as client:
        create_topic(client, topic_name)
    huge_varint = encode_uvarint(2**32)
    cases = [
        # Metadata v1: a classic array that claims 2^31-1 topics.
        _header(METADATA, 1) + b"\x7f\xff\xff\xff",
        # Metadata v12: a compact array that claims 2^32-1 topics.
        _header(METADATA, 12, flexible=True) + huge_varint + b"\x00",
        # CreateTopics v2: a billion topics, then nothing.
        _header(CREATE_TOPICS, 2) + struct.pack(">i", 1_000_000_000),
        # A topic name that claims 32767 bytes.
        _header(METADATA, 1) + struct.pack(">ih", 1, 0x7FFF) + b"abc",
        # The client id in the header claims 32767 bytes.
        struct.pack(">hhih", METADATA, 1, 1, 0x7FFF) + b"abc",
        # Produce v3: records claim 2 GiB.
        _header(PRODUCE, 3)
        + b"\xff\xff"
        + struct.pack(">hi", 1, 1000)
        + struct.pack(">i", 1)
        + struct.pack(">h", len(topic_name))
        + topic_name.encode()
        + struct.pack(">iii", 1, 0, 0x7FFFFFFF)
        + b"xyz",
        # Fetch v12 (flexible): a tagged field claiming 2^32 bytes in the header's tag section.
        _header(FETCH, 12, flexible=True)[:-1]
        + encode_uvarint(1)
        + encode_uvarint(0)
        + huge_varint,
    ]
    for payload in cases:
        assert_refused(small_broker, frame(payload), "malformed")


def test_invalid_utf8_is_refused(small_broker) -> None:
    assert_refused(
        small_broker,
        frame(_header(METADATA, 1) + struct.pack(">ih", 1, 2) + b"\xff\xfe"),
        "malformed",
    )
    bad_client_id = struct.pack(">hhih", METADATA, 1, 1, 2) + b"\xc3\x28" + b"\xff\xff\xff\xff"
    assert_refused(small_broker, frame(bad_client_id), "malformed")


def test_null_in_a_non_nullable_field_is_a_malformed_request(small_broker) -> None:
    """Kafka rejects a non-nullable string or array sent as null (length -1) while parsing. Such a
    request must be refused as malformed, never handed to a handler that then fails on the None."""
    # Metadata v1: topics [name=null]; names are nullable only from v10.
    metadata_null = _header(METADATA, 1) + struct.pack(">ih", 1, -1)
    # CreateTopics v2: one topic whose name is null.
    create_null = (
        _header(CREATE_TOPICS, 2)
        + struct.pack(">ih", 1, -1)
        + struct.pack(">ih", 1, 1)
        + struct.pack(">ii", 0, 0)
        + struct.pack(">i", 1000)
        + b"\x00"
    )
    # Produce v3: topic_data, a non-nullable array, sent as null.
    produce_null = _header(PRODUCE, 3) + b"\xff\xff" + struct.pack(">hii", 1, 1000, -1)
    for payload in (metadata_null, create_null, produce_null):
        assert_refused(small_broker, frame(payload), "malformed")
    assert _handler_failures(small_broker) == []


# --- resources ------------------------------------------------------------------------------------


def _rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_pipelined_fetches_without_reading_keep_memory_bounded(make_broker, topic_name) -> None:
    """A client pipelines 3000 Fetches (each answer ~240 KB) and never reads. Reading from it must
    pause after a bounded number of requests in flight, so the broker's memory stays bounded;
    without that, the answers alone would need ~700 MB. Other clients are still served."""
    broker = make_broker()
    with WireClient.to(broker) as client:
        create_topic(client, topic_name)
        for _ in range(8):
            result = produce(client, topic_name, 0, batch([b"x" * 15000, b"y" * 15000]))
            assert result["error_code"] == 0
        answer = client.request(FETCH, 4, fetch_body({topic_name: {0: 0}}))
        fetched = answer["responses"][0]["partitions"][0]["records"]
        assert len(fetched) > 200_000
    pid = broker.process.pid
    before = _rss_mib(pid)
    one = wire.encode_request(FETCH, 4, fetch_body({topic_name: {0: 0}}), 1)
    hog = WireClient.to(broker)
    try:
        hog.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        hog.sock.settimeout(5)
        with contextlib.suppress(TimeoutError):  # the broker stopped reading from us: the point
            hog.sock.sendall(one * 3000)
        peak = before
        for _ in range(15):
            time.sleep(0.1)
            peak = max(peak, _rss_mib(pid))
        assert broker.alive
        with WireClient.to(broker, timeout=5) as other:
            started = time.monotonic()
            assert wire.metadata(other, [topic_name])["topics"][0]["error_code"] == 0
            records = fetched_records(
                other.request(FETCH, 12, fetch_body({topic_name: {0: 14}}))["responses"][0][
                    "partitions"
                ][0]["records"]
            )
            assert [r.offset for r in records] == [14, 15]
            assert time.monotonic() - started < 2
        # The hog's answers, when it finally reads, are intact and in order.
        hog.sock.settimeout(10)
        for _ in range(3):
            payload = hog.recv_raw(10)
            assert struct.unpack_from(">i", payload)[0] == 1
    finally:
        hog.close()
    growth = peak - before
    assert growth < 200, f"RSS grew by {growth:.0f} MiB ({before:.0f} → {peak:.0f})"
    _serves(broker)


# --- all of it, then a real client ---------------------------------------------------------------


def test_broker_survives_every_bad_input_and_serves_a_real_client(small_broker, topic_name) -> None:
    from confluent_kafka import Producer

    with WireClient.to(small_broker) as client:
        create_topic(client, topic_name)
    bad_inputs = [
        struct.pack(">i", MAX_REQUEST + 1) + bytes(100),
        struct.pack(">i", -1),
        frame(b"\x00"),
        frame(_header(METADATA, 1) + b"\x00\x00\x00\x05"),
        frame(_header(9999, 0)),
        frame(_header(METADATA, 13)),
        frame(_header(METADATA, 1) + b"\x7f\xff\xff\xff"),
        b"GET / HTTP/1.1\r\n\r\n",
        random.Random(7).randbytes(3000),
    ]
    for data in bad_inputs:
        with socket.create_connection(("127.0.0.1", small_broker.port), timeout=5) as sock:
            try:
                sock.sendall(data)
                sock.recv(100)
            except (ConnectionResetError, BrokenPipeError, TimeoutError):
                pass
    with socket.create_connection(("127.0.0.1", small_broker.port)) as sock:
        sock.sendall(wire.encode_request(METADATA, 12, {"topics": None}, 1)[:9])
    assert small_broker.alive
    _serves(small_broker)

    delivered = []
    producer = Producer(
        {
            "bootstrap.servers": small_broker.bootstrap,
            "enable.idempotence": True,
            "message.timeout.ms": 10000,
        }
    )
    for i in range(5):
        producer.produce(
            topic_name,
            value=f"after-abuse-{i}".encode(),
            partition=0,
            on_delivery=lambda err, msg: delivered.append((err, msg.offset())),
        )
    assert producer.flush(15) == 0
    assert [err for err, _ in delivered] == [None] * 5
    assert sorted(offset for _, offset in delivered) == list(range(5))
    with WireClient.to(small_broker) as client:
        response = client.request(FETCH, 12, fetch_body({topic_name: {0: 0}}))
        records = fetched_records(response["responses"][0]["partitions"][0]["records"])
    assert [r.value for r in records] == [f"after-abuse-{i}".encode() for i in range(5)]
    assert len(_closing_records(small_broker)) >= 7
