"""Live updates: tell every console watching a cluster (or its organisation's list) that it changed.

Messages carry only ids; a page fetches the fresh fragment itself, through the same access checks
as any other request.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from clusters.models import Cluster

logger = logging.getLogger(__name__)


def cluster_group(cluster_id) -> str:
    return f"cluster.{cluster_id}"


def organisation_group(organisation_id) -> str:
    return f"organisation.{organisation_id}"


def publish_cluster_changed(cluster: Cluster) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": "cluster.changed", "cluster": str(cluster.pk)}
    try:
        async_to_sync(layer.group_send)(cluster_group(cluster.pk), message)
        async_to_sync(layer.group_send)(organisation_group(cluster.organisation_id), message)
    except Exception:  # live updates are best effort; the page still shows the truth on reload
        logger.warning("could not publish a change of cluster %s", cluster.pk, exc_info=True)
