"""ACLs in a 3-broker ZooKeeper cluster, kept where Kafka keeps them: created on one broker, every
broker enforces them within moments (change notifications), they survive restarts, DeleteAcls
removes them everywhere, and the znodes are Kafka's, so ACLs written by Kafka's tools apply too.

Each broker has a PLAINTEXT listener (inter-broker: brokers reach each other as User:ANONYMOUS, a
super user here, as with Kafka on a PLAINTEXT inter-broker listener) and a SASL_PLAINTEXT one for
users. Requests that must reach one given broker go over its PLAINTEXT listener with the wire client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from tests.support.broker import HOST, BrokerProcess
from tests.support.certs import CertificateAuthority
from tests.support.cluster import FAST_SETTINGS, ClusterBroker, wait_until
from tests.support.internal_tls import InternalTlsListeners
from tests.support.listener_cluster import listener_cluster
from tests.support.ports import free_port
from tests.support.scram_users import create_scram_sha_256_user, create_scram_users
from tests.support.wire import WireClient
from tests.support.zookeeper import ZooKeeperServer, unique_chroot

TIMEOUT = 15.0
PROPAGATION = 5.0  # how soon every broker must follow an ACL change
MECHANISM = "SCRAM-SHA-256"
USERS = {"admin": "admin-secret", "alice": "alice-secret"}
DESCRIBE_ACLS, CREATE_ACLS, DELETE_ACLS = 29, 30, 31
TOPIC, GROUP = 2, 3
ANY, LITERAL, PREFIXED = 1, 3, 4
WRITE, READ, DENY, ALLOW = 4, 3, 2, 3


class AclCluster:
    def __init__(self, brokers: list[BrokerProcess], sasl_ports: list[int], chroot: str) -> None:
        self.brokers = brokers
        self.sasl = ",".join(f"{HOST}:{port}" for port in sasl_ports)
        self.chroot = chroot

    def wire(self, index: int) -> WireClient:
        return WireClient.to(self.brokers[index])


@pytest.fixture(scope="module")
def acl_cluster(
    tmp_path_factory: pytest.TempPathFactory, zookeeper: ZooKeeperServer
) -> Iterator[AclCluster]:
    chroot = unique_chroot("acls")
    base = Path(tmp_path_factory.mktemp("acl-cluster"))
    brokers, sasl_ports = [], []
    for broker_id in (1, 2, 3):
        process = BrokerProcess(base / f"broker-{broker_id}", broker_id=broker_id)
        sasl_port = free_port()
        process.overrides.update(
            {
                **FAST_SETTINGS,
                "listeners": f"PLAINTEXT://{HOST}:{process.port},"
                f"SASL_PLAINTEXT://{HOST}:{sasl_port}",
                "inter.broker.listener.name": "PLAINTEXT",
                "zookeeper.connect": zookeeper.connect_string(chroot),
                "sasl.enabled.mechanisms": MECHANISM,
                "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
                "super.users": "User:admin;User:ANONYMOUS",
                "group.initial.rebalance.delay.ms": 0,
            }
        )
        brokers.append(process)
        sasl_ports.append(sasl_port)
    try:
        for process in brokers:
            process.start(timeout=40)
        errors = create_scram_users(brokers[0].bootstrap, USERS, (MECHANISM,))
        assert errors == dict.fromkeys(USERS)
        yield AclCluster(brokers, sasl_ports, chroot)
    finally:
        for process in brokers:
            process.kill()


def acl_filter(resource_type: int = ANY, name: str | None = None, pattern_type: int = ANY) -> dict:
    return {
        "resource_type_filter": resource_type,
        "resource_name_filter": name,
        "pattern_type_filter": pattern_type,
        "principal_filter": None,
        "host_filter": None,
        "operation": ANY,
        "permission_type": ANY,
    }


def creation(
    name: str, pattern_type: int, operation: int, principal: str = "User:alice", kind: int = TOPIC
) -> dict:
    return {
        "resource_type": kind,
        "resource_name": name,
        "resource_pattern_type": pattern_type,
        "principal": principal,
        "host": "*",
        "operation": operation,
        "permission_type": ALLOW,
    }


def acls_on(cluster: AclCluster, index: int, binding_filter: dict | None = None) -> set[tuple]:
    """Every ACL broker `index` holds, as (type, name, pattern type, principal, operation)."""
    with cluster.wire(index) as client:
        response = client.request(DESCRIBE_ACLS, 3, binding_filter or acl_filter())
    assert response["error_code"] == 0, response
    return {
        (r["resource_type"], r["resource_name"], r["pattern_type"], a["principal"], a["operation"])
        for r in response["resources"]
        for a in r["acls"]
    }


def every_broker_holds(cluster: AclCluster, expected: set[tuple]) -> bool:
    return all(acls_on(cluster, index) == expected for index in range(len(cluster.brokers)))


def produce_to_every_partition(cluster: AclCluster, user: str, topic: str, partitions: int) -> list:
    """One message per partition as `user`: each delivery's error code (0 when delivered)."""
    reports: list = []
    producer = Producer(
        {
            "bootstrap.servers": cluster.sasl,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": MECHANISM,
            "sasl.username": user,
            "sasl.password": USERS[user],
            "message.timeout.ms": 10000,
        }
    )
    for partition in range(partitions):
        producer.produce(
            topic,
            b"v",
            partition=partition,
            on_delivery=lambda error, _m: reports.append(error.code() if error else 0),
        )
    producer.flush(TIMEOUT)
    return reports


