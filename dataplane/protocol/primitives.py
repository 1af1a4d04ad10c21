"""Kafka protocol primitive types: a bounds-checked reader and an appending writer."""

from __future__ import annotations

import struct

_I8 = struct.Struct(">b")
_I16 = struct.Struct(">h")
_U16 = struct.Struct(">H")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")
_F64 = struct.Struct(">d")


class ProtocolError(ValueError):
    """A frame that does not follow the Kafka protocol (truncated, malformed or out of range)."""


class Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf: bytes | memoryview, pos: int = 0) -> None:
        self.buf = memoryview(buf) if not isinstance(buf, memoryview) else buf
        self.pos = pos

    def _take(self, size: int) -> int:
        start = self.pos
        end = start + size
        if size < 0 or end > len(self.buf):
            raise ProtocolError(f"need {size} bytes at offset {start}, frame has {len(self.buf)}")
        self.pos = end
        return start

    def int8(self) -> int:
        return _I8.unpack_from(self.buf, self._take(1))[0]

    def int16(self) -> int:
        return _I16.unpack_from(self.buf, self._take(2))[0]

    def uint16(self) -> int:
        return _U16.unpack_from(self.buf, self._take(2))[0]

    def int32(self) -> int:
        return _I32.unpack_from(self.buf, self._take(4))[0]

    def uint32(self) -> int:
        return _U32.unpack_from(self.buf, self._take(4))[0]

    def int64(self) -> int:
        return _I64.unpack_from(self.buf, self._take(8))[0]

    def float64(self) -> float:
        return _F64.unpack_from(self.buf, self._take(8))[0]

    def bool(self) -> bool:
        return self.buf[self._take(1)] != 0

    def uvarint(self) -> int:
        buf = self.buf
        result = shift = 0
        while True:
            if self.pos >= len(buf):
                raise ProtocolError("truncated varint")
            byte = buf[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise ProtocolError("varint too long")

    def varint(self) -> int:
        value = self.uvarint()
        return (value >> 1) ^ -(value & 1)

    def raw(self, size: int) -> memoryview:
        start = self._take(size)
        return self.buf[start : start + size]

    def length(self, compact: bool) -> int:
        """An array/string/bytes length; -1 means null."""
        return self.uvarint() - 1 if compact else self.int32()

    def string(self, compact: bool = False) -> str | None:
        size = self.uvarint() - 1 if compact else self.int16()
        if size < 0:
            return None
        try:
            return str(self.raw(size), "utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"string is not UTF-8: {exc}") from None

    def bytes(self, compact: bool = False) -> memoryview | None:
        size = self.length(compact)
        return None if size < 0 else self.raw(size)

    def uuid(self) -> bytes:
        return bytes(self.raw(16))

    def skip_tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.raw(self.uvarint())

    def remaining(self) -> int:
        return len(self.buf) - self.pos


def encode_uvarint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_varint(value: int) -> bytes:
    return encode_uvarint((value << 1) ^ (value >> 63))


class Writer:
    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def int8(self, value: int) -> None:
        self.buf += _I8.pack(value)

    def int16(self, value: int) -> None:
        self.buf += _I16.pack(value)

    def uint16(self, value: int) -> None:
        self.buf += _U16.pack(value)

    def int32(self, value: int) -> None:
        self.buf += _I32.pack(value)

    def uint32(self, value: int) -> None:
        self.buf += _U32.pack(value)

    def int64(self, value: int) -> None:
        self.buf += _I64.pack(value)

    def float64(self, value: float) -> None:
        self.buf += _F64.pack(value)

    def bool(self, value: bool) -> None:
        self.buf.append(1 if value else 0)

    def uvarint(self, value: int) -> None:
        self.buf += encode_uvarint(value)

    def length(self, size: int, compact: bool) -> None:
        if compact:
            self.buf += encode_uvarint(size + 1)
        else:
            self.buf += _I32.pack(size)

    def string(self, value: str | None, compact: bool = False) -> None:
        if value is None:
            self.buf += b"\x00" if compact else b"\xff\xff"
            return
        data = value.encode()
        if compact:
            self.buf += encode_uvarint(len(data) + 1)
        else:
            self.buf += _I16.pack(len(data))
        self.buf += data

    def bytes(self, value: bytes | memoryview | None, compact: bool = False) -> None:
        if value is None:
            self.length(-1, compact)
            return
        self.length(len(value), compact)
        self.buf += value

    def uuid(self, value: bytes) -> None:
        self.buf += value

    def raw(self, data: bytes | memoryview) -> None:
        self.buf += data
