"""The embedded "consumer" protocol: what members subscribe to and what they were assigned.

The coordinator only relays these bytes between members; the broker reads them solely to answer
questions such as "is this group consuming topic T" and to print assignments.
"""

from __future__ import annotations

from dataplane.protocol.primitives import ProtocolError, Reader

CONSUMER_PROTOCOL_TYPE = "consumer"


def subscribed_topics(metadata: bytes) -> set[str]:
    """Topics in a ConsumerProtocolSubscription (any version); empty if it cannot be read."""
    try:
        reader = Reader(metadata)
        reader.int16()
        return {reader.string() or "" for _ in range(reader.int32())}
    except (ProtocolError, ValueError):
        return set()


def assigned_partitions(assignment: bytes) -> dict[str, list[int]]:
    """Partitions in a ConsumerProtocolAssignment (any version); empty if it cannot be read."""
    if not assignment:
        return {}
    try:
        reader = Reader(assignment)
        reader.int16()
        result: dict[str, list[int]] = {}
        for _ in range(reader.int32()):
            topic = reader.string() or ""
            result[topic] = [reader.int32() for _ in range(reader.int32())]
        return result
    except (ProtocolError, ValueError):
        return {}
