"""The cluster side of access: SCRAM credentials, ACLs and the cluster-wide broker firewall, through
confluent-kafka's admin client, connected as the control plane."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from access.acls import AclEntry
from clusters import kafka as cluster_kafka
from clusters.errors import ClusterUnreachable, InvalidInput, NotReady, ServiceError
from clusters.models import Cluster

TIMEOUT_S = cluster_kafka.TIMEOUT_S
# Kafka's default is 4096; twice that costs a client a few milliseconds per connection.
SCRAM_ITERATIONS = 8192
# The broker dynamic config that limits which addresses reach the client listeners.
ALLOWED_CIDRS_CONFIG = "connections.allowed.cidrs"

MECHANISMS = {
    "SCRAM-SHA-256": ScramMechanism.SCRAM_SHA_256,
    "SCRAM-SHA-512": ScramMechanism.SCRAM_SHA_512,
}
RESOURCE_TYPES = {
    "topic": ResourceType.TOPIC,
    "group": ResourceType.GROUP,
    # librdkafka calls Kafka's cluster resource BROKER (the same code on the wire).
    "cluster": ResourceType.BROKER,
    "transactional_id": ResourceType.TRANSACTIONAL_ID,
}
PATTERN_TYPES = {"literal": ResourcePatternType.LITERAL, "prefixed": ResourcePatternType.PREFIXED}
OPERATIONS = {
    "Read": AclOperation.READ,
    "Write": AclOperation.WRITE,
    "Create": AclOperation.CREATE,
    "Delete": AclOperation.DELETE,
    "Alter": AclOperation.ALTER,
    "Describe": AclOperation.DESCRIBE,
    "DescribeConfigs": AclOperation.DESCRIBE_CONFIGS,
    "AlterConfigs": AclOperation.ALTER_CONFIGS,
    "ClusterAction": AclOperation.CLUSTER_ACTION,
    "IdempotentWrite": AclOperation.IDEMPOTENT_WRITE,
    "All": AclOperation.ALL,
}
PERMISSIONS = {"Allow": AclPermissionType.ALLOW, "Deny": AclPermissionType.DENY}


def _reverse(mapping: dict) -> dict:
    return {value: key for key, value in mapping.items()}


def _admin(cluster: Cluster) -> AdminClient:
    return AdminClient({**cluster_kafka.client_config(cluster), "socket.timeout.ms": 10000})


def _failure(exc: BaseException, doing: str) -> ServiceError:
    error = exc.args[0] if isinstance(exc, KafkaException) and exc.args else None
    if isinstance(error, KafkaError):
        code = error.code()
        if code == KafkaError.SECURITY_DISABLED:
            return NotReady(f"{doing}: the cluster runs without an authorizer, so it has no ACLs.")
        if code in (KafkaError.INVALID_REQUEST, KafkaError.INVALID_CONFIG):
            return InvalidInput(f"{doing}: {error.str()}")
        if code == KafkaError.CLUSTER_AUTHORIZATION_FAILED:
            return ClusterUnreachable(f"{doing}: the cluster refused the control plane.")
    failure = cluster_kafka._error(exc)
    failure.message = f"{doing}: {failure.message}"
    return failure


def _result(future, doing: str):
    try:
        return future.result()
    except KafkaException as exc:
        raise _failure(exc, doing) from exc


# --- SCRAM credentials -------------------------------------------------------------------------------


def scram_credentials_set(
    cluster: Cluster, user: str, password: str, mechanisms: list[str]
) -> None:
    """Give `user` the password for every mechanism (creating or replacing the credential); the
    broker keeps only salted keys."""
    admin = _admin(cluster)
    changes = [
        UserScramCredentialUpsertion(
            user, ScramCredentialInfo(MECHANISMS[m], SCRAM_ITERATIONS), password.encode()
        )
        for m in mechanisms
    ]
    for future in admin.alter_user_scram_credentials(changes).values():
        _result(future, f"setting the credentials of {user}")


def scram_credentials_delete(cluster: Cluster, user: str, mechanisms: list[str]) -> None:
    """Remove the user's credentials; one already gone is no error."""
    admin = _admin(cluster)
    changes = [UserScramCredentialDeletion(user, MECHANISMS[m]) for m in mechanisms]
    for future in admin.alter_user_scram_credentials(changes).values():
        try:
            future.result()
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.RESOURCE_NOT_FOUND:
                raise _failure(exc, f"removing the credentials of {user}") from exc


