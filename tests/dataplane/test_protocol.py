"""The Kafka wire protocol: codecs without a network, then a real broker spoken to byte by byte."""

from __future__ import annotations

import struct
import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataplane.broker.dispatch import APIS
from dataplane.protocol import messages as m
from dataplane.protocol.framing import FrameDecoder
from dataplane.protocol.header import read_request_header, response_header
from dataplane.protocol.primitives import Reader, encode_uvarint
from dataplane.protocol.schema import Message
from tests.support import wire
from tests.support.strategies import message_strategy
from tests.support.wire import (
    API_VERSIONS,
    FETCH,
    METADATA,
    OFFSET_FOR_LEADER_EPOCH,
    PRODUCE,
    WireClient,
    batch,
    create_topic,
    fetch_body,
    fetched_records,
    init_producer_id,
    list_offset,
    plain,
    produce,
    produce_body,
)

ERR_NONE = 0
OFFSET_OUT_OF_RANGE = 1
CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
MESSAGE_TOO_LARGE = 10
INVALID_REQUIRED_ACKS = 21
UNSUPPORTED_VERSION = 35
OUT_OF_ORDER_SEQUENCE_NUMBER = 45

EARLIEST, LATEST, MAX_TIMESTAMP = -2, -1, -3


def advertised() -> dict[int, tuple[int, int]]:
    return {key: (api.advertised_min, api.max_version) for key, api in APIS.items()}


# =================================================================================================
# Codecs (no network)
# =================================================================================================

_CODEC_CASES = [
    pytest.param(message, version, id=f"{api.name}-{kind}-v{version}")
    for api in APIS.values()
    for version in range(api.min_version, api.max_version + 1)
    for kind, message in (("request", api.request), ("response", api.response))
]


def _round_trip(message: Message, version: int, value: dict) -> dict:
    encoded = bytes(message.encode(value, version).buf)
    reader = Reader(encoded)
    decoded = message.decode(reader, version)
    assert reader.remaining() == 0, "decoder left bytes unread"
    # Encoding what was decoded gives the very same bytes.
    assert bytes(message.encode(decoded, version).buf) == encoded
    return plain(decoded)


@pytest.mark.parametrize(("message", "version"), _CODEC_CASES)
def test_every_advertised_message_version_round_trips(message: Message, version: int) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(message_strategy(message, version))
    def check(value: dict) -> None:
        assert _round_trip(message, version, value) == value

    check()


@pytest.mark.parametrize(("message", "version"), _CODEC_CASES)
def test_missing_fields_encode_as_their_defaults(message: Message, version: int) -> None:
    decoded = _round_trip(message, version, {})
    again = _round_trip(message, version, decoded)
    assert again == decoded


def test_flexible_tagged_fields_round_trip_and_are_omitted_at_default() -> None:
    message = m.API_VERSIONS_RESPONSE
    base = {"error_code": 0, "api_keys": [], "throttle_time_ms": 0}
    plain_bytes = bytes(message.encode(base, 3).buf)
    # error_code, compact empty array, throttle, then an empty tagged-field section.
    assert plain_bytes == b"\x00\x00" + b"\x01" + b"\x00\x00\x00\x00" + b"\x00"

    tagged = {
        **base,
        "supported_features": [{"name": "f", "min_version": 1, "max_version": 2}],
        "finalized_features_epoch": 7,
        "zk_migration_ready": True,
    }
    encoded = bytes(message.encode(tagged, 3).buf)
    reader = Reader(encoded)
    decoded = message.decode(reader, 3)
    assert reader.remaining() == 0
    assert decoded["supported_features"] == tagged["supported_features"]
    assert decoded["finalized_features_epoch"] == 7
    assert decoded["zk_migration_ready"] is True
    assert decoded["finalized_features"] == []
    # Three tagged fields are present, in tag order 0, 1, 3.
    tail = Reader(encoded, len(plain_bytes) - 1)
    assert tail.uvarint() == 3
    tags = []
    for _ in range(3):
        tags.append(tail.uvarint())
        tail.raw(tail.uvarint())
    assert tags == [0, 1, 3]
    assert tail.remaining() == 0


