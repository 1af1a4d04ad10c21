"""Hypothesis strategies that produce message dicts for any schema version of the broker's codecs."""

from __future__ import annotations

from hypothesis import strategies as st

from dataplane.protocol.schema import Array, F, Message, Struct

_INT_BOUNDS = {
    "int8": (-(2**7), 2**7 - 1),
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


def _primitive(kind: str) -> st.SearchStrategy:
    if kind in _INT_BOUNDS:
        low, high = _INT_BOUNDS[kind]
        return st.integers(low, high)
    if kind == "bool":
        return st.booleans()
    if kind == "float64":
        return st.floats(allow_nan=False)
    if kind == "uuid":
        return st.binary(min_size=16, max_size=16)
    if kind == "string":
        return st.text(max_size=12)
    if kind in ("bytes", "records"):
        return st.binary(max_size=40)
    raise ValueError(f"no strategy for {kind!r}")


def _type(kind: str | Array | Struct, version: int) -> st.SearchStrategy:
    if isinstance(kind, Struct):
        return struct_strategy(kind.fields, version)
    if isinstance(kind, Array):
        return st.lists(_type(kind.element, version), max_size=3)
    return _primitive(kind)


def struct_strategy(fields: tuple[F, ...], version: int) -> st.SearchStrategy[dict]:
    members = {}
    for fld in fields:
        if not fld.present_in(version):
            continue
        strategy = _type(fld.type, version)
        if fld.nullable_in(version):
            strategy = st.none() | strategy
        members[fld.name] = strategy
    return st.fixed_dictionaries(members)


def message_strategy(message: Message, version: int) -> st.SearchStrategy[dict]:
    """Every field the version has, with any value its type allows (null where nullable)."""
    return struct_strategy(message.fields, version)
