"""Topic changes on a running cluster, through its Kafka admin interface, recorded in the audit log."""

from __future__ import annotations

from clusters import kafka
from clusters.actors import Actor, require_write
from clusters.audit import audit_record
from clusters.errors import InvalidInput, NotReady
from clusters.models import Cluster, ClusterStatus


def _client(cluster: Cluster) -> dict[str, str]:
    if cluster.status != ClusterStatus.RUNNING:
        raise NotReady(
            f"The cluster is {cluster.status}; topics can be managed once it is running."
        )
    return kafka.client_config(cluster)


def topics_of(cluster: Cluster) -> list[kafka.TopicInfo]:
    return kafka.topics_list(_client(cluster))


def topic_get(cluster: Cluster, name: str) -> kafka.TopicInfo | None:
    return next((t for t in topics_of(cluster) if t.name == name), None)


def topic_create(
    *,
    actor: Actor,
    cluster: Cluster,
    name: str,
    partitions: int,
    replication_factor: int | None,
    configs: dict[str, str],
) -> kafka.TopicInfo:
    require_write(actor)
    client = _client(cluster)
    factor = replication_factor or min(cluster.default_replication_factor, cluster.broker_count)
    if factor > cluster.broker_count:
        raise InvalidInput(
            "The replication factor is larger than the cluster.",
            field_errors={
                "replication_factor": [f"At most {cluster.broker_count} (the broker count)."]
            },
        )
    kafka.topic_create(client, name, partitions, factor, configs)
    audit_record(
        actor=actor,
        action="topic.create",
        obj=cluster,
        name=f"{cluster.name}/{name}",
        details={
            "topic": name,
            "partitions": partitions,
            "replication_factor": factor,
            "configs": configs,
        },
    )
    return kafka.TopicInfo(name, partitions, factor, configs)


def topic_update(
    *, actor: Actor, cluster: Cluster, name: str, configs: dict[str, str | None]
) -> None:
    require_write(actor)
    client = _client(cluster)
    kafka.topic_alter_configs(
        client,
        name,
        {k: v for k, v in configs.items() if v is not None},
        [k for k, v in configs.items() if v is None],
    )
    audit_record(
        actor=actor,
        action="topic.update",
        obj=cluster,
        name=f"{cluster.name}/{name}",
        details={"topic": name, "configs": configs},
    )


def topic_delete(*, actor: Actor, cluster: Cluster, name: str) -> None:
    require_write(actor)
    kafka.topic_delete(_client(cluster), name)
    audit_record(
        actor=actor,
        action="topic.delete",
        obj=cluster,
        name=f"{cluster.name}/{name}",
        details={"topic": name},
    )
