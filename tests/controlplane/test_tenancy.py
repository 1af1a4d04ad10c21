"""Tenancy: another organisation's clusters do not exist for you (API, console, websockets), and a
token can do no more than it was given: read-only tokens only read, revoked and expired ones nothing.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.controlplane.conftest import cluster_payload
from tests.support.platform import Platform, wait_gone

# The form of the console's create page, for a one-broker local cluster.
CONSOLE_CLUSTER_FORM = {
    "region": "local/local",
    "node_size": "local/dev-small",
    "broker_count": "1",
    "zookeeper_count": "1",
    "default_replication_factor": "1",
}


def new_member(
    platform: Platform,
    organisation: str,
    role: str = "owner",
    token: str | None = "ci",
    read_only: bool = False,
) -> dict[str, str | None]:
    """A member of `organisation` (created if new) who can sign in, and their token if asked for."""
    username = f"{role}-{uuid.uuid4().hex[:8]}"
    password = f"pw-{uuid.uuid4().hex}"
    secret = platform.tenant(
        organisation, username, password=password, token=token, read_only=read_only, role=role
    )
    return {
        "organisation": organisation,
        "username": username,
        "password": password,
        "token": secret,
    }


def console_session(platform: Platform, member: dict) -> httpx.Client:
    """An httpx client signed in through the console's login form (CSRF cookie and field)."""
    client = httpx.Client(base_url=platform.url, timeout=60)
    login = client.get("/login/")
    assert login.status_code == 200, login.text
    field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert field, "the login form has no CSRF field"
    signed_in = client.post(
        "/login/",
        data={
            "csrfmiddlewaretoken": field.group(1),
            "username": member["username"],
            "password": member["password"],
        },
    )
    assert signed_in.status_code == 302 and signed_in.headers["location"] == "/", signed_in.text
    assert "sessionid" in client.cookies
    return client


def console_post(
    client: httpx.Client, path: str, data: dict[str, str] | None = None
) -> httpx.Response:
    """A console form POST that passes the CSRF check, so any refusal is about access alone."""
    return client.post(
        path,
        data=data or {},
        headers={"X-CSRFToken": client.cookies["csrftoken"], "Referer": f"{client.base_url}/"},
    )


def open_socket(platform: Platform, path: str, session: httpx.Client | None) -> ClientConnection:
    headers = {"Origin": platform.url}
    if session is not None:
        headers["Cookie"] = f"sessionid={session.cookies['sessionid']}"
    return connect(
        f"ws://127.0.0.1:{platform.port}{path}", additional_headers=headers, open_timeout=20
    )


def assert_socket_refused(platform: Platform, path: str, session: httpx.Client | None) -> None:
    """Refused either at the handshake (HTTP 403) or by a close with 4403 right after it."""
    try:
        socket = open_socket(platform, path, session)
    except InvalidStatus as exc:
        assert exc.response.status_code == 403, exc
        return
    with socket:
        try:
            message = socket.recv(timeout=10)
        except ConnectionClosed as exc:
            assert exc.rcvd is not None and exc.rcvd.code == 4403, exc
        else:
            raise AssertionError(f"{path} was subscribed and sent {message!r}")


def next_change(socket: ClientConnection, timeout: float) -> dict:
    return json.loads(socket.recv(timeout=timeout))


