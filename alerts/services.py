"""Writes: rules, silences and channels (each change audited), and the evaluator that turns what it
reads into alerts and notifications.

Evaluation is safe with any number of workers: each takes its rules with `FOR UPDATE SKIP LOCKED`,
so a rule is evaluated by one worker at a time, and a partial unique index allows one open alert
per rule and subject. Notifications are rows written in the same transaction as the alert change
(an outbox) and sent by a separate task, so a slow receiver never holds evaluation up."""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alerts import selectors
from alerts.conditions import EXPECTED_DURING_OPERATIONS, FACT_KINDS, Reading, Readings
from alerts.models import (
    OPEN_STATES,
    Alert,
    AlertRule,
    AlertState,
    ChannelKind,
    Delivery,
    DeliveryEvent,
    NotificationChannel,
    RuleKind,
    Severity,
    Silence,
)
from clusters.actors import Actor, require_write
from clusters.audit import audit_record
from clusters.errors import InvalidInput
from clusters.models import Cluster, ClusterStatus, Organisation
from monitoring.events import publish_cluster_changed

logger = logging.getLogger(__name__)

# Every cluster starts with one rule of each kind.
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    RuleKind.NODE_DOWN: {"threshold": 0, "duration_s": 30, "severity": Severity.CRITICAL},
    RuleKind.UNDER_REPLICATED: {"threshold": 0, "duration_s": 60, "severity": Severity.WARNING},
    RuleKind.DISK_USAGE: {"threshold": 85, "duration_s": 300, "severity": Severity.WARNING},
    RuleKind.CONSUMER_LAG_OFFSETS: {
        "threshold": 10_000,
        "duration_s": 300,
        "severity": Severity.WARNING,
    },
    RuleKind.CONSUMER_LAG_SECONDS: {
        "threshold": 300,
        "duration_s": 300,
        "severity": Severity.WARNING,
    },
    RuleKind.OPERATION_FAILED: {"threshold": 0, "duration_s": 0, "severity": Severity.WARNING},
}
MAX_DURATION_S = 7 * 24 * 3600
MAX_SILENCE = timedelta(days=90)
MAX_EMAIL_RECIPIENTS = 10
WEBHOOK_SECRET_PREFIX = "whsec_"
# A notification not picked up from the queue in this long is enqueued again by the sweep.
REDELIVER_AFTER = timedelta(seconds=60)


def system_actor(cluster: Cluster) -> Actor:
    """Who the audit log names for changes the platform makes by itself."""
    return Actor(organisation=cluster.organisation, label="system:alerts", can_write=True)


# --- rules ----------------------------------------------------------------------------------------


def ensure_default_rules(cluster: Cluster, *, actor: Actor | None = None) -> list[AlertRule]:
    """Give the cluster the default rule of every kind it lacks one of (idempotent, safe to race);
    returns the rules made."""
    existing = set(
        AlertRule.objects.filter(cluster=cluster, is_default=True).values_list("kind", flat=True)
    )
    missing = [
        AlertRule(cluster=cluster, kind=kind, is_default=True, **values)
        for kind, values in DEFAULT_RULES.items()
        if kind not in existing
    ]
    if not missing:
        return []
    with transaction.atomic():
        AlertRule.objects.bulk_create(missing, ignore_conflicts=True)
        audit_record(
            actor=actor or system_actor(cluster),
            action="alert_rule.defaults",
            obj=cluster,
            details={"kinds": [r.kind for r in missing]},
        )
    return missing


