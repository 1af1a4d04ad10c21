"""Alerts: rules evaluated on what brokers report, lag series and operations; alerts fire after
their rule's duration and resolve, once per rule and subject however many workers evaluate;
notifications go out as signed webhooks (retried) and email, and silences hold them back.

The first tests run the services in this process on a database of their own, with the Celery
tasks executed in place, a real HTTP receiver and a real SMTP server on loopback. The last one runs
the whole platform: a 3-broker cluster whose broker is killed and started again, twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shlex
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.controlplane.conftest import cluster_payload
from tests.controlplane.test_tenancy import console_session
from tests.support.cluster_rows import create_local_cluster
from tests.support.mailbox import Mailbox
from tests.support.platform import Platform, wait_gone
from tests.support.ports import free_port
from tests.support.waiting import wait_until

GIB = 1024**3
SIGNATURE_TOLERANCE_S = 300


# --- a webhook receiver -----------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """An HTTP server on loopback that keeps every request; answers with `statuses` in turn, then
    200."""

    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    receiver.requests.append(Received(dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/streamplane"

    def events(self, type_: str, kind: str | None = None) -> list[dict]:
        return [
            r.json
            for r in list(self.requests)
            if r.json["type"] == type_ and (kind is None or r.json["alert"]["kind"] == kind)
        ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver()
    yield started
    started.close()


def verify_signature(secret: str, received: Received) -> None:
    """What a receiver does (README): HMAC-SHA256 of "<t>.<body>" with the secret, compared in
    constant time, and a recent timestamp."""
    parts = dict(p.split("=", 1) for p in received.headers["Streamplane-Signature"].split(","))
    expected = hmac.new(
        secret.encode(), f"{parts['t']}.".encode() + received.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"]), received.headers
    assert abs(time.time() - int(parts["t"])) < SIGNATURE_TOLERANCE_S
    assert received.headers["Streamplane-Delivery"] == received.json["id"]
    assert received.headers["Streamplane-Event"] == received.json["type"]


# --- in this process ----------------------------------------------------------------------------------


@pytest.fixture
def tasks_in_place(django_db: str) -> Iterator[None]:
    """Celery tasks run where they are sent, so notifications go out without a worker (and never
    reach a queue some other worker reads)."""
    from controlplane.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


@pytest.fixture
def cluster(django_db: str, tasks_in_place: None):
    """A running 3-broker cluster in the database (no processes), its brokers reporting."""
    from django.utils import timezone

    from clusters.models import Node, NodeRole

    created = create_local_cluster("watched", broker_count=3, status="running")
    for index in range(3):
        Node.objects.create(
            cluster=created,
            role=NodeRole.BROKER,
            index=index,
            host=f"127.0.9.{index + 1}",
            port=9092,
            status="running",
            last_report_at=timezone.now(),
            health={"under_replicated": 0, "disk_used_bytes": GIB},
        )
    return created


def writer(cluster):
    from clusters.actors import Actor

    return Actor(organisation=cluster.organisation, label="user:test", can_write=True)


def rule_of(cluster, kind: str):
    return cluster.alert_rules.get(kind=kind, is_default=True)


def set_health(cluster, index: int, **health) -> None:
    node = cluster.nodes.get(role="broker", index=index)
    node.health = {**node.health, **health}
    node.save(update_fields=["health"])


def open_alerts(cluster) -> dict[tuple[str, str], object]:
    return {(a.kind, a.subject): a for a in cluster.alerts.filter(state__in=["pending", "firing"])}


def test_lag_and_disk_rules_fire_after_their_duration_and_resolve(cluster) -> None:
    from django.utils import timezone

    from alerts import services
    from monitoring.timeseries import Sample, record

    actor = writer(cluster)
    assert {r.kind for r in services.ensure_default_rules(cluster)} == set(services.DEFAULT_RULES)
    assert services.ensure_default_rules(cluster) == []  # idempotent
    for kind in ("consumer_lag_offsets", "consumer_lag_seconds"):
        services.rule_update(actor=actor, rule=rule_of(cluster, kind), duration_s=0)
    services.rule_update(actor=actor, rule=rule_of(cluster, "disk_usage"), duration_s=120)

    t0 = timezone.now()
    record(
        cluster,
        [
            Sample("lag_offsets", 50_000, topic="orders", group="billing"),
            Sample("lag_offsets", 5, topic="orders", group="fast"),
            Sample("lag_seconds", 900, topic="orders", group="billing"),
            Sample("lag_seconds", 1, topic="orders", group="fast"),
            # The group's total over its topics repeats what its topics say: not a subject.
            Sample("lag_offsets", 50_000, group="billing"),
        ],
        at=t0,
    )
    # Broker 1 reports its log directories' quota; broker 2 does not, so its disk counts against
    # the cluster's 10 GiB per broker; broker 0 fills up only briefly.
    set_health(cluster, 1, log_dirs_used_bytes=95, log_dirs_quota_bytes=100)
    set_health(cluster, 2, disk_used_bytes=9 * GIB)
    set_health(cluster, 0, log_dirs_used_bytes=90, log_dirs_quota_bytes=100)

    services.cluster_evaluate(cluster, now=t0)
    alerts = open_alerts(cluster)
    billing = "group:billing/topic:orders"
    assert set(alerts) == {
        ("consumer_lag_offsets", billing),
        ("consumer_lag_seconds", billing),
        ("disk_usage", "broker:0"),
        ("disk_usage", "broker:1"),
        ("disk_usage", "broker:2"),
    }
    assert alerts[("consumer_lag_offsets", billing)].state == "firing"
    assert alerts[("consumer_lag_offsets", billing)].value == 50_000
    assert alerts[("consumer_lag_offsets", billing)].threshold == 10_000
    assert alerts[("consumer_lag_seconds", billing)].state == "firing"
    assert {alerts[("disk_usage", f"broker:{i}")].state for i in range(3)} == {"pending"}
    assert alerts[("disk_usage", "broker:1")].value == 95.0
    assert alerts[("disk_usage", "broker:2")].value == 90.0

    # Evaluating again changes nothing: one open alert per rule and subject.
    services.cluster_evaluate(cluster, now=t0 + timedelta(seconds=1))
    assert cluster.alerts.count() == 5

    # Broker 0 recovers before the rule's two minutes: that alert never happened.
    set_health(cluster, 0, log_dirs_used_bytes=10)
    services.cluster_evaluate(cluster, now=t0 + timedelta(seconds=60))
    assert ("disk_usage", "broker:0") not in open_alerts(cluster)
    assert not cluster.alerts.filter(kind="disk_usage", subject="broker:0").exists()

    services.cluster_evaluate(cluster, now=t0 + timedelta(seconds=121))
    alerts = open_alerts(cluster)
    assert alerts[("disk_usage", "broker:1")].state == "firing"
    assert alerts[("disk_usage", "broker:2")].state == "firing"
    assert alerts[("disk_usage", "broker:1")].fired_at == t0 + timedelta(seconds=121)

    # The group catches up and broker 1 frees space: both resolve, with their history.
    t1 = t0 + timedelta(seconds=130)
    record(cluster, [Sample("lag_offsets", 100, topic="orders", group="billing")], at=t1)
    set_health(cluster, 1, log_dirs_used_bytes=20)
    services.cluster_evaluate(cluster, now=t1)
    alerts = open_alerts(cluster)
    assert set(alerts) == {("consumer_lag_seconds", billing), ("disk_usage", "broker:2")}
    lag = cluster.alerts.get(kind="consumer_lag_offsets", subject=billing)
    assert (lag.state, lag.resolved_at, lag.value) == ("resolved", t1, 50_000)
    assert lag.subject_label == "group billing on topic orders"

    # Lag in seconds was last measured at t0: once that point is stale (the group stopped being
    # measured), it says nothing about now and the alert resolves.
    services.cluster_evaluate(cluster, now=t0 + timedelta(minutes=6))
    assert set(open_alerts(cluster)) == {("disk_usage", "broker:2")}

    # A disabled rule's open alerts resolve.
    services.rule_update(actor=actor, rule=rule_of(cluster, "disk_usage"), enabled=False)
    services.cluster_evaluate(cluster, now=t0 + timedelta(minutes=7))
    assert open_alerts(cluster) == {}
    assert cluster.alerts.filter(state="resolved").count() == 4


def test_node_down_waits_out_operations_and_failed_operations_alert(cluster) -> None:
    from django.utils import timezone

    from alerts import services
    from provisioning.models import Operation

    services.ensure_default_rules(cluster)
    services.rule_update(actor=writer(cluster), rule=rule_of(cluster, "node_down"), duration_s=0)
    cluster.nodes.filter(index=1).update(status="down")
    running = Operation.objects.create(
        cluster=cluster, kind="restart", state="running", requested_by="test"
    )
    now = timezone.now()
    # A restart stops brokers on purpose: the alert waits while the operation runs.
    services.cluster_evaluate(cluster, now=now)
    assert open_alerts(cluster)[("node_down", "broker:1")].state == "pending"

    running.state, running.error = "failed", "broker 1 did not come back\ntraceback..."
    running.save()
    services.cluster_evaluate(cluster, now=now + timedelta(seconds=5))
    alerts = open_alerts(cluster)
    assert alerts[("node_down", "broker:1")].state == "firing"
    failed = alerts[("operation_failed", f"operation:{running.pk}")]
    assert failed.state == "firing"
    assert failed.summary == "the restart operation failed: broker 1 did not come back"

    # The next operation succeeding makes the failure history.
    Operation.objects.create(cluster=cluster, kind="restart", state="succeeded", requested_by="t")
    cluster.nodes.filter(index=1).update(status="running")
    services.cluster_evaluate(cluster, now=now + timedelta(seconds=10))
    assert open_alerts(cluster) == {}


def test_concurrent_evaluations_open_one_alert_and_send_one_notification(
    cluster, receiver: Receiver
) -> None:
    from django.db import connection
    from django.utils import timezone

    from alerts import services

    services.ensure_default_rules(cluster)
    services.rule_update(actor=writer(cluster), rule=rule_of(cluster, "node_down"), duration_s=0)
    channel, secret = services.channel_create(
        actor=writer(cluster), name="on-call", kind="webhook", url=receiver.url
    )
    cluster.nodes.filter(index=2).update(status="down")
    now = timezone.now()
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def evaluate() -> None:
        try:
            start.wait()
            services.cluster_evaluate(cluster, now=now)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=evaluate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cluster.alerts.filter(kind="node_down").count() == 1
    assert channel.deliveries.count() == 1
    (request,) = receiver.requests
    verify_signature(secret, request)
    assert request.json["type"] == "alert.firing"
    assert request.json["alert"]["subject"] == "broker:2"
    assert request.json["cluster"] == {"id": str(cluster.pk), "name": "watched"}


def test_webhooks_are_retried_with_backoff_and_every_attempt_is_recorded(cluster) -> None:
    from django.utils import timezone

    from alerts import delivery, services

    failing = Receiver(statuses=[503, 500])
    try:
        channel, secret = services.channel_create(
            actor=writer(cluster), name="flaky", kind="webhook", url=failing.url, cluster=cluster
        )
        sent = services.channel_test(actor=writer(cluster), channel=channel)
        sent.refresh_from_db()
        assert (sent.state, sent.attempts) == ("pending", 1)
        assert "HTTP 503" in sent.last_error
        assert sent.next_attempt_at > timezone.now()
        # Not due yet: the sweep leaves it alone.
        assert services.deliveries_enqueue_due(timezone.now()) == 0
        services.deliveries_enqueue_due(sent.next_attempt_at + timedelta(seconds=1))
        sent.refresh_from_db()
        assert (sent.state, sent.attempts) == ("pending", 2)
        services.deliveries_enqueue_due(sent.next_attempt_at + timedelta(seconds=1))
        sent.refresh_from_db()
        assert (sent.state, sent.attempts, sent.last_error) == ("delivered", 3, "")
        assert [(a.number, a.status_code) for a in sent.attempt_log.all()] == [
            (1, 503),
            (2, 500),
            (3, 200),
        ]
        # A delivered notification is not sent again, whoever asks.
        assert delivery.delivery_attempt(str(sent.pk)) is None
        assert len(failing.requests) == 3
        assert {r.json["id"] for r in failing.requests} == {str(sent.pk)}
        for request in failing.requests:
            verify_signature(secret, request)
    finally:
        failing.close()

    # Nobody listening: attempts fail with the connection error, then the delivery gives up.
    gone = services.channel_create(
        actor=writer(cluster), name="gone", kind="webhook", url=f"http://127.0.0.1:{free_port()}/"
    )[0]
    lost = services.channel_test(actor=writer(cluster), channel=gone, cluster=cluster)
    for _ in range(delivery.MAX_ATTEMPTS - 1):
        lost.refresh_from_db()
        services.deliveries_enqueue_due(lost.next_attempt_at + timedelta(seconds=1))
    lost.refresh_from_db()
    assert (lost.state, lost.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert "ConnectError" in lost.last_error
    assert all(a.status_code is None for a in lost.attempt_log.all())


def test_email_notifications_through_a_real_smtp_server_and_silences(cluster) -> None:
    from aiosmtpd.controller import Controller
    from django.test import override_settings
    from django.utils import timezone

    from alerts import services
    from alerts.selectors import alerts_of

    mailbox = Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with override_settings(EMAIL_HOST="127.0.0.1", EMAIL_PORT=port, EMAIL_USE_TLS=False):
            actor = writer(cluster)
            services.ensure_default_rules(cluster)
            rule = rule_of(cluster, "node_down")
            services.rule_update(actor=actor, rule=rule, duration_s=0)
            channel, secret = services.channel_create(
                actor=actor,
                name="ops mail",
                kind="email",
                email_to=["oncall@example.com", "sre@example.com"],
                min_severity="critical",
            )
            assert secret is None
            now = timezone.now()
            cluster.nodes.filter(index=0).update(status="down")
            services.cluster_evaluate(cluster, now=now)
            (firing,) = mailbox.messages
            assert sorted(firing.rcpt_tos) == ["oncall@example.com", "sre@example.com"]
            text = firing.content.decode()
            assert "Subject: [CRITICAL] watched: broker 0 (127.0.9.1) is down" in text
            assert "/clusters/" in text and "/alerts" in text

            cluster.nodes.filter(index=0).update(status="running")
            services.cluster_evaluate(cluster, now=now + timedelta(seconds=5))
            assert "Subject: [RESOLVED] watched: broker 0" in mailbox.messages[1].content.decode()
            assert [d.state for d in channel.deliveries.all()] == ["delivered", "delivered"]

            # Silenced: the alert fires and shows, but nobody is told, until the silence ends.
            silence = services.silence_create(
                actor=actor,
                cluster=cluster,
                kind="node_down",
                subject="broker:1",
                ends_at=timezone.now() + timedelta(hours=1),
                comment="replacing the disk",
            )
            cluster.nodes.filter(index=1).update(status="down")
            later = timezone.now()
            services.cluster_evaluate(cluster, now=later)
            (shown,) = alerts_of(cluster, state="firing")
            assert (shown.subject, shown.silenced) == ("broker:1", True)
            assert len(mailbox.messages) == 2
            services.silence_expire(actor=actor, silence=silence)
            services.cluster_evaluate(cluster, now=timezone.now())
            assert len(mailbox.messages) == 3
            assert "broker 1 (127.0.9.2) is down" in mailbox.messages[2].content.decode()

            # Below the channel's severity: nothing is sent.
            services.rule_update(
                actor=actor, rule=rule_of(cluster, "under_replicated"), enabled=False
            )
            services.rule_create(
                actor=actor, cluster=cluster, kind="under_replicated", threshold=2, duration_s=0
            )
            set_health(cluster, 2, under_replicated=4)
            services.cluster_evaluate(cluster, now=timezone.now())
            urp = open_alerts(cluster)[("under_replicated", "cluster")]
            assert (urp.state, urp.severity, urp.value, urp.threshold) == (
                "firing",
                "warning",
                4,
                2,
            )
            assert len(mailbox.messages) == 3
    finally:
        smtp.stop()
    from clusters.models import AuditEvent

    actions = set(
        AuditEvent.objects.filter(organisation=cluster.organisation).values_list(
            "action", flat=True
        )
    )
    assert {
        "alert_rule.defaults",
        "alert_rule.update",
        "alert_rule.create",
        "alert_channel.create",
        "silence.create",
        "silence.expire",
    } <= actions


# --- the whole platform -------------------------------------------------------------------------------


@dataclass
class BrokerLaunch:
    """How the local provider started a broker, read from the live process, to start it again the
    same way (command, environment, directory, CPU and memory limits, pidfile, log)."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    cpus: str
    memory_limit: str
    pidfile: Path

    @classmethod
    def of(cls, node_dir: Path) -> BrokerLaunch:
        pidfile = node_dir / "broker.pid"
        proc = Path(f"/proc/{int(pidfile.read_text())}")
        environ = (proc / "environ").read_bytes().split(b"\0")
        limits = (proc / "limits").read_text().splitlines()
        status = (proc / "status").read_text().splitlines()
        return cls(
            argv=[a.decode() for a in (proc / "cmdline").read_bytes().split(b"\0") if a],
            env=dict(e.decode().split("=", 1) for e in environ if b"=" in e),
            cwd=os.readlink(proc / "cwd"),
            cpus=next(s.split(":")[1].strip() for s in status if s.startswith("Cpus_allowed_list")),
            memory_limit=next(x.split()[3] for x in limits if x.startswith("Max address space")),
            pidfile=pidfile,
        )

    @property
    def pid(self) -> int:
        return int(self.pidfile.read_text())

    def kill(self) -> None:
        pid = self.pid
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid), 10, "the broker to die")

    def start(self) -> None:
        """Start it as the provider's playbook does: detached by start-stop-daemon (so it is
        nobody's child here), with a pidfile that the reconciler and the delete operation use."""
        limit = "" if self.memory_limit == "unlimited" else f"--as={self.memory_limit}"
        log = shlex.quote(str(Path(self.cwd) / "logs" / "broker.out"))
        command = (
            f"exec prlimit {limit} taskset -c {self.cpus} {shlex.join(self.argv)} >> {log} 2>&1"
        )
        subprocess.run(
            [
                *("start-stop-daemon", "--start", "--background", "--make-pidfile"),
                *("--pidfile", str(self.pidfile), "--chdir", self.cwd),
                *("--startas", "/bin/sh", "--", "-c", command),
            ],
            env=self.env,
            check=True,
            timeout=30,
        )


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def alert_of(api, cluster_id: str, kind: str, subject: str | None = None, **filters) -> dict | None:
    alerts = api.get(f"/clusters/{cluster_id}/alerts/", params={"kind": kind, **filters})
    assert alerts.status_code == 200, alerts.text
    return next(
        (a for a in alerts.json()["results"] if subject is None or a["subject"] == subject), None
    )


