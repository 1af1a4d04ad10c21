"""SCRAM users in ZooKeeper, where Kafka keeps them: credentials written by Kafka's tools (the znode
format) and by AlterUserScramCredentials both log in, and a deletion takes effect at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import kafka
import kafka.admin
import kafka.errors
import pytest
from kafka.admin import UserScramCredentialDeletion, UserScramCredentialUpsertion

from dataplane.security.scram import (
    SCRAM_SHA_256,
    derive_credential,
    format_credential,
    format_user_config,
    user_config_path,
)
from tests.support.broker import HOST, BrokerProcess
from tests.support.ports import free_port
from tests.support.zookeeper import ZooKeeperServer, unique_chroot

TIMEOUT = 15.0


@pytest.fixture(scope="module")
def zk_broker(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BrokerProcess, str, ZooKeeperServer, str]]:
    zookeeper = ZooKeeperServer(Path(tmp_path_factory.mktemp("zookeeper"))).start()
    chroot = unique_chroot("sasl")
    process = BrokerProcess(Path(tmp_path_factory.mktemp("broker")), broker_id=1)
    sasl_port = free_port()
    process.overrides.update(
        {
            "listeners": f"PLAINTEXT://{HOST}:{process.port},SASL_PLAINTEXT://{HOST}:{sasl_port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "zookeeper.connect": zookeeper.connect_string(chroot),
            "offsets.topic.replication.factor": 1,
            "offsets.topic.num.partitions": 1,
            "connection.failed.authentication.delay.ms": 100,
        }
    )
    try:
        process.start(timeout=40)
        yield process, f"{HOST}:{sasl_port}", zookeeper, chroot
    finally:
        process.kill()
        zookeeper.stop()


def round_trip(bootstrap: str, user: str, password: str, topic: str) -> list[bytes]:
    auth = {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": user,
        "sasl_plain_password": password,
    }
    producer = kafka.KafkaProducer(bootstrap_servers=bootstrap, bootstrap_timeout_ms=5000, **auth)
    producer.send(topic, b"hello").get(TIMEOUT)
    producer.close()
    consumer = kafka.KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=int(TIMEOUT * 1000),
        **auth,
    )
    values = [next(iter(consumer)).value]
    consumer.close()
    return values


def test_users_from_kafka_tools_and_from_the_admin_api_log_in(
    zk_broker: tuple[BrokerProcess, str, ZooKeeperServer, str], topic_name: str
) -> None:
    process, sasl, zookeeper, chroot = zk_broker
    # What `kafka-configs.sh --alter --add-config 'SCRAM-SHA-256=[password=...]'` writes.
    credential = derive_credential(SCRAM_SHA_256, "tool-password")
    with zookeeper.client(chroot) as zk:
        zk.create(
            user_config_path("tool user"),
            format_user_config({"SCRAM-SHA-256": format_credential(credential)}),
            makepath=True,
        )
    admin = kafka.admin.KafkaAdminClient(bootstrap_servers=process.bootstrap)
    try:
        assert admin.alter_user_scram_credentials(
            [UserScramCredentialUpsertion("api-user", "SCRAM-SHA-256", "api-password")]
        ) == {"api-user": None}
        described = admin.describe_user_scram_credentials()
        assert {"tool user", "api-user"} <= set(described)

        assert round_trip(sasl, "tool user", "tool-password", topic_name) == [b"hello"]
        assert round_trip(sasl, "api-user", "api-password", topic_name) == [b"hello"]

        assert admin.alter_user_scram_credentials(
            [UserScramCredentialDeletion("api-user", "SCRAM-SHA-256")]
        ) == {"api-user": None}
        with pytest.raises(kafka.errors.KafkaError):
            round_trip(sasl, "api-user", "api-password", topic_name)
    finally:
        admin.close()
