"""Request and response headers."""

from __future__ import annotations

from dataclasses import dataclass

from dataplane.protocol.primitives import Reader, Writer, encode_uvarint


@dataclass(frozen=True, slots=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


def read_request_header(reader: Reader, flexible: bool) -> RequestHeader:
    """Header v1 (v2 when the request is flexible: tagged fields follow). The client id is never
    compact, even in v2."""
    header = RequestHeader(reader.int16(), reader.int16(), reader.int32(), reader.string())
    if flexible:
        reader.skip_tagged_fields()
    return header


def peek_api(frame: bytes | memoryview) -> tuple[int, int]:
    reader = Reader(frame)
    return reader.int16(), reader.int16()


def response_header(correlation_id: int, flexible: bool) -> bytes:
    writer = Writer()
    writer.int32(correlation_id)
    if flexible:
        writer.raw(encode_uvarint(0))
    return bytes(writer.buf)
