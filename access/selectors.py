"""Access reads. Users and firewall rules come from the database; ACLs from the cluster itself, so
the list shows what the brokers enforce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404

from access import kafka
from access.acls import AclEntry
from access.models import FirewallRule, KafkaUser
from clusters.errors import NotReady
from clusters.models import Cluster, ClusterStatus


def kafka_users_of(cluster: Cluster) -> QuerySet[KafkaUser]:
    return KafkaUser.objects.filter(cluster=cluster)


def kafka_user_get(cluster: Cluster, name: str) -> KafkaUser:
    try:
        return kafka_users_of(cluster).get(name=name)
    except KafkaUser.DoesNotExist:
        raise Http404("No such Kafka user.") from None


def acls_of(cluster: Cluster) -> list[AclEntry]:
    """Every ACL the cluster holds. Raises NotReady unless it runs, ClusterUnreachable."""
    if cluster.status != ClusterStatus.RUNNING:
        raise NotReady(f"The cluster is {cluster.status}; its ACLs can be read once it is running.")
    return kafka.acls_list(cluster)


@dataclass(frozen=True)
class FirewallEntry:
    cidr: str
    description: str
    created_by: str
    created_at: datetime | None  # None for networks given when the cluster was created


def firewall_of(cluster: Cluster) -> list[FirewallEntry]:
    """The cluster's allow-list in its order, each network with who added it and why."""
    rules = {r.cidr: r for r in FirewallRule.objects.filter(cluster=cluster)}
    entries = []
    for cidr in cluster.allowed_cidrs or []:
        rule = rules.get(cidr)
        entries.append(
            FirewallEntry(
                cidr=cidr,
                description=rule.description if rule else "",
                created_by=rule.created_by if rule else cluster.created_by,
                created_at=rule.created_at if rule else None,
            )
        )
    return entries
