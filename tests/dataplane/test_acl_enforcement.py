"""ACLs on a real broker with real clients: CreateAcls/DescribeAcls/DeleteAcls through confluent-kafka's
and kafka-python's admin clients, and the ACL matrix enforced on producers, consumers and admin
requests of both, as Kafka's AclAuthorizer decides.

One standalone broker serves the module: a SASL_PLAINTEXT listener (SCRAM users) and a PLAINTEXT one
(User:ANONYMOUS, which is granted nothing). Its users are created before the authorizer is turned
on: with the authorizer, only a super user may create them, and there is none to log in as yet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import kafka
import kafka.admin
import kafka.errors
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicCollection
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ConfigResource,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from dataplane.broker.dispatch import APIS
from dataplane.config import BrokerConfig, ConfigError
from tests.support.broker import HOST, BrokerProcess
from tests.support.ports import free_port
from tests.support.scram_users import create_scram_users
from tests.support.wire import METADATA, WireClient, batch

DESCRIBE_ACLS = 29
DELETE_ACLS = 31

TIMEOUT = 15.0
AUTHORIZER = "kafka.security.authorizer.AclAuthorizer"
MECHANISM = "SCRAM-SHA-256"
USERS = {
    "admin": "admin-secret",  # the super user
    "alice": "alice-secret",
    "bob": "bob-secret",  # never granted anything
    "carol": "carol-secret",
    "dave": "dave-secret",
    "erin": "erin-secret",
    "frank": "frank-secret",
}
AUTH_ERRORS = {
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError.CLUSTER_AUTHORIZATION_FAILED,
}


class AclBroker:
    def __init__(self, process: BrokerProcess, plaintext_port: int) -> None:
        self.process = process
        self.sasl = process.bootstrap
        self.plaintext_port = plaintext_port


def sasl_settings(user: str) -> dict:
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": MECHANISM,
        "sasl.username": user,
        "sasl.password": USERS[user],
    }


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclBroker]:
    plaintext_port = free_port()
    process = BrokerProcess(Path(tmp_path_factory.mktemp("acls")))
    process.overrides.update(
        {
            "listeners": f"SASL_PLAINTEXT://{HOST}:{process.port},PLAINTEXT://{HOST}:{plaintext_port}",
            "sasl.enabled.mechanisms": MECHANISM,
            "connection.failed.authentication.delay.ms": 100,
            "group.initial.rebalance.delay.ms": 0,
            "offsets.topic.num.partitions": 2,
        }
    )
    process.start()
    try:
        errors = create_scram_users(f"{HOST}:{plaintext_port}", USERS, (MECHANISM,))
        assert errors == dict.fromkeys(USERS)
        process.stop()
        process.overrides.update(
            {
                "authorizer.class.name": AUTHORIZER,
                "super.users": "User:admin",
                "allow.everyone.if.no.acl.found": "false",
            }
        )
        process.start()
        yield AclBroker(process, plaintext_port)
    finally:
        process.kill()


# --- client helpers ----------------------------------------------------------------------------


def admin_client(broker: AclBroker, user: str) -> AdminClient:
    """An admin client as `user`; keep it referenced until its futures are done (librdkafka
    fails them when the client goes)."""
    return AdminClient({"bootstrap.servers": broker.sasl, **sasl_settings(user)})


def create_acls(broker: AclBroker, bindings: list[AclBinding]) -> None:
    admin = admin_client(broker, "admin")
    for future in admin.create_acls(bindings).values():
        future.result(TIMEOUT)


def allow(
    user: str,
    operation: AclOperation,
    resource: ResourceType,
    name: str,
    pattern: ResourcePatternType = ResourcePatternType.LITERAL,
    permission: AclPermissionType = AclPermissionType.ALLOW,
) -> AclBinding:
    return AclBinding(resource, name, pattern, f"User:{user}", "*", operation, permission)


def create_topics(broker: AclBroker, user: str, *names: str) -> dict[str, KafkaError | None]:
    """Create topics as `user`: each name's error (None when created)."""
    admin = admin_client(broker, user)
    futures = admin.create_topics(
        [NewTopic(name, 1, 1) for name in names], operation_timeout=TIMEOUT
    )
    outcome: dict[str, KafkaError | None] = {}
    for name, future in futures.items():
        try:
            future.result(TIMEOUT)
            outcome[name] = None
        except KafkaException as exc:
            outcome[name] = exc.args[0]
    return outcome


