"""Consumer groups of a cluster and their lag: the list as the latest collection found it, one group
read from the cluster on request with its lag trend from the series."""

from __future__ import annotations

from datetime import timedelta

from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clusters.errors import InvalidInput
from clusters.permissions import actor_for
from clusters.selectors import cluster_get
from monitoring import lag


class TrendQuerySerializer(serializers.Serializer):
    # Spans up to 30 minutes get raw points (one per collection); longer ones minute or hour means.
    since = serializers.DateTimeField(
        required=False, help_text="Default: 15 minutes before `until`."
    )
    until = serializers.DateTimeField(required=False, help_text="Default: now.")

    def validate(self, data: dict) -> dict:
        data.setdefault("until", timezone.now())
        data.setdefault("since", data["until"] - timedelta(minutes=15))
        if data["since"] >= data["until"]:
            raise serializers.ValidationError({"since": "Give a moment before `until`."})
        return data


class GroupList(APIView):
    """The cluster's consumer groups with state, member count and lag (records summed over
    partitions, seconds at the worst partition), in all and per topic, as of `collected_at`."""

    @extend_schema(operation_id="cluster_groups_list", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, cluster_id) -> Response:
        cluster = cluster_get(actor_for(request).organisation, cluster_id)
        latest = lag.groups_latest(cluster)
        return Response(
            {
                "collected_at": latest["collected_at"],
                "results": latest["groups"],
                "errors": latest["errors"],
            }
        )


class GroupDetail(APIView):
    """One group as the cluster describes it now: members with client id, host and assigned
    partitions; each partition's committed offset, log end and lag; and `trend`, the group's
    `lag_offsets` and `lag_seconds` series between `since` and `until` (topic "" is the total)."""

    @extend_schema(
        operation_id="cluster_group_retrieve",
        parameters=[TrendQuerySerializer],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, cluster_id, group: str) -> Response:
        cluster = cluster_get(actor_for(request).organisation, cluster_id)
        query = TrendQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise InvalidInput("The time range is invalid.", field_errors=query.errors)
        detail = lag.group_detail(cluster, group)
        if detail is None:
            raise Http404("No such consumer group.")
        detail["trend"] = lag.group_trend(
            cluster, group, query.validated_data["since"], query.validated_data["until"]
        )
        return Response(detail)