def test_a_killed_broker_fires_node_down_and_urp_which_resolve_and_silences_hold_back(
    platform: Platform, tenant: dict, receiver: Receiver
) -> None:
    api = platform.api(tenant["token"])
    created = api.post("/clusters/", json=cluster_payload("alerting", brokers=3))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    operation = platform.wait_operation(api, created.json()["operation"]["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    topic = api.post(
        f"/clusters/{cluster_id}/topics/",
        json={"name": "replicated", "partitions": 3, "replication_factor": 3},
    )
    assert topic.status_code == 201, topic.text

    channel = api.post(
        "/alert-channels/",
        json={"name": "pager", "kind": "webhook", "url": receiver.url, "cluster": cluster_id},
    )
    assert channel.status_code == 201, channel.text
    secret = channel.json()["secret"]
    assert secret.startswith("whsec_") and channel.json()["secret_prefix"] == secret[:12]
    shown_again = api.get(f"/alert-channels/{channel.json()['id']}/").json()
    assert "secret" not in shown_again and shown_again["cluster"] == cluster_id

    # The evaluator gives the cluster its default rules; node down and URP fire at once here.
    def default_rules() -> list[dict] | None:
        rules = api.get(f"/clusters/{cluster_id}/alert-rules/").json()["results"]
        return rules if len(rules) == 6 else None

    rules = {r["kind"]: r for r in wait_until(default_rules, 30, "the default alert rules")}
    for kind in ("node_down", "under_replicated"):
        patched = api.patch(
            f"/clusters/{cluster_id}/alert-rules/{rules[kind]['id']}/", json={"duration_s": 0}
        )
        assert patched.status_code == 200 and patched.json()["duration_s"] == 0, patched.text
    invalid = api.patch(
        f"/clusters/{cluster_id}/alert-rules/{rules['disk_usage']['id']}/", json={"threshold": 150}
    )
    assert invalid.status_code == 400 and "threshold" in invalid.json()["errors"], invalid.text

    node_dir = Path(
        platform.sql(
            "SELECT provider_ref FROM clusters_node WHERE cluster_id = %s"
            " AND role = 'broker' AND index = 2",
            cluster_id,
        )[0][0]
    )
    broker = BrokerLaunch.of(node_dir)

    def healthy() -> bool:
        brokers = [
            n
            for n in api.get(f"/clusters/{cluster_id}/nodes/").json()["results"]
            if n["role"] == "broker"
        ]
        return all(
            n["status"] == "running" and n["health"].get("under_replicated") == 0 for n in brokers
        )

    # Nothing is wrong to begin with: every replica in sync, reported and evaluated so.
    wait_until(healthy, 30, "every broker to report no under-replicated partitions")
    time.sleep(3)  # longer than an evaluation interval
    assert alert_of(api, cluster_id, "under_replicated") is None
    assert alert_of(api, cluster_id, "node_down") is None

    # 1. The broker dies: node down, then (once the controller drops it from every ISR)
    # under-replicated partitions; both delivered, signed.
    broker.kill()
    node_down = wait_until(
        lambda: alert_of(api, cluster_id, "node_down", "broker:2", state="firing"),
        30,
        "node down to fire",
    )
    assert node_down["severity"] == "critical" and not node_down["silenced"]
    urp = wait_until(
        lambda: alert_of(api, cluster_id, "under_replicated", state="firing"),
        90,
        "under-replicated partitions to fire",
    )
    assert urp["value"] >= 1, urp
    wait_until(
        lambda: (
            receiver.events("alert.firing", "node_down")
            and receiver.events("alert.firing", "under_replicated")
        ),
        30,
        "the firing notifications",
    )

    # 2. Started again as the provider starts it: both resolve and say so.
    broker.start()
    wait_until(
        lambda: (
            receiver.events("alert.resolved", "node_down")
            and receiver.events("alert.resolved", "under_replicated")
        ),
        120,
        "the resolved notifications",
    )
    resolved = alert_of(api, cluster_id, "node_down", "broker:2", state="resolved")
    assert resolved["id"] == node_down["id"] and resolved["resolved_at"]
    assert alert_of(api, cluster_id, "under_replicated", state="resolved")["id"] == urp["id"]
    assert alert_of(api, cluster_id, "node_down", state="open") is None

    # 3. A silence on broker 2's node-down, then the same failure: the alert fires and
    # shows, but only the URP notification goes out.
    silence = api.post(
        f"/clusters/{cluster_id}/silences/",
        json={
            "kind": "node_down",
            "subject": "broker:2",
            "ends_at": (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))),
            "comment": "maintenance",
        },
    )
    assert silence.status_code == 201, silence.text
    broker = BrokerLaunch.of(node_dir)
    wait_until(
        lambda: (
            alert_of(api, cluster_id, "node_down", state="open") is None
            and alert_of(api, cluster_id, "under_replicated", state="open") is None
        ),
        30,
        "nothing open before the second failure",
    )
    broker.kill()
    silenced = wait_until(
        lambda: alert_of(api, cluster_id, "node_down", "broker:2", state="firing"),
        30,
        "node down to fire again",
    )
    assert silenced["silenced"] and silenced["id"] != node_down["id"]
    wait_until(
        lambda: len(receiver.events("alert.firing", "under_replicated")) == 2,
        90,
        "the second URP notification",
    )
    broker.start()
    wait_until(
        lambda: len(receiver.events("alert.resolved", "under_replicated")) == 2,
        120,
        "the second URP resolution",
    )
    # The broker's first report after its restart resolves node down; URP may have gone first.
    wait_until(
        lambda: (
            alert_of(api, cluster_id, "node_down", "broker:2", state="resolved")["id"]
            == silenced["id"]
        ),
        60,
        "the silenced node-down alert to resolve",
    )
    assert [e["alert"]["id"] for e in receiver.events("alert.firing", "node_down")] == [
        node_down["id"]
    ]
    assert [e["alert"]["id"] for e in receiver.events("alert.resolved", "node_down")] == [
        node_down["id"]
    ]
    expired = api.post(f"/clusters/{cluster_id}/silences/{silence.json()['id']}/expire/")
    assert expired.status_code == 200, expired.text
    active = api.get(f"/clusters/{cluster_id}/silences/", params={"active": "true"}).json()
    assert active["results"] == []

    # The console's page shows the history, the rules and the channel.
    page = console_session(platform, tenant).get(f"/clusters/{cluster_id}/alerts")
    assert page.status_code == 200, page.text[:500]
    for text in ("Node down", "broker 2", "Under-replicated partitions", "pager", "maintenance"):
        assert text in page.text, text
    for request in receiver.requests:
        verify_signature(secret, request)
    assert len(receiver.requests) == 6, [r.json["type"] for r in receiver.requests]
    deliveries = api.get(f"/alert-channels/{channel.json()['id']}/deliveries/").json()["results"]
    assert len(deliveries) == 6
    assert {(d["state"], d["attempt_log"][0]["status_code"]) for d in deliveries} == {
        ("delivered", 200)
    }

    # Viewers read; only writers change.
    viewer = platform.api(
        platform.tenant(tenant["organisation"], f"viewer-{uuid.uuid4().hex[:6]}", read_only=True)
    )
    assert viewer.get(f"/clusters/{cluster_id}/alerts/").status_code == 200
    refused = viewer.post(f"/clusters/{cluster_id}/alert-rules/", json={"kind": "disk_usage"})
    assert refused.status_code == 403, refused.text
    # Another organisation sees nothing.
    stranger = platform.api(
        platform.tenant(f"org-{uuid.uuid4().hex[:8]}", f"other-{uuid.uuid4().hex[:6]}")
    )
    assert stranger.get(f"/clusters/{cluster_id}/alerts/").status_code == 404
    assert stranger.get(f"/alert-channels/{channel.json()['id']}/").status_code == 404

    deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": "alerting"})
    assert deleted.status_code == 202, deleted.text
    operation = platform.wait_operation(api, deleted.json()["id"])
    assert operation["state"] == "succeeded", (operation, platform.describe_failure())
    wait_gone(node_dir.parent, 30)


def test_the_schema_describes_the_alerts_api(platform: Platform, tenant: dict) -> None:
    import httpx

    schema = httpx.get(
        f"{platform.url}/api/schema/",
        params={"format": "json"},
        headers={"Authorization": f"Bearer {tenant['token']}"},
        timeout=60,
    )
    assert schema.status_code == 200, schema.text[:500]
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/clusters/{cluster_id}/alerts/",
        "/api/v1/clusters/{cluster_id}/alert-rules/{rule_id}/",
        "/api/v1/clusters/{cluster_id}/silences/{silence_id}/expire/",
        "/api/v1/alert-channels/",
        "/api/v1/alert-channels/{channel_id}/deliveries/",
    ):
        assert path in paths, path
    created = paths["/api/v1/alert-channels/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["$ref"].endswith("ChannelCreated")