def test_unknown_tagged_fields_are_skipped() -> None:
    message = m.METADATA_REQUEST
    body = {"topics": [{"topic_id": bytes(16), "name": "t"}], "allow_auto_topic_creation": True}
    encoded = bytearray(message.encode(body, 12).buf)
    assert encoded[-1] == 0  # the top-level tagged-field section is empty
    unknown = encode_uvarint(2) + encode_uvarint(99) + encode_uvarint(3) + b"abc"
    unknown += encode_uvarint(120) + encode_uvarint(0)
    mutated = bytes(encoded[:-1]) + unknown
    reader = Reader(mutated)
    decoded = plain(message.decode(reader, 12))
    assert reader.remaining() == 0
    assert decoded == plain(message.decode(Reader(bytes(encoded)), 12))


def test_known_wire_bytes() -> None:
    # Metadata v0: classic array of classic strings.
    assert bytes(m.METADATA_REQUEST.encode({"topics": [{"name": "a"}]}, 0).buf) == (
        b"\x00\x00\x00\x01" + b"\x00\x01a"
    )
    # Metadata v9 (flexible): compact array, compact string, per-struct and top-level tag sections.
    v9 = m.METADATA_REQUEST.encode(
        {"topics": [{"name": "a"}], "allow_auto_topic_creation": True}, 9
    )
    assert bytes(v9.buf) == b"\x02" + b"\x02a\x00" + b"\x01" + b"\x00" + b"\x00" + b"\x00"
    # Nullable topics (v1+): -1 classic, 0 compact.
    assert bytes(m.METADATA_REQUEST.encode({"topics": None}, 1).buf) == b"\xff\xff\xff\xff"
    assert bytes(m.METADATA_REQUEST.encode({"topics": None}, 12).buf)[0] == 0


def test_request_header_v1_and_v2() -> None:
    v1 = wire.encode_request_header(3, 8, 7, "ab", flexible=False)
    assert v1 == b"\x00\x03\x00\x08\x00\x00\x00\x07\x00\x02ab"
    v2 = wire.encode_request_header(3, 9, 7, "ab", flexible=True)
    assert v2 == v1[:2] + b"\x00\x09" + v1[4:] + b"\x00"  # client id not compact, then tags

    header = read_request_header(Reader(v1), flexible=False)
    assert (header.api_key, header.api_version, header.correlation_id) == (3, 8, 7)
    assert header.client_id == "ab"

    # A v2 header carrying a tagged field: the field is skipped and the body starts right after.
    with_tags = v2[:-1] + encode_uvarint(1) + encode_uvarint(5) + encode_uvarint(2) + b"zz"
    reader = Reader(with_tags + b"BODY")
    header = read_request_header(reader, flexible=True)
    assert header.client_id == "ab"
    assert bytes(reader.raw(reader.remaining())) == b"BODY"

    null_client = wire.encode_request_header(18, 0, 1, None, flexible=False)
    assert null_client.endswith(b"\xff\xff")
    assert read_request_header(Reader(null_client), flexible=False).client_id is None


def test_response_header_v0_and_v1() -> None:
    assert response_header(0x01020304, False) == b"\x01\x02\x03\x04"
    assert response_header(0x01020304, True) == b"\x01\x02\x03\x04\x00"


