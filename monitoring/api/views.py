"""Health ingest: brokers post reports with their node credential (not a user's token)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from monitoring import services


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
