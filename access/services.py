"""Access writes: Kafka users (create, rotate, delete), ACLs and firewall rules. Each checks the
actor may write, changes the cluster, records the change and writes an audit event (with names and
kinds, never a password).

Passwords are made here, handed to the cluster as SCRAM credentials and returned to the caller
once; nothing that could recover or check them is stored.

The firewall: a cluster's allow-list (`Cluster.allowed_cidrs`) names the networks that may reach
its client listener; the provider enforces it (the broker's `connections.allowed.cidrs` on the
local provider, the security group on AWS). As with managed Kafka services' IP filters, the list
never becomes empty through these services: "any address" is said explicitly with 0.0.0.0/0 (and
::/0), so removing rules can never open a cluster to everyone by accident.
"""

from __future__ import annotations

import re
import secrets

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from access import kafka
from access.acls import AclEntry
from access.models import FirewallRule, KafkaUser
from clusters.actors import Actor, require_write
from clusters.audit import audit_record
from clusters.errors import ClusterUnreachable, Conflict, InvalidInput, NotReady, ServiceError
from clusters.models import Cluster, ClusterStatus
from clusters.services import normalise_cidrs
from provisioning.providers import get_provider

DEFAULT_MECHANISMS = ["SCRAM-SHA-256", "SCRAM-SHA-512"]
PASSWORD_BYTES = 32  # 43 URL-safe characters
# Printable ASCII that needs no escaping in SCRAM (',' and '='), principals (':') or ZooKeeper
# paths ('/'), starting with a letter or digit.
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
# Principals Kafka gives connections itself; a user with such a name would be confused with them.
RESERVED_USER_NAMES = {"ANONYMOUS"}
DESCRIPTION_MAX = 200


def _running(cluster: Cluster, what: str) -> None:
    if cluster.status != ClusterStatus.RUNNING:
        raise NotReady(
            f"The cluster is {cluster.status}; {what} can be managed once it is running."
        )


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def validate_user_name(name: str) -> str:
    if not USER_NAME.match(name or ""):
        raise InvalidInput(
            "The user name is invalid.",
            field_errors={
                "name": ["Use 1-64 letters, digits and . _ @ + -, starting with a letter or digit."]
            },
        )
    if name.upper() in RESERVED_USER_NAMES:
        raise InvalidInput(
            "The user name is reserved.",
            field_errors={"name": [f"{name} is the principal of unauthenticated connections."]},
        )
    return name