def produce(broker: AclBroker, user: str, topic: str, value: bytes, **settings: object) -> int:
    """Produce one message as `user` with confluent-kafka: the delivery error code (0 when
    delivered)."""
    reports: list[KafkaError | None] = []
    producer = Producer(
        {
            "bootstrap.servers": broker.sasl,
            "message.timeout.ms": 10000,
            **sasl_settings(user),
            **settings,
        }
    )
    producer.produce(topic, value, on_delivery=lambda error, _message: reports.append(error))
    producer.flush(TIMEOUT)
    assert len(reports) == 1, "no delivery report"
    return reports[0].code() if reports[0] is not None else 0


def consume_one(broker: AclBroker, user: str, topic: str, group: str) -> bytes | int:
    """Subscribe as `user` in `group` and poll: the first message's value, or the code of the
    first authorization error."""
    consumer = Consumer(
        {
            "bootstrap.servers": broker.sasl,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            **sasl_settings(user),
        }
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error() is None:
                return message.value()
            if message.error().code() in AUTH_ERRORS:
                return message.error().code()
        raise AssertionError(f"{user} got neither a message nor an authorization error")
    finally:
        consumer.close()


def topics_seen(broker: AclBroker, user: str) -> set[str]:
    metadata = admin_client(broker, user).list_topics(timeout=TIMEOUT)
    return {name for name, topic in metadata.topics.items() if topic.error is None}


def kafka_python_settings(user: str) -> dict:
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": MECHANISM,
        "sasl_plain_username": user,
        "sasl_plain_password": USERS[user],
    }


@pytest.fixture(scope="module")
def seeded_topics(acl_broker: AclBroker) -> list[str]:
    """Topics with one message each, created and written by the super user."""
    names = ["orders-1", "orders-2", "payments", "ledger", "audit-log", "audit-secret"]
    names += ["visible-topic", "hidden-topic"]
    assert create_topics(acl_broker, "admin", *names) == dict.fromkeys(names)
    for name in names:
        assert produce(acl_broker, "admin", name, f"first in {name}".encode()) == 0
    return names


# --- configuration -----------------------------------------------------------------------------


def test_an_unknown_authorizer_class_is_refused_at_startup() -> None:
    with pytest.raises(ConfigError, match=r"authorizer\.class\.name"):
        BrokerConfig.from_mapping({"authorizer.class.name": "com.example.MyAuthorizer"})
    with pytest.raises(ConfigError, match=r"super\.users"):
        BrokerConfig.from_mapping({"authorizer.class.name": AUTHORIZER, "super.users": "alice"})
    for name in (AUTHORIZER, "org.apache.kafka.metadata.authorizer.StandardAuthorizer"):
        config = BrokerConfig.from_mapping(
            {"authorizer.class.name": name, "super.users": "User:CN=broker; User:admin"}
        )
        assert config.authorizer_enabled
        assert config.super_users == {"User:CN=broker", "User:admin"}
        assert config["allow.everyone.if.no.acl.found"] is False
    assert not BrokerConfig.from_mapping({}).authorizer_enabled


def test_acl_requests_without_an_authorizer_are_answered_security_disabled(
    tmp_path: Path,
) -> None:
    process = BrokerProcess(tmp_path).start()
    try:
        admin = AdminClient({"bootstrap.servers": process.bootstrap})
        binding = allow("alice", AclOperation.READ, ResourceType.TOPIC, "t")
        with pytest.raises(KafkaException) as created:
            admin.create_acls([binding])[binding].result(TIMEOUT)
        assert created.value.args[0].code() == KafkaError.SECURITY_DISABLED
        # librdkafka drops DescribeAcls' top-level error: the wire answer, for every version.
        any_acl = {
            "resource_type_filter": 1,
            "resource_name_filter": None,
            "pattern_type_filter": 1,
            "principal_filter": None,
            "host_filter": None,
            "operation": 1,
            "permission_type": 1,
        }
        with WireClient.to(process) as client:
            for version in range(4):
                described = client.request(DESCRIBE_ACLS, version, any_acl)
                assert described["error_code"] == KafkaError.SECURITY_DISABLED
                deleted = client.request(DELETE_ACLS, version, {"filters": [any_acl]})
                assert [r["error_code"] for r in deleted["filter_results"]] == [
                    KafkaError.SECURITY_DISABLED
                ]
    finally:
        process.kill()


