"""Reads: rules, alerts, silences, channels and deliveries, scoped to a cluster or an organisation,
and the facts rules are evaluated on (node health, lag series, operations)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from alerts.models import (
    OPEN_STATES,
    SEVERITY_RANK,
    Alert,
    AlertRule,
    Delivery,
    NotificationChannel,
    Silence,
)
from clusters.models import Cluster, Node, NodeRole, NodeStatus, Organisation
from monitoring.models import Point, Resolution, Series
from provisioning.models import ACTIVE_STATES, Operation

# --- rules, alerts, silences ----------------------------------------------------------------------


def rules_of(cluster: Cluster) -> QuerySet[AlertRule]:
    return AlertRule.objects.filter(cluster=cluster)


def rule_get(cluster: Cluster, rule_id: int | str) -> AlertRule:
    try:
        return rules_of(cluster).get(pk=rule_id)
    except (AlertRule.DoesNotExist, ValueError, TypeError):
        raise Http404("No such alert rule.") from None


def silences_matching(cluster_field: str, kind_field: str, subject_field: str, now: datetime) -> Q:
    """Silences in force at `now` for the row whose cluster, kind and subject are these fields."""
    return Q(
        cluster=OuterRef(cluster_field),
        kind=OuterRef(kind_field),
        starts_at__lte=now,
        ends_at__gt=now,
    ) & (Q(subject="") | Q(subject=OuterRef(subject_field)))


def alerts_of(
    cluster: Cluster,
    *,
    state: str | None = None,
    kind: str | None = None,
    now: datetime | None = None,
) -> QuerySet[Alert]:
    """The cluster's alerts, newest first, each with `silenced`: whether a silence covers it now."""
    now = now or timezone.now()
    queryset = Alert.objects.filter(cluster=cluster).annotate(
        silenced=Exists(
            Silence.objects.filter(silences_matching("cluster_id", "kind", "subject", now))
        )
    )
    if state == "open":
        queryset = queryset.filter(state__in=OPEN_STATES)
    elif state:
        queryset = queryset.filter(state=state)
    if kind:
        queryset = queryset.filter(kind=kind)
    return queryset


def silences_of(
    cluster: Cluster, *, active: bool | None = None, now: datetime | None = None
) -> QuerySet[Silence]:
    now = now or timezone.now()
    queryset = Silence.objects.filter(cluster=cluster)
    if active is True:
        queryset = queryset.filter(starts_at__lte=now, ends_at__gt=now)
    elif active is False:
        queryset = queryset.exclude(starts_at__lte=now, ends_at__gt=now)
    return queryset


def silence_get(cluster: Cluster, silence_id: int | str) -> Silence:
    try:
        return silences_of(cluster).get(pk=silence_id)
    except (Silence.DoesNotExist, ValueError, TypeError):
        raise Http404("No such silence.") from None


def silenced(alert: Alert, now: datetime) -> bool:
    return (
        Silence.objects.filter(
            cluster_id=alert.cluster_id, kind=alert.kind, starts_at__lte=now, ends_at__gt=now
        )
        .filter(Q(subject="") | Q(subject=alert.subject))
        .exists()
    )


# --- channels and deliveries ----------------------------------------------------------------------


def channels_of(
    organisation: Organisation, *, cluster: Cluster | None = None
) -> QuerySet[NotificationChannel]:
    """The organisation's channels; with `cluster`, the ones that receive its alerts (those for
    every cluster and those for it alone)."""
    queryset = NotificationChannel.objects.filter(organisation=organisation).select_related(
        "cluster"
    )
    if cluster is not None:
        queryset = queryset.filter(Q(cluster__isnull=True) | Q(cluster=cluster))
    return queryset


def channel_get(organisation: Organisation, channel_id: int | str) -> NotificationChannel:
    try:
        return channels_of(organisation).get(pk=channel_id)
    except (NotificationChannel.DoesNotExist, ValueError, TypeError):
        raise Http404("No such notification channel.") from None


def channels_for(cluster: Cluster, severity: str) -> list[NotificationChannel]:
    """The enabled channels an alert of this cluster and severity goes to."""
    return [
        channel
        for channel in channels_of(cluster.organisation, cluster=cluster).filter(enabled=True)
        if SEVERITY_RANK[severity] >= SEVERITY_RANK[channel.min_severity]
    ]


def deliveries_of(channel: NotificationChannel) -> QuerySet[Delivery]:
    return channel.deliveries.select_related("alert").prefetch_related("attempt_log")


def deliveries_for_channels(channels: QuerySet[NotificationChannel]) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(channel__in=channels)
        .select_related("channel", "alert")
        .order_by("-created_at")
    )


def delivery_get(delivery_id: uuid.UUID | str) -> Delivery | None:
    return (
        Delivery.objects.select_related("channel", "alert", "alert__cluster")
        .filter(pk=delivery_id)
        .first()
    )


def deliveries_due(now: datetime) -> QuerySet[Delivery]:
    return Delivery.objects.filter(state="pending", next_attempt_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


# --- facts rules look at --------------------------------------------------------------------------


def clusters_to_evaluate() -> QuerySet[Cluster]:
    """Live clusters, and deleted ones still holding open alerts (which then resolve)."""
    open_alerts = Alert.objects.filter(cluster=OuterRef("pk"), state__in=OPEN_STATES)
    return (
        Cluster.objects.filter(~Q(status="deleted") | Q(Exists(open_alerts)))
        .select_related("organisation")
        .order_by("pk")
    )


def clusters_without_rules() -> QuerySet[Cluster]:
    return Cluster.objects.exclude(status__in=("deleted", "deleting")).filter(
        ~Exists(AlertRule.objects.filter(cluster=OuterRef("pk")))
    )


def watched_nodes(cluster: Cluster) -> list[Node]:
    """Nodes that should be up: not yet provisioned, stopped or destroyed ones are not watched."""
    return list(
        cluster.nodes.filter(status__in=(NodeStatus.RUNNING, NodeStatus.DOWN)).order_by(
            "role", "index"
        )
    )


def brokers_reporting(cluster: Cluster) -> list[Node]:
    return [n for n in watched_nodes(cluster) if n.role == NodeRole.BROKER]


@dataclass(frozen=True)
class LagPoint:
    group: str
    topic: str
    value: float


def latest_lag(cluster: Cluster, metric: str, since: datetime) -> list[LagPoint]:
    """The newest raw point of each of the cluster's `metric` series of one group on one topic
    (not the group's total over its topics, which repeats them), taken at or after `since`; a
    series with nothing newer is of a group that stopped being measured (deleted, or its topic
    gone) and says nothing about now."""
    newest = Point.objects.filter(series=OuterRef("pk"), resolution=Resolution.RAW).order_by("-at")
    return [
        LagPoint(group=s.group, topic=s.topic, value=s.latest_value)
        for s in Series.objects.filter(cluster=cluster, metric=metric)
        .exclude(group="")
        .exclude(topic="")
        .annotate(
            latest_at=Subquery(newest.values("at")[:1]),
            latest_value=Subquery(newest.values("value")[:1]),
        )
        .filter(latest_at__gte=since)
        .order_by("group", "topic")
    ]


def latest_operation(cluster: Cluster) -> Operation | None:
    return cluster.operations.order_by("-created_at").first()


def operation_active(cluster: Cluster) -> bool:
    return cluster.operations.filter(state__in=ACTIVE_STATES).exists()
