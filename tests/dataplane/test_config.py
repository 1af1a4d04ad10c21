"""Broker configuration: server.properties parsing, overrides, validation, and the CLI around it."""

from __future__ import annotations

import signal
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from dataplane import __version__
from dataplane.config import (
    BrokerConfig,
    ConfigError,
    effective_topic_config,
    parse_properties,
    validate_broker_configs,
    validate_topic_configs,
)
from tests.support.ports import free_port, wait_for_port


def test_properties_format_comments_separators_and_continuations() -> None:
    text = """
# a comment
! another comment
broker.id = 7
listeners: PLAINTEXT://127.0.0.1:9999
log.dirs=/a,\\
   /b
empty.key=
"""
    assert parse_properties(text) == {
        "broker.id": "7",
        "listeners": "PLAINTEXT://127.0.0.1:9999",
        "log.dirs": "/a,/b",
        "empty.key": "",
    }


def test_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "server.properties"
    path.write_text("broker.id=1\nnum.partitions=3\nlog.retention.hours=2\n")
    config = BrokerConfig.load(path, ["num.partitions=8", "log.dirs=/x, /y"])
    assert config.broker_id == 1
    assert config["num.partitions"] == 8
    assert config["log.retention.ms"] == 2 * 3_600_000
    assert config.log_dirs == [Path("/x"), Path("/y")]
    assert {"broker.id", "num.partitions", "log.retention.ms", "log.dirs"} <= config.explicit


def test_millisecond_setting_beats_its_hours_alias() -> None:
    config = BrokerConfig.from_mapping({"log.retention.hours": "1", "log.retention.ms": "5000"})
    assert config["log.retention.ms"] == 5000


@pytest.mark.parametrize(
    "raw",
    [
        {"broker.id": "one"},
        {"auto.create.topics.enable": "maybe"},
        {"listeners": "127.0.0.1:9092"},
        {"log.cleanup.policy": "shred"},
        {"log.segment.bytes": "3"},
    ],
)
def test_invalid_broker_settings_are_refused_with_the_key_named(raw: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=next(iter(raw)).split(".")[0]):
        BrokerConfig.from_mapping(raw)


def test_advertised_listeners_default_to_listeners() -> None:
    config = BrokerConfig.from_mapping({"listeners": "PLAINTEXT://0.0.0.0:9092"})
    assert config.advertised_listeners[0].port == 9092
    config = BrokerConfig.from_mapping(
        {
            "listeners": "PLAINTEXT://0.0.0.0:9092",
            "advertised.listeners": "PLAINTEXT://kafka.example:19092",
        }
    )
    assert (config.advertised_listeners[0].host, config.advertised_listeners[0].port) == (
        "kafka.example",
        19092,
    )


def test_topic_configs_overlay_broker_defaults() -> None:
    defaults = BrokerConfig.from_mapping({"log.retention.ms": "1000"}).topic_defaults()
    effective = effective_topic_config({"cleanup.policy": "compact,delete"}, defaults)
    assert effective["retention.ms"] == 1000
    assert effective["cleanup.policy"] == ("compact", "delete")
    assert effective["max.message.bytes"] == 1048588


@pytest.mark.parametrize(
    "configs",
    [
        {"retention.ms": "soon"},
        {"no.such.config": "1"},
        {"min.insync.replicas": "0"},
        {"segment.ms": None},
    ],
)
def test_topic_config_validation(configs: dict[str, str | None]) -> None:
    with pytest.raises(ConfigError):
        validate_topic_configs(configs)


def test_dynamic_broker_configs_take_precedence_over_the_file() -> None:
    """Per-broker dynamic > cluster-wide dynamic default > static (the file) > built-in default."""
    config = BrokerConfig.from_mapping(
        {"broker.id": "2", "log.dirs.quota.bytes": "1000", "num.partitions": "4"}
    )
    assert config["log.dirs.quota.bytes"] == 1000
    assert config["follower.replication.throttled.rate"] == -1

    changed, problems = config.apply_dynamic(
        {"log.dirs.quota.bytes": "3000"},
        {"log.dirs.quota.bytes": "2000", "follower.replication.throttled.rate": "500"},
    )
    assert (changed, problems) == (
        {"log.dirs.quota.bytes", "follower.replication.throttled.rate"},
        [],
    )
    assert config["log.dirs.quota.bytes"] == 3000
    assert config["follower.replication.throttled.rate"] == 500
    assert config.static["log.dirs.quota.bytes"] == 1000

    changed, _ = config.apply_dynamic({}, {"log.dirs.quota.bytes": "2000"})
    assert changed == {"log.dirs.quota.bytes", "follower.replication.throttled.rate"}
    assert config["log.dirs.quota.bytes"] == 2000
    assert config["follower.replication.throttled.rate"] == -1

    # Stored by hand and wrong: ignored (with the reason), the rest still applies.
    changed, problems = config.apply_dynamic(
        {"num.partitions": "9", "leader.replication.throttled.rate": "fast"}, {}
    )
    assert changed == {"log.dirs.quota.bytes"}
    assert config["log.dirs.quota.bytes"] == 1000
    assert config["num.partitions"] == 4
    assert config["leader.replication.throttled.rate"] == -1
    assert len(problems) == 2 and "num.partitions" in problems[0] and "fast" in problems[1]


@pytest.mark.parametrize(
    ("configs", "reason"),
    [
        ({"num.partitions": "3"}, "cannot be changed while brokers run"),
        ({"no.such.setting": "1"}, "is unknown"),
        ({"log.dirs.quota.bytes": "lots"}, "not an integer"),
        ({"follower.replication.throttled.rate": "-2"}, "-1 for no limit"),
        ({"leader.replication.throttled.rate": None}, "has no value"),
    ],
)
def test_dynamic_broker_config_validation(configs: dict[str, str | None], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        validate_broker_configs(configs)


def test_static_quota_is_validated() -> None:
    with pytest.raises(ConfigError, match=r"log.dirs.quota.bytes"):
        BrokerConfig.from_mapping({"log.dirs.quota.bytes": "-5"})


def test_cli_reports_its_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dataplane", "--version"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"dataplane {__version__}"
    assert __version__ == version("streamplane")


def test_cli_rejects_bad_config_with_exit_code_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dataplane", "serve", "--override", "num.partitions=many"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "num.partitions" in result.stderr


def test_cli_serves_from_a_config_file_and_stops_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "server.properties"
    config.write_text(
        f"broker.id=3\nlisteners=PLAINTEXT://127.0.0.1:{port}\nlog.dirs={tmp_path / 'logs'}\n"
        "log.retention.ms=12345\n"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dataplane",
            "serve",
            "--config",
            str(config),
            "--override",
            "num.partitions=2",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for_port("127.0.0.1", port, 20)
        admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"})
        metadata = admin.list_topics(timeout=10)
        assert list(metadata.brokers) == [3]
        broker_configs = admin.describe_configs([ConfigResource("broker", "3")])
        values = next(iter(broker_configs.values())).result()
        assert values["log.retention.ms"].value == "12345"
        assert values["num.partitions"].value == "2"
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert '"broker stopped"' in stderr


def test_dataplane_never_imports_django() -> None:
    code = (
        "import sys, dataplane.cli, dataplane.broker.server; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
