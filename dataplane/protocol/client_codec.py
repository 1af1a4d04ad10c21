"""The client side of the wire: frame a request, read back its response (for our own clients:
replica fetchers and the admin tool)."""

from __future__ import annotations

import struct

from dataplane.protocol.primitives import Reader, Writer
from dataplane.protocol.schema import Message

_SIZE = struct.Struct(">i")
API_VERSIONS_KEY = 18


def encode_request(
    api_key: int, version: int, correlation_id: int, client_id: str, message: Message, body: dict
) -> bytes:
    """A size-prefixed request: header v1, or v2 (with tagged fields) for flexible versions."""
    writer = Writer()
    writer.raw(b"\0\0\0\0")
    writer.int16(api_key)
    writer.int16(version)
    writer.int32(correlation_id)
    writer.string(client_id)
    if message.is_flexible(version):
        writer.uvarint(0)
    message.encode(body, version, writer)
    _SIZE.pack_into(writer.buf, 0, len(writer.buf) - 4)
    return bytes(writer.buf)


def decode_response(
    api_key: int, version: int, message: Message, frame: bytes | memoryview
) -> tuple[int, dict]:
    """(correlation id, body) of a response frame without its size prefix."""
    reader = Reader(frame)
    correlation_id = reader.int32()
    if message.is_flexible(version) and api_key != API_VERSIONS_KEY:
        reader.skip_tagged_fields()
    return correlation_id, message.decode(reader, version)


def frame_size(prefix: bytes) -> int:
    return _SIZE.unpack(prefix)[0]
