"""Records of the internal `__consumer_offsets` topic, in Kafka's own key/value formats.

Key version 0/1: an offset commit (group, topic, partition); key version 2: group metadata (group).
Offset commit value version 3: offset, leader epoch, metadata, commit timestamp.
Group metadata value version 3: protocol type, generation, protocol, leader, state timestamp, members.
A null value is a tombstone: the key is deleted once the topic is compacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataplane.protocol.primitives import Reader, Writer

OFFSETS_TOPIC = "__consumer_offsets"
OFFSET_KEY_VERSION = 1
GROUP_KEY_VERSION = 2
OFFSET_VALUE_VERSION = 3
GROUP_VALUE_VERSION = 3


def java_string_hash(text: str) -> int:
    """Java's String.hashCode, which Kafka uses to place a group on an offsets partition."""
    value = 0
    for unit in _utf16_units(text):
        value = (31 * value + unit) & 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _utf16_units(text: str) -> list[int]:
    data = text.encode("utf-16-be")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def partition_for(group_id: str, partitions: int) -> int:
    # Kafka's Utils.abs: the most negative int maps to 0 rather than overflowing.
    return (java_string_hash(group_id) & 0x7FFFFFFF) % partitions


@dataclass(frozen=True, slots=True)
class OffsetKey:
    group: str
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class GroupKey:
    group: str


@dataclass(frozen=True, slots=True)
class OffsetValue:
    offset: int
    leader_epoch: int
    metadata: str
    commit_timestamp: int


@dataclass(slots=True)
class StoredMember:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    rebalance_timeout: int
    session_timeout: int
    subscription: bytes
    assignment: bytes


@dataclass(slots=True)
class GroupValue:
    protocol_type: str
    generation: int
    protocol: str | None
    leader: str | None
    state_timestamp: int
    members: list[StoredMember] = field(default_factory=list)


def encode_key(key: OffsetKey | GroupKey) -> bytes:
    writer = Writer()
    if isinstance(key, OffsetKey):
        writer.int16(OFFSET_KEY_VERSION)
        writer.string(key.group)
        writer.string(key.topic)
        writer.int32(key.partition)
    else:
        writer.int16(GROUP_KEY_VERSION)
        writer.string(key.group)
    return bytes(writer.buf)


def decode_key(data: bytes) -> OffsetKey | GroupKey | None:
    """The key of an offsets-topic record; None for key versions this broker does not know."""
    reader = Reader(data)
    version = reader.int16()
    if version in (0, 1):
        return OffsetKey(reader.string() or "", reader.string() or "", reader.int32())
    if version == GROUP_KEY_VERSION:
        return GroupKey(reader.string() or "")
    return None


def encode_offset_value(value: OffsetValue) -> bytes:
    writer = Writer()
    writer.int16(OFFSET_VALUE_VERSION)
    writer.int64(value.offset)
    writer.int32(value.leader_epoch)
    writer.string(value.metadata)
    writer.int64(value.commit_timestamp)
    return bytes(writer.buf)


def decode_offset_value(data: bytes) -> OffsetValue:
    reader = Reader(data)
    version = reader.int16()
    offset = reader.int64()
    leader_epoch = reader.int32() if version >= 3 else -1
    metadata = reader.string() or ""
    commit_timestamp = reader.int64()
    return OffsetValue(offset, leader_epoch, metadata, commit_timestamp)


def encode_group_value(value: GroupValue) -> bytes:
    writer = Writer()
    writer.int16(GROUP_VALUE_VERSION)
    writer.string(value.protocol_type)
    writer.int32(value.generation)
    writer.string(value.protocol)
    writer.string(value.leader)
    writer.int64(value.state_timestamp)
    writer.int32(len(value.members))
    for member in value.members:
        writer.string(member.member_id)
        writer.string(member.group_instance_id)
        writer.string(member.client_id)
        writer.string(member.client_host)
        writer.int32(member.rebalance_timeout)
        writer.int32(member.session_timeout)
        writer.bytes(member.subscription)
        writer.bytes(member.assignment)
    return bytes(writer.buf)


def decode_group_value(data: bytes) -> GroupValue:
    reader = Reader(data)
    version = reader.int16()
    protocol_type = reader.string() or ""
    generation = reader.int32()
    protocol = reader.string()
    leader = reader.string()
    state_timestamp = reader.int64() if version >= 2 else -1
    members = []
    for _ in range(reader.int32()):
        member_id = reader.string() or ""
        instance_id = reader.string() if version >= 3 else None
        client_id = reader.string() or ""
        client_host = reader.string() or ""
        rebalance_timeout = reader.int32() if version >= 1 else -1
        session_timeout = reader.int32()
        subscription = bytes(reader.bytes() or b"")
        assignment = bytes(reader.bytes() or b"")
        members.append(
            StoredMember(
                member_id,
                instance_id,
                client_id,
                client_host,
                rebalance_timeout,
                session_timeout,
                subscription,
                assignment,
            )
        )
    return GroupValue(protocol_type, generation, protocol, leader, state_timestamp, members)
