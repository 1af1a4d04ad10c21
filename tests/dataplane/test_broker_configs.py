"""Dynamic broker configs on a standalone broker, through real admin clients: DescribeConfigs reports
each setting's effective value and where it comes from (per-broker dynamic > cluster default >
server.properties > default); IncrementalAlterConfigs and AlterConfigs change the dynamic ones
(and refuse the rest) without a restart; the standalone metadata keeps them across restarts.
The cluster default (empty resource name) goes through the dataplane's admin client: librdkafka and
kafka-python refuse an empty broker name."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    ResourceType,
)

from dataplane.admin.client import AdminClient as DataplaneAdmin
from dataplane.admin.client import AdminError
from dataplane.protocol.errors import ErrorCode
from tests.support.broker import BrokerProcess
from tests.support.wire import WireClient

with warnings.catch_warnings():
    # kafka-python loads its protocol schemas through deprecated importlib.resources calls.
    warnings.simplefilter("ignore", DeprecationWarning)
    from kafka.admin import ConfigResource as KafkaPythonResource
    from kafka.admin import ConfigResourceType, KafkaAdminClient

QUOTA = "log.dirs.quota.bytes"
FOLLOWER = "follower.replication.throttled.rate"
LEADER = "leader.replication.throttled.rate"
DESCRIBE_CONFIGS, INCREMENTAL_ALTER_CONFIGS = 32, 44
# ConfigEntry.source is the wire value.
DYNAMIC_BROKER = ConfigSource.DYNAMIC_BROKER_CONFIG.value
DYNAMIC_DEFAULT = ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
STATIC = ConfigSource.STATIC_BROKER_CONFIG.value
DEFAULT = ConfigSource.DEFAULT_CONFIG.value


def describe(admin: AdminClient, broker_id: str) -> dict[str, ConfigEntry]:
    resource = ConfigResource(ResourceType.BROKER, broker_id)
    return admin.describe_configs([resource], request_timeout=15)[resource].result(timeout=20)


def alter(
    admin: AdminClient,
    broker_id: str,
    changes: dict[str, str | None],
    validate_only: bool = False,
) -> None:
    """SET each name with a value, DELETE each with None."""
    entries = [
        ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET)
        if value is not None
        else ConfigEntry(name, None, incremental_operation=AlterConfigOpType.DELETE)
        for name, value in changes.items()
    ]
    resource = ConfigResource(ResourceType.BROKER, broker_id, incremental_configs=entries)
    admin.incremental_alter_configs([resource], validate_only=validate_only, request_timeout=15)[
        resource
    ].result(timeout=20)


def test_incremental_alter_and_describe_with_confluent_kafka(
    make_broker: Callable[..., BrokerProcess],
) -> None:
    broker = make_broker({QUOTA: 5_000_000, "health.report.token": "spn_secret"})
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})

    before = describe(admin, "0")
    assert before[QUOTA].value == "5000000"
    assert before[QUOTA].source == STATIC
    assert before[FOLLOWER].value == before[LEADER].value == "-1"
    assert before[FOLLOWER].source == DEFAULT
    assert not any(before[name].is_read_only for name in (QUOTA, FOLLOWER, LEADER))
    assert before["num.partitions"].is_read_only  # not changeable while the broker runs
    token = before["health.report.token"]
    assert token.is_sensitive and token.value is None

    alter(admin, "0", {QUOTA: "7000000"}, validate_only=True)
    assert describe(admin, "0")[QUOTA].value == "5000000"

    alter(admin, "0", {QUOTA: "7000000", FOLLOWER: "100000"})
    after = describe(admin, "0")
    assert (after[QUOTA].value, after[QUOTA].source) == (
        "7000000",
        DYNAMIC_BROKER,
    )
    # Synonyms list every layer that sets a value, the one in effect first (librdkafka keeps one
    # per name, so they are read off the wire).
    with WireClient.to(broker) as client:
        (result,) = client.request(
            DESCRIBE_CONFIGS,
            4,
            {
                "resources": [
                    {"resource_type": 4, "resource_name": "0", "configuration_keys": [QUOTA]}
                ],
                "include_synonyms": True,
                "include_documentation": False,
            },
        )["results"]
    assert [(s["value"], s["source"]) for s in result["configs"][0]["synonyms"]] == [
        ("7000000", DYNAMIC_BROKER),
        ("5000000", STATIC),
        ("-1", DEFAULT),
    ]
    assert after[FOLLOWER].value == "100000"

    for changes, reason in (
        ({"num.partitions": "3"}, "cannot be changed while brokers run"),
        ({QUOTA: "plenty"}, "not an integer"),
        ({"no.such.setting": "1"}, "is unknown"),
    ):
        with pytest.raises(KafkaException) as refused:
            alter(admin, "0", changes)
        error = refused.value.args[0]
        assert error.name() == "INVALID_CONFIG", error
        assert reason in error.str(), error
    assert describe(admin, "0")[QUOTA].value == "7000000"  # a refused request changes nothing

    alter(admin, "0", {FOLLOWER: None})
    reverted = describe(admin, "0")
    assert (reverted[FOLLOWER].value, reverted[FOLLOWER].source) == (
        "-1",
        DEFAULT,
    )

    # Kept in the standalone metadata: still in effect after a restart.
    broker.restart()
    restarted = describe(AdminClient({"bootstrap.servers": broker.bootstrap}), "0")
    assert (restarted[QUOTA].value, restarted[QUOTA].source) == (
        "7000000",
        DYNAMIC_BROKER,
    )


def test_cluster_default_sits_between_the_brokers_own_and_the_file(
    make_broker: Callable[..., BrokerProcess],
) -> None:
    broker = make_broker({QUOTA: 5_000_000})
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    with DataplaneAdmin(broker.bootstrap) as ours:
        assert ours.broker_configs(None) == {}
        ours.alter_broker_configs(None, {QUOTA: "6000000", LEADER: "300000"})
        defaults = ours.broker_configs(None)
        assert {name: (v.value, v.source) for name, v in defaults.items()} == {
            QUOTA: ("6000000", DYNAMIC_DEFAULT),
            LEADER: ("300000", DYNAMIC_DEFAULT),
        }
        effective = describe(admin, "0")
        assert (effective[QUOTA].value, effective[QUOTA].source) == (
            "6000000",
            DYNAMIC_DEFAULT,
        )

        alter(admin, "0", {QUOTA: "8000000"})
        assert describe(admin, "0")[QUOTA].value == "8000000"  # the broker's own wins
        assert ours.broker_configs(0)[QUOTA].source == DYNAMIC_BROKER

        alter(admin, "0", {QUOTA: None})
        assert describe(admin, "0")[QUOTA].value == "6000000"
        ours.alter_broker_configs(None, {}, delete=[QUOTA, LEADER])
        assert ours.broker_configs(None) == {}
        final = describe(admin, "0")
        assert (final[QUOTA].value, final[QUOTA].source) == (
            "5000000",
            STATIC,
        )
        assert final[LEADER].source == DEFAULT

        with pytest.raises(AdminError, match="INVALID_CONFIG"):
            ours.alter_broker_configs(None, {"listeners": "PLAINTEXT://0.0.0.0:1"})


def test_broker_resource_names_are_an_id_or_empty(
    make_broker: Callable[..., BrokerProcess],
) -> None:
    """Any broker takes an alter for any broker id (it writes metadata); a describe must go to the
    broker it names; a name that is no broker id is refused."""
    broker = make_broker()
    resource = {"resource_type": 4, "configuration_keys": None}
    with WireClient.to(broker) as client:
        described = client.request(
            DESCRIBE_CONFIGS,
            4,
            {
                "resources": [{**resource, "resource_name": "7"}],
                "include_synonyms": False,
                "include_documentation": False,
            },
        )
        (result,) = described["results"]
        assert result["error_code"] == ErrorCode.INVALID_REQUEST
        assert "this is broker 0" in result["error_message"]

        altered = client.request(
            INCREMENTAL_ALTER_CONFIGS,
            1,
            {
                "resources": [
                    {
                        "resource_type": 4,
                        "resource_name": name,
                        "configs": [{"name": FOLLOWER, "config_operation": 0, "value": "1000"}],
                    }
                    for name in ("7", "seven")
                ],
                "validate_only": False,
            },
        )
        codes = [r["error_code"] for r in altered["responses"]]
        assert codes == [ErrorCode.NONE, ErrorCode.INVALID_REQUEST]
    # Broker 7's setting is stored for it and changes nothing here.
    assert describe(AdminClient({"bootstrap.servers": broker.bootstrap}), "0")[FOLLOWER].value == (
        "-1"
    )


def test_kafka_python_alter_configs_and_describe_configs(
    make_broker: Callable[..., BrokerProcess],
) -> None:
    broker = make_broker()
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="broker-configs-test")
    try:
        resource = KafkaPythonResource(ConfigResourceType.BROKER, "0", {QUOTA: "123456"})
        result = admin.alter_configs([resource], incremental=False)
        assert result == {"broker": {"0": "OK"}}
        # The classic AlterConfigs replaces a broker's dynamic set; kafka-python sends back the
        # modified ones it did not name, so the quota stays.
        resource = KafkaPythonResource(ConfigResourceType.BROKER, "0", {LEADER: "2000"})
        assert admin.alter_configs([resource], incremental=False) == {"broker": {"0": "OK"}}
        modified = admin.describe_configs([KafkaPythonResource(ConfigResourceType.BROKER, "0")])
        entries = modified["broker"]["0"]
        assert {name: (e["value"], e["config_source"]) for name, e in entries.items()} == {
            QUOTA: ("123456", "DYNAMIC_BROKER_CONFIG"),
            LEADER: ("2000", "DYNAMIC_BROKER_CONFIG"),
        }

        # kafka-python checks names against what DescribeConfigs reports as not read-only.
        with pytest.raises(ValueError, match=r"num\.partitions"):
            admin.alter_configs(
                [KafkaPythonResource(ConfigResourceType.BROKER, "0", {"num.partitions": "5"})]
            )
        refused = admin.alter_configs(
            [KafkaPythonResource(ConfigResourceType.BROKER, "0", {QUOTA: "a lot"})],
            incremental=True,
        )
        assert refused["broker"]["0"].startswith("[Error 40] InvalidConfigurationError")

        admin.reset_configs([KafkaPythonResource(ConfigResourceType.BROKER, "0", [QUOTA])])
        entries = admin.describe_configs([KafkaPythonResource(ConfigResourceType.BROKER, "0")])
        assert set(entries["broker"]["0"]) == {LEADER}
    finally:
        admin.close()