# --- the matrix --------------------------------------------------------------------------------


def test_prefixed_write_allows_producing_to_matching_topics_only(
    acl_broker: AclBroker, seeded_topics: list[str]
) -> None:
    assert produce(acl_broker, "alice", "orders-1", b"before") == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED
    )
    create_acls(
        acl_broker,
        [
            allow(
                "alice",
                AclOperation.WRITE,
                ResourceType.TOPIC,
                "orders-",
                ResourcePatternType.PREFIXED,
            )
        ],
    )
    assert produce(acl_broker, "alice", "orders-1", b"o1") == 0
    assert produce(acl_broker, "alice", "payments", b"p") == KafkaError.TOPIC_AUTHORIZATION_FAILED
    # An idempotent producer needs IdempotentWrite on the cluster or Write on some topic (KIP-679).
    assert produce(acl_broker, "alice", "orders-2", b"o2", **{"enable.idempotence": True}) == 0
    assert produce(acl_broker, "bob", "orders-2", b"o2", **{"enable.idempotence": True}) != 0

    producer = kafka.KafkaProducer(
        bootstrap_servers=acl_broker.sasl, **kafka_python_settings("alice")
    )
    try:
        producer.send("orders-1", b"from kafka-python").get(TIMEOUT)
        with pytest.raises(kafka.errors.TopicAuthorizationFailedError):
            producer.send("payments", b"refused").get(TIMEOUT)
    finally:
        producer.close(timeout=5)


def test_consuming_needs_read_on_the_topic_and_on_the_group(
    acl_broker: AclBroker, seeded_topics: list[str]
) -> None:
    # librdkafka asks for the group's coordinator first: Describe on the group is missing.
    assert consume_one(acl_broker, "carol", "ledger", "ledger-readers") == (
        KafkaError.GROUP_AUTHORIZATION_FAILED
    )
    create_acls(
        acl_broker,
        [
            allow(
                "carol",
                AclOperation.READ,
                ResourceType.GROUP,
                "ledger-readers",
                ResourcePatternType.PREFIXED,
            )
        ],
    )
    assert consume_one(acl_broker, "carol", "ledger", "ledger-readers") == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED
    )
    create_acls(acl_broker, [allow("carol", AclOperation.READ, ResourceType.TOPIC, "ledger")])
    assert consume_one(acl_broker, "carol", "ledger", "ledger-readers") == b"first in ledger"
    admin = admin_client(acl_broker, "carol")
    described = admin.describe_consumer_groups(
        ["ledger-readers"], include_authorized_operations=True
    )
    group = described["ledger-readers"].result(TIMEOUT)
    assert sorted(group.authorized_operations) == sorted([AclOperation.READ, AclOperation.DESCRIBE])

    consumer = kafka.KafkaConsumer(
        "ledger",
        bootstrap_servers=acl_broker.sasl,
        group_id="ledger-readers-kafka-python",
        auto_offset_reset="earliest",
        consumer_timeout_ms=int(TIMEOUT * 1000),
        **kafka_python_settings("carol"),
    )
    try:
        assert next(iter(consumer)).value == b"first in ledger"
        consumer.commit()
    finally:
        consumer.close()
    # A group the ACL does not name stays closed.
    consumer = kafka.KafkaConsumer(
        "ledger",
        bootstrap_servers=acl_broker.sasl,
        group_id="other-group",
        auto_offset_reset="earliest",
        consumer_timeout_ms=int(TIMEOUT * 1000),
        **kafka_python_settings("carol"),
    )
    try:
        with pytest.raises(kafka.errors.GroupAuthorizationFailedError):
            next(iter(consumer))
    finally:
        consumer.close()


