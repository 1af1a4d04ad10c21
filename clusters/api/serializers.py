"""API shapes. Input serializers validate types; the services validate meaning."""

from __future__ import annotations

from rest_framework import serializers

from clusters.models import ApiToken, AuditEvent, Cluster, Node, NodeSize, SecurityProtocol
from provisioning.models import Operation, OperationStep

TOPIC_NAME = r"^[a-zA-Z0-9._-]{1,249}$"


class NodeSizeSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = NodeSize
        fields = [
            "provider",
            "slug",
            "vcpus",
            "memory_gib",
            "disk_gib",
            "hourly_price",
            "instance_type",
        ]


class NodeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    # What the node runs now; differs from the cluster's while a resize or upgrade rolls through.
    node_size = serializers.CharField(source="size.slug", read_only=True)
    dataplane_version = serializers.CharField(source="version.version", read_only=True)

    class Meta:
        model = Node
        fields = [
            "id",
            "name",
            "role",
            "index",
            "host",
            "port",
            "node_size",
            "dataplane_version",
            "status",
            "last_report_at",
            "health",
        ]


class ClusterSerializer(serializers.ModelSerializer):
    provider = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    region = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    node_size = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    dataplane_version = serializers.SlugRelatedField(slug_field="version", read_only=True)
    bootstrap_servers = serializers.SerializerMethodField()

    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "status",
            "provider",
            "region",
            "node_size",
            "dataplane_version",
            "broker_count",
            "zookeeper_count",
            "default_replication_factor",
            "storage_gib",
            "allowed_cidrs",
            "delete_protection",
            "security_protocol",
            "bootstrap_servers",
            "created_by",
            "created_at",
            "updated_at",
        ]

    def get_bootstrap_servers(self, cluster: Cluster) -> str:
        return cluster.bootstrap_servers if cluster.status == "running" else ""


class ClusterCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=40)
    provider = serializers.CharField(max_length=50, default="local")
    region = serializers.CharField(max_length=50)
    node_size = serializers.CharField(max_length=50)
    broker_count = serializers.IntegerField(min_value=1, max_value=12, default=3)
    zookeeper_count = serializers.ChoiceField(choices=[1, 3], default=1)
    default_replication_factor = serializers.IntegerField(min_value=1, max_value=5, default=3)
    delete_protection = serializers.BooleanField(default=False)
    dataplane_version = serializers.CharField(max_length=40, required=False)
    storage_gib = serializers.IntegerField(
        min_value=1, required=False, help_text="Data volume per broker; the size's disk if omitted."
    )
    allowed_cidrs = serializers.ListField(
        child=serializers.CharField(max_length=50),
        max_length=50,
        required=False,
        help_text="Networks that may reach the client port (enforced by the provider).",
    )
    security_protocol = serializers.ChoiceField(
        choices=SecurityProtocol.choices,
        default=SecurityProtocol.SASL_SSL,
        help_text="SASL_SSL: clients use TLS and SCRAM users, ACLs decide what they may do. "
        "PLAINTEXT: no TLS, no authentication.",
    )


class ConnectionSnippetsSerializer(serializers.Serializer):
    confluent_kafka = serializers.CharField(help_text="Python, confluent-kafka.")
    kafka_python = serializers.CharField(help_text="Python, kafka-python.")
    kcat = serializers.CharField(help_text="kcat, listing the cluster's metadata.")


class ClusterConnectionSerializer(serializers.Serializer):
    bootstrap_servers = serializers.CharField(help_text="Empty until the cluster runs.")
    security_protocol = serializers.ChoiceField(choices=SecurityProtocol.choices)
    sasl_mechanisms = serializers.ListField(
        child=serializers.CharField(), help_text="Any one of these; empty without SASL."
    )
    ca_required = serializers.BooleanField(
        help_text="Whether clients must trust the cluster's CA certificate (see ca_certificate_url)."
    )
    ca_certificate_url = serializers.CharField(allow_null=True)
    snippets = ConnectionSnippetsSerializer(
        help_text="Ready-to-paste client code; <username> and <password> stand for a Kafka user."
    )


class ClusterUpdateSerializer(serializers.Serializer):
    delete_protection = serializers.BooleanField()


class ClusterDeleteSerializer(serializers.Serializer):
    confirm_name = serializers.CharField(max_length=40)


class OperationStepSerializer(serializers.ModelSerializer):
    position = serializers.SerializerMethodField()
    node = serializers.UUIDField(source="node_id", read_only=True, allow_null=True)

    class Meta:
        model = OperationStep
        fields = [
            "position",
            "name",
            "title",
            "node",
            "state",
            "error",
            "log",
            "started_at",
            "finished_at",
        ]

    def get_position(self, step: OperationStep) -> int:
        return step.position + 1


class OperationSerializer(serializers.ModelSerializer):
    cluster = serializers.UUIDField(source="cluster_id", read_only=True)
    steps = OperationStepSerializer(many=True, read_only=True)

    class Meta:
        model = Operation
        fields = [
            "id",
            "cluster",
            "kind",
            "state",
            "error",
            "requested_by",
            "plan",
            "cancel_requested",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
            "steps",
        ]


class TopicSerializer(serializers.Serializer):
    name = serializers.RegexField(TOPIC_NAME, max_length=249)
    partitions = serializers.IntegerField(min_value=1, max_value=10000, default=3)
    replication_factor = serializers.IntegerField(min_value=1, max_value=12, required=False)
    configs = serializers.DictField(child=serializers.CharField(max_length=1000), default=dict)

    def validate_name(self, value: str) -> str:
        if value in (".", "..") or value.startswith("__"):
            raise serializers.ValidationError("This topic name is reserved.")
        return value


class TopicUpdateSerializer(serializers.Serializer):
    configs = serializers.DictField(
        child=serializers.CharField(max_length=1000, allow_null=True),
        help_text="Settings to set; a null value resets one to its default.",
    )


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    read_only = serializers.BooleanField(default=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "read_only",
            "expires_at",
            "revoked_at",
            "last_used_at",
            "created_at",
        ]


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_name",
            "details",
            "created_at",
        ]
