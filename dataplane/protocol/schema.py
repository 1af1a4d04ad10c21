"""A declarative description of Kafka messages, compiled per version into decoders and encoders.

Messages decode into plain dicts keyed by snake_case field names; encoders take the same dicts and fill
fields the caller left out with the field's default. Fields absent from a version are skipped both ways.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dataplane.protocol.primitives import ProtocolError, Reader, Writer

Decoder = Callable[[Reader], Any]
Encoder = Callable[[Writer, Any], None]

_INT_TYPES = ("int8", "int16", "uint16", "int32", "int64")


def parse_versions(spec: str | None) -> tuple[int, int] | None:
    """'3+' → (3, 32767); '1-4' → (1, 4); '5' → (5, 5); 'none' or None → None."""
    if spec is None or spec == "none":
        return None
    if spec.endswith("+"):
        return int(spec[:-1]), 0x7FFF
    low, _, high = spec.partition("-")
    return int(low), int(high or low)


def _within(version: int, bounds: tuple[int, int] | None) -> bool:
    return bounds is not None and bounds[0] <= version <= bounds[1]


@dataclass(frozen=True)
class Struct:
    fields: tuple[F, ...]

    def __init__(self, *fields: F) -> None:
        object.__setattr__(self, "fields", fields)


@dataclass(frozen=True)
class Array:
    element: str | Struct


@dataclass(frozen=True)
class F:
    name: str
    type: str | Array | Struct
    versions: str
    nullable: str | None = None
    tag: int | None = None
    tagged: str | None = None
    default: Any = field(default=None)

    def present_in(self, version: int) -> bool:
        return _within(version, parse_versions(self.versions))

    def nullable_in(self, version: int) -> bool:
        return _within(version, parse_versions(self.nullable))

    def tagged_in(self, version: int) -> bool:
        return self.tag is not None and _within(version, parse_versions(self.tagged))

    def default_value(self, version: int) -> Any:
        if self.default is not None:
            return self.default
        if isinstance(self.type, Array):
            return None if self.nullable_in(version) else []
        if isinstance(self.type, Struct):
            return {}
        if self.nullable_in(version):
            return None
        return {
            "bool": False,
            "string": "",
            "bytes": b"",
            "records": None,
            "uuid": bytes(16),
            "float64": 0.0,
        }.get(self.type, 0)


def _refuse_null(decode: Decoder, what: str) -> Decoder:
    def decode_non_null(reader: Reader) -> Any:
        value = decode(reader)
        if value is None:
            raise ProtocolError(f"null {what} where the schema does not allow one")
        return value

    return decode_non_null


def _primitive_codec(kind: str, compact: bool, nullable: bool) -> tuple[Decoder, Encoder]:
    if kind in _INT_TYPES or kind in ("float64", "bool", "uuid"):
        return getattr(Reader, kind), getattr(Writer, kind)
    if kind == "string":
        decode: Decoder = lambda r: r.string(compact)  # noqa: E731
        encode: Encoder = lambda w, v: w.string(v, compact)  # noqa: E731
    elif kind in ("bytes", "records"):
        decode = lambda r: r.bytes(compact)  # noqa: E731
        encode = lambda w, v: w.bytes(v, compact)  # noqa: E731
    else:
        raise ValueError(f"unknown primitive type {kind!r}")
    return (decode if nullable else _refuse_null(decode, kind)), encode


def _type_codec(
    kind: str | Array | Struct, version: int, flexible: bool, nullable: bool = False
) -> tuple[Decoder, Encoder]:
    if isinstance(kind, Struct):
        return _struct_codec(kind.fields, version, flexible)
    if isinstance(kind, Array):
        element_decode, element_encode = _type_codec(kind.element, version, flexible)

        def decode_array(reader: Reader) -> list | None:
            count = reader.length(flexible)
            if count < 0:
                if not nullable:
                    raise ProtocolError("null array where the schema does not allow one")
                return None
            if count > reader.remaining():
                raise ProtocolError(f"array of {count} elements exceeds the frame")
            return [element_decode(reader) for _ in range(count)]

        def encode_array(writer: Writer, value: list | None) -> None:
            if value is None:
                writer.length(-1, flexible)
                return
            writer.length(len(value), flexible)
            for item in value:
                element_encode(writer, item)

        return decode_array, encode_array
    return _primitive_codec(kind, flexible, nullable)


def _struct_codec(fields: tuple[F, ...], version: int, flexible: bool) -> tuple[Decoder, Encoder]:
    regular: list[tuple[str, Decoder, Encoder, Any]] = []
    tagged: dict[int, tuple[str, Decoder, Encoder, Any]] = {}
    for fld in fields:
        if not fld.present_in(version):
            continue
        decode, encode = _type_codec(fld.type, version, flexible, fld.nullable_in(version))
        entry = (fld.name, decode, encode, fld.default_value(version))
        if flexible and fld.tagged_in(version):
            tagged[fld.tag] = entry
        else:
            regular.append(entry)
    tag_order = sorted(tagged.items())
    defaults = {name: default for name, _, _, default in regular}
    defaults.update({name: default for name, _, _, default in tagged.values()})

    def decode_struct(reader: Reader) -> dict:
        obj = {name: decode(reader) for name, decode, _, _ in regular}
        if flexible:
            for name, _, _, default in tagged.values():
                obj[name] = default
            for _ in range(reader.uvarint()):
                tag = reader.uvarint()
                size = reader.uvarint()
                end = reader.pos + size
                if tag in tagged:
                    name, decode, _, _ = tagged[tag]
                    obj[name] = decode(Reader(reader.raw(size)))
                else:
                    reader.raw(size)
                reader.pos = end
        return obj

    def encode_struct(writer: Writer, obj: dict) -> None:
        get = obj.get
        for name, _, encode, default in regular:
            value = get(name, default)
            encode(writer, default if value is None and default is not None else value)
        if flexible:
            present = [
                (tag, name, encode)
                for tag, (name, _, encode, default) in tag_order
                if get(name, default) != default
            ]
            writer.uvarint(len(present))
            for tag, name, encode in present:
                inner = Writer()
                encode(inner, obj[name])
                writer.uvarint(tag)
                writer.uvarint(len(inner.buf))
                writer.raw(inner.buf)

    return decode_struct, encode_struct


@dataclass(frozen=True)
class Message:
    api_key: int | None
    versions: str
    flexible: str
    fields: tuple[F, ...]
    # Compiled codecs by version. Not a functools.cache on the method: that hashes the whole frozen
    # field tree on every call, which cost a few percent of a broker's CPU under load.
    _codecs: dict[int, tuple[Decoder, Encoder]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @property
    def version_range(self) -> tuple[int, int]:
        bounds = parse_versions(self.versions)
        assert bounds is not None
        return bounds

    def is_flexible(self, version: int) -> bool:
        return _within(version, parse_versions(self.flexible))

    def codec(self, version: int) -> tuple[Decoder, Encoder]:
        codec = self._codecs.get(version)
        if codec is None:
            low, high = self.version_range
            if not low <= version <= high:
                raise ValueError(f"version {version} outside {self.versions}")
            codec = self._codecs[version] = _struct_codec(
                self.fields, version, self.is_flexible(version)
            )
        return codec

    def decode(self, reader: Reader, version: int) -> dict:
        return self.codec(version)[0](reader)

    def encode(self, obj: dict, version: int, writer: Writer | None = None) -> Writer:
        writer = writer or Writer()
        self.codec(version)[1](writer, obj)
        return writer
