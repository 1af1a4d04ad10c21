"""API shapes for Kafka users, ACLs and firewall rules. Serializers check types; services check
meaning."""

from __future__ import annotations

from rest_framework import serializers

from access.acls import OPERATIONS, PATTERN_TYPES, PERMISSIONS, PRESETS, RESOURCE_TYPES
from access.kafka import MECHANISMS
from access.models import KafkaUser


class KafkaUserSerializer(serializers.ModelSerializer):
    principal = serializers.CharField(read_only=True)

    class Meta:
        model = KafkaUser
        fields = [
            "name",
            "principal",
            "mechanisms",
            "created_by",
            "created_at",
            "password_changed_at",
        ]


class KafkaUserCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    mechanisms = serializers.ListField(
        child=serializers.ChoiceField(choices=list(MECHANISMS)),
        required=False,
        min_length=1,
        help_text="SASL/SCRAM mechanisms the password works with; both unless told.",
    )


class KafkaUserWithPasswordSerializer(KafkaUserSerializer):
    password = serializers.CharField(
        read_only=True, help_text="Shown in this answer only; the platform does not keep it."
    )

    class Meta(KafkaUserSerializer.Meta):
        fields = [*KafkaUserSerializer.Meta.fields, "password"]


class AclSerializer(serializers.Serializer):
    id = serializers.CharField(
        read_only=True, help_text="Names this binding in DELETE .../acls/<id>/."
    )
    resource_type = serializers.ChoiceField(choices=list(RESOURCE_TYPES))
    pattern_type = serializers.ChoiceField(choices=list(PATTERN_TYPES), default="literal")
    resource_name = serializers.CharField(
        max_length=255,
        allow_blank=True,
        default="",
        help_text="A topic, group or transactional id (or prefix); kafka-cluster for the cluster.",
    )
    principal = serializers.CharField(
        max_length=80, help_text="User:<a Kafka user of this cluster>"
    )
    host = serializers.CharField(max_length=45, default="*")
    operation = serializers.ChoiceField(choices=list(OPERATIONS))
    permission = serializers.ChoiceField(choices=list(PERMISSIONS), default="Allow")


class AclPresetSerializer(serializers.Serializer):
    preset = serializers.ChoiceField(
        choices=list(PRESETS), help_text=" ".join(f"{k}: {v}" for k, v in PRESETS.items())
    )
    principal = serializers.CharField(
        max_length=80, help_text="User:<a Kafka user of this cluster>"
    )
    topic_prefix = serializers.CharField(max_length=249)
    group = serializers.CharField(
        max_length=255, required=False, default="", allow_blank=True, help_text="For consumers."
    )
    host = serializers.CharField(max_length=45, default="*")


class FirewallRuleSerializer(serializers.Serializer):
    cidr = serializers.CharField(max_length=50, help_text="A network, e.g. 203.0.113.0/24.")
    description = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    created_by = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True, allow_null=True)