@settings(max_examples=100, deadline=None, database=None)
@given(
    st.lists(st.binary(max_size=3000), min_size=1, max_size=8),
    st.lists(st.integers(1, 5000), min_size=1, max_size=20),
)
def test_frame_decoder_reassembles_frames_split_anywhere(
    payloads: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(struct.pack(">i", len(p)) + p for p in payloads)
    decoder = FrameDecoder(1 << 20)
    frames: list[bytes] = []
    position = 0
    cut_index = 0
    while position < len(stream):
        chunk = stream[position : position + cuts[cut_index % len(cuts)]]
        cut_index += 1
        view = decoder.writable()
        count = min(len(chunk), len(view))
        view[:count] = chunk[:count]
        del view
        frames += decoder.filled(count)
        position += count
    assert frames == payloads
    assert decoder.buffered == 0


def test_frame_decoder_accepts_a_frame_larger_than_its_initial_buffer() -> None:
    """Used the way asyncio's BufferedProtocol uses it: the view handed out by `writable()` is still
    referenced while `filled()` runs (selector_events keeps it in a local during buffer_updated)."""
    payload = bytes(range(256)) * 800  # 204,800 bytes, more than the 64 KiB initial buffer
    stream = struct.pack(">i", len(payload)) + payload
    decoder = FrameDecoder(1 << 20)
    frames: list[bytes] = []
    position = 0
    while position < len(stream):
        view = decoder.writable()
        count = min(len(view), len(stream) - position)
        view[:count] = stream[position : position + count]
        frames += decoder.filled(count)  # `view` is alive here, as in asyncio
        del view
        position += count
    assert frames == [payload]


# =================================================================================================
# Against a real broker
# =================================================================================================


def _client(broker, **kwargs) -> WireClient:
    return WireClient.to(broker, **kwargs)


API_VERSIONS_BODY = {"client_software_name": "wire-test", "client_software_version": "1.0"}


def _ranges(response: dict) -> dict[int, tuple[int, int]]:
    keys = response["api_keys"]
    assert len({k["api_key"] for k in keys}) == len(keys), "an API key is listed twice"
    return {k["api_key"]: (k["min_version"], k["max_version"]) for k in keys}


@pytest.mark.parametrize("version", range(5))
def test_api_versions_lists_the_dispatch_table(broker, version: int) -> None:
    with _client(broker) as client:
        correlation_id = client.send(API_VERSIONS, version, API_VERSIONS_BODY)
        payload = client.recv_raw()
    # Response header v0 even for the flexible v3/v4: the error code follows the correlation id.
    assert struct.unpack_from(">ih", payload) == (correlation_id, ERR_NONE)
    if version >= 3:
        assert payload[6] == len(APIS) + 1, "expected a compact array right after error_code"
    response = wire.decode_response(payload, API_VERSIONS, version)
    assert response["error_code"] == ERR_NONE
    assert _ranges(response) == advertised()
    if version >= 1:
        assert response["throttle_time_ms"] == 0


def test_unsupported_api_versions_version_gets_a_v0_answer(broker, topic_name: str) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name)
        # A waiting Fetch first: the immediate answer to ApiVersions v99 must queue behind it.
        fetch_id = client.send(FETCH, 12, fetch_body({topic_name: {0: 0}}, max_wait_ms=300))
        request = wire.encode_request_header(API_VERSIONS, 99, 4242, "future-client", True)
        request += b"\x05hello\x041.0\x00"  # whatever a v99 body may hold
        client.send_raw(wire.frame(request))
        assert client.recv()["_correlation_id"] == fetch_id
        payload = client.recv_raw()
        reader = Reader(payload)
        assert reader.int32() == 4242
        body = m.API_VERSIONS_RESPONSE.decode(reader, 0)  # header v0, body v0
        assert reader.remaining() == 0, "the answer is not a plain v0 body"
        assert body["error_code"] == UNSUPPORTED_VERSION
        assert _ranges(body) == advertised()
        # The connection stays usable: the client retries with a version we listed.
        again = client.request(API_VERSIONS, 3, API_VERSIONS_BODY)
        assert again["error_code"] == ERR_NONE


def test_pipelined_responses_come_back_in_request_order(broker, topic_name: str) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name)
        started = time.monotonic()
        fetch_id = client.send(
            FETCH, 12, fetch_body({topic_name: {0: 0}}, max_wait_ms=500, min_bytes=1)
        )
        metadata_id = client.send(METADATA, 12, {"topics": None})
        first = client.recv_raw()
        first_at = time.monotonic() - started
        second = client.recv_raw()
    assert struct.unpack_from(">i", first)[0] == fetch_id
    assert struct.unpack_from(">i", second)[0] == metadata_id
    assert first_at >= 0.4, "the Fetch should have waited for max_wait_ms"
    fetch = wire.decode_response(first, FETCH, 12)
    assert fetch["responses"][0]["partitions"][0]["records"] == b""
    metadata = wire.decode_response(second, METADATA, 12)
    assert topic_name in {t["name"] for t in metadata["topics"]}


