"""Cluster rows for tests that call the control plane's models and services in process (Django set
up by tests/support/django_db.py): no broker processes behind them."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clusters.models import Cluster, Organisation


def create_local_cluster(
    name: str,
    *,
    organisation: Organisation | None = None,
    broker_count: int = 1,
    **columns: object,
) -> Cluster:
    """A cluster on the local provider (its local region, the dev-small size, the default dataplane
    version, one ZooKeeper, 10 GiB, replication factor = broker_count), in `organisation` or a new
    one; `columns` set or override any other field (status, security_protocol, ...)."""
    from clusters.models import (
        Cluster,
        DataplaneVersion,
        NodeSize,
        Organisation,
        Provider,
        Region,
    )

    local = Provider.objects.get(slug="local")
    if organisation is None:
        organisation = Organisation.objects.create(name=f"org-{uuid.uuid4().hex[:8]}")
    fields: dict[str, object] = {
        "organisation": organisation,
        "name": name,
        "provider": local,
        "region": Region.objects.get(provider=local, slug="local"),
        "node_size": NodeSize.objects.get(provider=local, slug="dev-small"),
        "dataplane_version": DataplaneVersion.objects.get(is_default=True),
        "broker_count": broker_count,
        "zookeeper_count": 1,
        "default_replication_factor": broker_count,
        "storage_gib": 10,
        "created_by": "test",
    }
    return Cluster.objects.create(**{**fields, **columns})
