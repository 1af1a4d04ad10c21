"""Secrets are shown once, when they are made, and never again: not in a later answer of the API or
the console, not in the audit log, not in any log line, with every logger at DEBUG.

Exercised here: API tokens (made through the API and the console), an alert webhook (its signing
secret, and a password and token inside its URL; a test notification really delivered to a receiver
on loopback), the password alert emails sign in to a real SMTP server with, provider credentials
(set through the command that reads them from standard input) and a sign-in's password. Runs in
this process on a migrated PostgreSQL database of its own, with Celery tasks run where they are
sent."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.support.cluster_rows import create_local_cluster
from tests.support.mailbox import Mailbox
from tests.support.ports import free_port
from tests.support.routes import http_routes


class Capture(logging.Handler):
    """Every record, with its message, arguments and extra attributes, as text."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.getMessage()} {record.__dict__!r}")

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="module")
def logs(django_db: str) -> Iterator[Capture]:
    """Log records of every logger at DEBUG, from here to the end of the module."""
    capture = Capture()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(capture)
    yield capture
    root.removeHandler(capture)
    root.setLevel(level)


@pytest.fixture(scope="module")
def tasks_in_place(django_db: str) -> Iterator[None]:
    """Celery tasks run where they are sent, so the test notification goes out in this process."""
    from controlplane.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


@pytest.fixture(scope="module")
def owner(logs: Capture) -> dict:
    from django.contrib.auth import get_user_model

    from clusters.tenancy import organisation_bootstrap

    password = f"pw-{uuid.uuid4().hex}"
    membership, _token, secret = organisation_bootstrap(
        organisation=f"hygiene-{uuid.uuid4().hex[:8]}",
        username=f"owner-{uuid.uuid4().hex[:8]}",
        password=password,
        token_name="setup",
    )
    user = get_user_model().objects.get(pk=membership.user_id)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return {"membership": membership, "token": secret, "password": password}


@pytest.fixture(scope="module")
def secrets_given() -> list[str]:
    """Every secret the tests below make; none may appear where it must not."""
    return []


@pytest.fixture(scope="module")
def cluster(owner: dict) -> str:
    created = create_local_cluster(
        "hygienic", organisation=owner["membership"].organisation, status="creating"
    )
    return str(created.pk)


def api(token: str):
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")


def console(owner: dict):
    """A browser signed in through the login form (so the password goes through the stack)."""
    from django.test import Client

    browser = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR=f"127.0.88.{uuid.uuid4().int % 250 + 1}")
    signed_in = browser.post(
        "/login/",
        {"username": owner["membership"].user.username, "password": owner["password"]},
    )
    assert signed_in.status_code == 302, signed_in.content[:300]
    return browser


