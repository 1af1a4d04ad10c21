"""Codec cost on the hot path: our declarative schema codec next to kio (generated from Kafka's JSON
schemas, with a native reader) on the same messages, in one run.

Prints microseconds per Produce v9 request decode and per Fetch v12 response encode.

    .venv/bin/python bench/codec.py      (needs `pip install kio` for the reference column)
"""

from __future__ import annotations

import datetime
import io
import timeit

from dataplane.protocol import messages
from dataplane.protocol.primitives import Reader

PARTITIONS = 4
PRODUCE_RECORDS = b"r" * 16_384
FETCH_RECORDS = b"f" * 1_048_576


def produce_request() -> dict:
    return {
        "transactional_id": None,
        "acks": 1,
        "timeout_ms": 30_000,
        "topic_data": [
            {
                "name": "bench",
                "partition_data": [
                    {"index": p, "records": PRODUCE_RECORDS} for p in range(PARTITIONS)
                ],
            }
        ],
    }


def fetch_response() -> dict:
    return {
        "throttle_time_ms": 0,
        "error_code": 0,
        "session_id": 0,
        "responses": [
            {
                "topic": "bench",
                "partitions": [
                    {
                        "partition_index": p,
                        "error_code": 0,
                        "high_watermark": 1_000_000,
                        "last_stable_offset": 1_000_000,
                        "log_start_offset": 0,
                        "aborted_transactions": None,
                        "preferred_read_replica": -1,
                        "records": FETCH_RECORDS,
                    }
                    for p in range(PARTITIONS)
                ],
            }
        ],
    }


def per_call_us(func, number: int = 2000) -> float:
    return min(timeit.repeat(func, number=number, repeat=3)) / number * 1e6


def ours() -> tuple[float, float]:
    wire = bytes(messages.PRODUCE_REQUEST.encode(produce_request(), 9).buf)
    response = fetch_response()
    decode = per_call_us(lambda: messages.PRODUCE_REQUEST.decode(Reader(wire), 9))
    encode = per_call_us(lambda: messages.FETCH_RESPONSE.encode(response, 12))
    return decode, encode


def kio_reference() -> tuple[float, float] | None:
    try:
        from kio.schema.fetch.v12 import response as fetch
        from kio.schema.produce.v9 import request as produce
        from kio.serial import entity_reader, entity_writer
    except ImportError:
        return None
    wire = bytes(messages.PRODUCE_REQUEST.encode(produce_request(), 9).buf)
    read_produce = entity_reader(produce.ProduceRequest)
    entity = fetch.FetchResponse(
        throttle_time=datetime.timedelta(0),
        error_code=fetch.ErrorCode.none,
        session_id=0,
        responses=(
            fetch.FetchableTopicResponse(
                topic="bench",
                partitions=tuple(
                    fetch.PartitionData(
                        partition_index=p,
                        error_code=fetch.ErrorCode.none,
                        high_watermark=1_000_000,
                        last_stable_offset=1_000_000,
                        log_start_offset=0,
                        aborted_transactions=None,
                        preferred_read_replica=-1,
                        records=FETCH_RECORDS,
                    )
                    for p in range(PARTITIONS)
                ),
            ),
        ),
    )
    write_fetch = entity_writer(fetch.FetchResponse)

    def encode() -> bytes:
        out = io.BytesIO()
        write_fetch(out, entity)
        return out.getvalue()

    return per_call_us(lambda: read_produce(wire, 0)), per_call_us(encode, number=500)


def main() -> None:
    decode, encode = ours()
    print(f"{'codec':<10} {'produce v9 decode':>20} {'fetch v12 encode':>20}")
    print(f"{'ours':<10} {decode:>17.1f} us {encode:>17.1f} us")
    reference = kio_reference()
    if reference is None:
        print("kio        not installed (pip install kio) — no reference column")
    else:
        print(f"{'kio':<10} {reference[0]:>17.1f} us {reference[1]:>17.1f} us")


if __name__ == "__main__":
    main()
