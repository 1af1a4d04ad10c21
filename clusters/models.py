"""Tenants (organisations, members, API tokens, audit), the catalogue, and clusters with their nodes."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

NAME_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9-]{1,38}[a-z0-9]$",
    "Use 3-40 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen.",
)


class Organisation(models.Model):
    name = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    VIEWER = "viewer"


class Membership(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="members")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    @property
    def can_write(self) -> bool:
        return self.role in (Role.OWNER, Role.ADMIN)

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.organisation}"


class ApiToken(models.Model):
    """A bearer token for scripts and CI. Only a SHA-256 digest is stored; the secret is shown once."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    read_only = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AuditEvent(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="audit")
    actor = models.CharField(max_length=200)  # "user:alice" or "token:ci (sp_ab12cd)"
    action = models.CharField(max_length=60)  # "cluster.create", "token.revoke", ...
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    object_name = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class Provider(models.Model):
    """A provider account: where nodes come from, with its settings and (encrypted) credentials."""

    slug = models.SlugField(unique=True)  # "local", "aws"
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    # Non-secret settings, e.g. for AWS: endpoint_url, image_id, ssh_user, key_name, vpc_cidr.
    config = models.JSONField(default=dict, blank=True)
    credentials_encrypted = models.TextField(blank=True, editable=False)
    # What a GiB of data volume beyond a size's own disk costs per hour.
    storage_gib_hourly_price = models.DecimalField(max_digits=10, decimal_places=6, default=0)

    def __str__(self) -> str:
        return self.name

    def set_credentials(self, credentials: dict[str, str]) -> None:
        from clusters.secrets import encrypt_json

        self.credentials_encrypted = encrypt_json(credentials, purpose="provider-credentials")

    def credentials(self) -> dict[str, str]:
        from clusters.secrets import decrypt_json

        if not self.credentials_encrypted:
            return {}
        return decrypt_json(self.credentials_encrypted, purpose="provider-credentials")


class Region(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="regions")
    slug = models.SlugField()
    name = models.CharField(max_length=100)

    class Meta:
        unique_together = [("provider", "slug")]

    def __str__(self) -> str:
        return f"{self.provider.slug}/{self.slug}"


class NodeSize(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="node_sizes")
    slug = models.SlugField()
    vcpus = models.PositiveSmallIntegerField()
    memory_gib = models.PositiveSmallIntegerField()
    disk_gib = models.PositiveIntegerField()
    hourly_price = models.DecimalField(max_digits=8, decimal_places=4)
    instance_type = models.CharField(max_length=40, blank=True)  # the provider's own name

    class Meta:
        unique_together = [("provider", "slug")]
        ordering = ["provider", "vcpus", "memory_gib"]

    def __str__(self) -> str:
        return f"{self.slug} ({self.vcpus} vCPU, {self.memory_gib} GiB, {self.disk_gib} GiB disk)"


class DataplaneVersion(models.Model):
    version = models.CharField(max_length=40, unique=True)
    # What a node installs for this version (a pip requirement or a wheel's path or URL); empty
    # means the dataplane installed alongside the control plane.
    package = models.CharField(max_length=500, blank=True)
    is_default = models.BooleanField(default=False)
    available = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.version


class ClusterStatus(models.TextChoices):
    CREATING = "creating"
    RUNNING = "running"
    UPDATING = "updating"
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"


class SecurityProtocol(models.TextChoices):
    # Clients authenticate with SCRAM over TLS; brokers and the control plane use mutual TLS on a
    # listener of their own, and ACLs decide who may do what.
    SASL_SSL = "SASL_SSL", "SASL_SSL (TLS, SCRAM users and ACLs)"
    # One listener, no encryption, no authentication, no authorization.
    PLAINTEXT = "PLAINTEXT", "PLAINTEXT (no TLS, no authentication)"


# The listener of brokers and the control plane on SASL_SSL clusters (mutual TLS).
INTERNAL_LISTENER_PORT = 9093