def create_topic(cluster: AclCluster, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.brokers[0].bootstrap})
    admin.create_topics([NewTopic(name, partitions, 3)])[name].result(TIMEOUT)
    # Leaders on every broker: each one decides for the partitions it leads.
    wait_until(
        lambda: (
            len(
                {
                    p.leader
                    for p in admin.list_topics(name, timeout=5).topics[name].partitions.values()
                }
            )
            == 3
        ),
        message=f"{name} led by every broker",
    )


def test_acls_created_on_one_broker_are_enforced_by_all_survive_restarts_and_deletion(
    acl_cluster: AclCluster,
) -> None:
    create_topic(acl_cluster, "orders-1", 3)
    assert (
        produce_to_every_partition(acl_cluster, "alice", "orders-1", 3)
        == [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3
    )

    with acl_cluster.wire(0) as client:
        created = client.request(
            CREATE_ACLS, 1, {"creations": [creation("orders-", PREFIXED, WRITE)]}
        )
    assert [r["error_code"] for r in created["results"]] == [0]
    expected = {(TOPIC, "orders-", PREFIXED, "User:alice", WRITE)}
    wait_until(
        lambda: every_broker_holds(acl_cluster, expected),
        timeout=PROPAGATION,
        message="every broker to hold the new ACL",
    )
    assert produce_to_every_partition(acl_cluster, "alice", "orders-1", 3) == [0, 0, 0]

    for process in acl_cluster.brokers:
        process.restart()
    assert every_broker_holds(acl_cluster, expected)
    wait_until(
        lambda: produce_to_every_partition(acl_cluster, "alice", "orders-1", 3) == [0, 0, 0],
        message="alice to produce after the restarts",
    )

    with acl_cluster.wire(2) as client:
        deleted = client.request(
            DELETE_ACLS, 1, {"filters": [acl_filter(TOPIC, "orders-", PREFIXED)]}
        )
    [result] = deleted["filter_results"]
    assert [(m["resource_name"], m["principal"]) for m in result["matching_acls"]] == [
        ("orders-", "User:alice")
    ]
    wait_until(
        lambda: every_broker_holds(acl_cluster, set()),
        timeout=PROPAGATION,
        message="every broker to drop the deleted ACL",
    )
    assert (
        produce_to_every_partition(acl_cluster, "alice", "orders-1", 3)
        == [KafkaError.TOPIC_AUTHORIZATION_FAILED] * 3
    )


def test_acl_znodes_are_kafkas_and_acls_written_by_kafkas_tools_apply(
    acl_cluster: AclCluster, zookeeper: ZooKeeperServer
) -> None:
    with acl_cluster.wire(1) as client:
        created = client.request(
            CREATE_ACLS,
            1,
            {
                "creations": [
                    creation("payments", LITERAL, READ),
                    creation("payments", LITERAL, WRITE, principal="User:bob"),
                    creation("audit-", PREFIXED, WRITE),
                ]
            },
        )
    assert [r["error_code"] for r in created["results"]] == [0, 0, 0]
    with zookeeper.client(acl_cluster.chroot) as zk:
        literal, _ = zk.get("/kafka-acl/Topic/payments")
        assert json.loads(literal) == {
            "version": 1,
            "acls": [
                {
                    "principal": "User:alice",
                    "permissionType": "Allow",
                    "operation": "Read",
                    "host": "*",
                },
                {
                    "principal": "User:bob",
                    "permissionType": "Allow",
                    "operation": "Write",
                    "host": "*",
                },
            ],
        }
        prefixed, _ = zk.get("/kafka-acl-extended/prefixed/Topic/audit-")
        assert json.loads(prefixed)["acls"] == [
            {
                "principal": "User:alice",
                "permissionType": "Allow",
                "operation": "Write",
                "host": "*",
            }
        ]
        literal_changes = {
            zk.get(f"/kafka-acl-changes/{child}")[0]
            for child in zk.get_children("/kafka-acl-changes")
        }
        assert b"TOPIC:payments" in literal_changes
        extended_changes = [
            json.loads(zk.get(f"/kafka-acl-extended-changes/{child}")[0])
            for child in zk.get_children("/kafka-acl-extended-changes")
        ]
        assert {
            "version": 1,
            "resourceType": "TOPIC",
            "name": "audit-",
            "patternType": "PREFIXED",
        } in extended_changes
        assert all(
            child.startswith("acl_changes_") for child in zk.get_children("/kafka-acl-changes")
        )

        # What Kafka's kafka-acls.sh (--authorizer-properties zookeeper.connect=...) writes.
        zk.create(
            "/kafka-acl/Group/billing",
            json.dumps(
                {
                    "version": 1,
                    "acls": [
                        {
                            "principal": "User:alice",
                            "permissionType": "Allow",
                            "operation": "Read",
                            "host": "*",
                        }
                    ],
                }
            ).encode(),
            makepath=True,
        )
        zk.create("/kafka-acl-changes/acl_changes_", b"Group:billing", sequence=True)
    with_group = {
        (TOPIC, "payments", LITERAL, "User:alice", READ),
        (TOPIC, "payments", LITERAL, "User:bob", WRITE),
        (TOPIC, "audit-", PREFIXED, "User:alice", WRITE),
        (GROUP, "billing", LITERAL, "User:alice", READ),
    }
    wait_until(
        lambda: every_broker_holds(acl_cluster, with_group),
        timeout=PROPAGATION,
        message="every broker to load the ACL written to ZooKeeper",
    )

    with acl_cluster.wire(0) as client:
        deleted = client.request(DELETE_ACLS, 1, {"filters": [acl_filter()]})
    assert len(deleted["filter_results"][0]["matching_acls"]) == 4
    wait_until(
        lambda: every_broker_holds(acl_cluster, set()),
        timeout=PROPAGATION,
        message="every broker to drop every ACL",
    )
    with zookeeper.client(acl_cluster.chroot) as zk:
        assert zk.exists("/kafka-acl/Topic/payments") is None
        assert zk.exists("/kafka-acl/Group/billing") is None
        assert zk.exists("/kafka-acl-extended/prefixed/Topic/audit-") is None


def test_brokers_replicate_as_super_users_over_mutual_tls_with_the_authorizer_on(
    tmp_path: Path, zookeeper: ZooKeeperServer, chroot: str
) -> None:
    """The managed clusters' shape: INTERNAL is SSL with client certificates required and brokers
    are super users by their certificate (User:CN=broker); everyone else needs ACLs."""
    ca = CertificateAuthority(tmp_path / "ca")
    broker_cert = ca.issue("broker", "broker", hosts=(HOST,))
    operator = ca.issue("controlplane", "controlplane")
    stranger = ca.issue("stranger", "stranger")
    listeners = InternalTlsListeners(ca, broker_cert, client_protocol="SASL_PLAINTEXT")

    def settings(broker: ClusterBroker) -> dict[str, object]:
        return {
            **listeners.settings(broker),
            "sasl.enabled.mechanisms": MECHANISM,
            "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
            "super.users": "User:CN=broker;User:CN=controlplane",
            "allow.everyone.if.no.acl.found": "false",
        }

    with listener_cluster(tmp_path / "cluster", zookeeper, chroot, settings) as cluster:
        admin = AdminClient(listeners.internal_client(cluster, operator))
        create_scram_sha_256_user(admin, "alice", USERS["alice"], TIMEOUT)
        admin.create_topics([NewTopic("replicated", 1, 3)], operation_timeout=15)[
            "replicated"
        ].result(TIMEOUT)
        binding = AclBinding(
            ResourceType.TOPIC,
            "replicated",
            ResourcePatternType.LITERAL,
            "User:alice",
            "*",
            AclOperation.WRITE,
            AclPermissionType.ALLOW,
        )
        admin.create_acls([binding])[binding].result(TIMEOUT)

        # Another certificate from the same CA gets in, but is no super user.
        stranger_admin = AdminClient(listeners.internal_client(cluster, stranger))
        refused = stranger_admin.create_topics([NewTopic("strangers", 1, 3)], operation_timeout=15)[
            "strangers"
        ]
        with pytest.raises(KafkaException) as creation:
            refused.result(TIMEOUT)
        assert creation.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

        producer = Producer(
            {
                "bootstrap.servers": listeners.client_bootstrap(),
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": MECHANISM,
                "sasl.username": "alice",
                "sasl.password": USERS["alice"],
                "acks": "all",
            }
        )
        for i in range(20):
            producer.produce("replicated", f"m{i}".encode())
        assert producer.flush(TIMEOUT) == 0
        # acks=all with an ISR of three: the followers fetched every record, as User:CN=broker.
        wait_until(
            lambda: (
                cluster.isr("replicated") == [1, 2, 3]
                and all(
                    (b.partition_dir("replicated", 0) / "00000000000000000000.log").stat().st_size
                    > 0
                    for b in cluster.brokers.values()
                )
            ),
            TIMEOUT,
            "every replica to hold the records",
        )
