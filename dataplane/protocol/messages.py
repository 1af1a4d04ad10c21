"""Message schemas of the Kafka APIs this broker serves: field names, types and the versions each field exists in.

Each schema lists every version Kafka defines for the message; the versions this broker *advertises* are
chosen in the dispatch table, which may be narrower.
"""

from dataplane.protocol.schema import Array, F, Message, Struct

API_VERSIONS_REQUEST = Message(
    18,
    "0-4",
    flexible="3+",
    fields=(
        F("client_software_name", "string", "3+"),
        F("client_software_version", "string", "3+"),
    ),
)

API_VERSIONS_RESPONSE = Message(
    18,
    "0-4",
    flexible="3+",
    fields=(
        F("error_code", "int16", "0+"),
        F(
            "api_keys",
            Array(
                Struct(
                    F("api_key", "int16", "0+"),
                    F("min_version", "int16", "0+"),
                    F("max_version", "int16", "0+"),
                )
            ),
            "0+",
        ),
        F("throttle_time_ms", "int32", "1+"),
        F(
            "supported_features",
            Array(
                Struct(
                    F("name", "string", "3+"),
                    F("min_version", "int16", "3+"),
                    F("max_version", "int16", "3+"),
                )
            ),
            "3+",
            tag=0,
            tagged="3+",
        ),
        F("finalized_features_epoch", "int64", "3+", tag=1, tagged="3+", default=-1),
        F(
            "finalized_features",
            Array(
                Struct(
                    F("name", "string", "3+"),
                    F("max_version_level", "int16", "3+"),
                    F("min_version_level", "int16", "3+"),
                )
            ),
            "3+",
            tag=2,
            tagged="3+",
        ),
        F("zk_migration_ready", "bool", "3+", tag=3, tagged="3+", default=False),
    ),
)

METADATA_REQUEST = Message(
    3,
    "0-12",
    flexible="9+",
    fields=(
        F(
            "topics",
            Array(
                Struct(
                    F("topic_id", "uuid", "10+"),
                    F("name", "string", "0+", nullable="10+"),
                )
            ),
            "0+",
            nullable="1+",
        ),
        F("allow_auto_topic_creation", "bool", "4+", default=True),
        F("include_cluster_authorized_operations", "bool", "8-10"),
        F("include_topic_authorized_operations", "bool", "8+"),
    ),
)

METADATA_RESPONSE = Message(
    3,
    "0-12",
    flexible="9+",
    fields=(
        F("throttle_time_ms", "int32", "3+"),
        F(
            "brokers",
            Array(
                Struct(
                    F("node_id", "int32", "0+"),
                    F("host", "string", "0+"),
                    F("port", "int32", "0+"),
                    F("rack", "string", "1+", nullable="1+", default=None),
                )
            ),
            "0+",
        ),
        F("cluster_id", "string", "2+", nullable="2+", default=None),
        F("controller_id", "int32", "1+", default=-1),
        F(
            "topics",
            Array(
                Struct(
                    F("error_code", "int16", "0+"),
                    F("name", "string", "0+", nullable="12+"),
                    F("topic_id", "uuid", "10+"),
                    F("is_internal", "bool", "1+", default=False),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("error_code", "int16", "0+"),
                                F("partition_index", "int32", "0+"),
                                F("leader_id", "int32", "0+"),
                                F("leader_epoch", "int32", "7+", default=-1),
                                F("replica_nodes", Array("int32"), "0+"),
                                F("isr_nodes", Array("int32"), "0+"),
                                F("offline_replicas", Array("int32"), "5+"),
                            )
                        ),
                        "0+",
                    ),
                    F("topic_authorized_operations", "int32", "8+", default=-2147483648),
                )
            ),
            "0+",
        ),
        F("cluster_authorized_operations", "int32", "8-10", default=-2147483648),
    ),
)

