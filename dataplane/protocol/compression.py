"""Decompression of record batch payloads, for the few broker features that must look inside."""

from __future__ import annotations

import struct

import cramjam

NONE, GZIP, SNAPPY, LZ4, ZSTD = range(5)
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER_SIZE = 16
_CHUNK_LENGTH = struct.Struct(">i")


def _snappy(data: bytes) -> bytes:
    if not data.startswith(_XERIAL_MAGIC):
        return bytes(cramjam.snappy.decompress_raw(data))
    # Java clients frame snappy blocks the xerial way: a 16-byte header, then length-prefixed blocks.
    out = bytearray()
    position = _XERIAL_HEADER_SIZE
    while position < len(data):
        (length,) = _CHUNK_LENGTH.unpack_from(data, position)
        position += 4
        out += cramjam.snappy.decompress_raw(data[position : position + length])
        position += length
    return bytes(out)


_DECOMPRESS = {
    GZIP: lambda data: bytes(cramjam.gzip.decompress(data)),
    SNAPPY: _snappy,
    LZ4: lambda data: bytes(cramjam.lz4.decompress(data)),
    ZSTD: lambda data: bytes(cramjam.zstd.decompress(data)),
}


def decompress(codec: int, data: bytes) -> bytes:
    if codec == NONE:
        return data
    try:
        return _DECOMPRESS[codec](data)
    except KeyError:
        raise ValueError(f"unknown compression codec {codec}") from None
