"""The listener firewall on a real broker: `connections.allowed.cidrs`, set cluster-wide (the default
broker resource) or per broker with confluent-kafka's incremental_alter_configs, refuses clients from
other addresses at accept (logged, counted), closes open connections it no longer allows, and never
applies to the inter-broker listener.

Every loopback connection comes from 127.0.0.1 unless the client binds another source address; raw
sockets bound to 127.0.0.2 stand for a second client machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from confluent_kafka.admin import ResourceType as ConfluentResourceType

from dataplane.security.firewall import is_allowed, parse_allowed_cidrs
from tests.support.broker import HOST, BrokerProcess
from tests.support.broker_metrics import broker_metric
from tests.support.ports import free_port
from tests.support.wire import API_VERSIONS, WireClient

TIMEOUT = 15.0
SETTING = "connections.allowed.cidrs"
INCREMENTAL_ALTER_CONFIGS, BROKER = 44, 4
API_VERSIONS_BODY = {"client_software_name": "t", "client_software_version": "1"}


class FirewalledBroker:
    def __init__(self, process: BrokerProcess, client_port: int, metrics_port: int) -> None:
        self.process = process
        self.client_port = client_port
        self.internal = process.bootstrap  # the inter-broker listener
        self.metrics_port = metrics_port
        self.admin = AdminClient({"bootstrap.servers": self.internal})

    def set_allowed(self, cidrs: str | None, entity: str = "") -> None:
        """Set (None: delete) the setting with IncrementalAlterConfigs: for one broker through
        confluent-kafka; for the cluster default ("") on the wire, as neither librdkafka nor
        kafka-python sends a broker resource without an id. Raises ValueError with the broker's
        error message."""
        if entity == "":
            host, _, port = self.internal.rpartition(":")
            with WireClient(host, int(port)) as client:
                change = {"name": SETTING, "config_operation": 0 if cidrs else 1, "value": cidrs}
                response = client.request(
                    INCREMENTAL_ALTER_CONFIGS,
                    1,
                    {
                        "resources": [
                            {"resource_type": BROKER, "resource_name": "", "configs": [change]}
                        ],
                        "validate_only": False,
                    },
                )["responses"][0]
            if response["error_code"]:
                raise ValueError(response["error_message"])
            return
        resource = ConfigResource(
            ConfluentResourceType.BROKER,
            entity,
            incremental_configs=[
                ConfigEntry(
                    SETTING,
                    cidrs or "",
                    incremental_operation=(
                        AlterConfigOpType.DELETE if cidrs is None else AlterConfigOpType.SET
                    ),
                )
            ],
        )
        try:
            self.admin.incremental_alter_configs([resource])[resource].result(TIMEOUT)
        except KafkaException as exc:
            raise ValueError(exc.args[0].str()) from None

    def refused(self) -> float:
        return broker_metric(self.metrics_port, "dataplane_connections_refused_total")


@pytest.fixture(scope="module")
def module_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirewalledBroker]:
    process = BrokerProcess(Path(tmp_path_factory.mktemp("firewall")))
    client_port, metrics_port = free_port(), free_port()
    process.overrides.update(
        {
            "listeners": f"INTERNAL://{HOST}:{process.port},CLIENT://{HOST}:{client_port}",
            "listener.security.protocol.map": "INTERNAL:PLAINTEXT,CLIENT:PLAINTEXT",
            "inter.broker.listener.name": "INTERNAL",
            "metrics.listener": f"{HOST}:{metrics_port}",
        }
    )
    process.start()
    broker = FirewalledBroker(process, client_port, metrics_port)
    yield broker
    process.kill()


@pytest.fixture
def broker(module_broker: FirewalledBroker) -> Iterator[FirewalledBroker]:
    yield module_broker
    module_broker.set_allowed(None)
    module_broker.set_allowed(None, "0")


def connect(port: int, source: str) -> WireClient:
    """A wire client whose connection comes from `source` (a loopback address)."""
    return WireClient(HOST, port, timeout=5, source=source)


def served(port: int, source: str) -> bool:
    """Whether a client from `source` gets an answer (False: the broker closed the connection)."""
    with connect(port, source) as client:
        try:
            return client.request(API_VERSIONS, 3, API_VERSIONS_BODY)["error_code"] == 0
        except (ConnectionError, OSError):
            return False


def wait_served(port: int, source: str, expected: bool) -> None:
    """Dynamic configs reach the broker through its metadata watch: wait for the rule to hold."""
    deadline = time.monotonic() + TIMEOUT
    while served(port, source) != expected:
        assert time.monotonic() < deadline, f"{source} served != {expected}"
        time.sleep(0.1)


def test_the_cluster_default_refuses_other_addresses_at_accept(broker: FirewalledBroker) -> None:
    assert served(broker.client_port, "127.0.0.1")
    assert served(broker.client_port, "127.0.0.2")
    broker.set_allowed("127.0.0.2/32")
    wait_served(broker.client_port, "127.0.0.1", False)
    refused = broker.refused()
    assert not served(broker.client_port, "127.0.0.1")
    assert served(broker.client_port, "127.0.0.2")
    assert broker.refused() == refused + 1
    records = broker.process.log_records()
    assert any(
        r.get("msg") == "connection refused by connections.allowed.cidrs"
        and r.get("client", "").startswith("127.0.0.1:")
        and r.get("listener") == "CLIENT"
        for r in records
    )
    # The inter-broker listener is never firewalled: brokers (and the operator) always get in.
    _host, _, port = broker.internal.rpartition(":")
    assert served(int(port), "127.0.0.1")
    assert broker.process.alive


def test_a_rule_change_closes_connections_it_no_longer_allows(broker: FirewalledBroker) -> None:
    with (
        connect(broker.client_port, "127.0.0.1") as local,
        connect(broker.client_port, "127.0.0.2") as other,
    ):
        assert local.request(API_VERSIONS, 3, API_VERSIONS_BODY)["error_code"] == 0
        assert other.request(API_VERSIONS, 3, API_VERSIONS_BODY)["error_code"] == 0
        broker.set_allowed("127.0.0.2, 10.0.0.0/8")
        assert local.wait_closed(TIMEOUT)
        assert other.request(API_VERSIONS, 3, API_VERSIONS_BODY)["error_code"] == 0
    assert "closing a connection connections.allowed.cidrs no longer allows" in (
        broker.process.log_text()
    )


def test_a_broker_setting_overrides_the_cluster_default(broker: FirewalledBroker) -> None:
    broker.set_allowed("127.0.0.2/32")
    wait_served(broker.client_port, "127.0.0.1", False)
    broker.set_allowed("127.0.0.0/30", "0")
    wait_served(broker.client_port, "127.0.0.1", True)
    broker.set_allowed(None, "0")
    wait_served(broker.client_port, "127.0.0.1", False)


def produces(bootstrap: str, topic: str) -> KafkaError | None:
    """Produce one record with a fresh confluent-kafka producer: None, or the error it ends with."""
    errors: list[KafkaError] = []
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "message.timeout.ms": 4000,
            "reconnect.backoff.max.ms": 200,
            "error_cb": errors.append,
        }
    )
    delivered: list[KafkaError | None] = []
    producer.produce(topic, b"v", on_delivery=lambda err, _msg: delivered.append(err))
    producer.flush(TIMEOUT)
    return delivered[0] if delivered else (errors[0] if errors else None)


def test_real_clients_work_and_fail_as_the_rule_changes(
    broker: FirewalledBroker, topic_name: str
) -> None:
    bootstrap = f"{HOST}:{broker.client_port}"
    assert produces(bootstrap, topic_name) is None
    broker.set_allowed("192.0.2.0/24")
    wait_served(broker.client_port, "127.0.0.1", False)
    error = produces(bootstrap, topic_name)
    assert error is not None and error.code() in (
        KafkaError._MSG_TIMED_OUT,
        KafkaError._TRANSPORT,
        KafkaError._ALL_BROKERS_DOWN,
    ), error
    broker.set_allowed("192.0.2.0/24,127.0.0.0/8")
    wait_served(broker.client_port, "127.0.0.1", True)
    assert produces(bootstrap, topic_name) is None


def test_a_malformed_rule_is_refused(broker: FirewalledBroker) -> None:
    for entity in ("", "0"):
        with pytest.raises(ValueError, match=r"connections\.allowed\.cidrs.*not-a-network|CIDR"):
            broker.set_allowed("10.0.0.0/8,not-a-network", entity)
    assert served(broker.client_port, "127.0.0.1")


def test_cidr_rules() -> None:
    networks = parse_allowed_cidrs(" 10.0.0.0/8 , 192.0.2.7,2001:db8::/32")
    assert is_allowed(networks, "10.1.2.3") and is_allowed(networks, "192.0.2.7")
    assert not is_allowed(networks, "192.0.2.8") and not is_allowed(networks, "11.0.0.1")
    assert is_allowed(networks, "::ffff:10.9.9.9")  # IPv4 seen through an IPv6 socket
    assert is_allowed(networks, "2001:db8::1") and not is_allowed(networks, "2001:db9::1")
    assert is_allowed((), "203.0.113.1")  # empty: any address
    assert not is_allowed(networks, "not-an-address")
    with pytest.raises(ValueError, match=r"'10\.0\.0\.1/8' is not a CIDR block"):
        parse_allowed_cidrs("10.0.0.1/8")