PRODUCE_REQUEST = Message(
    0,
    "0-11",
    flexible="9+",
    fields=(
        F("transactional_id", "string", "3+", nullable="3+", default=None),
        F("acks", "int16", "0+"),
        F("timeout_ms", "int32", "0+"),
        F(
            "topic_data",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partition_data",
                        Array(
                            Struct(
                                F("index", "int32", "0+"),
                                F("records", "records", "0+", nullable="0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

PRODUCE_RESPONSE = Message(
    0,
    "0-11",
    flexible="9+",
    fields=(
        F(
            "responses",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partition_responses",
                        Array(
                            Struct(
                                F("index", "int32", "0+"),
                                F("error_code", "int16", "0+"),
                                F("base_offset", "int64", "0+"),
                                F("log_append_time_ms", "int64", "2+", default=-1),
                                F("log_start_offset", "int64", "5+", default=-1),
                                F(
                                    "record_errors",
                                    Array(
                                        Struct(
                                            F("batch_index", "int32", "8+"),
                                            F(
                                                "batch_index_error_message",
                                                "string",
                                                "8+",
                                                nullable="8+",
                                                default=None,
                                            ),
                                        )
                                    ),
                                    "8+",
                                ),
                                F("error_message", "string", "8+", nullable="8+", default=None),
                                F(
                                    "current_leader",
                                    Struct(
                                        F("leader_id", "int32", "10+", default=-1),
                                        F("leader_epoch", "int32", "10+", default=-1),
                                    ),
                                    "10+",
                                    tag=0,
                                    tagged="10+",
                                ),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
        F("throttle_time_ms", "int32", "1+", default=0),
        F(
            "node_endpoints",
            Array(
                Struct(
                    F("node_id", "int32", "10+"),
                    F("host", "string", "10+"),
                    F("port", "int32", "10+"),
                    F("rack", "string", "10+", nullable="10+", default=None),
                )
            ),
            "10+",
            tag=0,
            tagged="10+",
        ),
    ),
)

FETCH_REQUEST = Message(
    1,
    "0-17",
    flexible="12+",
    fields=(
        F("cluster_id", "string", "12+", nullable="12+", tag=0, tagged="12+", default=None),
        F("replica_id", "int32", "0-14", default=-1),
        F(
            "replica_state",
            Struct(
                F("replica_id", "int32", "15+", default=-1),
                F("replica_epoch", "int64", "15+", default=-1),
            ),
            "15+",
            tag=1,
            tagged="15+",
        ),
        F("max_wait_ms", "int32", "0+"),
        F("min_bytes", "int32", "0+"),
        F("max_bytes", "int32", "3+", default=2147483647),
        F("isolation_level", "int8", "4+", default=0),
        F("session_id", "int32", "7+", default=0),
        F("session_epoch", "int32", "7+", default=-1),
        F(
            "topics",
            Array(
                Struct(
                    F("topic", "string", "0-12"),
                    F("topic_id", "uuid", "13+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition", "int32", "0+"),
                                F("current_leader_epoch", "int32", "9+", default=-1),
                                F("fetch_offset", "int64", "0+"),
                                F("last_fetched_epoch", "int32", "12+", default=-1),
                                F("log_start_offset", "int64", "5+", default=-1),
                                F("partition_max_bytes", "int32", "0+"),
                                F("replica_directory_id", "uuid", "17+", tag=0, tagged="17+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
        F(
            "forgotten_topics_data",
            Array(
                Struct(
                    F("topic", "string", "7-12"),
                    F("topic_id", "uuid", "13+"),
                    F("partitions", Array("int32"), "7+"),
                )
            ),
            "7+",
        ),
        F("rack_id", "string", "11+", default=""),
    ),
)

FETCH_RESPONSE = Message(
    1,
    "0-17",
    flexible="12+",
    fields=(
        F("throttle_time_ms", "int32", "1+"),
        F("error_code", "int16", "7+"),
        F("session_id", "int32", "7+", default=0),
        F(
            "responses",
            Array(
                Struct(
                    F("topic", "string", "0-12"),
                    F("topic_id", "uuid", "13+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("error_code", "int16", "0+"),
                                F("high_watermark", "int64", "0+"),
                                F("last_stable_offset", "int64", "4+", default=-1),
                                F("log_start_offset", "int64", "5+", default=-1),
                                F(
                                    "diverging_epoch",
                                    Struct(
                                        F("epoch", "int32", "12+", default=-1),
                                        F("end_offset", "int64", "12+", default=-1),
                                    ),
                                    "12+",
                                    tag=0,
                                    tagged="12+",
                                ),
                                F(
                                    "current_leader",
                                    Struct(
                                        F("leader_id", "int32", "12+", default=-1),
                                        F("leader_epoch", "int32", "12+", default=-1),
                                    ),
                                    "12+",
                                    tag=1,
                                    tagged="12+",
                                ),
                                F(
                                    "snapshot_id",
                                    Struct(
                                        F("end_offset", "int64", "0+", default=-1),
                                        F("epoch", "int32", "0+", default=-1),
                                    ),
                                    "12+",
                                    tag=2,
                                    tagged="12+",
                                ),
                                F(
                                    "aborted_transactions",
                                    Array(
                                        Struct(
                                            F("producer_id", "int64", "4+"),
                                            F("first_offset", "int64", "4+"),
                                        )
                                    ),
                                    "4+",
                                    nullable="4+",
                                ),
                                F("preferred_read_replica", "int32", "11+", default=-1),
                                F("records", "records", "0+", nullable="0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
        F(
            "node_endpoints",
            Array(
                Struct(
                    F("node_id", "int32", "16+"),
                    F("host", "string", "16+"),
                    F("port", "int32", "16+"),
                    F("rack", "string", "16+", nullable="16+", default=None),
                )
            ),
            "16+",
            tag=0,
            tagged="16+",
        ),
    ),
)

LIST_OFFSETS_REQUEST = Message(
    2,
    "0-10",
    flexible="6+",
    fields=(
        F("replica_id", "int32", "0+"),
        F("isolation_level", "int8", "2+"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("current_leader_epoch", "int32", "4+", default=-1),
                                F("timestamp", "int64", "0+"),
                                F("max_num_offsets", "int32", "0", default=1),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
        F("timeout_ms", "int32", "10+"),
    ),
)

LIST_OFFSETS_RESPONSE = Message(
    2,
    "0-10",
    flexible="6+",
    fields=(
        F("throttle_time_ms", "int32", "2+"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("error_code", "int16", "0+"),
                                F("old_style_offsets", Array("int64"), "0"),
                                F("timestamp", "int64", "1+", default=-1),
                                F("offset", "int64", "1+", default=-1),
                                F("leader_epoch", "int32", "4+", default=-1),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

CREATE_TOPICS_REQUEST = Message(
    19,
    "0-7",
    flexible="5+",
    fields=(
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F("num_partitions", "int32", "0+"),
                    F("replication_factor", "int16", "0+"),
                    F(
                        "assignments",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("broker_ids", Array("int32"), "0+"),
                            )
                        ),
                        "0+",
                    ),
                    F(
                        "configs",
                        Array(
                            Struct(
                                F("name", "string", "0+"),
                                F("value", "string", "0+", nullable="0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
        F("timeout_ms", "int32", "0+", default=60000),
        F("validate_only", "bool", "1+", default=False),
    ),
)

CREATE_TOPICS_RESPONSE = Message(
    19,
    "0-7",
    flexible="5+",
    fields=(
        F("throttle_time_ms", "int32", "2+"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F("topic_id", "uuid", "7+"),
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "1+", nullable="0+"),
                    F("topic_config_error_code", "int16", "5+", tag=0, tagged="5+"),
                    F("num_partitions", "int32", "5+", default=-1),
                    F("replication_factor", "int16", "5+", default=-1),
                    F(
                        "configs",
                        Array(
                            Struct(
                                F("name", "string", "5+"),
                                F("value", "string", "5+", nullable="5+"),
                                F("read_only", "bool", "5+"),
                                F("config_source", "int8", "5+", default=-1),
                                F("is_sensitive", "bool", "5+"),
                            )
                        ),
                        "5+",
                        nullable="5+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

DELETE_TOPICS_REQUEST = Message(
    20,
    "0-6",
    flexible="4+",
    fields=(
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "6+", nullable="6+", default=None),
                    F("topic_id", "uuid", "6+"),
                )
            ),
            "6+",
        ),
        F("topic_names", Array("string"), "0-5"),
        F("timeout_ms", "int32", "0+"),
    ),
)

DELETE_TOPICS_RESPONSE = Message(
    20,
    "0-6",
    flexible="4+",
    fields=(
        F("throttle_time_ms", "int32", "1+"),
        F(
            "responses",
            Array(
                Struct(
                    F("name", "string", "0+", nullable="6+"),
                    F("topic_id", "uuid", "6+"),
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "5+", nullable="5+", default=None),
                )
            ),
            "0+",
        ),
    ),
)

CREATE_PARTITIONS_REQUEST = Message(
    37,
    "0-3",
    flexible="2+",
    fields=(
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F("count", "int32", "0+"),
                    F(
                        "assignments",
                        Array(
                            Struct(
                                F("broker_ids", Array("int32"), "0+"),
                            )
                        ),
                        "0+",
                        nullable="0+",
                    ),
                )
            ),
            "0+",
        ),
        F("timeout_ms", "int32", "0+"),
        F("validate_only", "bool", "0+"),
    ),
)

CREATE_PARTITIONS_RESPONSE = Message(
    37,
    "0-3",
    flexible="2+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F(
            "results",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "0+", nullable="0+", default=None),
                )
            ),
            "0+",
        ),
    ),
)

DESCRIBE_CONFIGS_REQUEST = Message(
    32,
    "0-4",
    flexible="4+",
    fields=(
        F(
            "resources",
            Array(
                Struct(
                    F("resource_type", "int8", "0+"),
                    F("resource_name", "string", "0+"),
                    F("configuration_keys", Array("string"), "0+", nullable="0+"),
                )
            ),
            "0+",
        ),
        F("include_synonyms", "bool", "1+", default=False),
        F("include_documentation", "bool", "3+", default=False),
    ),
)

DESCRIBE_CONFIGS_RESPONSE = Message(
    32,
    "0-4",
    flexible="4+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F(
            "results",
            Array(
                Struct(
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "0+", nullable="0+"),
                    F("resource_type", "int8", "0+"),
                    F("resource_name", "string", "0+"),
                    F(
                        "configs",
                        Array(
                            Struct(
                                F("name", "string", "0+"),
                                F("value", "string", "0+", nullable="0+"),
                                F("read_only", "bool", "0+"),
                                F("is_default", "bool", "0"),
                                F("config_source", "int8", "1+", default=-1),
                                F("is_sensitive", "bool", "0+"),
                                F(
                                    "synonyms",
                                    Array(
                                        Struct(
                                            F("name", "string", "1+"),
                                            F("value", "string", "1+", nullable="0+"),
                                            F("source", "int8", "1+"),
                                        )
                                    ),
                                    "1+",
                                ),
                                F("config_type", "int8", "3+", default=0),
                                F("documentation", "string", "3+", nullable="0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

ALTER_CONFIGS_REQUEST = Message(
    33,
    "0-2",
    flexible="2+",
    fields=(
        F(
            "resources",
            Array(
                Struct(
                    F("resource_type", "int8", "0+"),
                    F("resource_name", "string", "0+"),
                    F(
                        "configs",
                        Array(
                            Struct(
                                F("name", "string", "0+"),
                                F("value", "string", "0+", nullable="0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
        F("validate_only", "bool", "0+"),
    ),
)

ALTER_CONFIGS_RESPONSE = Message(
    33,
    "0-2",
    flexible="2+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F(
            "responses",
            Array(
                Struct(
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "0+", nullable="0+"),
                    F("resource_type", "int8", "0+"),
                    F("resource_name", "string", "0+"),
                )
            ),
            "0+",
        ),
    ),
)

INCREMENTAL_ALTER_CONFIGS_REQUEST = Message(
    44,
    "0-1",
    flexible="1+",
    fields=(
        F(
            "resources",
            Array(
                Struct(
                    F("resource_type", "int8", "0+"),
                    F("resource_name", "string", "0+"),
                    F(
                        "configs",
                        Array(
                            Struct(
                                F("name", "string", "0+"),
                                F("config_operation", "int8", "0+"),
                                F("value", "string", "0+", nullable="0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
        F("validate_only", "bool", "0+"),
    ),
)

INCREMENTAL_ALTER_CONFIGS_RESPONSE = Message(
    44,
    "0-1",
    flexible="1+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F(
            "responses",
            Array(
                Struct(
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "0+", nullable="0+"),
                    F("resource_type", "int8", "0+"),
                    F("resource_name", "string", "0+"),
                )
            ),
            "0+",
        ),
    ),
)

DELETE_RECORDS_REQUEST = Message(
    21,
    "0-2",
    flexible="2+",
    fields=(
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("offset", "int64", "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
        F("timeout_ms", "int32", "0+"),
    ),
)

DELETE_RECORDS_RESPONSE = Message(
    21,
    "0-2",
    flexible="2+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("low_watermark", "int64", "0+"),
                                F("error_code", "int16", "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

INIT_PRODUCER_ID_REQUEST = Message(
    22,
    "0-5",
    flexible="2+",
    fields=(
        F("transactional_id", "string", "0+", nullable="0+"),
        F("transaction_timeout_ms", "int32", "0+"),
        F("producer_id", "int64", "3+", default=-1),
        F("producer_epoch", "int16", "3+", default=-1),
    ),
)

INIT_PRODUCER_ID_RESPONSE = Message(
    22,
    "0-5",
    flexible="2+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F("error_code", "int16", "0+"),
        F("producer_id", "int64", "0+", default=-1),
        F("producer_epoch", "int16", "0+"),
    ),
)

OFFSET_FOR_LEADER_EPOCH_REQUEST = Message(
    23,
    "0-4",
    flexible="4+",
    fields=(
        F("replica_id", "int32", "3+", default=-2),
        F(
            "topics",
            Array(
                Struct(
                    F("topic", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition", "int32", "0+"),
                                F("current_leader_epoch", "int32", "2+", default=-1),
                                F("leader_epoch", "int32", "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

OFFSET_FOR_LEADER_EPOCH_RESPONSE = Message(
    23,
    "0-4",
    flexible="4+",
    fields=(
        F("throttle_time_ms", "int32", "2+"),
        F(
            "topics",
            Array(
                Struct(
                    F("topic", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("error_code", "int16", "0+"),
                                F("partition", "int32", "0+"),
                                F("leader_epoch", "int32", "1+", default=-1),
                                F("end_offset", "int64", "0+", default=-1),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)
FIND_COORDINATOR_REQUEST = Message(
    10,
    "0-6",
    flexible="3+",
    fields=(
        F("key", "string", "0-3"),
        F("key_type", "int8", "1+", default=0),
        F("coordinator_keys", Array("string"), "4+"),
    ),
)

FIND_COORDINATOR_RESPONSE = Message(
    10,
    "0-6",
    flexible="3+",
    fields=(
        F("throttle_time_ms", "int32", "1+"),
        F("error_code", "int16", "0-3"),
        F("error_message", "string", "1-3", nullable="1-3"),
        F("node_id", "int32", "0-3"),
        F("host", "string", "0-3"),
        F("port", "int32", "0-3"),
        F(
            "coordinators",
            Array(
                Struct(
                    F("key", "string", "4+"),
                    F("node_id", "int32", "4+"),
                    F("host", "string", "4+"),
                    F("port", "int32", "4+"),
                    F("error_code", "int16", "4+"),
                    F("error_message", "string", "4+", nullable="4+"),
                )
            ),
            "4+",
        ),
    ),
)

JOIN_GROUP_REQUEST = Message(
    11,
    "0-9",
    flexible="6+",
    fields=(
        F("group_id", "string", "0+"),
        F("session_timeout_ms", "int32", "0+"),
        F("rebalance_timeout_ms", "int32", "1+", default=-1),
        F("member_id", "string", "0+"),
        F("group_instance_id", "string", "5+", nullable="5+", default=None),
        F("protocol_type", "string", "0+"),
        F(
            "protocols",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F("metadata", "bytes", "0+"),
                )
            ),
            "0+",
        ),
        F("reason", "string", "8+", nullable="8+", default=None),
    ),
)

JOIN_GROUP_RESPONSE = Message(
    11,
    "0-9",
    flexible="6+",
    fields=(
        F("throttle_time_ms", "int32", "2+"),
        F("error_code", "int16", "0+"),
        F("generation_id", "int32", "0+", default=-1),
        F("protocol_type", "string", "7+", nullable="7+", default=None),
        F("protocol_name", "string", "0+", nullable="7+"),
        F("leader", "string", "0+"),
        F("skip_assignment", "bool", "9+", default=False),
        F("member_id", "string", "0+"),
        F(
            "members",
            Array(
                Struct(
                    F("member_id", "string", "0+"),
                    F("group_instance_id", "string", "5+", nullable="5+", default=None),
                    F("metadata", "bytes", "0+"),
                )
            ),
            "0+",
        ),
    ),
)

SYNC_GROUP_REQUEST = Message(
    14,
    "0-5",
    flexible="4+",
    fields=(
        F("group_id", "string", "0+"),
        F("generation_id", "int32", "0+"),
        F("member_id", "string", "0+"),
        F("group_instance_id", "string", "3+", nullable="3+", default=None),
        F("protocol_type", "string", "5+", nullable="5+", default=None),
        F("protocol_name", "string", "5+", nullable="5+", default=None),
        F(
            "assignments",
            Array(
                Struct(
                    F("member_id", "string", "0+"),
                    F("assignment", "bytes", "0+"),
                )
            ),
            "0+",
        ),
    ),
)

SYNC_GROUP_RESPONSE = Message(
    14,
    "0-5",
    flexible="4+",
    fields=(
        F("throttle_time_ms", "int32", "1+"),
        F("error_code", "int16", "0+"),
        F("protocol_type", "string", "5+", nullable="5+", default=None),
        F("protocol_name", "string", "5+", nullable="5+", default=None),
        F("assignment", "bytes", "0+"),
    ),
)

HEARTBEAT_REQUEST = Message(
    12,
    "0-4",
    flexible="4+",
    fields=(
        F("group_id", "string", "0+"),
        F("generation_id", "int32", "0+"),
        F("member_id", "string", "0+"),
        F("group_instance_id", "string", "3+", nullable="3+", default=None),
    ),
)

HEARTBEAT_RESPONSE = Message(
    12,
    "0-4",
    flexible="4+",
    fields=(
        F("throttle_time_ms", "int32", "1+"),
        F("error_code", "int16", "0+"),
    ),
)

LEAVE_GROUP_REQUEST = Message(
    13,
    "0-5",
    flexible="4+",
    fields=(
        F("group_id", "string", "0+"),
        F("member_id", "string", "0-2"),
        F(
            "members",
            Array(
                Struct(
                    F("member_id", "string", "3+"),
                    F("group_instance_id", "string", "3+", nullable="3+", default=None),
                    F("reason", "string", "5+", nullable="5+", default=None),
                )
            ),
            "3+",
        ),
    ),
)

LEAVE_GROUP_RESPONSE = Message(
    13,
    "0-5",
    flexible="4+",
    fields=(
        F("throttle_time_ms", "int32", "1+"),
        F("error_code", "int16", "0+"),
        F(
            "members",
            Array(
                Struct(
                    F("member_id", "string", "3+"),
                    F("group_instance_id", "string", "3+", nullable="3+"),
                    F("error_code", "int16", "3+"),
                )
            ),
            "3+",
        ),
    ),
)

OFFSET_COMMIT_REQUEST = Message(
    8,
    "0-9",
    flexible="8+",
    fields=(
        F("group_id", "string", "0+"),
        F("generation_id_or_member_epoch", "int32", "1+", default=-1),
        F("member_id", "string", "1+"),
        F("group_instance_id", "string", "7+", nullable="7+", default=None),
        F("retention_time_ms", "int64", "2-4", default=-1),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("committed_offset", "int64", "0+"),
                                F("committed_leader_epoch", "int32", "6+", default=-1),
                                F("commit_timestamp", "int64", "1", default=-1),
                                F("committed_metadata", "string", "0+", nullable="0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

OFFSET_COMMIT_RESPONSE = Message(
    8,
    "0-9",
    flexible="8+",
    fields=(
        F("throttle_time_ms", "int32", "3+"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("error_code", "int16", "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

OFFSET_FETCH_REQUEST = Message(
    9,
    "0-9",
    flexible="6+",
    fields=(
        F("group_id", "string", "0-7"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0-7"),
                    F("partition_indexes", Array("int32"), "0-7"),
                )
            ),
            "0-7",
            nullable="2-7",
        ),
        F(
            "groups",
            Array(
                Struct(
                    F("group_id", "string", "8+"),
                    F("member_id", "string", "9+", nullable="9+", default=None),
                    F("member_epoch", "int32", "9+", default=-1),
                    F(
                        "topics",
                        Array(
                            Struct(
                                F("name", "string", "8+"),
                                F("partition_indexes", Array("int32"), "8+"),
                            )
                        ),
                        "8+",
                        nullable="8+",
                    ),
                )
            ),
            "8+",
        ),
        F("require_stable", "bool", "7+", default=False),
    ),
)

OFFSET_FETCH_RESPONSE = Message(
    9,
    "0-9",
    flexible="6+",
    fields=(
        F("throttle_time_ms", "int32", "3+"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0-7"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0-7"),
                                F("committed_offset", "int64", "0-7"),
                                F("committed_leader_epoch", "int32", "5-7", default=-1),
                                F("metadata", "string", "0-7", nullable="0-7"),
                                F("error_code", "int16", "0-7"),
                            )
                        ),
                        "0-7",
                    ),
                )
            ),
            "0-7",
        ),
        F("error_code", "int16", "2-7", default=0),
        F(
            "groups",
            Array(
                Struct(
                    F("group_id", "string", "8+"),
                    F(
                        "topics",
                        Array(
                            Struct(
                                F("name", "string", "8+"),
                                F(
                                    "partitions",
                                    Array(
                                        Struct(
                                            F("partition_index", "int32", "8+"),
                                            F("committed_offset", "int64", "8+"),
                                            F("committed_leader_epoch", "int32", "8+", default=-1),
                                            F("metadata", "string", "8+", nullable="8+"),
                                            F("error_code", "int16", "8+"),
                                        )
                                    ),
                                    "8+",
                                ),
                            )
                        ),
                        "8+",
                    ),
                    F("error_code", "int16", "8+", default=0),
                )
            ),
            "8+",
        ),
    ),
)

DESCRIBE_GROUPS_REQUEST = Message(
    15,
    "0-5",
    flexible="5+",
    fields=(
        F("groups", Array("string"), "0+"),
        F("include_authorized_operations", "bool", "3+"),
    ),
)

DESCRIBE_GROUPS_RESPONSE = Message(
    15,
    "0-5",
    flexible="5+",
    fields=(
        F("throttle_time_ms", "int32", "1+"),
        F(
            "groups",
            Array(
                Struct(
                    F("error_code", "int16", "0+"),
                    F("group_id", "string", "0+"),
                    F("group_state", "string", "0+"),
                    F("protocol_type", "string", "0+"),
                    F("protocol_data", "string", "0+"),
                    F(
                        "members",
                        Array(
                            Struct(
                                F("member_id", "string", "0+"),
                                F("group_instance_id", "string", "4+", nullable="4+", default=None),
                                F("client_id", "string", "0+"),
                                F("client_host", "string", "0+"),
                                F("member_metadata", "bytes", "0+"),
                                F("member_assignment", "bytes", "0+"),
                            )
                        ),
                        "0+",
                    ),
                    F("authorized_operations", "int32", "3+", default=-2147483648),
                )
            ),
            "0+",
        ),
    ),
)

LIST_GROUPS_REQUEST = Message(
    16,
    "0-5",
    flexible="3+",
    fields=(
        F("states_filter", Array("string"), "4+"),
        F("types_filter", Array("string"), "5+"),
    ),
)

LIST_GROUPS_RESPONSE = Message(
    16,
    "0-5",
    flexible="3+",
    fields=(
        F("throttle_time_ms", "int32", "1+"),
        F("error_code", "int16", "0+"),
        F(
            "groups",
            Array(
                Struct(
                    F("group_id", "string", "0+"),
                    F("protocol_type", "string", "0+"),
                    F("group_state", "string", "4+"),
                    F("group_type", "string", "5+"),
                )
            ),
            "0+",
        ),
    ),
)

DELETE_GROUPS_REQUEST = Message(
    42,
    "0-2",
    flexible="2+",
    fields=(F("groups_names", Array("string"), "0+"),),
)

DELETE_GROUPS_RESPONSE = Message(
    42,
    "0-2",
    flexible="2+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F(
            "results",
            Array(
                Struct(
                    F("group_id", "string", "0+"),
                    F("error_code", "int16", "0+"),
                )
            ),
            "0+",
        ),
    ),
)

OFFSET_DELETE_REQUEST = Message(
    47,
    "0",
    flexible="none",
    fields=(
        F("group_id", "string", "0+"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

OFFSET_DELETE_RESPONSE = Message(
    47,
    "0",
    flexible="none",
    fields=(
        F("error_code", "int16", "0+"),
        F("throttle_time_ms", "int32", "0+"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("error_code", "int16", "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)
ELECT_LEADERS_REQUEST = Message(
    43,
    "0-2",
    flexible="2+",
    fields=(
        F("election_type", "int8", "1+"),
        F(
            "topic_partitions",
            Array(
                Struct(
                    F("topic", "string", "0+"),
                    F("partitions", Array("int32"), "0+"),
                )
            ),
            "0+",
            nullable="0+",
        ),
        F("timeout_ms", "int32", "0+", default=60000),
    ),
)

ELECT_LEADERS_RESPONSE = Message(
    43,
    "0-2",
    flexible="2+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F("error_code", "int16", "1+"),
        F(
            "replica_election_results",
            Array(
                Struct(
                    F("topic", "string", "0+"),
                    F(
                        "partition_result",
                        Array(
                            Struct(
                                F("partition_id", "int32", "0+"),
                                F("error_code", "int16", "0+"),
                                F("error_message", "string", "0+", nullable="0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

ALTER_PARTITION_REASSIGNMENTS_REQUEST = Message(
    45,
    "0",
    flexible="0+",
    fields=(
        F("timeout_ms", "int32", "0+", default=60000),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("replicas", Array("int32"), "0+", nullable="0+", default=None),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

ALTER_PARTITION_REASSIGNMENTS_RESPONSE = Message(
    45,
    "0",
    flexible="0+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F("error_code", "int16", "0+"),
        F("error_message", "string", "0+", nullable="0+"),
        F(
            "responses",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("error_code", "int16", "0+"),
                                F("error_message", "string", "0+", nullable="0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

LIST_PARTITION_REASSIGNMENTS_REQUEST = Message(
    46,
    "0",
    flexible="0+",
    fields=(
        F("timeout_ms", "int32", "0+", default=60000),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F("partition_indexes", Array("int32"), "0+"),
                )
            ),
            "0+",
            nullable="0+",
            default=None,
        ),
    ),
)

LIST_PARTITION_REASSIGNMENTS_RESPONSE = Message(
    46,
    "0",
    flexible="0+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F("error_code", "int16", "0+"),
        F("error_message", "string", "0+", nullable="0+"),
        F(
            "topics",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F(
                        "partitions",
                        Array(
                            Struct(
                                F("partition_index", "int32", "0+"),
                                F("replicas", Array("int32"), "0+"),
                                F("adding_replicas", Array("int32"), "0+"),
                                F("removing_replicas", Array("int32"), "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

# Security APIs (schemas from Kafka's clients/src/main/resources/common/message/*.json). The ACL ones
# are not yet in the dispatch table.

SASL_HANDSHAKE_REQUEST = Message(
    17,
    "0-1",
    flexible="none",
    fields=(F("mechanism", "string", "0+"),),
)

SASL_HANDSHAKE_RESPONSE = Message(
    17,
    "0-1",
    flexible="none",
    fields=(
        F("error_code", "int16", "0+"),
        F("mechanisms", Array("string"), "0+"),
    ),
)

SASL_AUTHENTICATE_REQUEST = Message(
    36,
    "0-2",
    flexible="2+",
    fields=(F("auth_bytes", "bytes", "0+"),),
)

SASL_AUTHENTICATE_RESPONSE = Message(
    36,
    "0-2",
    flexible="2+",
    fields=(
        F("error_code", "int16", "0+"),
        F("error_message", "string", "0+", nullable="0+"),
        F("auth_bytes", "bytes", "0+"),
        F("session_lifetime_ms", "int64", "1+"),
    ),
)

DESCRIBE_ACLS_REQUEST = Message(
    29,
    "0-3",
    flexible="2+",
    fields=(
        F("resource_type_filter", "int8", "0+"),
        F("resource_name_filter", "string", "0+", nullable="0+"),
        F("pattern_type_filter", "int8", "1+", default=3),
        F("principal_filter", "string", "0+", nullable="0+"),
        F("host_filter", "string", "0+", nullable="0+"),
        F("operation", "int8", "0+"),
        F("permission_type", "int8", "0+"),
    ),
)

DESCRIBE_ACLS_RESPONSE = Message(
    29,
    "0-3",
    flexible="2+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F("error_code", "int16", "0+"),
        F("error_message", "string", "0+", nullable="0+"),
        F(
            "resources",
            Array(
                Struct(
                    F("resource_type", "int8", "0+"),
                    F("resource_name", "string", "0+"),
                    F("pattern_type", "int8", "1+", default=3),
                    F(
                        "acls",
                        Array(
                            Struct(
                                F("principal", "string", "0+"),
                                F("host", "string", "0+"),
                                F("operation", "int8", "0+"),
                                F("permission_type", "int8", "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

CREATE_ACLS_REQUEST = Message(
    30,
    "0-3",
    flexible="2+",
    fields=(
        F(
            "creations",
            Array(
                Struct(
                    F("resource_type", "int8", "0+"),
                    F("resource_name", "string", "0+"),
                    F("resource_pattern_type", "int8", "1+", default=3),
                    F("principal", "string", "0+"),
                    F("host", "string", "0+"),
                    F("operation", "int8", "0+"),
                    F("permission_type", "int8", "0+"),
                )
            ),
            "0+",
        ),
    ),
)

CREATE_ACLS_RESPONSE = Message(
    30,
    "0-3",
    flexible="2+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F(
            "results",
            Array(
                Struct(
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "0+", nullable="0+"),
                )
            ),
            "0+",
        ),
    ),
)

DELETE_ACLS_REQUEST = Message(
    31,
    "0-3",
    flexible="2+",
    fields=(
        F(
            "filters",
            Array(
                Struct(
                    F("resource_type_filter", "int8", "0+"),
                    F("resource_name_filter", "string", "0+", nullable="0+"),
                    F("pattern_type_filter", "int8", "1+", default=3),
                    F("principal_filter", "string", "0+", nullable="0+"),
                    F("host_filter", "string", "0+", nullable="0+"),
                    F("operation", "int8", "0+"),
                    F("permission_type", "int8", "0+"),
                )
            ),
            "0+",
        ),
    ),
)

DELETE_ACLS_RESPONSE = Message(
    31,
    "0-3",
    flexible="2+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F(
            "filter_results",
            Array(
                Struct(
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "0+", nullable="0+"),
                    F(
                        "matching_acls",
                        Array(
                            Struct(
                                F("error_code", "int16", "0+"),
                                F("error_message", "string", "0+", nullable="0+"),
                                F("resource_type", "int8", "0+"),
                                F("resource_name", "string", "0+"),
                                F("pattern_type", "int8", "1+", default=3),
                                F("principal", "string", "0+"),
                                F("host", "string", "0+"),
                                F("operation", "int8", "0+"),
                                F("permission_type", "int8", "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

DESCRIBE_USER_SCRAM_CREDENTIALS_REQUEST = Message(
    50,
    "0",
    flexible="0+",
    fields=(
        F(
            "users",
            Array(Struct(F("name", "string", "0+"))),
            "0+",
            nullable="0+",
        ),
    ),
)

DESCRIBE_USER_SCRAM_CREDENTIALS_RESPONSE = Message(
    50,
    "0",
    flexible="0+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F("error_code", "int16", "0+"),
        F("error_message", "string", "0+", nullable="0+"),
        F(
            "results",
            Array(
                Struct(
                    F("user", "string", "0+"),
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "0+", nullable="0+"),
                    F(
                        "credential_infos",
                        Array(
                            Struct(
                                F("mechanism", "int8", "0+"),
                                F("iterations", "int32", "0+"),
                            )
                        ),
                        "0+",
                    ),
                )
            ),
            "0+",
        ),
    ),
)

ALTER_USER_SCRAM_CREDENTIALS_REQUEST = Message(
    51,
    "0",
    flexible="0+",
    fields=(
        F(
            "deletions",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F("mechanism", "int8", "0+"),
                )
            ),
            "0+",
        ),
        F(
            "upsertions",
            Array(
                Struct(
                    F("name", "string", "0+"),
                    F("mechanism", "int8", "0+"),
                    F("iterations", "int32", "0+"),
                    F("salt", "bytes", "0+"),
                    F("salted_password", "bytes", "0+"),
                )
            ),
            "0+",
        ),
    ),
)

ALTER_USER_SCRAM_CREDENTIALS_RESPONSE = Message(
    51,
    "0",
    flexible="0+",
    fields=(
        F("throttle_time_ms", "int32", "0+"),
        F(
            "results",
            Array(
                Struct(
                    F("user", "string", "0+"),
                    F("error_code", "int16", "0+"),
                    F("error_message", "string", "0+", nullable="0+"),
                )
            ),
            "0+",
        ),
    ),
)
