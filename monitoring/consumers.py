"""Websocket endpoints of the console. Each subscription is checked against the member's organisation."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from clusters.models import Cluster, Membership
from monitoring.events import cluster_group, organisation_group

FORBIDDEN = 4403


@database_sync_to_async
def _membership(user) -> Membership | None:
    if not user or not user.is_authenticated:
        return None
    return Membership.objects.select_related("organisation").filter(user=user).first()


@database_sync_to_async
def _cluster_in(organisation_id, cluster_id: str) -> bool:
    return Cluster.objects.filter(pk=cluster_id, organisation_id=organisation_id).exists()


class ClusterListConsumer(AsyncJsonWebsocketConsumer):
    """Changes to any cluster of the member's organisation."""

    async def connect(self) -> None:
        membership = await _membership(self.scope.get("user"))
        if membership is None:
            await self.close(code=FORBIDDEN)
            return
        self.group = organisation_group(membership.organisation_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def cluster_changed(self, event: dict) -> None:
        await self.send_json({"event": "cluster.changed", "cluster": event["cluster"]})


class ClusterConsumer(ClusterListConsumer):
    """Changes to one cluster: status, nodes, health, operation steps and their logs."""

    async def connect(self) -> None:
        membership = await _membership(self.scope.get("user"))
        cluster_id = str(self.scope["url_route"]["kwargs"]["cluster_id"])
        if membership is None or not await _cluster_in(membership.organisation_id, cluster_id):
            await self.close(code=FORBIDDEN)
            return
        self.group = cluster_group(cluster_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