def test_creating_topics_needs_create_on_the_cluster_or_the_topic(
    acl_broker: AclBroker, seeded_topics: list[str]
) -> None:
    refused = create_topics(acl_broker, "dave", "dave-1")["dave-1"]
    assert refused is not None and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    create_acls(
        acl_broker,
        [
            allow(
                "dave",
                AclOperation.CREATE,
                ResourceType.TOPIC,
                "dave-",
                ResourcePatternType.PREFIXED,
            )
        ],
    )
    outcome = create_topics(acl_broker, "dave", "dave-1", "elsewhere-1")
    assert outcome["dave-1"] is None
    assert outcome["elsewhere-1"] is not None
    assert outcome["elsewhere-1"].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert "dave-1" in topics_seen(acl_broker, "admin")
    assert "elsewhere-1" not in topics_seen(acl_broker, "admin")
    # Create on the cluster allows any name.
    create_acls(
        acl_broker, [allow("dave", AclOperation.CREATE, ResourceType.BROKER, "kafka-cluster")]
    )
    assert create_topics(acl_broker, "dave", "elsewhere-1") == {"elsewhere-1": None}


def test_a_deny_beats_an_allow(acl_broker: AclBroker, seeded_topics: list[str]) -> None:
    create_acls(
        acl_broker,
        [
            allow(
                "erin",
                AclOperation.ALL,
                ResourceType.TOPIC,
                "audit-",
                ResourcePatternType.PREFIXED,
            ),
            allow(
                "erin",
                AclOperation.WRITE,
                ResourceType.TOPIC,
                "audit-secret",
                permission=AclPermissionType.DENY,
            ),
        ],
    )
    assert produce(acl_broker, "erin", "audit-log", b"ok") == 0
    assert produce(acl_broker, "erin", "audit-secret", b"no") == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED
    )
    # The DENY names Write only: reading the topic is still allowed by the ALL.
    create_acls(acl_broker, [allow("erin", AclOperation.READ, ResourceType.GROUP, "erin")])
    assert consume_one(acl_broker, "erin", "audit-secret", "erin") == b"first in audit-secret"


def test_metadata_does_not_reveal_topics_the_user_cannot_describe(
    acl_broker: AclBroker, seeded_topics: list[str]
) -> None:
    create_acls(
        acl_broker, [allow("frank", AclOperation.DESCRIBE, ResourceType.TOPIC, "visible-topic")]
    )
    assert topics_seen(acl_broker, "frank") == {"visible-topic"}
    # Asked for, Metadata reports what the principal may do with each topic (KIP-430).
    for user, operations in (
        ("frank", [AclOperation.DESCRIBE]),
        (
            "admin",
            [
                AclOperation.READ,
                AclOperation.WRITE,
                AclOperation.CREATE,
                AclOperation.DELETE,
                AclOperation.ALTER,
                AclOperation.DESCRIBE,
                AclOperation.DESCRIBE_CONFIGS,
                AclOperation.ALTER_CONFIGS,
            ],
        ),
    ):
        admin = admin_client(acl_broker, user)
        described = admin.describe_topics(
            TopicCollection(["visible-topic"]), include_authorized_operations=True
        )
        topic = described["visible-topic"].result(TIMEOUT)
        assert sorted(topic.authorized_operations) == sorted(operations)
    assert {"visible-topic", "hidden-topic", "payments"} <= topics_seen(acl_broker, "admin")
    # Asked by name, a topic that cannot be described is an authorization error, existing or not,
    # and is not auto-created.
    admin = admin_client(acl_broker, "frank")
    for name in ("hidden-topic", "no-such-topic"):
        topic = admin.list_topics(topic=name, timeout=TIMEOUT).topics[name]
        assert topic.error is not None
        assert topic.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert "no-such-topic" not in topics_seen(acl_broker, "admin")
    # User:ANONYMOUS, on the PLAINTEXT listener, has no ACL: it sees no topic at all.
    with WireClient(HOST, acl_broker.plaintext_port) as client:
        response = client.request(
            METADATA, 12, {"topics": None, "allow_auto_topic_creation": False}
        )
    assert response["topics"] == []