def _rule_errors(kind: str, threshold: float, duration_s: int, severity: str) -> dict:
    errors: dict[str, list[str]] = {}
    if kind not in RuleKind.values:
        errors["kind"] = [f"One of {', '.join(RuleKind.values)}."]
    elif kind in FACT_KINDS and threshold != 0:
        errors["threshold"] = [f"A {kind} rule has no threshold; leave it at 0."]
    elif kind == RuleKind.DISK_USAGE and not 0 < threshold < 100:
        errors["threshold"] = ["Disk usage is a percentage between 0 and 100."]
    elif threshold < 0:
        errors["threshold"] = ["The threshold cannot be negative."]
    if not 0 <= duration_s <= MAX_DURATION_S:
        errors["duration_s"] = [f"Between 0 and {MAX_DURATION_S} seconds."]
    if severity not in Severity.values:
        errors["severity"] = [f"One of {', '.join(Severity.values)}."]
    return errors


def rule_create(
    *,
    actor: Actor,
    cluster: Cluster,
    kind: str,
    threshold: float | None = None,
    duration_s: int | None = None,
    severity: str | None = None,
    enabled: bool = True,
) -> AlertRule:
    """Another rule on the cluster; what is not given is the kind's default."""
    require_write(actor)
    defaults = DEFAULT_RULES.get(kind, {"threshold": 0, "duration_s": 0, "severity": "warning"})
    rule = AlertRule(
        cluster=cluster,
        kind=kind,
        threshold=defaults["threshold"] if threshold is None else threshold,
        duration_s=defaults["duration_s"] if duration_s is None else duration_s,
        severity=severity or defaults["severity"],
        enabled=enabled,
    )
    if errors := _rule_errors(rule.kind, rule.threshold, rule.duration_s, rule.severity):
        raise InvalidInput("The alert rule is invalid.", field_errors=errors)
    with transaction.atomic():
        rule.save()
        audit_record(
            actor=actor,
            action="alert_rule.create",
            obj=rule,
            name=f"{cluster.name}: {rule}",
            details=_rule_details(rule),
        )
    return rule


def _rule_details(rule: AlertRule) -> dict[str, Any]:
    return {
        "cluster": str(rule.cluster_id),
        "kind": rule.kind,
        "threshold": rule.threshold,
        "duration_s": rule.duration_s,
        "severity": rule.severity,
        "enabled": rule.enabled,
    }


def rule_update(
    *,
    actor: Actor,
    rule: AlertRule,
    threshold: float | None = None,
    duration_s: int | None = None,
    severity: str | None = None,
    enabled: bool | None = None,
) -> AlertRule:
    """Change what is given. Open alerts follow at the next evaluation: a disabled rule's resolve."""
    require_write(actor)
    changes = {
        k: v
        for k, v in {
            "threshold": threshold,
            "duration_s": duration_s,
            "severity": severity,
            "enabled": enabled,
        }.items()
        if v is not None
    }
    with transaction.atomic():
        locked = AlertRule.objects.select_for_update().get(pk=rule.pk)
        before = _rule_details(locked)
        for field, value in changes.items():
            setattr(locked, field, value)
        errors = _rule_errors(locked.kind, locked.threshold, locked.duration_s, locked.severity)
        if errors:
            raise InvalidInput("The alert rule is invalid.", field_errors=errors)
        locked.save(update_fields=[*changes, "updated_at"])
        audit_record(
            actor=actor,
            action="alert_rule.update",
            obj=locked,
            name=f"{locked.cluster.name}: {locked}",
            details={"before": before, "after": _rule_details(locked)},
        )
    return locked


def rule_delete(*, actor: Actor, rule: AlertRule) -> None:
    """Delete a rule that is not a default one (those can be disabled); its open alerts resolve
    and its history stays."""
    require_write(actor)
    if rule.is_default:
        raise InvalidInput(
            "Default rules cannot be deleted; disable the rule instead.",
            field_errors={"enabled": ["Set to false to stop this rule."]},
        )
    now = timezone.now()
    with transaction.atomic():
        locked = AlertRule.objects.select_for_update().select_related("cluster").get(pk=rule.pk)
        for alert in Alert.objects.filter(rule=locked, state__in=OPEN_STATES):
            _close(alert, now)
        audit_record(
            actor=actor,
            action="alert_rule.delete",
            obj=locked,
            name=f"{locked.cluster.name}: {locked}",
            details=_rule_details(locked),
        )
        locked.delete()


