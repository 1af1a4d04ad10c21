"""`dataplane groups`: list consumer groups, and describe members, assignments and lag per partition,
in the manner of kafka-consumer-groups --describe."""

from __future__ import annotations

from dataclasses import dataclass

from dataplane.admin.client import AdminClient
from dataplane.groups.consumer_protocol import assigned_partitions


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None
    log_end: int | None
    member_id: str
    client_host: str
    client_id: str

    @property
    def lag(self) -> int | None:
        if self.committed is None or self.log_end is None:
            return None
        return max(self.log_end - self.committed, 0)


def describe_lag(client: AdminClient, group_id: str) -> tuple[dict, list[PartitionLag]]:
    """The group's description and one row per partition it has an offset for or is assigned."""
    group = client.describe_group(group_id)
    owners: dict[tuple[str, int], dict] = {}
    for member in group["members"]:
        for topic, partitions in assigned_partitions(bytes(member["member_assignment"])).items():
            for partition in partitions:
                owners[(topic, partition)] = member
    committed = client.committed_offsets(group_id)
    partitions = sorted(set(committed) | set(owners))
    ends = client.end_offsets(partitions) if partitions else {}
    rows = [
        PartitionLag(
            topic,
            partition,
            committed.get((topic, partition)),
            ends.get((topic, partition)),
            owners.get((topic, partition), {}).get("member_id", "-"),
            owners.get((topic, partition), {}).get("client_host", "-"),
            owners.get((topic, partition), {}).get("client_id", "-"),
        )
        for topic, partition in partitions
    ]
    return group, rows


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def render_describe(group_id: str, group: dict, rows: list[PartitionLag]) -> str:
    def show(value: int | None) -> str:
        return "-" if value is None else str(value)

    table = [
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG",
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
        ]
    ]
    table += [
        [
            group_id,
            r.topic,
            str(r.partition),
            show(r.committed),
            show(r.log_end),
            show(r.lag),
            r.member_id,
            r.client_host,
            r.client_id,
        ]
        for r in rows
    ]
    total = sum(r.lag or 0 for r in rows)
    header = (
        f"Group {group_id}: state {group['group_state']}, protocol {group['protocol_data'] or '-'}, "
        f"{len(group['members'])} member(s), total lag {total}"
    )
    return header + "\n\n" + format_table(table)


def render_list(groups: list[dict]) -> str:
    table = [["GROUP", "STATE", "PROTOCOL-TYPE"]]
    table += [
        [g["group_id"], g.get("group_state", "") or "-", g["protocol_type"] or "-"] for g in groups
    ]
    return format_table(table)
