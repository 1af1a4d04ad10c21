"""Operation reads, scoped to an organisation."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from clusters.models import Cluster, Organisation
from provisioning.models import Operation


def operations_visible(organisation: Organisation) -> QuerySet[Operation]:
    return Operation.objects.filter(cluster__organisation=organisation).select_related("cluster")


def operation_get(organisation: Organisation, operation_id: uuid.UUID | str) -> Operation:
    try:
        return operations_visible(organisation).prefetch_related("steps").get(pk=operation_id)
    except (Operation.DoesNotExist, ValidationError, ValueError, TypeError):  # a malformed id
        raise Http404("No such operation.") from None


def operations_of(cluster: Cluster) -> QuerySet[Operation]:
    return cluster.operations.prefetch_related("steps").order_by("-created_at")


def latest_operation(cluster: Cluster) -> Operation | None:
    return operations_of(cluster).first()