# --- silences -------------------------------------------------------------------------------------


def silence_create(
    *,
    actor: Actor,
    cluster: Cluster,
    kind: str,
    ends_at: datetime,
    subject: str = "",
    starts_at: datetime | None = None,
    comment: str = "",
) -> Silence:
    """Mute notifications of one kind of alert (on one subject, or all) on the cluster for a time."""
    require_write(actor)
    now = timezone.now()
    starts_at = starts_at or now
    errors: dict[str, list[str]] = {}
    if kind not in RuleKind.values:
        errors["kind"] = [f"One of {', '.join(RuleKind.values)}."]
    if ends_at <= max(starts_at, now):
        errors["ends_at"] = ["The silence must end in the future and after it starts."]
    elif ends_at - starts_at > MAX_SILENCE:
        errors["ends_at"] = [f"A silence lasts at most {MAX_SILENCE.days} days."]
    if errors:
        raise InvalidInput("The silence is invalid.", field_errors=errors)
    with transaction.atomic():
        silence = Silence.objects.create(
            cluster=cluster,
            kind=kind,
            subject=subject.strip(),
            starts_at=starts_at,
            ends_at=ends_at,
            comment=comment.strip(),
            created_by=actor.label,
        )
        audit_record(
            actor=actor,
            action="silence.create",
            obj=silence,
            name=f"{cluster.name}: {silence}",
            details={
                "cluster": str(cluster.pk),
                "kind": kind,
                "subject": silence.subject,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
        )
    return silence


def silence_expire(*, actor: Actor, silence: Silence) -> Silence:
    """End the silence now (held-back firing notifications go out at the next evaluation)."""
    require_write(actor)
    now = timezone.now()
    with transaction.atomic():
        locked = Silence.objects.select_for_update().select_related("cluster").get(pk=silence.pk)
        if locked.ends_at > now:
            locked.ends_at = max(now, locked.starts_at)
            locked.save(update_fields=["ends_at"])
            audit_record(
                actor=actor,
                action="silence.expire",
                obj=locked,
                name=f"{locked.cluster.name}: {locked}",
                details={"cluster": str(locked.cluster_id)},
            )
    return locked


# --- channels -------------------------------------------------------------------------------------


def _channel_errors(kind: str, name: str, url: str, email_to: list[str], severity: str) -> dict:
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        errors["name"] = ["Give the channel a name of 1-100 characters."]
    if kind not in ChannelKind.values:
        errors["kind"] = [f"One of {', '.join(ChannelKind.values)}."]
    elif kind == ChannelKind.WEBHOOK:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            errors["url"] = ["An http or https URL is required."]
    elif kind == ChannelKind.EMAIL:
        if not 1 <= len(email_to) <= MAX_EMAIL_RECIPIENTS:
            errors["email_to"] = [f"1 to {MAX_EMAIL_RECIPIENTS} addresses."]
        else:
            for address in email_to:
                try:
                    validate_email(address)
                except ValidationError:
                    errors.setdefault("email_to", []).append(f"{address!r} is not an address.")
    if severity not in Severity.values:
        errors["min_severity"] = [f"One of {', '.join(Severity.values)}."]
    return errors


def channel_create(
    *,
    actor: Actor,
    name: str,
    kind: str,
    url: str = "",
    email_to: list[str] | None = None,
    cluster: Cluster | None = None,
    min_severity: str = Severity.INFO,
    enabled: bool = True,
) -> tuple[NotificationChannel, str | None]:
    """A channel for the actor's organisation (all its clusters, or `cluster` alone). A webhook
    gets a signing secret, returned here and never again."""
    require_write(actor)
    name = name.strip()
    email_to = [a.strip() for a in email_to or [] if a.strip()]
    if cluster is not None and cluster.organisation_id != actor.organisation.pk:
        raise InvalidInput("No such cluster.", field_errors={"cluster": ["No such cluster."]})
    if errors := _channel_errors(kind, name, url, email_to, min_severity):
        raise InvalidInput("The notification channel is invalid.", field_errors=errors)
    channel = NotificationChannel(
        organisation=actor.organisation,
        cluster=cluster,
        name=name,
        kind=kind,
        url=url if kind == ChannelKind.WEBHOOK else "",
        email_to=email_to if kind == ChannelKind.EMAIL else [],
        min_severity=min_severity,
        enabled=enabled,
        created_by=actor.label,
    )
    secret = None
    if kind == ChannelKind.WEBHOOK:
        secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
        channel.set_secret(secret)
    with transaction.atomic():
        channel.save()
        audit_record(
            actor=actor,
            action="alert_channel.create",
            obj=channel,
            details=_channel_details(channel),
        )
    return channel, secret


def _channel_details(channel: NotificationChannel) -> dict[str, Any]:
    return {
        "kind": channel.kind,
        "cluster": str(channel.cluster_id) if channel.cluster_id else None,
        "url": channel.shown_url,
        "email_to": channel.email_to,
        "min_severity": channel.min_severity,
        "enabled": channel.enabled,
    }


def channel_update(
    *,
    actor: Actor,
    channel: NotificationChannel,
    name: str | None = None,
    url: str | None = None,
    email_to: list[str] | None = None,
    min_severity: str | None = None,
    enabled: bool | None = None,
) -> NotificationChannel:
    require_write(actor)
    with transaction.atomic():
        locked = NotificationChannel.objects.select_for_update().get(pk=channel.pk)
        before = _channel_details(locked)
        changed = []
        if name is not None:
            locked.name = name.strip()
            changed.append("name")
        if url is not None and locked.kind == ChannelKind.WEBHOOK:
            locked.url = url
            changed.append("url")
        if email_to is not None and locked.kind == ChannelKind.EMAIL:
            locked.email_to = [a.strip() for a in email_to if a.strip()]
            changed.append("email_to")
        if min_severity is not None:
            locked.min_severity = min_severity
            changed.append("min_severity")
        if enabled is not None:
            locked.enabled = enabled
            changed.append("enabled")
        errors = _channel_errors(
            locked.kind, locked.name, locked.url, locked.email_to, locked.min_severity
        )
        if errors:
            raise InvalidInput("The notification channel is invalid.", field_errors=errors)
        locked.save(update_fields=changed)
        audit_record(
            actor=actor,
            action="alert_channel.update",
            obj=locked,
            details={"before": before, "after": _channel_details(locked)},
        )
    return locked


def channel_rotate_secret(
    *, actor: Actor, channel: NotificationChannel
) -> tuple[NotificationChannel, str]:
    """Give a webhook a new signing secret, returned here and never again; the old one stops
    signing at once. Raises InvalidInput for a channel of another kind."""
    require_write(actor)
    if channel.kind != ChannelKind.WEBHOOK:
        raise InvalidInput(
            "Only webhooks have a signing secret.",
            field_errors={"kind": ["Only webhooks have a signing secret."]},
        )
    secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        locked = NotificationChannel.objects.select_for_update().get(pk=channel.pk)
        before = locked.secret_prefix
        locked.set_secret(secret)
        locked.save(update_fields=["secret_encrypted", "secret_prefix"])
        audit_record(
            actor=actor,
            action="alert_channel.rotate_secret",
            obj=locked,
            details={"before_prefix": before, "after_prefix": locked.secret_prefix},
        )
    return locked, secret


def channel_delete(*, actor: Actor, channel: NotificationChannel) -> None:
    require_write(actor)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="alert_channel.delete",
            obj=channel,
            details=_channel_details(channel),
        )
        channel.delete()


