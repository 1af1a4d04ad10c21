"""Scrape endpoints: a cluster's brokers for its owners (API token), the control plane for operators."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.request import Request
from rest_framework.views import APIView

from clusters.permissions import actor_for
from clusters.selectors import cluster_get
from monitoring import prometheus

LOOPBACK = ("127.", "::1")


class ClusterPrometheus(APIView):
    """Every broker's metrics in one Prometheus scrape (send the API token as a bearer token)."""

    @extend_schema(responses={200: OpenApiResponse(description="Prometheus text format")})
    def get(self, request: Request, cluster_id) -> HttpResponse:
        cluster = cluster_get(actor_for(request).organisation, cluster_id)
        return HttpResponse(
            prometheus.cluster_exposition(cluster), content_type=CONTENT_TYPE_LATEST
        )


def controlplane_metrics(request: HttpRequest) -> HttpResponse:
    token = settings.CONTROLPLANE_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        allowed = hmac.compare_digest(given.encode(), token.encode())
    else:
        allowed = request.META.get("REMOTE_ADDR", "").startswith(LOOPBACK)
    if not allowed:
        return HttpResponseForbidden("Send the metrics token, or scrape from this machine.\n")
    return HttpResponse(prometheus.controlplane_exposition(), content_type=CONTENT_TYPE_LATEST)