def _mechanisms(mechanisms: list[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(mechanisms or DEFAULT_MECHANISMS))
    unknown = [m for m in chosen if m not in kafka.MECHANISMS]
    if unknown or not chosen:
        raise InvalidInput(
            "Unknown SASL mechanism.",
            field_errors={"mechanisms": [f"Choose from {', '.join(kafka.MECHANISMS)}."]},
        )
    return chosen


# --- Kafka users ---------------------------------------------------------------------------------------


def kafka_user_create(
    *, actor: Actor, cluster: Cluster, name: str, mechanisms: list[str] | None = None
) -> tuple[KafkaUser, str]:
    """A new Kafka user on the cluster with a generated password, returned this once.
    Raises InvalidInput, Conflict (the name is taken), NotReady or ClusterUnreachable."""
    require_write(actor)
    validate_user_name(name)
    chosen = _mechanisms(mechanisms)
    _running(cluster, "Kafka users")
    password = new_password()
    try:
        with transaction.atomic():
            user = KafkaUser.objects.create(
                cluster=cluster,
                name=name,
                mechanisms=chosen,
                created_by=actor.label,
                password_changed_at=timezone.now(),
            )
            # The row is written first (its unique name guards against a concurrent create) and
            # rolled back if the cluster refuses the credentials.
            kafka.scram_credentials_set(cluster, name, password, chosen)
            audit_record(
                actor=actor,
                action="kafka_user.create",
                obj=cluster,
                name=f"{cluster.name}/{name}",
                details={"user": name, "mechanisms": chosen},
            )
    except IntegrityError:
        raise Conflict(
            f"A Kafka user named {name!r} already exists.",
            field_errors={"name": ["This name is taken."]},
        ) from None
    return user, password


def kafka_user_rotate(*, actor: Actor, cluster: Cluster, user: KafkaUser) -> str:
    """Give the user a new password (returned this once); the old one stops working at once."""
    require_write(actor)
    _running(cluster, "Kafka users")
    password = new_password()
    with transaction.atomic():
        user = KafkaUser.objects.select_for_update().get(pk=user.pk)
        kafka.scram_credentials_set(cluster, user.name, password, user.mechanisms)
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password_changed_at"])
        audit_record(
            actor=actor,
            action="kafka_user.rotate",
            obj=cluster,
            name=f"{cluster.name}/{user.name}",
            details={"user": user.name, "mechanisms": user.mechanisms},
        )
    return password


def kafka_user_delete(*, actor: Actor, cluster: Cluster, user: KafkaUser) -> int:
    """Remove the user's ACLs and credentials from the cluster, then the user; returns how many
    ACLs went with it. A later user of the same name starts with no ACLs."""
    require_write(actor)
    _running(cluster, "Kafka users")
    with transaction.atomic():
        user = KafkaUser.objects.select_for_update().get(pk=user.pk)
        try:
            removed = kafka.acls_delete(cluster, kafka.acls_list(cluster, principal=user.principal))
        except NotReady:
            removed = []  # no authorizer, hence no ACLs to remove
        kafka.scram_credentials_delete(cluster, user.name, user.mechanisms)
        user.delete()
        audit_record(
            actor=actor,
            action="kafka_user.delete",
            obj=cluster,
            name=f"{cluster.name}/{user.name}",
            details={"user": user.name, "acls_removed": len(removed)},
        )
    return len(removed)


# --- ACLs -----------------------------------------------------------------------------------------------


def _require_users(cluster: Cluster, entries: list[AclEntry]) -> None:
    names = {e.user_name for e in entries}
    known = set(
        KafkaUser.objects.filter(cluster=cluster, name__in=names).values_list("name", flat=True)
    )
    if missing := sorted(names - known):
        raise InvalidInput(
            "ACLs name Kafka users of this cluster.",
            field_errors={"principal": [f"No Kafka user {n!r} on this cluster." for n in missing]},
        )


def acls_create(
    *, actor: Actor, cluster: Cluster, entries: list[AclEntry], preset: str = ""
) -> list[AclEntry]:
    """Add the bindings to the cluster (those it holds already stay as they are)."""
    require_write(actor)
    if not entries:
        raise InvalidInput("No ACLs to create.")
    _running(cluster, "ACLs")
    _require_users(cluster, entries)
    kafka.acls_create(cluster, entries)
    audit_record(
        actor=actor,
        action="acl.create",
        obj=cluster,
        name=cluster.name,
        details={
            "acls": [_audit_acl(e) for e in entries],
            **({"preset": preset} if preset else {}),
        },
    )
    return entries


def acl_delete(*, actor: Actor, cluster: Cluster, entry: AclEntry) -> None:
    """Remove exactly this binding. Raises Http404 when the cluster does not hold it."""
    require_write(actor)
    _running(cluster, "ACLs")
    if not kafka.acls_delete(cluster, [entry]):
        raise Http404("The cluster holds no such ACL.")
    audit_record(
        actor=actor,
        action="acl.delete",
        obj=cluster,
        name=cluster.name,
        details={"acls": [_audit_acl(entry)]},
    )


def _audit_acl(entry: AclEntry) -> dict[str, str]:
    return {
        "resource_type": entry.resource_type,
        "pattern_type": entry.pattern_type,
        "resource_name": entry.resource_name,
        "principal": entry.principal,
        "host": entry.host,
        "operation": entry.operation,
        "permission": entry.permission,
    }


# --- firewall -------------------------------------------------------------------------------------------


def _network(cidr: str) -> str:
    try:
        return normalise_cidrs([cidr])[0]
    except (ValueError, IndexError) as exc:
        raise InvalidInput(
            "The network is invalid.", field_errors={"cidr": [str(exc) or "A network is required."]}
        ) from None


def _apply_firewall(cluster: Cluster) -> None:
    try:
        get_provider(cluster.provider.slug).update_firewall(cluster, lambda _line: None)
    except ServiceError:
        raise
    except RuntimeError as exc:  # the provider's own failures (e.g. AWS refused)
        raise ClusterUnreachable(f"The provider could not apply the firewall: {exc}") from exc


def firewall_rule_add(
    *, actor: Actor, cluster: Cluster, cidr: str, description: str = ""
) -> FirewallRule:
    """Allow a network to reach the cluster's client listener. Raises InvalidInput, Conflict (the
    network is already allowed), NotReady or ClusterUnreachable (nothing changes then)."""
    require_write(actor)
    network = _network(cidr)
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            "The description is too long.",
            field_errors={"description": [f"At most {DESCRIPTION_MAX} characters."]},
        )
    _running(cluster, "firewall rules")
    with transaction.atomic():
        locked = Cluster.objects.select_for_update().get(pk=cluster.pk)
        if network in locked.allowed_cidrs:
            raise Conflict(
                f"{network} is already allowed.", field_errors={"cidr": ["Already allowed."]}
            )
        locked.allowed_cidrs = [*locked.allowed_cidrs, network]
        locked.save(update_fields=["allowed_cidrs", "updated_at"])
        FirewallRule.objects.filter(cluster=locked, cidr=network).delete()
        rule = FirewallRule.objects.create(
            cluster=locked, cidr=network, description=description, created_by=actor.label
        )
        _apply_firewall(locked)
        audit_record(
            actor=actor,
            action="firewall.allow",
            obj=locked,
            name=locked.name,
            details={"cidr": network, "description": description, "allowed": locked.allowed_cidrs},
        )
    cluster.allowed_cidrs = locked.allowed_cidrs
    return rule


def firewall_rule_delete(*, actor: Actor, cluster: Cluster, cidr: str) -> None:
    """Stop allowing a network; open connections from it are closed. The last rule stays (see the
    module's docstring): allow the networks you want first, or 0.0.0.0/0 for any address."""
    require_write(actor)
    network = _network(cidr)
    _running(cluster, "firewall rules")
    with transaction.atomic():
        locked = Cluster.objects.select_for_update().get(pk=cluster.pk)
        if network not in locked.allowed_cidrs:
            raise Http404(f"{network} is not in the allow-list.")
        if locked.allowed_cidrs == [network]:
            raise Conflict(
                "The allow-list keeps at least one network. Add the networks that should keep "
                "access first (0.0.0.0/0 and ::/0 for any address), then remove this one."
            )
        locked.allowed_cidrs = [c for c in locked.allowed_cidrs if c != network]
        locked.save(update_fields=["allowed_cidrs", "updated_at"])
        FirewallRule.objects.filter(cluster=locked, cidr=network).delete()
        _apply_firewall(locked)
        audit_record(
            actor=actor,
            action="firewall.revoke",
            obj=locked,
            name=locked.name,
            details={"cidr": network, "allowed": locked.allowed_cidrs},
        )
    cluster.allowed_cidrs = locked.allowed_cidrs