@pytest.fixture(scope="module")
def org_a(platform: Platform) -> dict[str, str | None]:
    return new_member(platform, f"org-a-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def org_b(platform: Platform) -> dict[str, str | None]:
    return new_member(platform, f"org-b-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def cluster_a(platform: Platform, org_a: dict) -> Iterator[dict]:
    """Organisation A's cluster, shared by this module. The checks need it to exist, not to be
    running, so they go on while it is built; it is torn down (and waited for) at the end."""
    api = platform.api(org_a["token"])
    created = api.post("/clusters/", json=cluster_payload("tenant-a-orders"))
    assert created.status_code == 202, created.text
    body = created.json()
    yield {"id": body["cluster"]["id"], "name": "tenant-a-orders", "operation": body["operation"]}

    built = platform.wait_operation(api, body["operation"]["id"])
    rows = platform.sql(
        "SELECT provider_ref FROM clusters_node WHERE cluster_id = %s", body["cluster"]["id"]
    )
    # Protection may have been left on by a failed check; it would block the delete.
    api.patch(f"/clusters/{body['cluster']['id']}/", json={"delete_protection": False})
    deleted = api.delete(
        f"/clusters/{body['cluster']['id']}/", params={"confirm_name": "tenant-a-orders"}
    )
    assert deleted.status_code == 202, (built, deleted.text)
    gone = platform.wait_operation(api, deleted.json()["id"])
    assert gone["state"] == "succeeded", (gone, platform.describe_failure())
    for (provider_ref,) in rows:
        if provider_ref:
            wait_gone(Path(provider_ref).parent, 30)


def test_another_organisations_cluster_does_not_exist_in_the_api(
    platform: Platform, org_a: dict, org_b: dict, cluster_a: dict
) -> None:
    a, b = platform.api(org_a["token"]), platform.api(org_b["token"])
    cluster_id, operation_id = cluster_a["id"], cluster_a["operation"]["id"]
    assert a.get(f"/clusters/{cluster_id}/").status_code == 200

    refused = {
        "GET cluster": b.get(f"/clusters/{cluster_id}/"),
        "PATCH cluster": b.patch(f"/clusters/{cluster_id}/", json={"delete_protection": True}),
        "DELETE cluster": b.delete(
            f"/clusters/{cluster_id}/", params={"confirm_name": cluster_a["name"]}
        ),
        "GET nodes": b.get(f"/clusters/{cluster_id}/nodes/"),
        "GET operations": b.get(f"/clusters/{cluster_id}/operations/"),
        "GET topics": b.get(f"/clusters/{cluster_id}/topics/"),
        "POST topic": b.post(
            f"/clusters/{cluster_id}/topics/", json={"name": "stolen", "partitions": 1}
        ),
        "GET topic": b.get(f"/clusters/{cluster_id}/topics/stolen/"),
        "DELETE topic": b.delete(f"/clusters/{cluster_id}/topics/stolen/"),
        "GET operation": b.get(f"/operations/{operation_id}/"),
        "POST operation retry": b.post(f"/operations/{operation_id}/retry/"),
    }
    for call, response in refused.items():
        assert response.status_code == 404, (call, response.status_code, response.text)
        assert response.json()["code"] == "not_found", (call, response.text)

    b_clusters = b.get("/clusters/", params={"limit": 500}).json()["results"]
    assert cluster_id not in [c["id"] for c in b_clusters]
    assert cluster_id in [c["id"] for c in a.get("/clusters/").json()["results"]]
    b_audit = b.get("/audit/", params={"limit": 500}).json()["results"]
    assert cluster_id not in [e["object_id"] for e in b_audit]

    a_tokens = a.get("/tokens/").json()["results"]
    assert b.delete(f"/tokens/{a_tokens[0]['id']}/").status_code == 404
    assert a.get("/tokens/").status_code == 200, "B revoked A's token"

    after = a.get(f"/clusters/{cluster_id}/").json()
    assert after["status"] in ("creating", "running"), after
    assert after["delete_protection"] is False, "B's PATCH changed A's cluster"
    kinds = [o["kind"] for o in a.get(f"/clusters/{cluster_id}/operations/").json()["results"]]
    assert kinds == ["create"], "B's DELETE started an operation on A's cluster"


def test_another_organisations_cluster_does_not_exist_in_the_console(
    platform: Platform, org_a: dict, org_b: dict, cluster_a: dict
) -> None:
    a, b = console_session(platform, org_a), console_session(platform, org_b)
    cluster_id, operation_id = cluster_a["id"], cluster_a["operation"]["id"]
    assert a.get(f"/clusters/{cluster_id}/").status_code == 200
    assert cluster_id in a.get("/").text

    listing = b.get("/")
    assert listing.status_code == 200
    assert cluster_id not in listing.text and cluster_a["name"] not in listing.text
    assert cluster_id not in b.get("/clusters/rows").text
    assert cluster_id not in b.get("/audit").text

    refused = {
        "detail": b.get(f"/clusters/{cluster_id}/"),
        "status fragment": b.get(f"/clusters/{cluster_id}/status"),
        "topics fragment": b.get(f"/clusters/{cluster_id}/topics"),
        "delete": console_post(
            b, f"/clusters/{cluster_id}/delete", {"confirm_name": cluster_a["name"]}
        ),
        "protection": console_post(
            b, f"/clusters/{cluster_id}/protection", {"delete_protection": "on"}
        ),
        "topic create": console_post(
            b, f"/clusters/{cluster_id}/topics/new", {"name": "stolen", "partitions": "1"}
        ),
        "topic delete": console_post(b, f"/clusters/{cluster_id}/topics/stolen/delete"),
        "operation retry": console_post(b, f"/operations/{operation_id}/retry"),
    }
    for page, response in refused.items():
        assert response.status_code == 404, (page, response.status_code, response.text[:500])

    api = platform.api(org_a["token"])
    after = api.get(f"/clusters/{cluster_id}/").json()
    assert after["delete_protection"] is False and after["status"] in ("creating", "running")
    kinds = [o["kind"] for o in api.get(f"/clusters/{cluster_id}/operations/").json()["results"]]
    assert kinds == ["create"]


def test_only_the_owning_organisation_can_subscribe_to_a_cluster(
    platform: Platform, org_a: dict, org_b: dict, cluster_a: dict
) -> None:
    a, b = console_session(platform, org_a), console_session(platform, org_b)
    path = f"/ws/clusters/{cluster_a['id']}/"
    assert_socket_refused(platform, path, b)
    assert_socket_refused(platform, path, None)
    assert_socket_refused(platform, "/ws/clusters/", None)

    api = platform.api(org_a["token"])
    with (
        open_socket(platform, path, a) as a_socket,
        open_socket(platform, "/ws/clusters/", b) as b_list,
    ):
        changed = api.patch(f"/clusters/{cluster_a['id']}/", json={"delete_protection": True})
        assert changed.status_code == 200 and changed.json()["delete_protection"] is True
        try:
            message = next_change(a_socket, timeout=30)
            assert message == {"event": "cluster.changed", "cluster": cluster_a["id"]}
        finally:
            restored = api.patch(f"/clusters/{cluster_a['id']}/", json={"delete_protection": False})
            assert restored.status_code == 200, restored.text
        # B's organisation has no clusters, so anything on its list socket would be A's.
        with pytest.raises(TimeoutError):
            leaked = b_list.recv(timeout=3)
            raise AssertionError(f"B's list socket received {leaked!r}")


def test_a_read_only_token_reads_but_cannot_change_anything(
    platform: Platform, org_a: dict, cluster_a: dict
) -> None:
    reader = new_member(platform, org_a["organisation"], token="read-only", read_only=True)
    api = platform.api(reader["token"])

    listed = api.get("/clusters/")
    assert listed.status_code == 200
    assert cluster_a["id"] in [c["id"] for c in listed.json()["results"]]
    assert api.get(f"/clusters/{cluster_a['id']}/operations/").status_code == 200

    refused = {
        "create cluster": api.post("/clusters/", json=cluster_payload("read-only-attempt")),
        "update cluster": api.patch(
            f"/clusters/{cluster_a['id']}/", json={"delete_protection": True}
        ),
        "delete cluster": api.delete(
            f"/clusters/{cluster_a['id']}/", params={"confirm_name": cluster_a["name"]}
        ),
        "create token": api.post("/tokens/", json={"name": "escalate"}),
    }
    for call, response in refused.items():
        assert response.status_code == 403, (call, response.status_code, response.text)
        assert response.json()["code"] == "permission_denied", (call, response.text)

    assert (
        platform.sql("SELECT id FROM clusters_cluster WHERE name = %s", "read-only-attempt") == []
    )
    tokens = platform.api(org_a["token"]).get("/tokens/").json()["results"]
    assert "escalate" not in [t["name"] for t in tokens]
    after = platform.api(org_a["token"]).get(f"/clusters/{cluster_a['id']}/").json()
    assert after["delete_protection"] is False and after["status"] in ("creating", "running")


def assert_token_refused(platform: Platform, secret: str, cluster: dict) -> None:
    api = platform.api(secret)
    calls = {
        "list clusters": lambda: api.get("/clusters/"),
        "get cluster": lambda: api.get(f"/clusters/{cluster['id']}/"),
        "get operation": lambda: api.get(f"/operations/{cluster['operation']['id']}/"),
        "create cluster": lambda: api.post("/clusters/", json=cluster_payload("refused-token")),
        "update cluster": lambda: api.patch(
            f"/clusters/{cluster['id']}/", json={"delete_protection": True}
        ),
        "list tokens": lambda: api.get("/tokens/"),
        "create token": lambda: api.post("/tokens/", json={"name": "refused-token"}),
        "audit": lambda: api.get("/audit/"),
    }
    for call, send in calls.items():
        response = send()
        assert response.status_code in (401, 403), (call, response.status_code, response.text)
        assert response.json()["code"] in ("authentication_failed", "not_authenticated"), call
    assert platform.sql("SELECT id FROM clusters_cluster WHERE name = %s", "refused-token") == []


def test_a_revoked_token_is_refused(platform: Platform, org_a: dict, cluster_a: dict) -> None:
    owner = platform.api(org_a["token"])
    issued = owner.post("/tokens/", json={"name": f"revoke-me-{uuid.uuid4().hex[:6]}"})
    assert issued.status_code == 201, issued.text
    secret = issued.json()["secret"]
    assert platform.api(secret).get("/clusters/").status_code == 200

    revoked = owner.delete(f"/tokens/{issued.json()['id']}/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"], revoked.text
    assert_token_refused(platform, secret, cluster_a)
    assert owner.get("/clusters/").status_code == 200, "revoking one token touched another"


def test_an_expired_token_is_refused(platform: Platform, org_a: dict, cluster_a: dict) -> None:
    lifetime = timedelta(seconds=10)
    expires_at = datetime.now(UTC) + lifetime
    issued = platform.api(org_a["token"]).post(
        "/tokens/", json={"name": "short-lived", "expires_at": expires_at.isoformat()}
    )
    assert issued.status_code == 201, issued.text
    secret = issued.json()["secret"]
    assert platform.api(secret).get("/clusters/").status_code == 200

    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 1)
    assert_token_refused(platform, secret, cluster_a)


def test_a_viewer_cannot_create_or_delete_clusters_in_the_console(
    platform: Platform, org_a: dict, cluster_a: dict
) -> None:
    viewer = new_member(platform, org_a["organisation"], role="viewer", token=None)
    console = console_session(platform, viewer)

    listing = console.get("/")
    assert listing.status_code == 200 and cluster_a["id"] in listing.text
    assert 'href="/clusters/new"' not in listing.text

    assert console.get("/clusters/new").status_code == 403
    name = f"viewer-{uuid.uuid4().hex[:6]}"
    created = console_post(console, "/clusters/new", {"name": name, **CONSOLE_CLUSTER_FORM})
    assert created.status_code == 403 and "read-only" in created.text, (
        created.status_code,
        created.text[:500],
    )
    assert platform.sql("SELECT id FROM clusters_cluster WHERE name = %s", name) == []

    detail = console.get(f"/clusters/{cluster_a['id']}/")
    assert detail.status_code == 200
    assert 'id="delete-cluster"' not in detail.text and 'id="topic-create"' not in detail.text
    refused = {
        "delete": console_post(
            console, f"/clusters/{cluster_a['id']}/delete", {"confirm_name": cluster_a["name"]}
        ),
        "protection": console_post(
            console, f"/clusters/{cluster_a['id']}/protection", {"delete_protection": "on"}
        ),
        "topic create": console_post(
            console, f"/clusters/{cluster_a['id']}/topics/new", {"name": "x", "partitions": "1"}
        ),
    }
    for action, response in refused.items():
        assert response.status_code == 403 and "read-only" in response.text, (
            action,
            response.status_code,
            response.text[:500],
        )
    api = platform.api(org_a["token"])
    after = api.get(f"/clusters/{cluster_a['id']}/").json()
    assert after["delete_protection"] is False and after["status"] in ("creating", "running")
    kinds = [
        o["kind"] for o in api.get(f"/clusters/{cluster_a['id']}/operations/").json()["results"]
    ]
    assert kinds == ["create"]
