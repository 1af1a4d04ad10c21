"""Brokers replicate over TLS: the inter-broker listener INTERNAL is SSL with
ssl.client.auth=required, so followers present their keystore certificate and verify the leader's
against the truststore and its address; clients use a SASL_SSL listener CLIENT. An RF=3 topic gets
an ISR of three, a killed leader fails over, and acks=all data survives.
"""

from __future__ import annotations

import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    NewTopic,
)

from tests.support.broker import HOST
from tests.support.certs import CertificateAuthority
from tests.support.cluster import FAST_CLIENT, ClusterBroker, wait_until
from tests.support.internal_tls import InternalTlsListeners
from tests.support.listener_cluster import listener_cluster
from tests.support.scram_users import create_scram_sha_256_user
from tests.support.zookeeper import ZooKeeperServer

TIMEOUT = 30.0
TOPIC = "replicated.over.tls"


def test_replication_over_mutual_tls_survives_a_leader_kill(
    tmp_path: Path, zookeeper: ZooKeeperServer, chroot: str
) -> None:
    ca = CertificateAuthority(tmp_path / "ca")
    broker_cert = ca.issue("broker", "broker", hosts=(HOST,))
    operator = ca.issue("controlplane", "controlplane")
    listeners = InternalTlsListeners(ca, broker_cert, client_protocol="SASL_SSL")

    def settings(broker: ClusterBroker) -> dict[str, object]:
        return {**listeners.settings(broker), "sasl.enabled.mechanisms": "SCRAM-SHA-256"}

    with listener_cluster(tmp_path / "cluster", zookeeper, chroot, settings) as cluster:
        admin = AdminClient(listeners.internal_client(cluster, operator))
        create_scram_sha_256_user(admin, "alice", "alice-secret", TIMEOUT)
        admin.create_topics(
            [NewTopic(TOPIC, 1, 3, config={"min.insync.replicas": "2"})],
            operation_timeout=15,
        )[TOPIC].result(TIMEOUT)
        wait_until(lambda: cluster.isr(TOPIC) == [1, 2, 3], TIMEOUT, "an ISR of three")

        client = {
            **FAST_CLIENT,
            "bootstrap.servers": listeners.client_bootstrap(),
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(ca.truststore),
            "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.username": "alice",
            "sasl.password": "alice-secret",
        }
        producer = Producer({**client, "acks": "all", "enable.idempotence": True})
        for i in range(50):
            producer.produce(TOPIC, f"before-{i}".encode())
        assert producer.flush(TIMEOUT) == 0

        # Followers have everything only if they fetched it over TLS.
        wait_until(
            lambda: (
                cluster.isr(TOPIC) == [1, 2, 3]
                and all(
                    (b.partition_dir(TOPIC, 0) / "00000000000000000000.log").stat().st_size > 0
                    for b in cluster.brokers.values()
                )
            ),
            TIMEOUT,
            "every replica to hold the records",
        )
        leader = cluster.leader(TOPIC)
        cluster[leader].kill()
        new_leader = wait_until(
            lambda: (now := cluster.leader(TOPIC)) not in (leader, -1) and now,
            TIMEOUT,
            "a new leader",
        )
        assert new_leader in (set(listeners.client_ports) - {leader})
        for i in range(50):
            producer.produce(TOPIC, f"after-{i}".encode())
        assert producer.flush(TIMEOUT) == 0
        wait_until(
            lambda: cluster.isr(TOPIC) == sorted(set(listeners.client_ports) - {leader}),
            TIMEOUT,
            "the ISR to shrink to the survivors",
        )

        # Read by assignment: the group coordinator's offsets topic needs three live brokers.
        consumer = Consumer({**client, "group.id": "tls-readers", "enable.auto.commit": False})
        consumer.assign([TopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
        values: list[bytes] = []
        deadline = time.monotonic() + TIMEOUT
        while len(values) < 100 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
        consumer.close()
        expected = [f"before-{i}".encode() for i in range(50)]
        expected += [f"after-{i}".encode() for i in range(50)]
        assert values == expected
        for broker in cluster.brokers.values():
            assert not broker.log_messages("TLS handshake failed"), broker.broker_id