def test_mixed_pipeline_keeps_order_including_sync_answers(broker, topic_name: str) -> None:
    """Answers computed at once and acks=0 produces that get no answer must not overtake or disturb
    a Fetch that is still waiting."""
    with _client(broker) as client:
        create_topic(client, topic_name)
        expected = []
        expected.append(client.send(FETCH, 11, fetch_body({topic_name: {0: 0}}, max_wait_ms=300)))
        expected.append(client.send(API_VERSIONS, 2, {}))
        client.send(
            PRODUCE, 9, produce_body(topic_name, 0, batch(2), acks=0), expect_response=False
        )
        expected.append(client.send(METADATA, 1, {"topics": [{"name": topic_name}]}))
        expected.append(client.send(FETCH, 4, fetch_body({topic_name: {0: 0}})))
        got = [struct.unpack_from(">i", client.recv_raw())[0] for _ in expected]
    assert got == expected


# --- Produce --------------------------------------------------------------------------------------


def _latest(client: WireClient, topic: str, partition: int = 0) -> int:
    result = list_offset(client, topic, partition, LATEST)
    assert result["error_code"] == ERR_NONE, result
    return result["offset"]


def _fetch_all(client: WireClient, topic: str, partition: int = 0, offset: int = 0) -> list:
    response = client.request(FETCH, 12, fetch_body({topic: {partition: offset}}))
    result = response["responses"][0]["partitions"][0]
    assert result["error_code"] == ERR_NONE, result
    return fetched_records(result["records"])


def test_produce_acks_0_gets_no_response(broker, topic_name: str) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name)
        for _ in range(2):
            client.send(
                PRODUCE,
                9,
                produce_body(topic_name, 0, batch(3), acks=0),
                expect_response=False,
            )
        api_versions_id = client.send(API_VERSIONS, 3, API_VERSIONS_BODY)
        assert client.recv()["_correlation_id"] == api_versions_id  # not a Produce answer
        assert _latest(client, topic_name) == 6


@pytest.mark.parametrize("version", [3, 7, 9])
def test_produce_acks_1_and_all_return_base_offsets(broker, topic_name: str, version) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name)
        first = produce(client, topic_name, 0, batch([b"a", b"b", b"c"]), version=version)
        second = produce(client, topic_name, 0, batch([b"d", b"e"]), acks=-1, version=version)
        assert (first["error_code"], first["base_offset"]) == (ERR_NONE, 0)
        assert (second["error_code"], second["base_offset"]) == (ERR_NONE, 3)
        if version >= 5:
            assert second["log_start_offset"] == 0
        records = _fetch_all(client, topic_name)
    assert [(r.offset, r.value) for r in records] == list(enumerate([b"a", b"b", b"c", b"d", b"e"]))


def test_produce_with_invalid_acks_is_refused(broker, topic_name: str) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name)
        result = produce(client, topic_name, 0, batch(2), acks=5)
        assert result["error_code"] == INVALID_REQUIRED_ACKS
        assert _latest(client, topic_name) == 0


def test_batch_over_max_message_bytes_is_too_large(broker, topic_name: str) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name, configs={"max.message.bytes": "1000"})
        result = produce(client, topic_name, 0, batch([b"x" * 2000]))
        assert result["error_code"] == MESSAGE_TOO_LARGE
        assert _latest(client, topic_name) == 0
        small = produce(client, topic_name, 0, batch([b"x" * 100]))
        assert (small["error_code"], small["base_offset"]) == (ERR_NONE, 0)


def test_batch_with_a_bad_crc_is_corrupt(broker, topic_name: str) -> None:
    corrupt = bytearray(batch([b"hello", b"world"]))
    corrupt[-3] ^= 0xFF  # inside the last record, covered by the CRC
    with _client(broker) as client:
        create_topic(client, topic_name)
        result = produce(client, topic_name, 0, bytes(corrupt))
        assert result["error_code"] == CORRUPT_MESSAGE
        assert _latest(client, topic_name) == 0