def test_super_users_can_do_everything(acl_broker: AclBroker, seeded_topics: list[str]) -> None:
    # Even a DENY of everything does not apply to a super user.
    create_acls(
        acl_broker,
        [
            allow(
                "admin",
                AclOperation.ALL,
                ResourceType.TOPIC,
                "*",
                permission=AclPermissionType.DENY,
            )
        ],
    )
    assert create_topics(acl_broker, "admin", "admin-made") == {"admin-made": None}
    assert produce(acl_broker, "admin", "payments", b"admin") == 0
    assert consume_one(acl_broker, "admin", "payments", "admin-group") == b"first in payments"
    admin = admin_client(acl_broker, "admin")
    configs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "payments")])
    assert "retention.ms" in next(iter(configs.values())).result(TIMEOUT)
    assert admin.delete_topics(["admin-made"])["admin-made"].result(TIMEOUT) is None


def test_a_user_with_no_acls_can_do_nothing(
    acl_broker: AclBroker, seeded_topics: list[str]
) -> None:
    assert produce(acl_broker, "bob", "payments", b"x") == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert consume_one(acl_broker, "bob", "payments", "bob-group") == (
        KafkaError.GROUP_AUTHORIZATION_FAILED
    )
    assert topics_seen(acl_broker, "bob") == set()
    refused = create_topics(acl_broker, "bob", "bob-topic")["bob-topic"]
    assert refused is not None and refused.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    admin = admin_client(acl_broker, "bob")
    binding = allow("bob", AclOperation.ALL, ResourceType.TOPIC, "*")
    with pytest.raises(KafkaException) as created:
        admin.create_acls([binding])[binding].result(TIMEOUT)
    assert created.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    configs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, "payments")])
    with pytest.raises(KafkaException) as refused_configs:
        next(iter(configs.values())).result(TIMEOUT)
    assert refused_configs.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    kafka_admin = kafka.admin.KafkaAdminClient(
        bootstrap_servers=acl_broker.sasl, **kafka_python_settings("bob")
    )
    try:
        with pytest.raises(kafka.errors.ClusterAuthorizationFailedError):
            kafka_admin.describe_user_scram_credentials()
        # (librdkafka drops DescribeAcls' top-level error; kafka-python raises it)
        with pytest.raises(kafka.errors.ClusterAuthorizationFailedError):
            kafka_admin.describe_acls(
                kafka.admin.ACLFilter(
                    None,
                    None,
                    kafka.admin.ACLOperation.ANY,
                    kafka.admin.ACLPermissionType.ANY,
                    kafka.admin.ResourcePatternFilter(
                        kafka.admin.ResourceType.ANY, None, kafka.admin.ACLResourcePatternType.ANY
                    ),
                )
            )
    finally:
        kafka_admin.close()


def test_describe_and_delete_acls_with_filters(
    acl_broker: AclBroker, seeded_topics: list[str]
) -> None:
    admin = admin_client(acl_broker, "admin")
    literal = allow("alice", AclOperation.READ, ResourceType.TOPIC, "orders-1")
    create_acls(acl_broker, [literal])
    # MATCH finds every pattern that applies to the name: the literal and the "orders-" prefix.
    matching = admin.describe_acls(
        AclBindingFilter(
            ResourceType.TOPIC,
            "orders-1",
            ResourcePatternType.MATCH,
            "User:alice",
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
    ).result(TIMEOUT)
    assert {(b.name, b.resource_pattern_type, b.operation) for b in matching} == {
        ("orders-1", ResourcePatternType.LITERAL, AclOperation.READ),
        ("orders-", ResourcePatternType.PREFIXED, AclOperation.WRITE),
    }
    # kafka-python: a bad binding is refused on its own, with INVALID_REQUEST.
    kafka_admin = kafka.admin.KafkaAdminClient(
        bootstrap_servers=acl_broker.sasl, **kafka_python_settings("admin")
    )
    try:
        good = kafka.admin.ACL(
            "User:frank",
            "*",
            kafka.admin.ACLOperation.DESCRIBE,
            kafka.admin.ACLPermissionType.ALLOW,
            kafka.admin.ResourcePattern(kafka.admin.ResourceType.TOPIC, "payments"),
        )
        bad = kafka.admin.ACL(
            "User:frank",
            "*",
            kafka.admin.ACLOperation.ALTER,
            kafka.admin.ACLPermissionType.ALLOW,
            kafka.admin.ResourcePattern(kafka.admin.ResourceType.CLUSTER, "not-the-cluster"),
        )
        result = kafka_admin.create_acls([good, bad])
        assert result["succeeded"] == [good]
        assert result["failed"] == [kafka.errors.InvalidRequestError]
    finally:
        kafka_admin.close()
    assert "payments" in topics_seen(acl_broker, "frank")

    # DeleteAcls removes what the filter matches, and enforcement follows at once.
    deleted = admin.delete_acls(
        [
            AclBindingFilter(
                ResourceType.TOPIC,
                "orders-",
                ResourcePatternType.PREFIXED,
                "User:alice",
                None,
                AclOperation.ANY,
                AclPermissionType.ANY,
            )
        ]
    )
    removed = next(iter(deleted.values())).result(TIMEOUT)
    assert [(b.name, b.operation) for b in removed] == [("orders-", AclOperation.WRITE)]
    assert produce(acl_broker, "alice", "orders-2", b"after") == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED
    )
    remaining = admin.describe_acls(
        AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            "User:alice",
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
    ).result(TIMEOUT)
    assert [(b.name, b.operation) for b in remaining] == [("orders-1", AclOperation.READ)]


