"""Cluster writes: validate, write in one transaction, audit, and hand long work to an operation."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from packaging.version import Version

from alerts.services import ensure_default_rules
from clusters import pki
from clusters.actors import Actor, require_write
from clusters.audit import audit_record
from clusters.errors import Conflict, InvalidInput, NotReady
from clusters.models import (
    NAME_VALIDATOR,
    Cluster,
    ClusterCA,
    ClusterStatus,
    DataplaneVersion,
    Node,
    NodeRole,
    NodeSize,
    Provider,
    Region,
    SecurityProtocol,
)
from monitoring.events import publish_cluster_changed
from provisioning.models import Operation, OperationKind
from provisioning.services import operation_start
from provisioning.workflows import Step, step_title

MAX_STORAGE_GIB = 16384  # the largest gp3 volume


def normalise_cidrs(cidrs: list[str]) -> list[str]:
    """Networks in canonical form (host bits must be zero), duplicates dropped, order kept."""
    result: list[str] = []
    for text in cidrs:
        try:
            network = str(ipaddress.ip_network(str(text).strip()))
        except ValueError:
            raise ValueError(
                f"{text!r} is not a network in CIDR notation (e.g. 10.0.0.0/16)."
            ) from None
        if network not in result:
            result.append(network)
    return result


def cluster_create(
    *,
    actor: Actor,
    name: str,
    provider: str,
    region: str,
    node_size: str,
    broker_count: int,
    zookeeper_count: int,
    default_replication_factor: int,
    delete_protection: bool = False,
    dataplane_version: str | None = None,
    storage_gib: int | None = None,
    allowed_cidrs: list[str] | None = None,
    security_protocol: str = SecurityProtocol.SASL_SSL,
) -> tuple[Cluster, Operation]:
    """Record a new cluster with its nodes and start the operation that builds it. A SASL_SSL
    cluster gets its own certificate authority and the control plane's client certificate."""
    require_write(actor)
    errors: dict[str, list[str]] = {}

    try:
        NAME_VALIDATOR(name)
    except ValidationError as exc:
        errors["name"] = list(exc.messages)
    provider_obj = Provider.objects.filter(slug=provider, enabled=True).first()
    if provider_obj is None:
        errors["provider"] = [f"Unknown provider {provider!r}."]
    region_obj = size_obj = None
    if provider_obj:
        region_obj = Region.objects.filter(provider=provider_obj, slug=region).first()
        if region_obj is None:
            errors["region"] = [f"Unknown region {region!r} for provider {provider}."]
        size_obj = NodeSize.objects.filter(provider=provider_obj, slug=node_size).first()
        if size_obj is None:
            errors["node_size"] = [f"Unknown node size {node_size!r} for provider {provider}."]
    if (
        size_obj is not None
        and storage_gib is not None
        and not size_obj.disk_gib <= storage_gib <= MAX_STORAGE_GIB
    ):
        errors["storage_gib"] = [
            f"Storage per broker is {size_obj.disk_gib} to {MAX_STORAGE_GIB} GiB for {size_obj.slug}."
        ]
    try:
        networks = normalise_cidrs(allowed_cidrs or [])
    except ValueError as exc:
        errors["allowed_cidrs"] = [str(exc)]
    if security_protocol not in SecurityProtocol.values:
        errors["security_protocol"] = [
            f"Use one of {', '.join(SecurityProtocol.values)}, not {security_protocol!r}."
        ]
    if not 1 <= broker_count <= 12:
        errors["broker_count"] = ["A cluster has 1 to 12 brokers."]
    if zookeeper_count not in (1, 3):
        errors["zookeeper_count"] = ["ZooKeeper runs on 1 or 3 nodes."]
    if not 1 <= default_replication_factor <= min(broker_count, 5) and "broker_count" not in errors:
        errors["default_replication_factor"] = [
            f"The replication factor must be between 1 and the broker count ({broker_count})."
        ]
    versions = DataplaneVersion.objects.filter(available=True)
    version_obj = (
        versions.filter(version=dataplane_version).first()
        if dataplane_version
        else versions.filter(is_default=True).first()
    )
    if version_obj is None:
        errors["dataplane_version"] = ["Unknown or unavailable dataplane version."]
    if (
        not errors
        and Cluster.objects.filter(organisation=actor.organisation, name=name)
        .exclude(status=ClusterStatus.DELETED)
        .exists()
    ):
        errors["name"] = [f"A cluster named {name!r} already exists."]
    if errors:
        raise InvalidInput("The cluster request is invalid.", field_errors=errors)

    try:
        with transaction.atomic():
            cluster = Cluster.objects.create(
                organisation=actor.organisation,
                name=name,
                provider=provider_obj,
                region=region_obj,
                node_size=size_obj,
                dataplane_version=version_obj,
                broker_count=broker_count,
                zookeeper_count=zookeeper_count,
                default_replication_factor=default_replication_factor,
                storage_gib=storage_gib or size_obj.disk_gib,
                allowed_cidrs=networks,
                delete_protection=delete_protection,
                security_protocol=security_protocol,
                created_by=actor.label,
            )
            if cluster.is_secured:
                cluster_ca_create(cluster=cluster)
            Node.objects.bulk_create(
                [
                    Node(cluster=cluster, role=NodeRole.ZOOKEEPER, index=i)
                    for i in range(zookeeper_count)
                ]
                + [
                    Node(cluster=cluster, role=NodeRole.BROKER, index=i)
                    for i in range(broker_count)
                ]
            )
            operation = operation_start(
                cluster=cluster, kind=OperationKind.CREATE, requested_by=actor.label
            )
            ensure_default_rules(cluster, actor=actor)
            audit_record(
                actor=actor,
                action="cluster.create",
                obj=cluster,
                details={
                    "provider": provider,
                    "region": region,
                    "node_size": node_size,
                    "broker_count": broker_count,
                    "zookeeper_count": zookeeper_count,
                    "security_protocol": security_protocol,
                },
            )
    except IntegrityError:
        # Two concurrent creates with one name: the partial unique index decides.
        raise InvalidInput(
            "The cluster request is invalid.",
            field_errors={"name": [f"A cluster named {name!r} already exists."]},
        ) from None
    return cluster, operation