def test_produce_to_an_unknown_topic(broker, topic_name: str) -> None:
    with _client(broker) as client:
        result = produce(client, topic_name + ".missing", 0, batch(1))
        assert result["error_code"] == UNKNOWN_TOPIC_OR_PARTITION
        create_topic(client, topic_name)
        result = produce(client, topic_name, 4, batch(1))  # no partition 4
        assert result["error_code"] == UNKNOWN_TOPIC_OR_PARTITION


def test_produce_request_larger_than_64k_is_accepted(broker, topic_name: str) -> None:
    """A 200 KB batch is well under message.max.bytes (1 MB) and socket.request.max.bytes."""
    value = bytes(range(256)) * 800
    with _client(broker) as client:
        create_topic(client, topic_name)
        result = produce(client, topic_name, 0, batch([value]))
        assert (result["error_code"], result["base_offset"]) == (ERR_NONE, 0)
        assert [r.value for r in _fetch_all(client, topic_name)] == [value]


# --- Idempotence ----------------------------------------------------------------------------------


def test_idempotent_produce_dedups_and_survives_restart_and_crash(
    make_broker, topic_name: str
) -> None:
    broker = make_broker()
    with _client(broker) as client:
        create_topic(client, topic_name)
        init = init_producer_id(client)
        assert init["error_code"] == ERR_NONE
        pid, epoch = init["producer_id"], init["producer_epoch"]
        assert pid >= 0 and epoch == 0

        def seq_batch(sequence: int, count: int) -> bytes:
            return batch(
                [f"s{sequence + i}".encode() for i in range(count)],
                producer_id=pid,
                producer_epoch=epoch,
                base_sequence=sequence,
            )

        first = seq_batch(0, 5)
        assert produce(client, topic_name, 0, first)["base_offset"] == 0
        retry = produce(client, topic_name, 0, first)
        assert (retry["error_code"], retry["base_offset"]) == (ERR_NONE, 0)
        assert _latest(client, topic_name) == 5

        second = seq_batch(5, 3)
        assert produce(client, topic_name, 0, second)["base_offset"] == 5
        assert produce(client, topic_name, 0, first)["base_offset"] == 0  # older, still known
        gap = produce(client, topic_name, 0, seq_batch(20, 1))
        assert gap["error_code"] == OUT_OF_ORDER_SEQUENCE_NUMBER
        assert _latest(client, topic_name) == 8

    broker.restart()  # SIGTERM, then start again on the same data
    with _client(broker) as client:
        retry = produce(client, topic_name, 0, second)
        assert (retry["error_code"], retry["base_offset"]) == (ERR_NONE, 5)
        assert _latest(client, topic_name) == 8
        third = seq_batch(8, 2)
        assert produce(client, topic_name, 0, third)["base_offset"] == 8

    broker.restart(graceful=False)  # kill -9: no snapshot written for `third`
    with _client(broker) as client:
        retry = produce(client, topic_name, 0, third)
        assert (retry["error_code"], retry["base_offset"]) == (ERR_NONE, 8)
        assert _latest(client, topic_name) == 10
        gap = produce(client, topic_name, 0, seq_batch(11, 1))
        assert gap["error_code"] == OUT_OF_ORDER_SEQUENCE_NUMBER
        assert produce(client, topic_name, 0, seq_batch(10, 1))["base_offset"] == 10
        values = [r.value for r in _fetch_all(client, topic_name)]
    assert values == [f"s{i}".encode() for i in range(11)]


# --- Fetch ----------------------------------------------------------------------------------------


def test_fetch_waits_max_wait_when_there_is_no_data(broker, topic_name: str) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name)
        started = time.monotonic()
        response = client.request(
            FETCH, 12, fetch_body({topic_name: {0: 0}}, max_wait_ms=600, min_bytes=1)
        )
        elapsed = time.monotonic() - started
    assert 0.55 <= elapsed < 2.0, elapsed
    [partition] = response["responses"][0]["partitions"]
    assert partition["error_code"] == ERR_NONE
    assert partition["records"] == b""
    assert partition["high_watermark"] == 0