def test_acls_survive_a_restart(acl_broker: AclBroker, seeded_topics: list[str]) -> None:
    every_acl = AclBindingFilter(
        ResourceType.ANY,
        None,
        ResourcePatternType.ANY,
        None,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    admin = admin_client(acl_broker, "admin")
    before = set(admin.describe_acls(every_acl).result(TIMEOUT))
    assert before
    acl_broker.process.restart()
    admin = admin_client(acl_broker, "admin")
    after = set(admin.describe_acls(every_acl).result(TIMEOUT))
    assert after == before
    assert produce(acl_broker, "erin", "audit-log", b"again") == 0
    assert produce(acl_broker, "erin", "audit-secret", b"no") == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED
    )


# --- every API ---------------------------------------------------------------------------------

TOPIC_DENIED = KafkaError.TOPIC_AUTHORIZATION_FAILED
GROUP_DENIED = KafkaError.GROUP_AUTHORIZATION_FAILED
CLUSTER_DENIED = KafkaError.CLUSTER_AUTHORIZATION_FAILED
TRANSACTIONAL_ID_DENIED = KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
NOT_CHECKED = {"ApiVersions", "SaslHandshake", "SaslAuthenticate"}  # served before login


def _partitions(response: dict, topics: str = "topics", partitions: str = "partitions") -> list:
    return [p["error_code"] for t in response[topics] for p in t[partitions]]


def _results(key: str) -> Callable[[dict], list]:
    return lambda response: [r["error_code"] for r in response[key]]


def _top(response: dict) -> list:
    return [response["error_code"]]


