"""API shapes for alerts, rules, silences, channels and deliveries. Input serializers check
types; the services check meaning."""

from __future__ import annotations

from rest_framework import serializers

from alerts.models import (
    Alert,
    AlertRule,
    ChannelKind,
    Delivery,
    DeliveryAttempt,
    NotificationChannel,
    RuleKind,
    Severity,
    Silence,
)


class AlertSerializer(serializers.ModelSerializer):
    cluster = serializers.UUIDField(source="cluster_id", read_only=True)
    rule = serializers.IntegerField(source="rule_id", read_only=True, allow_null=True)
    silenced = serializers.BooleanField(
        read_only=True, help_text="A silence covers it now: it notifies nobody."
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "cluster",
            "rule",
            "kind",
            "severity",
            "state",
            "subject",
            "subject_label",
            "summary",
            "value",
            "threshold",
            "active_since",
            "fired_at",
            "resolved_at",
            "silenced",
        ]


class AlertRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertRule
        fields = [
            "id",
            "kind",
            "threshold",
            "duration_s",
            "severity",
            "enabled",
            "is_default",
            "created_at",
            "updated_at",
        ]


class AlertRuleCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    threshold = serializers.FloatField(
        required=False,
        help_text="Partitions, percent of the disk, offsets or seconds by kind; the kind's "
        "default if omitted; unused (0) for node_down and operation_failed.",
    )
    duration_s = serializers.IntegerField(
        min_value=0, required=False, help_text="How long the condition holds before it fires."
    )
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    enabled = serializers.BooleanField(default=True)


class AlertRuleUpdateSerializer(serializers.Serializer):
    threshold = serializers.FloatField(required=False)
    duration_s = serializers.IntegerField(min_value=0, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    enabled = serializers.BooleanField(required=False)


class SilenceSerializer(serializers.ModelSerializer):
    cluster = serializers.UUIDField(source="cluster_id", read_only=True)

    class Meta:
        model = Silence
        fields = [
            "id",
            "cluster",
            "kind",
            "subject",
            "starts_at",
            "ends_at",
            "comment",
            "created_by",
            "created_at",
        ]


class SilenceCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RuleKind.choices)
    subject = serializers.CharField(
        max_length=600,
        required=False,
        default="",
        allow_blank=True,
        help_text='One alert subject, e.g. "broker:2" or "group:g/topic:t"; blank for all.',
    )
    starts_at = serializers.DateTimeField(required=False, help_text="Now if omitted.")
    ends_at = serializers.DateTimeField()
    comment = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class ChannelSerializer(serializers.ModelSerializer):
    url = serializers.CharField(
        source="shown_url",
        read_only=True,
        help_text="The webhook's URL, any password or token in it masked.",
    )
    cluster = serializers.UUIDField(
        source="cluster_id",
        read_only=True,
        allow_null=True,
        help_text="The one cluster whose alerts it receives; null for every cluster.",
    )

    class Meta:
        model = NotificationChannel
        fields = [
            "id",
            "name",
            "kind",
            "cluster",
            "url",
            "email_to",
            "secret_prefix",
            "min_severity",
            "enabled",
            "created_by",
            "created_at",
        ]


class ChannelCreatedSerializer(ChannelSerializer):
    secret = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The webhook signing secret; shown in this response only.",
    )

    class Meta(ChannelSerializer.Meta):
        fields = [*ChannelSerializer.Meta.fields, "secret"]


class ChannelCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    cluster = serializers.UUIDField(
        required=False, allow_null=True, help_text="Only this cluster's alerts; all if omitted."
    )
    url = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    email_to = serializers.ListField(
        child=serializers.CharField(max_length=254), required=False, default=list
    )
    min_severity = serializers.ChoiceField(choices=Severity.choices, default=Severity.INFO)
    enabled = serializers.BooleanField(default=True)


class ChannelUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    url = serializers.CharField(max_length=500, required=False)
    email_to = serializers.ListField(child=serializers.CharField(max_length=254), required=False)
    min_severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    enabled = serializers.BooleanField(required=False)


class ChannelTestSerializer(serializers.Serializer):
    cluster = serializers.UUIDField(
        required=False, allow_null=True, help_text="The cluster the test names, if any."
    )


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "duration_ms", "status_code", "error"]


class DeliverySerializer(serializers.ModelSerializer):
    channel = serializers.IntegerField(source="channel_id", read_only=True)
    alert = serializers.IntegerField(source="alert_id", read_only=True, allow_null=True)
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "channel",
            "alert",
            "event",
            "state",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "delivered_at",
            "attempt_log",
        ]