def test_waiting_fetch_returns_as_soon_as_data_arrives(broker, topic_name: str) -> None:
    with _client(broker) as consumer, _client(broker) as producer:
        create_topic(consumer, topic_name)
        consumer.send(FETCH, 12, fetch_body({topic_name: {0: 0}}, max_wait_ms=10000))
        time.sleep(0.3)
        produced_at = time.monotonic()
        assert produce(producer, topic_name, 0, batch([b"wake up"]))["error_code"] == 0
        response = consumer.recv(timeout=12)
        latency = time.monotonic() - produced_at
    # max_wait_ms is 10 s: an answer this soon means the append woke the Fetch.
    assert latency < 1.5, f"fetch answered {latency:.2f}s after the produce"
    records = fetched_records(response["responses"][0]["partitions"][0]["records"])
    assert [r.value for r in records] == [b"wake up"]


def test_fetch_past_the_log_end_is_out_of_range(broker, topic_name: str) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name)
        produce(client, topic_name, 0, batch(3))
        for version in (4, 12):
            started = time.monotonic()
            response = client.request(
                FETCH, version, fetch_body({topic_name: {0: 10}}, max_wait_ms=5000)
            )
            assert time.monotonic() - started < 2.5, "an error should not wait for max_wait_ms"
            [partition] = response["responses"][0]["partitions"]
            assert partition["error_code"] == OFFSET_OUT_OF_RANGE
            assert partition["records"] == b""
        # At exactly the log end the fetch is valid (and empty).
        response = client.request(FETCH, 12, fetch_body({topic_name: {0: 3}}))
        assert response["responses"][0]["partitions"][0]["error_code"] == ERR_NONE


def test_fetch_response_lists_every_requested_partition(broker, topic_name: str) -> None:
    missing_topic = topic_name + ".missing"
    with _client(broker) as client:
        create_topic(client, topic_name, partitions=3)
        produce(client, topic_name, 0, batch([b"p0"]))
        produce(client, topic_name, 2, batch([b"p2a", b"p2b"]))
        wanted = {topic_name: {0: 0, 1: 0, 2: 1, 5: 0}, missing_topic: {0: 0}}
        response = client.request(FETCH, 12, fetch_body(wanted))
    topics = {t["topic"]: t["partitions"] for t in response["responses"]}
    assert set(topics) == {topic_name, missing_topic}
    by_index = {p["partition_index"]: p for p in topics[topic_name]}
    assert sorted(by_index) == [0, 1, 2, 5]
    assert [by_index[i]["error_code"] for i in (0, 1, 2, 5)] == [0, 0, 0, 3]
    assert [by_index[i]["high_watermark"] for i in (0, 1, 2)] == [1, 0, 2]
    values = {i: [r.value for r in fetched_records(by_index[i]["records"])] for i in (0, 1, 2)}
    assert values == {0: [b"p0"], 1: [], 2: [b"p2a", b"p2b"]}
    assert [(p["partition_index"], p["error_code"]) for p in topics[missing_topic]] == [(0, 3)]


# --- ListOffsets and OffsetForLeaderEpoch ---------------------------------------------------------


def _produce_timestamped(client: WireClient, topic: str) -> int:
    base = int(time.time() * 1000) - 60_000
    produce(client, topic, 0, batch(3, timestamps=[base, base + 1, base + 2]))
    produce(client, topic, 0, batch(3, timestamps=[base + 10, base + 50, base + 20]))
    return base


def test_list_offsets_earliest_latest_and_by_timestamp(broker, topic_name: str) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name)
        empty = list_offset(client, topic_name, 0, LATEST)
        assert (empty["error_code"], empty["offset"]) == (ERR_NONE, 0)
        base = _produce_timestamped(client, topic_name)
        for version in (1, 4, 7):
            earliest = list_offset(client, topic_name, 0, EARLIEST, version)
            latest = list_offset(client, topic_name, 0, LATEST, version)
            assert (earliest["error_code"], earliest["offset"]) == (ERR_NONE, 0)
            assert (latest["error_code"], latest["offset"]) == (ERR_NONE, 6)
        by_time = list_offset(client, topic_name, 0, base + 1)
        assert (by_time["offset"], by_time["timestamp"]) == (1, base + 1)
        by_time = list_offset(client, topic_name, 0, base + 15)
        assert (by_time["offset"], by_time["timestamp"]) == (4, base + 50)
        after_all = list_offset(client, topic_name, 0, base + 10_000)
        assert after_all["offset"] == -1
        unknown = list_offset(client, topic_name + ".missing", 0, LATEST)
        assert unknown["error_code"] == UNKNOWN_TOPIC_OR_PARTITION