class Cluster(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="clusters"
    )
    name = models.CharField(max_length=40, validators=[NAME_VALIDATOR])
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT)
    region = models.ForeignKey(Region, on_delete=models.PROTECT)
    node_size = models.ForeignKey(NodeSize, on_delete=models.PROTECT)
    dataplane_version = models.ForeignKey(DataplaneVersion, on_delete=models.PROTECT)
    broker_count = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    zookeeper_count = models.PositiveSmallIntegerField(choices=[(1, "1"), (3, "3")])
    default_replication_factor = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    # Data volume per broker; at least the node size's disk, raised by storage expansion.
    storage_gib = models.PositiveIntegerField()
    # Networks allowed to reach the client port; the provider enforces them.
    allowed_cidrs = models.JSONField(default=list, blank=True)
    # Resources the provider made for the whole cluster (e.g. VPC, subnet, security group ids).
    provider_data = models.JSONField(default=dict, blank=True)
    delete_protection = models.BooleanField(default=False)
    security_protocol = models.CharField(
        max_length=16, choices=SecurityProtocol.choices, default=SecurityProtocol.SASL_SSL
    )
    status = models.CharField(
        max_length=12, choices=ClusterStatus.choices, default=ClusterStatus.CREATING
    )
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # Names are unique among an organisation's live clusters; a deleted one frees its name.
            models.UniqueConstraint(
                fields=["organisation", "name"],
                condition=~models.Q(status="deleted"),
                name="unique_live_cluster_name",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def brokers(self) -> models.QuerySet[Node]:
        return (
            self.nodes.filter(role=NodeRole.BROKER)
            .exclude(status=NodeStatus.DESTROYED)
            .order_by("index")
        )

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"{n.host}:{n.port}" for n in self.brokers if n.host)

    @property
    def is_secured(self) -> bool:
        return self.security_protocol == SecurityProtocol.SASL_SSL


class ClusterCA(models.Model):
    """A cluster's own certificate authority and the control plane's client certificate (subject
    CN=controlplane, a super user of the cluster) it signed. Both keys are stored encrypted."""

    cluster = models.OneToOneField(
        Cluster, on_delete=models.CASCADE, primary_key=True, related_name="ca"
    )
    certificate_pem = models.TextField()
    key_encrypted = models.TextField(editable=False)
    client_certificate_pem = models.TextField()
    client_key_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"CA of {self.cluster}"

    def set_keys(self, *, key_pem: str, client_key_pem: str) -> None:
        from clusters.secrets import encrypt_json

        self.key_encrypted = encrypt_json(key_pem, purpose="cluster-ca-key")
        self.client_key_encrypted = encrypt_json(client_key_pem, purpose="cluster-client-key")

    def key_pem(self) -> str:
        from clusters.secrets import decrypt_json

        return decrypt_json(self.key_encrypted, purpose="cluster-ca-key")

    def client_key_pem(self) -> str:
        from clusters.secrets import decrypt_json

        return decrypt_json(self.client_key_encrypted, purpose="cluster-client-key")


class NodeRole(models.TextChoices):
    BROKER = "broker"
    ZOOKEEPER = "zookeeper"


class NodeStatus(models.TextChoices):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    DOWN = "down"
    STOPPED = "stopped"
    DESTROYED = "destroyed"


class Node(models.Model):
    """One machine's worth of a cluster: a broker or a ZooKeeper server, on a VM or a local process."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="nodes")
    role = models.CharField(max_length=10, choices=NodeRole.choices)
    index = models.PositiveSmallIntegerField()  # broker.id for brokers, myid - 1 for ZooKeeper
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    provider_ref = models.CharField(max_length=255, blank=True)  # instance id or data directory
    # The size this node runs at; differs from the cluster's while a resize rolls through.
    node_size = models.ForeignKey(
        NodeSize, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Likewise the version this node runs while an upgrade rolls through.
    dataplane_version = models.ForeignKey(
        DataplaneVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Provider resources of this node beyond provider_ref (e.g. its data volume id).
    provider_data = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=NodeStatus.choices, default=NodeStatus.PENDING)
    # A broker's TLS certificate from its cluster's CA (SASL_SSL clusters), its key encrypted.
    certificate_pem = models.TextField(blank=True)
    key_encrypted = models.TextField(blank=True, editable=False)
    report_token_digest = models.CharField(max_length=64, blank=True)
    last_report_at = models.DateTimeField(null=True, blank=True)
    health = models.JSONField(default=dict, blank=True)  # the latest report
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["role", "index"]
        unique_together = [("cluster", "role", "index")]

    @property
    def size(self) -> NodeSize:
        return self.node_size or self.cluster.node_size

    @property
    def version(self) -> DataplaneVersion:
        return self.dataplane_version or self.cluster.dataplane_version

    @property
    def name(self) -> str:
        return f"{self.cluster.name}-{'b' if self.role == NodeRole.BROKER else 'zk'}{self.index}"

    def set_key(self, key_pem: str) -> None:
        from clusters.secrets import encrypt_json

        self.key_encrypted = encrypt_json(key_pem, purpose="node-tls-key")

    def key_pem(self) -> str:
        from clusters.secrets import decrypt_json

        return decrypt_json(self.key_encrypted, purpose="node-tls-key")

    def __str__(self) -> str:
        return self.name


class IdempotencyKey(models.Model):
    """The first answer to a create request with an `Idempotency-Key`, replayed for retries."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=60)
    request_digest = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("organisation", "scope", "key")]
