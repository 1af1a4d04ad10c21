"""`dataplane cluster`: brokers, controller and partition health (under-replicated, offline, under
min ISR), from what any Kafka admin client can ask: Metadata and DescribeConfigs."""

from __future__ import annotations

from dataclasses import dataclass, field

from dataplane.admin.client import AdminClient
from dataplane.admin.groups import format_table


@dataclass
class ClusterHealth:
    controller: int
    brokers: list[tuple[int, str, int, str | None]]
    partitions: int = 0
    under_replicated: list[tuple[str, int]] = field(default_factory=list)
    offline: list[tuple[str, int]] = field(default_factory=list)
    under_min_isr: list[tuple[str, int]] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not (self.under_replicated or self.offline or self.under_min_isr)


def cluster_health(client: AdminClient) -> ClusterHealth:
    metadata = client.metadata(None)
    health = ClusterHealth(
        controller=metadata["controller_id"],
        brokers=sorted(
            (b["node_id"], b["host"], b["port"], b["rack"]) for b in metadata["brokers"]
        ),
    )
    topics = [t for t in metadata["topics"] if t["error_code"] == 0]
    min_isr = client.topic_config([t["name"] for t in topics], "min.insync.replicas")
    for topic in topics:
        required = int(min_isr.get(topic["name"], "1"))
        for partition in topic["partitions"]:
            key = (topic["name"], partition["partition_index"])
            health.partitions += 1
            if partition["leader_id"] < 0:
                health.offline.append(key)
            if len(partition["isr_nodes"]) < len(partition["replica_nodes"]):
                health.under_replicated.append(key)
            if len(partition["isr_nodes"]) < required:
                health.under_min_isr.append(key)
    return health


def render_health(health: ClusterHealth) -> str:
    lines = [
        f"Controller: broker {health.controller}",
        f"Brokers: {len(health.brokers)}",
        format_table(
            [["ID", "HOST", "PORT", "RACK"]]
            + [[str(i), host, str(port), rack or "-"] for i, host, port, rack in health.brokers]
        ),
        "",
        f"Partitions: {health.partitions}  under-replicated: {len(health.under_replicated)}  "
        f"offline: {len(health.offline)}  under-min-isr: {len(health.under_min_isr)}",
    ]
    for label, keys in (
        ("under-replicated", health.under_replicated),
        ("offline", health.offline),
        ("under-min-isr", health.under_min_isr),
    ):
        lines += [f"  {label}: {topic}-{partition}" for topic, partition in keys]
    return "\n".join(lines)
