"""Fuzzing, bounded: the decoders on random and mutated bytes, then random frames at a live broker.

Decoding untrusted bytes may only fail with ValueError-family errors (ProtocolError, FrameTooLarge,
InvalidBatch are all ValueErrors), which the connection turns into a clean close. Anything else
escapes as an internal error, and a hang stalls the whole event loop.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataplane.broker.dispatch import APIS
from dataplane.protocol import records
from dataplane.protocol.framing import FrameDecoder, FrameTooLarge
from dataplane.protocol.header import peek_api, read_request_header
from dataplane.protocol.primitives import Reader
from tests.support import wire
from tests.support.strategies import message_strategy
from tests.support.wire import FETCH, PRODUCE, WireClient, batch, create_topic, fetch_body

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOW = 1.0  # seconds; a single decode taking longer than this counts as a hang


# --- mutations of valid encodings -----------------------------------------------------------------


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """`data` with a few random edits: byte flips, truncation, insertions, overwrites with extremes."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "extreme", "delete"]))
        position = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[position] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del out[position:]
        elif kind == "insert":
            out[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "extreme":
            out[position : position + 4] = draw(
                st.sampled_from([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x80\x00\x00\x00"])
            )
        elif kind == "delete" and out:
            del out[position : position + draw(st.integers(1, 8))]
    return bytes(out)


@st.composite
def request_bodies(draw, api_key: int, version: int) -> bytes:
    """Random bytes, or a valid encoding of the request with a few edits."""
    message = APIS[api_key].request
    if draw(st.booleans()):
        return draw(st.binary(max_size=200))
    valid = bytes(message.encode(draw(message_strategy(message, version)), version).buf)
    return draw(mutated(valid))


def _decode_only_value_errors(decode) -> None:
    started = time.monotonic()
    with contextlib.suppress(ValueError):
        decode()
    assert time.monotonic() - started < SLOW, "decoding took long enough to count as a hang"


# =================================================================================================
# Unit fuzzing: no network
# =================================================================================================


@pytest.mark.parametrize("api_key", sorted(APIS), ids=[APIS[k].name for k in sorted(APIS)])
def test_request_decoders_raise_only_value_errors(api_key: int) -> None:
    api = APIS[api_key]

    @settings(FUZZ, max_examples=60)
    @given(st.data())
    def check(data) -> None:
        version = data.draw(st.integers(api.min_version, api.max_version), label="version")
        body = data.draw(request_bodies(api_key, version), label="body")
        _decode_only_value_errors(lambda: api.request.decode(Reader(body), version))

    check()


@FUZZ
@given(st.binary(max_size=64), st.booleans())
def test_request_header_decoder_raises_only_value_errors(data: bytes, flexible: bool) -> None:
    _decode_only_value_errors(lambda: peek_api(data))
    _decode_only_value_errors(lambda: read_request_header(Reader(data), flexible))


@FUZZ
@given(st.data())
def test_record_batch_validation_raises_only_invalid_batch(data) -> None:
    valid = batch(
        data.draw(st.lists(st.binary(max_size=30), min_size=1, max_size=4)),
        producer_id=data.draw(st.integers(-1, 5)),
        base_sequence=data.draw(st.integers(-1, 5)),
    )
    payload = data.draw(st.one_of(st.binary(max_size=200), mutated(valid)))
    max_size = data.draw(st.integers(0, 1 << 20))
    started = time.monotonic()
    try:
        headers = records.parse_batches(payload, max_size)
    except records.InvalidBatch:
        return
    assert time.monotonic() - started < SLOW
    # Whatever was accepted is whole and CRC-checked.
    assert sum(h.size for h in headers) == len(payload)
    assert all(records.crc_matches(payload, h) for h in headers)


def _reference_frames(stream: bytes, max_frame: int) -> tuple[list[bytes], bool]:
    """The frames a correct decoder yields from `stream`, and whether it must refuse it."""
    frames = []
    position = 0
    while len(stream) - position >= 4:
        (size,) = struct.unpack_from(">i", stream, position)
        if size < 0 or size > max_frame:
            return frames, True
        if len(stream) - position - 4 < size:
            break
        frames.append(stream[position + 4 : position + 4 + size])
        position += 4 + size
    return frames, False


@st.composite
def frame_streams(draw) -> bytes:
    """Mostly well-framed payloads (some big), with random bytes mixed in."""
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 4)) == 0:
            parts.append(draw(st.binary(max_size=40)))
        else:
            size = draw(st.one_of(st.integers(0, 300), st.integers(60_000, 150_000)))
            parts.append(struct.pack(">i", size) + bytes([size % 251]) * size)
    return b"".join(parts)


@FUZZ
@given(frame_streams(), st.lists(st.integers(1, 100_000), min_size=1, max_size=10), st.data())
def test_frame_decoder_on_random_streams(stream: bytes, cuts: list[int], data) -> None:
    """Fed the way asyncio feeds a BufferedProtocol (the view from `writable()` is still referenced
    while `filled()` runs), the decoder yields exactly the complete frames, or refuses with
    FrameTooLarge (a ValueError) — nothing else."""
    max_frame = data.draw(st.sampled_from([0, 100, 65536, 1 << 20]))
    expected, must_refuse = _reference_frames(stream, max_frame)
    decoder = FrameDecoder(max_frame)
    frames: list[bytes] = []
    position = 0
    refused = False
    index = 0
    started = time.monotonic()
    while position < len(stream):
        view = decoder.writable()
        count = min(len(view), cuts[index % len(cuts)], len(stream) - position)
        index += 1
        view[:count] = stream[position : position + count]
        try:
            frames += decoder.filled(count)
        except FrameTooLarge:
            refused = True
            break
        finally:
            del view
        position += count
    assert time.monotonic() - started < SLOW * 5
    assert refused == must_refuse
    if refused:
        # Frames complete before the bad size prefix may be dropped along with the connection.
        assert frames == expected[: len(frames)]
    else:
        assert frames == expected


# =================================================================================================
# Live fuzzing: random frames at a real broker
# =================================================================================================

# Creating or deleting topics is a legitimate admin request, not bad input: a fuzzed CreateTopics or
# CreatePartitions asking for a billion partitions would do real (slow) work. Leave those out.
_ADMIN_KEYS = {19, 20, 37}
_SAFE_KEYS = sorted(k for k in APIS if k not in _ADMIN_KEYS)


@st.composite
def live_frames(draw) -> bytes:
    known = draw(st.integers(0, 3)) > 0
    if known:
        api_key = draw(st.sampled_from(_SAFE_KEYS))
        api = APIS[api_key]
        in_range = draw(st.integers(0, 4)) > 0
        version = (
            draw(st.integers(api.min_version, api.max_version))
            if in_range
            else draw(st.integers(-(2**15), 2**15 - 1))
        )
    else:
        api_key = draw(st.integers(-(2**15), 2**15 - 1).filter(lambda k: k not in _ADMIN_KEYS))
        version = draw(st.integers(-(2**15), 2**15 - 1))
    api = APIS.get(api_key)
    flexible = bool(api and api.min_version <= version <= api.max_version) and (
        api.request.is_flexible(version)
    )
    client_id = draw(st.one_of(st.none(), st.text(max_size=10)))
    header = wire.encode_request_header(
        api_key, version, draw(st.integers(0, 2**31 - 1)), client_id, flexible
    )
    if api and api.min_version <= version <= api.max_version:
        body = draw(request_bodies(api_key, version))
    else:
        body = draw(st.binary(max_size=200))
    payload = header + body
    if draw(st.integers(0, 9)) == 0:
        payload = draw(mutated(payload))
    size = len(payload)
    if draw(st.integers(0, 9)) == 0:
        size = draw(st.integers(-(2**31), 2**31 - 1))
    return struct.pack(">i", size) + payload


def _exchange(port: int, data: bytes) -> None:
    """Send `data`, signal end of input, and read until the broker closes. A broker that does not
    close within the timeout fails the test (a hang)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except (ConnectionResetError, BrokenPipeError):
            pass


def test_live_broker_survives_random_frames(make_broker, topic_name: str) -> None:
    broker = make_broker(
        {"auto.create.topics.enable": "false", "socket.request.max.bytes": 1 << 20}
    )
    with WireClient.to(broker) as client:
        create_topic(client, topic_name)

    @settings(FUZZ, max_examples=200)
    @given(live_frames())
    def check(data: bytes) -> None:
        _exchange(broker.port, data)
        assert broker.alive, f"broker died on {data[:64]!r}"

    started = time.monotonic()
    check()
    assert time.monotonic() - started < 60
    assert broker.alive
    with WireClient.to(broker, timeout=5) as client:
        assert wire.metadata(client, [topic_name])["topics"][0]["error_code"] == 0
        result = wire.produce(client, topic_name, 0, batch([b"still here"]))
        assert result["error_code"] == 0
        response = client.request(FETCH, 12, fetch_body({topic_name: {0: result["base_offset"]}}))
        records_ = wire.fetched_records(response["responses"][0]["partitions"][0]["records"])
        assert records_[0].value == b"still here"
        assert (
            client.request(PRODUCE, 9, wire.produce_body(topic_name, 0, batch(1)))["responses"][0][
                "partition_responses"
            ][0]["error_code"]
            == 0
        )
