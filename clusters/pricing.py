"""What a cluster costs per hour, from the catalogue: the size's price per broker plus storage
beyond the size's own disk."""

from __future__ import annotations

from decimal import Decimal

from clusters.models import Cluster, NodeSize


def hourly_price(
    cluster: Cluster,
    *,
    node_size: NodeSize | None = None,
    broker_count: int | None = None,
    storage_gib: int | None = None,
) -> Decimal:
    """The cluster's price, or what it would be with another size, broker count or storage."""
    size = node_size or cluster.node_size
    brokers = cluster.broker_count if broker_count is None else broker_count
    storage = max(cluster.storage_gib if storage_gib is None else storage_gib, size.disk_gib)
    extra_storage = storage - size.disk_gib
    per_broker = size.hourly_price + extra_storage * cluster.provider.storage_gib_hourly_price
    return brokers * per_broker


def price_change(cluster: Cluster, **changes) -> str:
    """The change in price per hour, as plans show it: exact, without trailing zeros."""
    change = hourly_price(cluster, **changes) - hourly_price(cluster)
    return format(change.normalize(), "f")
