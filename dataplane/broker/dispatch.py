"""The dispatch table: every API this broker serves, its advertised versions and its handler.

This table is the single source of the ApiVersions answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dataplane.broker.context import RequestContext
from dataplane.broker.handlers import cluster, groups
from dataplane.broker.handlers.acls import (
    handle_create_acls,
    handle_delete_acls,
    handle_describe_acls,
)
from dataplane.broker.handlers.api_versions import handle_api_versions
from dataplane.broker.handlers.configs import (
    handle_alter_configs,
    handle_describe_configs,
    handle_incremental_alter_configs,
)
from dataplane.broker.handlers.fetch import handle_fetch
from dataplane.broker.handlers.metadata import handle_metadata
from dataplane.broker.handlers.offsets import (
    handle_delete_records,
    handle_list_offsets,
    handle_offset_for_leader_epoch,
)
from dataplane.broker.handlers.produce import handle_produce
from dataplane.broker.handlers.producer_ids import handle_init_producer_id
from dataplane.broker.handlers.sasl import handle_sasl_authenticate, handle_sasl_handshake
from dataplane.broker.handlers.topics import (
    handle_create_partitions,
    handle_create_topics,
    handle_delete_topics,
)
from dataplane.broker.handlers.users import (
    handle_alter_user_scram_credentials,
    handle_describe_user_scram_credentials,
)
from dataplane.protocol import messages as m
from dataplane.protocol.schema import Message

Handler = Callable[[RequestContext, dict], Awaitable[dict | None]]


@dataclass(frozen=True)
class Api:
    key: int
    name: str
    request: Message
    response: Message
    min_version: int
    max_version: int
    handle: Handler
    advertised_min: int

    def serves(self, version: int) -> bool:
        return self.min_version <= version <= self.max_version


def _api(
    name: str,
    request: Message,
    response: Message,
    versions: tuple[int, int],
    handle: Handler,
    advertised_min: int | None = None,
) -> Api:
    assert request.api_key is not None
    low, high = request.version_range
    assert low <= versions[0] and versions[1] <= high, f"{name} schema lacks versions {versions}"
    return Api(
        request.api_key,
        name,
        request,
        response,
        versions[0],
        versions[1],
        handle,
        versions[0] if advertised_min is None else advertised_min,
    )


APIS: dict[int, Api] = {
    api.key: api
    for api in (
        # Produce v0-2 are advertised but refused, as Kafka 4 does (KAFKA-18659): librdkafka
        # before 2.11 enables compression only if the broker lists Produce v0. Clients always pick
        # the highest common version, so the old versions are never sent.
        _api("Produce", m.PRODUCE_REQUEST, m.PRODUCE_RESPONSE, (3, 9), handle_produce, 0),
        _api("Fetch", m.FETCH_REQUEST, m.FETCH_RESPONSE, (4, 12), handle_fetch),
        _api(
            "ListOffsets",
            m.LIST_OFFSETS_REQUEST,
            m.LIST_OFFSETS_RESPONSE,
            (1, 7),
            handle_list_offsets,
        ),
        _api("Metadata", m.METADATA_REQUEST, m.METADATA_RESPONSE, (0, 12), handle_metadata),
        _api(
            "ApiVersions",
            m.API_VERSIONS_REQUEST,
            m.API_VERSIONS_RESPONSE,
            (0, 4),
            handle_api_versions,
        ),
        _api(
            "CreateTopics",
            m.CREATE_TOPICS_REQUEST,
            m.CREATE_TOPICS_RESPONSE,
            (2, 4),
            handle_create_topics,
        ),
        _api(
            "DeleteTopics",
            m.DELETE_TOPICS_REQUEST,
            m.DELETE_TOPICS_RESPONSE,
            (1, 4),
            handle_delete_topics,
        ),
        _api(
            "DeleteRecords",
            m.DELETE_RECORDS_REQUEST,
            m.DELETE_RECORDS_RESPONSE,
            (0, 2),
            handle_delete_records,
        ),
        _api(
            "InitProducerId",
            m.INIT_PRODUCER_ID_REQUEST,
            m.INIT_PRODUCER_ID_RESPONSE,
            (0, 4),
            handle_init_producer_id,
        ),
        _api(
            "OffsetForLeaderEpoch",
            m.OFFSET_FOR_LEADER_EPOCH_REQUEST,
            m.OFFSET_FOR_LEADER_EPOCH_RESPONSE,
            (2, 4),
            handle_offset_for_leader_epoch,
        ),
        _api(
            "DescribeConfigs",
            m.DESCRIBE_CONFIGS_REQUEST,
            m.DESCRIBE_CONFIGS_RESPONSE,
            (1, 4),
            handle_describe_configs,
        ),
        _api(
            "AlterConfigs",
            m.ALTER_CONFIGS_REQUEST,
            m.ALTER_CONFIGS_RESPONSE,
            (0, 2),
            handle_alter_configs,
        ),
        _api(
            "CreatePartitions",
            m.CREATE_PARTITIONS_REQUEST,
            m.CREATE_PARTITIONS_RESPONSE,
            (0, 3),
            handle_create_partitions,
        ),
        _api(
            "IncrementalAlterConfigs",
            m.INCREMENTAL_ALTER_CONFIGS_REQUEST,
            m.INCREMENTAL_ALTER_CONFIGS_RESPONSE,
            (0, 1),
            handle_incremental_alter_configs,
        ),
        _api(
            "FindCoordinator",
            m.FIND_COORDINATOR_REQUEST,
            m.FIND_COORDINATOR_RESPONSE,
            (0, 3),
            groups.handle_find_coordinator,
        ),
        _api(
            "JoinGroup",
            m.JOIN_GROUP_REQUEST,
            m.JOIN_GROUP_RESPONSE,
            (0, 7),
            groups.handle_join_group,
        ),
        _api(
            "SyncGroup",
            m.SYNC_GROUP_REQUEST,
            m.SYNC_GROUP_RESPONSE,
            (0, 5),
            groups.handle_sync_group,
        ),
        _api(
            "Heartbeat", m.HEARTBEAT_REQUEST, m.HEARTBEAT_RESPONSE, (0, 4), groups.handle_heartbeat
        ),
        _api(
            "LeaveGroup",
            m.LEAVE_GROUP_REQUEST,
            m.LEAVE_GROUP_RESPONSE,
            (0, 4),
            groups.handle_leave_group,
        ),
        _api(
            "OffsetCommit",
            m.OFFSET_COMMIT_REQUEST,
            m.OFFSET_COMMIT_RESPONSE,
            (2, 8),
            groups.handle_offset_commit,
        ),
        _api(
            "OffsetFetch",
            m.OFFSET_FETCH_REQUEST,
            m.OFFSET_FETCH_RESPONSE,
            (1, 7),
            groups.handle_offset_fetch,
        ),
        _api(
            "DescribeGroups",
            m.DESCRIBE_GROUPS_REQUEST,
            m.DESCRIBE_GROUPS_RESPONSE,
            (0, 5),
            groups.handle_describe_groups,
        ),
        _api(
            "ListGroups",
            m.LIST_GROUPS_REQUEST,
            m.LIST_GROUPS_RESPONSE,
            (0, 4),
            groups.handle_list_groups,
        ),
        _api(
            "DeleteGroups",
            m.DELETE_GROUPS_REQUEST,
            m.DELETE_GROUPS_RESPONSE,
            (0, 2),
            groups.handle_delete_groups,
        ),
        _api(
            "OffsetDelete",
            m.OFFSET_DELETE_REQUEST,
            m.OFFSET_DELETE_RESPONSE,
            (0, 0),
            groups.handle_offset_delete,
        ),
        _api(
            "ElectLeaders",
            m.ELECT_LEADERS_REQUEST,
            m.ELECT_LEADERS_RESPONSE,
            (0, 2),
            cluster.handle_elect_leaders,
        ),
        _api(
            "AlterPartitionReassignments",
            m.ALTER_PARTITION_REASSIGNMENTS_REQUEST,
            m.ALTER_PARTITION_REASSIGNMENTS_RESPONSE,
            (0, 0),
            cluster.handle_alter_partition_reassignments,
        ),
        _api(
            "ListPartitionReassignments",
            m.LIST_PARTITION_REASSIGNMENTS_REQUEST,
            m.LIST_PARTITION_REASSIGNMENTS_RESPONSE,
            (0, 0),
            cluster.handle_list_partition_reassignments,
        ),
        # v0 is not served: after a v0 handshake SASL tokens travel unframed, and every client we
        # know uses v1 with SaslAuthenticate. It is advertised all the same, as Kafka does:
        # librdkafka 2.0 (Debian 12's kcat) takes a broker without v0 for one without SASL.
        _api(
            "SaslHandshake",
            m.SASL_HANDSHAKE_REQUEST,
            m.SASL_HANDSHAKE_RESPONSE,
            (1, 1),
            handle_sasl_handshake,
            0,
        ),
        _api(
            "SaslAuthenticate",
            m.SASL_AUTHENTICATE_REQUEST,
            m.SASL_AUTHENTICATE_RESPONSE,
            (0, 2),
            handle_sasl_authenticate,
        ),
        _api(
            "DescribeAcls",
            m.DESCRIBE_ACLS_REQUEST,
            m.DESCRIBE_ACLS_RESPONSE,
            (0, 3),
            handle_describe_acls,
        ),
        _api(
            "CreateAcls",
            m.CREATE_ACLS_REQUEST,
            m.CREATE_ACLS_RESPONSE,
            (0, 3),
            handle_create_acls,
        ),
        _api(
            "DeleteAcls",
            m.DELETE_ACLS_REQUEST,
            m.DELETE_ACLS_RESPONSE,
            (0, 3),
            handle_delete_acls,
        ),
        _api(
            "DescribeUserScramCredentials",
            m.DESCRIBE_USER_SCRAM_CREDENTIALS_REQUEST,
            m.DESCRIBE_USER_SCRAM_CREDENTIALS_RESPONSE,
            (0, 0),
            handle_describe_user_scram_credentials,
        ),
        _api(
            "AlterUserScramCredentials",
            m.ALTER_USER_SCRAM_CREDENTIALS_REQUEST,
            m.ALTER_USER_SCRAM_CREDENTIALS_RESPONSE,
            (0, 0),
            handle_alter_user_scram_credentials,
        ),
    )
}
API_VERSIONS_KEY = 18
