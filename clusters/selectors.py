"""Reads, always scoped to the caller's organisation: another organisation's objects do not exist."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from clusters.models import (
    ApiToken,
    AuditEvent,
    Cluster,
    ClusterCA,
    ClusterStatus,
    DataplaneVersion,
    Node,
    NodeSize,
    Organisation,
    Provider,
)


def clusters_visible(
    organisation: Organisation, *, include_deleted: bool = False
) -> QuerySet[Cluster]:
    queryset = Cluster.objects.filter(organisation=organisation).select_related(
        "provider", "region", "node_size", "dataplane_version"
    )
    if not include_deleted:
        queryset = queryset.exclude(status=ClusterStatus.DELETED)
    return queryset


def cluster_get(organisation: Organisation, cluster_id: uuid.UUID | str) -> Cluster:
    try:
        return clusters_visible(organisation, include_deleted=True).get(pk=cluster_id)
    except (Cluster.DoesNotExist, ValidationError, ValueError, TypeError):  # a malformed id
        raise Http404("No such cluster.") from None


def cluster_ca_certificate(cluster: Cluster) -> str | None:
    """The cluster's CA certificate (PEM), or None for a cluster without TLS."""
    try:
        return cluster.ca.certificate_pem
    except ClusterCA.DoesNotExist:
        return None


def cluster_nodes(cluster: Cluster) -> QuerySet[Node]:
    return cluster.nodes.exclude(status="destroyed").order_by("role", "index")


def node_sizes(provider: Provider | None = None) -> QuerySet[NodeSize]:
    queryset = NodeSize.objects.select_related("provider").filter(provider__enabled=True)
    return queryset.filter(provider=provider) if provider else queryset


def dataplane_versions() -> QuerySet[DataplaneVersion]:
    return DataplaneVersion.objects.filter(available=True).order_by("version")


def tokens_of(organisation: Organisation) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(organisation=organisation).order_by("-created_at")


def token_get(organisation: Organisation, token_id: int | str) -> ApiToken:
    try:
        return tokens_of(organisation).get(pk=token_id)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise Http404("No such token.") from None


def audit_of(organisation: Organisation) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organisation=organisation)
