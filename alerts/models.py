"""Alert rules per cluster, the alerts they raise (with their history), silences, and where
notifications go (webhooks and email) with every delivery attempt."""

from __future__ import annotations

import uuid

from django.db import models

from clusters.models import Cluster, Organisation


class RuleKind(models.TextChoices):
    NODE_DOWN = "node_down", "Node down"
    UNDER_REPLICATED = "under_replicated", "Under-replicated partitions"
    DISK_USAGE = "disk_usage", "Disk usage"
    CONSUMER_LAG_OFFSETS = "consumer_lag_offsets", "Consumer lag (offsets)"
    CONSUMER_LAG_SECONDS = "consumer_lag_seconds", "Consumer lag (seconds)"
    OPERATION_FAILED = "operation_failed", "Operation failed"


class Severity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class AlertRule(models.Model):
    """One condition watched on one cluster: `kind` above `threshold` for `duration_s` seconds."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="alert_rules")
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    # Meaning by kind: partitions, percent of the disk, offsets, seconds; unused for node down
    # and failed operations.
    threshold = models.FloatField(default=0)
    duration_s = models.PositiveIntegerField(default=0)  # how long the condition holds first
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)
    # Made for every cluster; they can be changed or disabled but not deleted, so a cluster that
    # has no rules at all is one that never got its defaults.
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cluster", "kind", "threshold", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "kind"],
                condition=models.Q(is_default=True),
                name="one_default_rule_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.severity})"


class AlertState(models.TextChoices):
    PENDING = "pending"  # the condition holds, not yet for the rule's duration
    FIRING = "firing"
    RESOLVED = "resolved"


OPEN_STATES = (AlertState.PENDING, AlertState.FIRING)


class Alert(models.Model):
    """One incident of a rule on one subject (a broker, a group on a topic, the cluster, an
    operation), from the moment its condition held until it stopped holding."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="alerts")
    # Kept when its rule is deleted: the history stays, with the kind and severity it had.
    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    subject = models.CharField(max_length=600)  # a stable key: "broker:2", "group:g/topic:t"
    subject_label = models.CharField(max_length=600)  # for people: "broker 2"
    summary = models.CharField(max_length=1000)
    value = models.FloatField(null=True, blank=True)  # the latest value seen while open
    threshold = models.FloatField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=AlertState.choices)
    active_since = models.DateTimeField()  # when the condition was first seen
    fired_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Whether the firing notification went out; it waits while a silence covers the alert.
    firing_notified = models.BooleanField(default=False)

    class Meta:
        ordering = ["-active_since", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "subject"],
                condition=models.Q(state__in=["pending", "firing"]),
                name="one_open_alert_per_rule_and_subject",
            )
        ]
        indexes = [models.Index(fields=["cluster", "state"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject_label} ({self.state})"


class Silence(models.Model):
    """While active, alerts of this kind (on this subject, or any when blank) notify nobody; they
    still fire and show."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="silences")
    kind = models.CharField(max_length=30, choices=RuleKind.choices)
    subject = models.CharField(max_length=600, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    comment = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ends_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject or '(any subject)'} until {self.ends_at}"


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook"
    EMAIL = "email"


class NotificationChannel(models.Model):
    """Where an organisation's alerts go: every cluster's, or one cluster's when `cluster` is set."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="alert_channels"
    )
    cluster = models.ForeignKey(
        Cluster, null=True, blank=True, on_delete=models.CASCADE, related_name="alert_channels"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=ChannelKind.choices)
    url = models.URLField(max_length=500, blank=True)  # webhooks
    email_to = models.JSONField(default=list, blank=True)  # email: addresses
    # The webhook signing secret, encrypted (it must be read back to sign); shown once at creation.
    secret_encrypted = models.TextField(blank=True, editable=False)
    secret_prefix = models.CharField(max_length=16, blank=True)  # to tell secrets apart
    min_severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.INFO)
    enabled = models.BooleanField(default=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def shown_url(self) -> str:
        """The URL as shown and recorded after creation: a password or token in it masked."""
        from clusters.redaction import redact_url

        return redact_url(self.url)

    def secret(self) -> str:
        from clusters.secrets import decrypt_json

        return decrypt_json(self.secret_encrypted, purpose="alert-webhook-secret")

    def set_secret(self, secret: str) -> None:
        from clusters.secrets import encrypt_json

        self.secret_encrypted = encrypt_json(secret, purpose="alert-webhook-secret")
        self.secret_prefix = secret[:12]


class DeliveryEvent(models.TextChoices):
    FIRING = "firing"
    RESOLVED = "resolved"
    TEST = "test"


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed


class Delivery(models.Model):
    """One notification to one channel, attempted until it is delivered or out of attempts. The
    payload is fixed when the event happens, so retries send what happened, not what is now."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="deliveries"
    )
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=10, choices=DeliveryEvent.choices)
    payload = models.JSONField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due; the periodic sweep enqueues due deliveries, so a lost queue
    # message delays a notification but never drops it.
    next_attempt_at = models.DateTimeField()
    # Held by the worker making an attempt, so two workers never send one delivery at once.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "channel", "event"],
                condition=models.Q(alert__isnull=False),
                name="one_delivery_per_alert_event_and_channel",
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} to {self.channel} ({self.state})"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # webhooks
    error = models.TextField(blank=True)  # empty when it succeeded

    class Meta:
        ordering = ["delivery", "number"]
        unique_together = [("delivery", "number")]