def assert_absent(secrets: list[str], text: str, where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret ({secret[:6]}…) appears in {where}"


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append({"path": self.path, "body": json.loads(body)})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


# --- the flows that make secrets ------------------------------------------------------------------


def test_an_api_token_is_shown_once(owner: dict, secrets_given: list[str]) -> None:
    made = api(owner["token"]).post(
        "/api/v1/tokens/", {"name": "deploy"}, content_type="application/json"
    )
    assert made.status_code == 201, made.content
    secret = made.json()["secret"]
    secrets_given.append(secret)
    assert secret.startswith("sp_") and made.json()["prefix"] == secret[:9]
    # It works, and nothing shows it again.
    assert api(secret).get("/api/v1/clusters/").status_code == 200
    listed = api(owner["token"]).get("/api/v1/tokens/")
    assert made.json()["id"] in [t["id"] for t in listed.json()["results"]]
    assert_absent([secret], listed.content.decode(), "the token list")


def test_a_token_made_in_the_console_is_shown_once(owner: dict, secrets_given: list[str]) -> None:
    browser = console(owner)
    page = browser.post("/settings/tokens", {"name": "laptop"})
    assert page.status_code == 200, page.status_code
    shown = re.findall(r"sp_[A-Za-z0-9_-]{40,}", page.content.decode())
    assert len(set(shown)) == 1, shown
    secrets_given.append(shown[0])
    assert api(shown[0]).get("/api/v1/clusters/").status_code == 200
    assert_absent(shown, browser.get("/settings/tokens").content.decode(), "the token page")


def test_a_webhooks_secrets_are_shown_once_and_masked_after(
    owner: dict,
    cluster: str,
    receiver: HTTPServer,
    tasks_in_place: None,
    secrets_given: list[str],
) -> None:
    url_password, url_token = f"hookpw{uuid.uuid4().hex}", f"hooktok{uuid.uuid4().hex}"
    port = receiver.server_address[1]
    url = f"http://hooks:{url_password}@127.0.0.1:{port}/notify?team=ops&token={url_token}"
    client = api(owner["token"])
    made = client.post(
        "/api/v1/alert-channels/",
        {"name": "pager", "kind": "webhook", "url": url, "cluster": cluster},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    channel = made.json()
    signing_secret = channel["secret"]
    secrets_given.extend([signing_secret, url_password, url_token])
    assert channel["url"] == f"http://hooks:****@127.0.0.1:{port}/notify?team=ops&token=****"

    # The real URL and secret are kept for delivery: a test notification arrives, signed.
    tested = client.post(
        f"/api/v1/alert-channels/{channel['id']}/test/", {}, content_type="application/json"
    )
    assert tested.status_code == 202, tested.content
    assert (
        Receiver.received and Receiver.received[-1]["path"] == f"/notify?team=ops&token={url_token}"
    )
    deliveries = client.get(f"/api/v1/alert-channels/{channel['id']}/deliveries/")
    assert deliveries.json()["results"][0]["state"] == "delivered", deliveries.content

    changed = client.patch(
        f"/api/v1/alert-channels/{channel['id']}/",
        {"url": url.replace(url_token, url_token + "2")},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    secrets_given.append(url_token + "2")
    page = console(owner).get(f"/clusters/{cluster}/alerts")
    assert page.status_code == 200
    assert f"127.0.0.1:{port}/notify" in page.content.decode()
    for answer in (
        changed,
        deliveries,
        client.get(f"/api/v1/alert-channels/{channel['id']}/"),
        client.get("/api/v1/alert-channels/"),
        client.get("/api/v1/audit/"),
        page,
    ):
        assert_absent(secrets_given[-4:], answer.content.decode(), answer.request["PATH_INFO"])

    rotated = client.post(f"/api/v1/alert-channels/{channel['id']}/rotate-secret/")
    assert rotated.status_code == 200, rotated.content
    secrets_given.append(rotated.json()["secret"])


def test_the_smtp_password_is_used_but_never_shown(
    owner: dict, cluster: str, tasks_in_place: None, secrets_given: list[str]
) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult
    from django.test import override_settings

    password = f"smtp-{uuid.uuid4().hex}"
    secrets_given.append(password)
    logins: list[tuple[bytes, bytes]] = []

    def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == password.encode())

    mailbox = Mailbox()
    port = free_port()
    smtp = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticate,
        auth_require_tls=False,
    )
    smtp.start()
    try:
        with override_settings(
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
            EMAIL_USE_TLS=False,
            EMAIL_HOST_USER="alerts",
            EMAIL_HOST_PASSWORD=password,
        ):
            client = api(owner["token"])
            made = client.post(
                "/api/v1/alert-channels/",
                {"name": "mail", "kind": "email", "email_to": ["ops@example.com"]},
                content_type="application/json",
            )
            assert made.status_code == 201, made.content
            channel = made.json()["id"]
            tested = client.post(
                f"/api/v1/alert-channels/{channel}/test/", {}, content_type="application/json"
            )
            assert tested.status_code == 202, tested.content
    finally:
        smtp.stop()
    assert logins == [(b"alerts", password.encode())]
    assert len(mailbox.messages) == 1
    deliveries = client.get(f"/api/v1/alert-channels/{channel}/deliveries/")
    assert deliveries.json()["results"][0]["state"] == "delivered", deliveries.content


def test_provider_credentials_are_never_shown(
    owner: dict, monkeypatch: pytest.MonkeyPatch, secrets_given: list[str]
) -> None:
    from django.core.management import call_command

    from clusters.models import Provider

    provider = Provider.objects.create(slug=f"cloud-{uuid.uuid4().hex[:6]}", name="A cloud")
    credentials = {
        "access_key_id": f"AKIA{uuid.uuid4().hex[:16]}",
        "secret_access_key": uuid.uuid4().hex,
    }
    secrets_given.extend(credentials.values())
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(credentials)))
    out = io.StringIO()
    call_command(
        "set_provider_credentials",
        provider.slug,
        "--by",
        owner["membership"].user.username,
        stdout=out,
    )
    provider.refresh_from_db()
    assert provider.credentials() == credentials
    assert_absent(list(credentials.values()), provider.credentials_encrypted, "the stored column")
    assert_absent(list(credentials.values()), out.getvalue(), "the command's output")


# --- where they must never appear ------------------------------------------------------------------


def test_no_later_answer_shows_a_secret(
    owner: dict, cluster: str, secrets_given: list[str]
) -> None:
    """Every page and API answer that can be read without naming a token, channel or rule."""
    assert len(secrets_given) >= 8, "the flows above did not run"
    client, browser = api(owner["token"]), console(owner)
    read = 0
    for route in http_routes():
        if "get" not in route.methods() or set(route.parameters) - {"cluster_id"}:
            continue
        if route.template in ("logout/", "api/schema/", "api/docs/"):
            continue
        url = route.url({"cluster_id": cluster})
        answer = (client if route.is_api else browser).get(url)
        assert answer.status_code < 500, (url, answer.status_code)
        text = answer.content.decode(errors="replace")
        assert_absent(secrets_given, text, url)
        assert "PRIVATE KEY" not in text, url  # cluster CAs' and the control plane's keys
        read += 1
    assert read >= 15, read


def test_no_log_line_holds_a_secret(logs: Capture, owner: dict, secrets_given: list[str]) -> None:
    assert len(secrets_given) >= 8, "the flows above did not run"
    text = logs.text()
    assert "'levelname': 'DEBUG'" in text, "no DEBUG record was captured: the capture is broken"
    assert_absent([*secrets_given, owner["password"], owner["token"]], text, "the logs")