def channel_test(
    *, actor: Actor, channel: NotificationChannel, cluster: Cluster | None = None
) -> Delivery:
    """Send a test notification through the channel (about `cluster`, or the one it is for)."""
    require_write(actor)
    cluster = cluster or channel.cluster
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery(
            channel=channel,
            event=DeliveryEvent.TEST,
            next_attempt_at=now + REDELIVER_AFTER,
        )
        delivery.payload = _payload(delivery.pk, "test", None, cluster, actor.organisation, now)
        delivery.save()
        audit_record(actor=actor, action="alert_channel.test", obj=channel)
        transaction.on_commit(lambda: _enqueue([delivery.pk]))
    return delivery


# --- evaluation -----------------------------------------------------------------------------------


def alerts_evaluate(now: datetime | None = None) -> dict[str, int]:
    """Evaluate every cluster's rules once (clusters without rules get the defaults first), then
    enqueue notifications that are due; returns counts of what changed."""
    now = now or timezone.now()
    for cluster in selectors.clusters_without_rules().select_related("organisation"):
        ensure_default_rules(cluster)
    totals = {"clusters": 0, "fired": 0, "resolved": 0, "failed": 0}
    for cluster in selectors.clusters_to_evaluate():
        try:
            counts = cluster_evaluate(cluster, now=now)
        except Exception:  # one cluster's bad data must not stop the others' alerts
            logger.exception("alert evaluation failed for cluster %s (%s)", cluster.pk, cluster)
            totals["failed"] += 1
            continue
        totals["clusters"] += 1
        totals["fired"] += counts["fired"]
        totals["resolved"] += counts["resolved"]
    totals["enqueued"] = deliveries_enqueue_due(now)
    return totals


