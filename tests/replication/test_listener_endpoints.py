"""Brokers register every advertised listener (Kafka's `endpoints` in /brokers/ids/<id>), and
Metadata and FindCoordinator answer, for every broker, with the endpoint of the listener the request
came in on; a broker without that listener is left out.

Three brokers: 1 and 2 have an INTERNAL listener (127.0.0.1) and an EXTERNAL one advertised as
`localhost`; broker 3 has INTERNAL only.
"""

from __future__ import annotations

import time
from pathlib import Path

from confluent_kafka import Consumer, Producer

from tests.support import wire
from tests.support.broker import HOST
from tests.support.cluster import ClusterBroker, listener_port, wait_until
from tests.support.listener_cluster import listener_cluster
from tests.support.wire import WireClient
from tests.support.zookeeper import ZooKeeperServer

FIND_COORDINATOR = 10
TIMEOUT = 20.0


def two_listeners(external_ports: dict[int, int]):
    def settings(broker: ClusterBroker) -> dict[str, object]:
        listeners = [f"INTERNAL://{HOST}:{broker.port}"]
        advertised = [f"INTERNAL://{HOST}:{broker.port}"]
        if broker.broker_id in external_ports:
            port = external_ports[broker.broker_id]
            listeners.append(f"EXTERNAL://{HOST}:{port}")
            advertised.append(f"EXTERNAL://localhost:{port}")
        return {
            "listeners": ",".join(listeners),
            "advertised.listeners": ",".join(advertised),
            "listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT",
            "inter.broker.listener.name": "INTERNAL",
        }

    return settings


def brokers_seen(port: int) -> dict[int, tuple[str, int]]:
    with WireClient(HOST, port, timeout=5) as client:
        return {b["node_id"]: (b["host"], b["port"]) for b in wire.metadata(client, [])["brokers"]}


def find_coordinator(port: int, group: str) -> dict:
    with WireClient(HOST, port, timeout=5) as client:
        return client.request(FIND_COORDINATOR, 3, {"key": group, "key_type": 0})


def test_each_listener_answers_with_its_own_endpoints(
    tmp_path: Path, zookeeper: ZooKeeperServer, chroot: str
) -> None:
    external = {1: listener_port(), 2: listener_port()}
    with listener_cluster(tmp_path, zookeeper, chroot, two_listeners(external)) as cluster:
        registration = cluster.read_json("/brokers/ids/1")
        assert registration["endpoints"] == [
            f"INTERNAL://{HOST}:{cluster[1].port}",
            f"EXTERNAL://localhost:{external[1]}",
        ]
        assert registration["listener_security_protocol_map"] == {
            "INTERNAL": "PLAINTEXT",
            "EXTERNAL": "PLAINTEXT",
        }
        assert cluster.read_json("/brokers/ids/3")["endpoints"] == [
            f"INTERNAL://{HOST}:{cluster[3].port}"
        ]
        internal_view = {i: (HOST, cluster[i].port) for i in (1, 2, 3)}
        external_view = {i: ("localhost", external[i]) for i in (1, 2)}
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline and brokers_seen(cluster[1].port) != internal_view:
            time.sleep(0.2)
        for broker_id in (1, 2, 3):
            assert brokers_seen(cluster[broker_id].port) == internal_view
        for broker_id in (1, 2):
            # Broker 3 has no EXTERNAL listener: EXTERNAL clients do not see it.
            assert brokers_seen(external[broker_id]) == external_view

        # Led by brokers 1 and 2, which EXTERNAL clients can reach.
        cluster.create_topic("endpoints", assignment=[[1, 2], [2, 1]])
        # Through EXTERNAL a real client produces and consumes, reaching brokers as `localhost`.
        bootstrap = f"localhost:{external[1]}"
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in range(6):
            producer.produce("endpoints", f"m{i}".encode(), partition=i % 2)
        assert producer.flush(TIMEOUT) == 0

        coordinators = {}
        for group in (f"g{i}" for i in range(12)):
            internal = wait_until(
                lambda g=group: (
                    (answer := find_coordinator(cluster[1].port, g))["error_code"] == 0 and answer
                ),
                TIMEOUT,
                "the offsets topic to have leaders",
            )
            assert (internal["host"], internal["port"]) == internal_view[internal["node_id"]]
            outside = find_coordinator(external[1], group)
            if internal["node_id"] == 3:
                assert outside["error_code"] == 15  # COORDINATOR_NOT_AVAILABLE
            else:
                assert outside["error_code"] == 0, outside
                assert (outside["host"], outside["port"]) == external_view[outside["node_id"]]
            coordinators[group] = internal["node_id"]
        assert set(coordinators.values()) >= {1, 2}  # both kinds of answer were checked

        group = next(g for g, node in coordinators.items() if node != 3)
        consumer = Consumer(
            {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
        )
        consumer.subscribe(["endpoints"])
        values = []
        deadline = time.monotonic() + TIMEOUT
        while len(values) < 6 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                values.append(message.value())
        consumer.close()
        assert sorted(values) == [f"m{i}".encode() for i in range(6)]
