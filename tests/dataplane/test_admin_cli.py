"""`dataplane groups`: the lag it prints matches what the group really committed and what is left."""

from __future__ import annotations

import subprocess
import sys
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.support.broker import BrokerProcess

GROUP_OVERRIDES = {"group.initial.rebalance.delay.ms": 0, "offsets.topic.num.partitions": 3}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dataplane", "groups", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def rows_of(output: str) -> dict[int, list[str]]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("GROUP  "))
    return {int(cells[2]): cells for cells in (line.split() for line in lines[start + 1 :])}


def test_describe_shows_members_offsets_and_lag(make_broker, topic_name: str) -> None:
    broker: BrokerProcess = make_broker(GROUP_OVERRIDES)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(10)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(100):
        producer.produce(topic_name, value=b"x", partition=i % 2)
    producer.flush(10)

    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "lagging",
            "client.id": "lag-checker",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic_name])
    consumed = 0
    deadline = time.monotonic() + 30
    while consumed < 60 and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is not None and not message.error():
            consumed += 1
            consumer.commit(message, asynchronous=False)
    assert consumed == 60
    committed = {tp.partition: tp.offset for tp in consumer.committed(consumer.assignment(), 10)}

    result = run_cli("--bootstrap-server", broker.bootstrap, "--describe", "--group", "lagging")
    assert result.returncode == 0, result.stderr
    assert "state Stable" in result.stdout
    assert "total lag 40" in result.stdout
    rows = rows_of(result.stdout)
    assert sorted(rows) == [0, 1]
    for partition, cells in rows.items():
        assert int(cells[3]) == committed[partition]
        assert int(cells[4]) == 50
        assert int(cells[5]) == 50 - committed[partition]
        assert cells[6] != "-" and cells[8] == "lag-checker"

    listed = run_cli("--bootstrap-server", broker.bootstrap, "--list")
    assert listed.returncode == 0
    assert any(line.split()[:2] == ["lagging", "Stable"] for line in listed.stdout.splitlines())

    consumer.close()
    after = run_cli("--bootstrap-server", broker.bootstrap, "--describe", "--all-groups")
    assert "state Empty" in after.stdout and "total lag 40" in after.stdout
    assert all(cells[6] == "-" for cells in rows_of(after.stdout).values())


def test_errors_are_reported_not_raised(broker: BrokerProcess) -> None:
    unreachable = run_cli("--bootstrap-server", "127.0.0.1:1", "--list")
    assert unreachable.returncode == 1
    assert "dataplane groups:" in unreachable.stderr
    missing = run_cli("--bootstrap-server", broker.bootstrap, "--describe")
    assert missing.returncode == 2