@transaction.atomic
def cluster_evaluate(cluster: Cluster, *, now: datetime | None = None) -> dict[str, int]:
    """Evaluate the cluster's rules that no other worker is evaluating now; open, fire, update and
    resolve its alerts, and write the notifications that follow."""
    now = now or timezone.now()
    rules = list(
        AlertRule.objects.select_for_update(skip_locked=True).filter(cluster=cluster).order_by("pk")
    )
    counts = {"fired": 0, "resolved": 0}
    if not rules:
        return counts
    readings = Readings(cluster, now)
    open_alerts: dict[tuple[int, str], Alert] = {
        (a.rule_id, a.subject): a
        for a in Alert.objects.filter(rule__in=rules, state__in=OPEN_STATES)
    }
    deleted = cluster.status == ClusterStatus.DELETED
    changed = False
    for rule in rules:
        breaches = readings.breaches(rule) if rule.enabled and not deleted else {}
        hold = rule.kind in EXPECTED_DURING_OPERATIONS and readings.operation_active
        for subject, reading in breaches.items():
            alert = open_alerts.pop((rule.pk, subject), None)
            if alert is None:
                alert = _open(cluster, rule, reading, now)
                changed = True
            else:
                _observe(alert, reading)
            if alert.state == AlertState.PENDING and not hold:
                if now - alert.active_since >= timedelta(seconds=rule.duration_s):
                    _fire(alert, now)
                    counts["fired"] += 1
                    changed = True
            elif alert.state == AlertState.FIRING and not alert.firing_notified:
                # Held back by a silence that has since ended.
                changed |= _notify_firing(alert, now)
    for alert in open_alerts.values():
        if alert.state == AlertState.FIRING:
            counts["resolved"] += 1
        _close(alert, now)
        changed = True
    if changed:
        transaction.on_commit(lambda: publish_cluster_changed(cluster))
    return counts


def _open(cluster: Cluster, rule: AlertRule, reading: Reading, now: datetime) -> Alert:
    return Alert.objects.create(
        cluster=cluster,
        rule=rule,
        kind=rule.kind,
        severity=rule.severity,
        subject=reading.subject,
        subject_label=reading.label,
        summary=reading.summary[:1000],
        value=reading.value,
        threshold=None if rule.kind in FACT_KINDS else rule.threshold,
        state=AlertState.PENDING,
        active_since=now,
    )


