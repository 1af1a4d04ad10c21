"""A broker with `health.report.url` posts its health there on schedule, with its credential."""

from __future__ import annotations

from collections.abc import Callable

from confluent_kafka import Producer

from dataplane import __version__
from tests.support.broker import BrokerProcess
from tests.support.waiting import wait_until


def test_broker_reports_health_with_its_credential(
    make_broker: Callable[..., BrokerProcess], collector, topic_name: str
) -> None:
    url, received = collector
    broker = make_broker(
        {
            "health.report.url": f"{url}/api/v1/nodes/abc/health",
            "health.report.token": "spn_secret",
            "health.report.interval.ms": 200,
            "num.partitions": 2,
            "log.dirs.quota.bytes": 10_000_000,
        }
    )
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(200):
        producer.produce(topic_name, b"x" * 1000, key=str(i).encode())
    assert producer.flush(30) == 0

    def busy_report() -> dict | None:
        reports = [body for _path, _auth, body in received if body["bytes_in_per_s"] > 0]
        return reports[-1] if reports and received[-1][2]["partitions_led"] == 2 else None

    wait_until(busy_report, 20, "a report that shows the produced traffic")
    path, authorization, body = received[-1]
    assert path == "/api/v1/nodes/abc/health"
    assert authorization == "Bearer spn_secret"
    assert body["state"] == "running"
    assert body["uptime_s"] > 0
    assert body["under_replicated"] == 0
    assert body["disk_used_bytes"] >= 200 * 1000
    # The running total of segment bytes: what the quota counts (indexes and checkpoints aside).
    assert 200 * 1000 <= body["log_dirs_used_bytes"] <= body["disk_used_bytes"]
    assert body["log_dirs_quota_bytes"] == 10_000_000
    assert body["version"] == __version__


def test_broker_keeps_serving_when_the_control_plane_is_away(
    make_broker: Callable[..., BrokerProcess], topic_name: str
) -> None:
    broker = make_broker(
        {"health.report.url": "http://127.0.0.1:9/unreachable", "health.report.interval.ms": 100}
    )
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic_name, b"still here")
    assert producer.flush(20) == 0
    assert broker.process.poll() is None


def test_metrics_endpoint_serves_prometheus_text_and_refuses_the_rest(
    make_broker: Callable[..., BrokerProcess], topic_name: str
) -> None:
    import socket
    import urllib.error
    import urllib.request

    from dataplane.broker.metrics import METRICS
    from tests.support.ports import free_port

    port = free_port()
    broker = make_broker({"metrics.listener": f"127.0.0.1:{port}", "num.partitions": 3})
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic_name, b"x" * 500)
    assert producer.flush(20) == 0

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {
        line.split("{", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if not line.startswith("#")
    }
    # Every fact is there (labelled families and histograms beside them: see test_metrics.py).
    assert {f"dataplane_{name}" for name in METRICS} <= set(samples)
    assert 'broker_id="0"' in text
    (build_info,) = [line for line in text.splitlines() if line.startswith("dataplane_build_info")]
    assert f'version="{__version__}"' in build_info and build_info.endswith("} 1")
    assert samples["dataplane_log_dirs_used_bytes"] >= 500
    assert samples["dataplane_log_dirs_quota_bytes"] == -1
    assert samples["dataplane_leader_partitions"] >= 3
    assert samples["dataplane_bytes_in_total"] >= 500
    assert samples["dataplane_under_replicated"] == 0

    def status(method: str, path: str) -> int:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert status("GET", "/") == 404
    assert status("POST", "/metrics") == 405
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"\x00\xff garbage without an end of headers")
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(100).startswith(b"HTTP/1.0 400")
    assert status("GET", "/metrics") == 200
    assert broker.process.poll() is None