def cluster_ca_create(*, cluster: Cluster) -> ClusterCA:
    """The cluster's own CA and the control plane's client certificate from it, keys encrypted."""
    ca = pki.create_ca(f"{cluster.name} CA {cluster.pk}")
    client = pki.issue_client_certificate(ca)
    row = ClusterCA(
        cluster=cluster,
        certificate_pem=ca.certificate_pem,
        client_certificate_pem=client.certificate_pem,
    )
    row.set_keys(key_pem=ca.key_pem, client_key_pem=client.key_pem)
    row.save()
    return row


def cluster_update(*, actor: Actor, cluster: Cluster, delete_protection: bool) -> Cluster:
    require_write(actor)
    with transaction.atomic():
        cluster.delete_protection = delete_protection
        cluster.save(update_fields=["delete_protection", "updated_at"])
        audit_record(
            actor=actor,
            action="cluster.update",
            obj=cluster,
            details={"delete_protection": delete_protection},
        )
        transaction.on_commit(lambda: publish_cluster_changed(cluster))
    return cluster


def cluster_restart(*, actor: Actor, cluster: Cluster, dry_run: bool = False) -> Operation | dict:
    """Restart every broker, one at a time, each only when the cluster can spare it. With `dry_run`,
    return the plan instead."""
    from provisioning.workflows import roll_plan

    _require_running(actor, cluster)
    steps, plan = roll_plan(cluster, "restart_broker")
    return _start_or_preview(actor, cluster, OperationKind.RESTART, steps, plan, dry_run)


def cluster_resize(
    *, actor: Actor, cluster: Cluster, node_size: str, dry_run: bool = False
) -> Operation | dict:
    """Move every broker to another size, one at a time, with the same safety gates as a restart.
    With `dry_run`, return the plan instead."""
    from provisioning.workflows import roll_plan

    target = NodeSize.objects.filter(provider=cluster.provider, slug=node_size).first()
    if target is None:
        raise InvalidInput(
            "Unknown node size.",
            field_errors={
                "node_size": [f"No size {node_size!r} for provider {cluster.provider.slug}."]
            },
        )
    if target == cluster.node_size:
        raise InvalidInput(
            "The cluster already has this size.",
            field_errors={"node_size": [f"The cluster already runs at {node_size}."]},
        )
    _require_running(actor, cluster)
    steps, plan = roll_plan(cluster, "resize_broker", target_size=target)
    return _start_or_preview(actor, cluster, OperationKind.RESIZE, steps, plan, dry_run)


def cluster_upgrade(
    *, actor: Actor, cluster: Cluster, dataplane_version: str, dry_run: bool = False
) -> Operation | dict:
    """Move every broker to a newer dataplane version, one at a time, with a restart's safety
    gates. Versions only go forward: an older broker may not read what a newer one wrote."""
    from provisioning.workflows import roll_plan

    target = DataplaneVersion.objects.filter(version=dataplane_version, available=True).first()
    current = cluster.dataplane_version
    problem = None
    if target is None:
        problem = f"No available dataplane version {dataplane_version!r}."
    elif target == current:
        problem = f"The cluster already runs {current}."
    elif Version(target.version) < Version(current.version):
        problem = f"{target} is older than {current}; versions only go forward."
    if problem:
        raise InvalidInput(problem, field_errors={"dataplane_version": [problem]})
    _require_running(actor, cluster)
    steps, plan = roll_plan(cluster, "upgrade_broker", target_version=target)
    return _start_or_preview(actor, cluster, OperationKind.UPGRADE, steps, plan, dry_run)