def scram_mechanisms_of(cluster: Cluster, user: str) -> set[str]:
    """The mechanisms the cluster holds a credential for, for `user`."""
    admin = _admin(cluster)
    future = admin.describe_user_scram_credentials([user])[user]
    try:
        description = future.result()
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.RESOURCE_NOT_FOUND:
            return set()
        raise _failure(exc, f"reading the credentials of {user}") from exc
    names = _reverse(MECHANISMS)
    return {names[info.mechanism] for info in description.scram_credential_infos}


# --- ACLs -------------------------------------------------------------------------------------------


def _binding(entry: AclEntry) -> AclBinding:
    return AclBinding(
        RESOURCE_TYPES[entry.resource_type],
        entry.resource_name,
        PATTERN_TYPES[entry.pattern_type],
        entry.principal,
        entry.host,
        OPERATIONS[entry.operation],
        PERMISSIONS[entry.permission],
    )


def _entry(binding: AclBinding) -> AclEntry:
    return AclEntry(
        resource_type=_reverse(RESOURCE_TYPES)[binding.restype],
        pattern_type=_reverse(PATTERN_TYPES)[binding.resource_pattern_type],
        resource_name=binding.name,
        principal=binding.principal,
        host=binding.host,
        operation=_reverse(OPERATIONS)[binding.operation],
        permission=_reverse(PERMISSIONS)[binding.permission_type],
    )


def acls_create(cluster: Cluster, entries: list[AclEntry]) -> None:
    admin = _admin(cluster)
    futures = admin.create_acls([_binding(e) for e in entries], request_timeout=TIMEOUT_S)
    for future in futures.values():
        _result(future, "creating ACLs")


def acls_list(cluster: Cluster, principal: str | None = None) -> list[AclEntry]:
    """Every ACL the cluster holds (or those of one principal), as the cluster answers."""
    admin = _admin(cluster)
    everything = AclBindingFilter(
        ResourceType.ANY,
        None,
        ResourcePatternType.ANY,
        principal,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    bindings = _result(
        admin.describe_acls(everything, request_timeout=TIMEOUT_S), "reading the ACLs"
    )
    # Kinds the console does not manage (e.g. a future resource type) are left out, not guessed at.
    known = [
        b
        for b in bindings
        if b.restype in _reverse(RESOURCE_TYPES)
        and b.resource_pattern_type in _reverse(PATTERN_TYPES)
        and b.operation in _reverse(OPERATIONS)
    ]
    return sorted(
        (_entry(b) for b in known),
        key=lambda e: (e.principal, e.resource_type, e.resource_name, e.operation, e.host),
    )


def acls_delete(cluster: Cluster, entries: list[AclEntry]) -> list[AclEntry]:
    """Delete exactly these bindings; returns the ones the cluster held and removed."""
    admin = _admin(cluster)
    filters = [
        AclBindingFilter(
            RESOURCE_TYPES[e.resource_type],
            e.resource_name,
            PATTERN_TYPES[e.pattern_type],
            e.principal,
            e.host,
            OPERATIONS[e.operation],
            PERMISSIONS[e.permission],
        )
        for e in entries
    ]
    if not filters:
        return []
    deleted: list[AclEntry] = []
    for future in admin.delete_acls(filters, request_timeout=TIMEOUT_S).values():
        deleted += [_entry(b) for b in _result(future, "deleting ACLs")]
    return deleted


# --- the firewall of the client listeners --------------------------------------------------------------


def allowed_cidrs_apply(cluster: Cluster, cidrs: list[str]) -> None:
    """Set `connections.allowed.cidrs` on every broker of the cluster, so each closes client
    connections from other addresses; no networks removes the setting (any address).

    Each broker gets its own setting rather than the cluster-wide default (the broker resource
    named ""), because librdkafka refuses a config resource with an empty name. A broker added
    later starts without it until this runs again."""
    admin = _admin(cluster)
    if cidrs:
        entry = ConfigEntry(
            ALLOWED_CIDRS_CONFIG, ",".join(cidrs), incremental_operation=AlterConfigOpType.SET
        )
    else:
        entry = ConfigEntry(
            ALLOWED_CIDRS_CONFIG, None, incremental_operation=AlterConfigOpType.DELETE
        )
    for broker in cluster.brokers:
        resource = ConfigResource(
            ConfigResource.Type.BROKER, str(broker.index), incremental_configs=[entry]
        )
        # One broker per call: librdkafka sends each broker's change to that broker.
        futures = admin.incremental_alter_configs([resource], request_timeout=TIMEOUT_S)
        _result(futures[resource], f"applying the firewall rules to broker {broker.index}")