def _observe(alert: Alert, reading: Reading) -> None:
    if alert.value != reading.value or alert.summary != reading.summary[:1000]:
        alert.value = reading.value
        alert.summary = reading.summary[:1000]
        alert.save(update_fields=["value", "summary"])


def _fire(alert: Alert, now: datetime) -> None:
    alert.state = AlertState.FIRING
    alert.fired_at = now
    alert.save(update_fields=["state", "fired_at"])
    _notify_firing(alert, now)


def _notify_firing(alert: Alert, now: datetime) -> bool:
    """Send the firing notification unless a silence holds it back; True if it went."""
    if selectors.silenced(alert, now):
        return False
    alert.firing_notified = True
    alert.save(update_fields=["firing_notified"])
    _notify(alert, DeliveryEvent.FIRING, now)
    return True


def _close(alert: Alert, now: datetime) -> None:
    """The condition stopped: a pending alert never happened, a firing one resolves (and says so
    to whoever heard it fire, unless a silence covers it now)."""
    if alert.state == AlertState.PENDING:
        alert.delete()
        return
    alert.state = AlertState.RESOLVED
    alert.resolved_at = now
    alert.save(update_fields=["state", "resolved_at"])
    if alert.firing_notified and not selectors.silenced(alert, now):
        _notify(alert, DeliveryEvent.RESOLVED, now)


def _notify(alert: Alert, event: str, now: datetime) -> None:
    channels = selectors.channels_for(alert.cluster, alert.severity)
    deliveries = []
    for channel in channels:
        delivery_id = uuid.uuid4()
        deliveries.append(
            Delivery(
                id=delivery_id,
                channel=channel,
                alert=alert,
                event=event,
                payload=_payload(
                    delivery_id, event, alert, alert.cluster, alert.cluster.organisation, now
                ),
                next_attempt_at=now + REDELIVER_AFTER,
            )
        )
    # A conflict means this event was already written for that channel: nothing to add.
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    ids = [d.pk for d in deliveries]
    if ids:
        transaction.on_commit(lambda: _enqueue(ids))


def _payload(
    delivery_id: uuid.UUID,
    event: str,
    alert: Alert | None,
    cluster: Cluster | None,
    organisation: Organisation,
    now: datetime,
) -> dict[str, Any]:
    url = settings.CONTROLPLANE_URL.rstrip("/")
    payload: dict[str, Any] = {
        "id": str(delivery_id),
        "type": "test" if event == DeliveryEvent.TEST else f"alert.{event}",
        "created_at": now.isoformat(),
        "organisation": organisation.name,
        "cluster": {"id": str(cluster.pk), "name": cluster.name} if cluster else None,
        "alert": None,
        "url": url + reverse("alerts:cluster-alerts", args=[cluster.pk]) if cluster else url,
    }
    if alert is not None:
        payload["alert"] = {
            "id": alert.pk,
            "kind": alert.kind,
            "kind_label": alert.get_kind_display(),
            "severity": alert.severity,
            "state": alert.state,
            "subject": alert.subject,
            "subject_label": alert.subject_label,
            "summary": alert.summary,
            "value": alert.value,
            "threshold": alert.threshold,
            "active_since": alert.active_since.isoformat(),
            "fired_at": alert.fired_at.isoformat() if alert.fired_at else None,
            "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
        }
    return payload


def _enqueue(delivery_ids: list[uuid.UUID]) -> None:
    from alerts.tasks import deliver_notification

    for delivery_id in delivery_ids:
        deliver_notification.delay(str(delivery_id))


def deliveries_enqueue_due(now: datetime | None = None) -> int:
    """Enqueue the deliveries whose next attempt is due (retries, and any whose queue message was
    lost); returns how many."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            selectors.deliveries_due(now)
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:500]
        )
        # Not enqueued again by the next sweep while this message waits in the queue.
        Delivery.objects.filter(pk__in=due).update(next_attempt_at=now + REDELIVER_AFTER)
        transaction.on_commit(lambda: _enqueue(due))
    return len(due)