def cluster_expand_storage(
    *, actor: Actor, cluster: Cluster, storage_gib: int, dry_run: bool = False
) -> Operation | dict:
    """Grow every broker's data volume (and log-directory quota) while it serves. Storage only
    grows: volumes cannot shrink."""
    from provisioning.workflows import storage_plan

    if not cluster.storage_gib < storage_gib <= MAX_STORAGE_GIB:
        problem = f"Give more than the {cluster.storage_gib} GiB per broker the cluster has, up to {MAX_STORAGE_GIB}."
        raise InvalidInput("Storage can only grow.", field_errors={"storage_gib": [problem]})
    _require_running(actor, cluster)
    steps, plan = storage_plan(cluster, storage_gib)
    return _start_or_preview(actor, cluster, OperationKind.EXPAND_STORAGE, steps, plan, dry_run)


DEFAULT_THROTTLE_MB_PER_S = 50


def cluster_scale(
    *,
    actor: Actor,
    cluster: Cluster,
    broker_count: int,
    throttle_mb_per_s: int = DEFAULT_THROTTLE_MB_PER_S,
    dry_run: bool = False,
) -> Operation | dict:
    """Add brokers and spread partitions onto them, or drain the highest-numbered brokers and
    remove them. The data moves through replication, throttled to `throttle_mb_per_s` per broker
    (0: unthrottled); nothing is stopped until it has moved."""
    from provisioning.workflows import scale_in_plan, scale_out_plan

    if not 1 <= broker_count <= 12 or broker_count == cluster.broker_count:
        raise InvalidInput(
            "The cluster cannot be scaled to that size.",
            field_errors={
                "broker_count": [
                    f"Give 1 to 12 brokers, other than the {cluster.broker_count} it has."
                ]
            },
        )
    if not 0 <= throttle_mb_per_s <= 10_000:
        raise InvalidInput(
            "The throttle is out of range.",
            field_errors={"throttle_mb_per_s": ["Give 0 (unthrottled) to 10000 MB/s."]},
        )
    _require_running(actor, cluster)
    throttle = throttle_mb_per_s * 1024**2 if throttle_mb_per_s else -1
    if broker_count < cluster.broker_count:
        removed = list(cluster.brokers.filter(index__gte=broker_count))
        try:
            steps, plan = scale_in_plan(cluster, removed, throttle)
        except ValueError as exc:
            raise InvalidInput(str(exc), field_errors={"broker_count": [str(exc)]}) from None
        return _start_or_preview(actor, cluster, OperationKind.SCALE_IN, steps, plan, dry_run)
    new_nodes = [
        Node(cluster=cluster, role=NodeRole.BROKER, index=i)
        for i in range(cluster.broker_count, broker_count)
    ]
    steps, plan = scale_out_plan(cluster, new_nodes, throttle)
    return _start_or_preview(
        actor,
        cluster,
        OperationKind.SCALE_OUT,
        steps,
        plan,
        dry_run,
        before_start=lambda: Node.objects.bulk_create(new_nodes),
    )


def _require_running(actor: Actor, cluster: Cluster) -> None:
    require_write(actor)
    if cluster.status != ClusterStatus.RUNNING:
        raise NotReady(f"The cluster is {cluster.status}; only a running cluster can be changed.")


def _start_or_preview(
    actor: Actor,
    cluster: Cluster,
    kind: str,
    steps: list[tuple[Step, Node | None]],
    plan: dict,
    dry_run: bool,
    before_start: Callable[[], object] | None = None,
) -> Operation | dict:
    """The plan and its step titles for a dry run; otherwise the started operation, audited."""
    if dry_run:
        return {"kind": kind, "plan": plan, "steps": [step_title(s, node) for s, node in steps]}
    with transaction.atomic():
        if before_start is not None:
            before_start()
        operation = operation_start(
            cluster=cluster, kind=kind, requested_by=actor.label, steps=steps, plan=plan
        )
        audit_record(actor=actor, action=f"cluster.{kind}", obj=cluster, details=plan)
    return operation


def cluster_delete(*, actor: Actor, cluster: Cluster, confirm_name: str) -> Operation:
    """Start tearing a cluster down. The caller must repeat its name; protection must be off."""
    require_write(actor)
    if confirm_name != cluster.name:
        raise InvalidInput(
            "Confirm the deletion with the cluster's name.",
            field_errors={"confirm_name": [f"Type {cluster.name!r} to confirm."]},
        )
    if cluster.delete_protection:
        raise Conflict("Delete protection is on; turn it off first.")
    if cluster.status == ClusterStatus.DELETED:
        raise Conflict("The cluster is already deleted.")
    with transaction.atomic():
        operation = operation_start(
            cluster=cluster, kind=OperationKind.DELETE, requested_by=actor.label
        )
        audit_record(actor=actor, action="cluster.delete", obj=cluster)
    return operation
