"""Health ingest: brokers post reports with their node credential (not a user's token)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clusters.errors import InvalidInput
from clusters.permissions import actor_for
from clusters.selectors import cluster_get
from monitoring import services, timeseries

# A report may not make series without bound: names are checked and their number capped.
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
MAX_METRICS = 100
MAX_TOPICS = 2000


class HealthReportSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["starting", "running", "shutting_down"])
    uptime_s = serializers.FloatField(min_value=0)
    partitions_led = serializers.IntegerField(min_value=0)
    under_replicated = serializers.IntegerField(min_value=0)
    bytes_in_per_s = serializers.FloatField(min_value=0)
    bytes_out_per_s = serializers.FloatField(min_value=0)
    disk_used_bytes = serializers.IntegerField(min_value=0)
    version = serializers.CharField(max_length=40, required=False)
    log_dirs_used_bytes = serializers.IntegerField(min_value=0, required=False)
    log_dirs_quota_bytes = serializers.IntegerField(min_value=-1, required=False)
    metrics = serializers.DictField(
        child=serializers.FloatField(), required=False, help_text="More figures, by name."
    )
    topics = serializers.DictField(
        child=serializers.DictField(child=serializers.FloatField()),
        required=False,
        help_text="Figures per topic on this broker: {topic: {name: value}}.",
    )

    def validate_metrics(self, metrics: dict) -> dict:
        if len(metrics) > MAX_METRICS or not all(METRIC_NAME.match(k) for k in metrics):
            raise serializers.ValidationError(
                f"At most {MAX_METRICS} metrics, named with lowercase letters, digits and _."
            )
        return metrics

    def validate_topics(self, topics: dict) -> dict:
        if len(topics) > MAX_TOPICS or any(len(t) > 249 for t in topics):
            raise serializers.ValidationError(f"At most {MAX_TOPICS} topics of valid names.")
        for metrics in topics.values():
            self.validate_metrics(metrics)
        return topics


class NodeHealth(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]  # the node credential is checked below

    @extend_schema(request=HealthReportSerializer, responses={202: None})
    def post(self, request: Request, node_id) -> Response:
        keyword, _, token = request.headers.get("Authorization", "").partition(" ")
        node = (
            services.node_for_report_token(str(node_id), token.strip())
            if keyword == "Bearer"
            else None
        )
        if node is None:
            raise exceptions.AuthenticationFailed("Unknown node or wrong node credential.")
        serializer = HealthReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.health_report_ingest(node=node, report=serializer.validated_data)
        return Response(status=status.HTTP_202_ACCEPTED)


class MetricsQuerySerializer(serializers.Serializer):
    metric = serializers.RegexField(METRIC_NAME, required=False)
    since = serializers.DateTimeField(required=False, help_text="Default: an hour ago.")
    until = serializers.DateTimeField(required=False, help_text="Default: now.")
    broker = serializers.IntegerField(min_value=0, required=False)
    topic = serializers.CharField(max_length=249, required=False)
    group = serializers.CharField(max_length=255, required=False)

    def validate(self, data: dict) -> dict:
        data.setdefault("until", timezone.now())
        data.setdefault("since", data["until"] - timedelta(hours=1))
        if data["since"] >= data["until"]:
            raise serializers.ValidationError({"since": "Give a moment before `until`."})
        return data


class ClusterMetrics(APIView):
    """A cluster's time series: without `metric`, the names it has; with one, its points."""

    @extend_schema(
        parameters=[MetricsQuerySerializer],
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="Without `metric`: {metrics: [names]}. With one: {metric, "
                "resolution_s, since, until, series: [{broker, topic, group, points: "
                "[[time, mean, max], ...]}]}",
            )
        },
    )
    def get(self, request: Request, cluster_id) -> Response:
        cluster = cluster_get(actor_for(request).organisation, cluster_id)
        query = MetricsQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise InvalidInput("The metrics query is invalid.", field_errors=query.errors)
        data = query.validated_data
        if "metric" not in data:
            return Response({"metrics": timeseries.metric_names(cluster)})
        return Response(
            timeseries.query(
                cluster,
                data["metric"],
                data["since"],
                data["until"],
                broker=data.get("broker"),
                topic=data.get("topic"),
                group=data.get("group"),
            )
        )