def test_list_offsets_max_timestamp_finds_the_record(broker, topic_name: str) -> None:
    """KIP-734 (ListOffsets v7, timestamp -3): the offset and timestamp of the record with the
    largest timestamp — here the middle record of the second batch, offset 4."""
    with _client(broker) as client:
        create_topic(client, topic_name)
        empty = list_offset(client, topic_name, 0, MAX_TIMESTAMP)
        assert (empty["error_code"], empty["offset"]) == (ERR_NONE, -1)
        base = _produce_timestamped(client, topic_name)
        result = list_offset(client, topic_name, 0, MAX_TIMESTAMP, version=7)
    assert result["error_code"] == ERR_NONE
    assert (result["offset"], result["timestamp"]) == (4, base + 50)
    assert result["leader_epoch"] == 0


def test_offset_for_leader_epoch_zero_is_the_log_end(broker, topic_name: str) -> None:
    with _client(broker) as client:
        create_topic(client, topic_name)
        produce(client, topic_name, 0, batch(4))
        produce(client, topic_name, 0, batch(3))
        for version in (2, 3, 4):
            body = {
                "replica_id": -1,
                "topics": [
                    {
                        "topic": topic_name,
                        "partitions": [
                            {"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0},
                            {"partition": 9, "current_leader_epoch": -1, "leader_epoch": 0},
                        ],
                    }
                ],
            }
            response = client.request(OFFSET_FOR_LEADER_EPOCH, version, body)
            found, missing = response["topics"][0]["partitions"]
            assert (found["error_code"], found["leader_epoch"], found["end_offset"]) == (0, 0, 7)
            assert missing["error_code"] == UNKNOWN_TOPIC_OR_PARTITION


def test_list_offsets_and_fetch_agree_under_concurrent_clients(broker, topic_name: str) -> None:
    """Several connections producing at once: every acknowledged offset is distinct and readable."""
    with _client(broker) as admin:
        create_topic(admin, topic_name)
    offsets: list[int] = []
    errors: list[BaseException] = []

    def producer(n: int) -> None:
        try:
            with _client(broker) as client:
                for i in range(10):
                    result = produce(client, topic_name, 0, batch([f"{n}-{i}".encode()]))
                    assert result["error_code"] == ERR_NONE
                    offsets.append(result["base_offset"])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(offsets) == list(range(40))
    with _client(broker) as client:
        assert _latest(client, topic_name) == 40
        assert len(_fetch_all(client, topic_name)) == 40


# =================================================================================================
# Security API schemas (not yet served: round trips here, and against kafka-python's codec)
# =================================================================================================


def _kafka_python_security_messages() -> dict[str, tuple[Message, type]]:
    from kafka.protocol.admin.acl import (
        CreateAclsRequest,
        CreateAclsResponse,
        DeleteAclsRequest,
        DeleteAclsResponse,
        DescribeAclsRequest,
        DescribeAclsResponse,
    )
    from kafka.protocol.admin.users import (
        AlterUserScramCredentialsRequest,
        AlterUserScramCredentialsResponse,
        DescribeUserScramCredentialsRequest,
        DescribeUserScramCredentialsResponse,
    )
    from kafka.protocol.sasl import (
        SaslAuthenticateRequest,
        SaslAuthenticateResponse,
        SaslHandshakeRequest,
        SaslHandshakeResponse,
    )

    return {
        "SaslHandshake-request": (m.SASL_HANDSHAKE_REQUEST, SaslHandshakeRequest),
        "SaslHandshake-response": (m.SASL_HANDSHAKE_RESPONSE, SaslHandshakeResponse),
        "SaslAuthenticate-request": (m.SASL_AUTHENTICATE_REQUEST, SaslAuthenticateRequest),
        "SaslAuthenticate-response": (m.SASL_AUTHENTICATE_RESPONSE, SaslAuthenticateResponse),
        "DescribeAcls-request": (m.DESCRIBE_ACLS_REQUEST, DescribeAclsRequest),
        "DescribeAcls-response": (m.DESCRIBE_ACLS_RESPONSE, DescribeAclsResponse),
        "CreateAcls-request": (m.CREATE_ACLS_REQUEST, CreateAclsRequest),
        "CreateAcls-response": (m.CREATE_ACLS_RESPONSE, CreateAclsResponse),
        "DeleteAcls-request": (m.DELETE_ACLS_REQUEST, DeleteAclsRequest),
        "DeleteAcls-response": (m.DELETE_ACLS_RESPONSE, DeleteAclsResponse),
        "DescribeUserScramCredentials-request": (
            m.DESCRIBE_USER_SCRAM_CREDENTIALS_REQUEST,
            DescribeUserScramCredentialsRequest,
        ),
        "DescribeUserScramCredentials-response": (
            m.DESCRIBE_USER_SCRAM_CREDENTIALS_RESPONSE,
            DescribeUserScramCredentialsResponse,
        ),
        "AlterUserScramCredentials-request": (
            m.ALTER_USER_SCRAM_CREDENTIALS_REQUEST,
            AlterUserScramCredentialsRequest,
        ),
        "AlterUserScramCredentials-response": (
            m.ALTER_USER_SCRAM_CREDENTIALS_RESPONSE,
            AlterUserScramCredentialsResponse,
        ),
    }


_SECURITY_MESSAGES = _kafka_python_security_messages()
_SECURITY_CASES = [
    pytest.param(name, version, id=f"{name}-v{version}")
    for name, (message, _) in _SECURITY_MESSAGES.items()
    for version in range(message.version_range[0], message.version_range[1] + 1)
]


def _kafka_python_plain(value, version: int):
    """A kafka-python decoded message as the dicts our codec uses."""
    if isinstance(value, list):
        return [_kafka_python_plain(item, version) for item in value]
    if isinstance(value, memoryview):
        return bytes(value)
    if hasattr(value, "_struct"):
        return {
            field.name: _kafka_python_plain(getattr(value, field.name), version)
            for field in value._struct._fields
            if field.for_version_q(version)
        }
    return value


@pytest.mark.parametrize(("name", "version"), _SECURITY_CASES)
def test_security_messages_round_trip_and_match_kafka_pythons_codec(name: str, version: int):
    message, kafka_python = _SECURITY_MESSAGES[name]
    assert message.api_key == kafka_python.API_KEY
    # Our schemas list every version Kafka defines; kafka-python's may stop earlier.
    assert message.version_range[1] >= kafka_python.max_version

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(message_strategy(message, version))
    def check(value: dict) -> None:
        assert _round_trip(message, version, value) == value
        if version <= kafka_python.max_version:
            encoded = bytes(message.encode(value, version).buf)
            decoded = kafka_python.decode(encoded, version=version)
            assert _kafka_python_plain(decoded, version) == value

    check()
    assert _round_trip(message, version, _round_trip(message, version, {})) == _round_trip(
        message, version, {}
    )


def test_security_message_known_bytes() -> None:
    # SaslHandshake v1: a classic string; SaslAuthenticate v2: compact bytes and a tag section.
    assert bytes(m.SASL_HANDSHAKE_REQUEST.encode({"mechanism": "PLAIN"}, 1).buf) == b"\x00\x05PLAIN"
    assert bytes(m.SASL_AUTHENTICATE_REQUEST.encode({"auth_bytes": b"ab"}, 2).buf) == b"\x03ab\x00"
    # CreateAcls v0 has no pattern type; v1 defaults it to LITERAL (3).
    creation = {
        "resource_type": 2,
        "resource_name": "t",
        "principal": "User:a",
        "host": "*",
        "operation": 3,
        "permission_type": 3,
    }
    v0 = bytes(m.CREATE_ACLS_REQUEST.encode({"creations": [creation]}, 0).buf)
    v1 = bytes(m.CREATE_ACLS_REQUEST.encode({"creations": [creation]}, 1).buf)
    assert len(v1) == len(v0) + 1
    assert m.CREATE_ACLS_REQUEST.decode(Reader(v1), 1)["creations"][0]["resource_pattern_type"] == 3