ALTER_NOTHING = [{"name": "retention.ms", "value": "1000"}]
INCREMENTAL_NOTHING = [{"name": "retention.ms", "config_operation": 0, "value": "1000"}]
# (API name, version, request body, what to read from the answer, the answer expected)
EVERY_API: list[tuple[str, int, dict, Callable[[dict], list], list]] = [
    (
        "Produce",
        9,
        {
            "acks": 1,
            "timeout_ms": 5000,
            "topic_data": [
                {"name": "payments", "partition_data": [{"index": 0, "records": batch(1)}]}
            ],
        },
        lambda r: _partitions(r, "responses", "partition_responses"),
        [TOPIC_DENIED],
    ),
    (
        "Fetch",
        12,
        {
            "replica_id": -1,
            "max_wait_ms": 0,
            "min_bytes": 1,
            "max_bytes": 1 << 20,
            "topics": [
                {
                    "topic": "payments",
                    "partitions": [
                        {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}
                    ],
                }
            ],
        },
        lambda r: _partitions(r, "responses"),
        [TOPIC_DENIED],
    ),
    (
        "ListOffsets",
        7,
        {
            "replica_id": -1,
            "topics": [
                {"name": "payments", "partitions": [{"partition_index": 0, "timestamp": -1}]}
            ],
        },
        _partitions,
        [TOPIC_DENIED],
    ),
    (
        "Metadata",
        12,
        {"topics": [{"name": "payments"}, {"name": "anonymous-new"}]},
        _results("topics"),
        [TOPIC_DENIED, TOPIC_DENIED],
    ),
    (
        "OffsetCommit",
        8,
        {
            "group_id": "ledger-readers",
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "topics": [
                {
                    "name": "ledger",
                    "partitions": [
                        {"partition_index": 0, "committed_offset": 0, "committed_metadata": ""}
                    ],
                }
            ],
        },
        _partitions,
        [GROUP_DENIED],
    ),
    (
        "OffsetFetch",
        7,
        {"group_id": "ledger-readers", "topics": [{"name": "ledger", "partition_indexes": [0]}]},
        _top,
        [GROUP_DENIED],
    ),
    ("FindCoordinator", 3, {"key": "ledger-readers", "key_type": 0}, _top, [GROUP_DENIED]),
    (
        "JoinGroup",
        7,
        {
            "group_id": "ledger-readers",
            "session_timeout_ms": 10000,
            "rebalance_timeout_ms": 10000,
            "member_id": "",
            "protocol_type": "consumer",
            "protocols": [{"name": "range", "metadata": b""}],
        },
        _top,
        [GROUP_DENIED],
    ),
    (
        "Heartbeat",
        4,
        {"group_id": "ledger-readers", "generation_id": 1, "member_id": "m"},
        _top,
        [GROUP_DENIED],
    ),
    (
        "LeaveGroup",
        4,
        {"group_id": "ledger-readers", "members": [{"member_id": "m"}]},
        _top,
        [GROUP_DENIED],
    ),
    (
        "SyncGroup",
        5,
        {"group_id": "ledger-readers", "generation_id": 1, "member_id": "m", "assignments": []},
        _top,
        [GROUP_DENIED],
    ),
    ("DescribeGroups", 5, {"groups": ["ledger-readers"]}, _results("groups"), [GROUP_DENIED]),
    ("ListGroups", 4, {}, lambda r: [g["group_id"] for g in r["groups"]], []),
    (
        "CreateTopics",
        4,
        {
            "topics": [
                {
                    "name": "anonymous-new",
                    "num_partitions": 1,
                    "replication_factor": 1,
                    "assignments": [],
                    "configs": [],
                }
            ],
            "timeout_ms": 5000,
        },
        _results("topics"),
        [TOPIC_DENIED],
    ),
    ("DeleteTopics", 4, {"topic_names": ["payments"]}, _results("responses"), [TOPIC_DENIED]),
    (
        "DeleteRecords",
        2,
        {"topics": [{"name": "payments", "partitions": [{"partition_index": 0, "offset": 1}]}]},
        _partitions,
        [TOPIC_DENIED],
    ),
    ("InitProducerId", 4, {"transactional_id": None}, _top, [CLUSTER_DENIED]),
    (
        "OffsetForLeaderEpoch",
        4,
        {
            "replica_id": -1,
            "topics": [{"topic": "payments", "partitions": [{"partition": 0, "leader_epoch": 0}]}],
        },
        _partitions,
        [TOPIC_DENIED],
    ),
    (
        "DescribeAcls",
        3,
        {
            "resource_type_filter": 1,
            "pattern_type_filter": 1,
            "operation": 1,
            "permission_type": 1,
        },
        _top,
        [CLUSTER_DENIED],
    ),
    (
        "CreateAcls",
        3,
        {
            "creations": [
                {
                    "resource_type": 2,
                    "resource_name": "payments",
                    "resource_pattern_type": 3,
                    "principal": "User:ANONYMOUS",
                    "host": "*",
                    "operation": 2,
                    "permission_type": 3,
                }
            ]
        },
        _results("results"),
        [CLUSTER_DENIED],
    ),
    (
        "DeleteAcls",
        3,
        {
            "filters": [
                {
                    "resource_type_filter": 1,
                    "pattern_type_filter": 1,
                    "operation": 1,
                    "permission_type": 1,
                }
            ]
        },
        _results("filter_results"),
        [CLUSTER_DENIED],
    ),
    (
        "DescribeConfigs",
        4,
        {
            "resources": [
                {"resource_type": 2, "resource_name": "payments", "configuration_keys": None},
                {"resource_type": 4, "resource_name": "0", "configuration_keys": None},
            ]
        },
        _results("results"),
        [TOPIC_DENIED, CLUSTER_DENIED],
    ),
    (
        "AlterConfigs",
        2,
        {
            "resources": [
                {"resource_type": 2, "resource_name": "payments", "configs": ALTER_NOTHING},
                {"resource_type": 4, "resource_name": "", "configs": []},
            ]
        },
        _results("responses"),
        [TOPIC_DENIED, CLUSTER_DENIED],
    ),
    (
        "CreatePartitions",
        3,
        {"topics": [{"name": "payments", "count": 2, "assignments": None}], "timeout_ms": 5000},
        _results("results"),
        [TOPIC_DENIED],
    ),
    ("DeleteGroups", 2, {"groups_names": ["ledger-readers"]}, _results("results"), [GROUP_DENIED]),
    (
        "ElectLeaders",
        2,
        {"election_type": 0, "topic_partitions": [{"topic": "payments", "partitions": [0]}]},
        lambda r: [
            r["error_code"],
            *_partitions(r, "replica_election_results", "partition_result"),
        ],
        [CLUSTER_DENIED, CLUSTER_DENIED],
    ),
    (
        "IncrementalAlterConfigs",
        1,
        {
            "resources": [
                {"resource_type": 2, "resource_name": "payments", "configs": INCREMENTAL_NOTHING},
                {"resource_type": 4, "resource_name": "0", "configs": []},
            ]
        },
        _results("responses"),
        [TOPIC_DENIED, CLUSTER_DENIED],
    ),
    (
        "AlterPartitionReassignments",
        0,
        {
            "timeout_ms": 5000,
            "topics": [
                {"name": "payments", "partitions": [{"partition_index": 0, "replicas": [0]}]}
            ],
        },
        _top,
        [CLUSTER_DENIED],
    ),
    ("ListPartitionReassignments", 0, {"timeout_ms": 5000, "topics": None}, _top, [CLUSTER_DENIED]),
    (
        "OffsetDelete",
        0,
        {"group_id": "ledger-readers", "topics": [{"name": "ledger", "partitions": []}]},
        _top,
        [GROUP_DENIED],
    ),
    ("DescribeUserScramCredentials", 0, {"users": None}, _top, [CLUSTER_DENIED]),
    (
        "AlterUserScramCredentials",
        0,
        {"deletions": [{"name": "alice", "mechanism": 1}], "upsertions": []},
        _results("results"),
        [CLUSTER_DENIED],
    ),
]


def test_every_api_refuses_a_principal_without_acls(
    acl_broker: AclBroker, seeded_topics: list[str]
) -> None:
    """User:ANONYMOUS on the PLAINTEXT listener holds no ACL: every API the broker serves answers
    with Kafka's authorization error for it (and reveals nothing)."""
    keys = {api.name: key for key, api in APIS.items()}
    assert {name for name, *_ in EVERY_API} == set(keys) - NOT_CHECKED
    # A group to leave out of ListGroups.
    assert consume_one(acl_broker, "admin", "ledger", "admin-group") == b"first in ledger"
    admin = admin_client(acl_broker, "admin")
    listed = admin.list_consumer_groups().result(TIMEOUT).valid
    assert "admin-group" in {group.group_id for group in listed}
    with WireClient(HOST, acl_broker.plaintext_port) as client:
        for name, version, body, read, expected in EVERY_API:
            assert read(client.request(keys[name], version, body)) == expected, name
        # A follower's fetch needs ClusterAction on the cluster; a transactional producer Write
        # on its transactional id.
        follower_fetch = {**EVERY_API[1][2], "replica_id": 1}
        assert _partitions(client.request(keys["Fetch"], 12, follower_fetch), "responses") == [
            TOPIC_DENIED
        ]
        transactional = client.request(keys["InitProducerId"], 4, {"transactional_id": "tx"})
        assert transactional["error_code"] == TRANSACTIONAL_ID_DENIED
        produce_body = {**EVERY_API[0][2], "transactional_id": "tx"}
        produced = client.request(keys["Produce"], 9, produce_body)
        assert _partitions(produced, "responses", "partition_responses") == [
            TRANSACTIONAL_ID_DENIED
        ]
    assert "anonymous-new" not in topics_seen(acl_broker, "admin")
    assert produce(acl_broker, "admin", "payments", b"still there") == 0
