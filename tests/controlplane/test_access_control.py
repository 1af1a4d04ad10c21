"""Access control over every route, found by walking the URL resolver and the websocket router, so a
route added later is covered without touching this file:

- a member of another organisation gets 404 from every API and console route that names an object
  (by token and by session, for every method the route serves), and every websocket subscription
  naming an object is refused;
- read-only tokens and viewers change nothing anywhere: every unsafe method of every API route
  answers 403, and so does every console form post;
- expired and revoked tokens are refused.

Runs in this process on a migrated PostgreSQL database of its own (`django_db`), with Django's
test client (CSRF not enforced, so a refusal is about access alone) and Channels' communicator.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from tests.support.cluster_rows import create_local_cluster
from tests.support.routes import Route, http_routes, websocket_routes

UNSAFE_METHODS = ("post", "put", "patch", "delete")


# --- the two organisations ------------------------------------------------------------------------


@dataclass
class Member:
    user: Any
    token: str
    read_only_token: str


def new_member(organisation: str, role: str) -> Member:
    from clusters.actors import Actor
    from clusters.tenancy import organisation_bootstrap
    from clusters.tokens import _create

    membership, _token, secret = organisation_bootstrap(
        organisation=organisation,
        username=f"{role}-{uuid.uuid4().hex[:8]}",
        password=None,
        role=role,
        token_name="rw",
    )
    _token, read_only = _create(
        organisation=membership.organisation,
        actor=Actor.for_member(membership),
        name="ro",
        read_only=True,
        expires_at=None,
    )
    return Member(user=membership.user, token=secret, read_only_token=read_only)


@pytest.fixture(scope="module")
def org_a(django_db: str) -> Member:
    return new_member(f"access-a-{uuid.uuid4().hex[:8]}", "owner")


@pytest.fixture(scope="module")
def org_a_viewer(org_a: Member) -> Member:
    return new_member(org_a.user.membership.organisation.name, "viewer")


@pytest.fixture(scope="module")
def org_b(django_db: str) -> Member:
    return new_member(f"access-b-{uuid.uuid4().hex[:8]}", "owner")


@pytest.fixture(scope="module")
def objects_of_a(org_a: Member) -> dict[str, str]:
    """One object of organisation A for every kind of route parameter. The cluster is still being
    created, so routes that would talk to its brokers answer at once that it is not ready."""
    from django.utils import timezone

    from alerts.models import AlertRule, NotificationChannel, Silence
    from clusters.models import ApiToken, Node, NodeRole
    from provisioning.models import Operation

    organisation = org_a.user.membership.organisation
    cluster = create_local_cluster("guarded", organisation=organisation, status="creating")
    node = Node.objects.create(
        cluster=cluster, role=NodeRole.BROKER, index=0, host="127.0.9.1", port=9092
    )
    operation = Operation.objects.create(
        cluster=cluster, kind="create", state="failed", requested_by="test"
    )
    rule = AlertRule.objects.create(cluster=cluster, kind="node_down")
    now = timezone.now()
    silence = Silence.objects.create(
        cluster=cluster,
        kind="node_down",
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="test",
    )
    channel = NotificationChannel.objects.create(
        organisation=organisation,
        cluster=cluster,
        name="ops",
        kind="email",
        email_to=["ops@example.com"],
        created_by="test",
    )
    return {
        "cluster_id": str(cluster.pk),
        "node_id": str(node.pk),
        "operation_id": str(operation.pk),
        "token_id": str(ApiToken.objects.filter(organisation=organisation).first().pk),
        "rule_id": str(rule.pk),
        "silence_id": str(silence.pk),
        "channel_id": str(channel.pk),
        "name": "orders",  # a topic
        "group": "billing",  # a consumer group
    }


def client(member: Member | None = None, *, token: str | None = None, session: bool = False):
    from django.test import Client

    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    browser = Client(HTTP_HOST="127.0.0.1", **headers)
    if session:
        browser.force_login(member.user)
    return browser


def send(browser, method: str, url: str):
    if method in ("post", "put", "patch"):
        return getattr(browser, method)(url, data={}, content_type="application/json")
    return getattr(browser, method)(url)


# --- another organisation's objects do not exist --------------------------------------------------


def test_the_walk_finds_the_routes_it_must_check(django_db: str) -> None:
    """The walk itself works: it finds routes of every kind (so an empty walk cannot pass)."""
    templates = {route.template for route in http_routes()}
    assert "api/v1/clusters/<uuid:cluster_id>/" in templates
    assert "clusters/<uuid:cluster_id>/" in templates
    assert "api/v1/operations/<uuid:operation_id>/" in templates
    assert "ws/clusters/<uuid:cluster_id>/" in {route.template for route in websocket_routes()}


def nonexistent(values: dict[str, str]) -> dict[str, str]:
    """Values of the same kinds naming no object at all."""
    return {
        name: str(uuid.uuid4()) if "-" in value else "987654321" if value.isdigit() else "absent"
        for name, value in values.items()
    }


def answer_of(response) -> tuple[int, bytes]:
    return response.status_code, response.content


def test_another_organisations_objects_are_not_found_in_the_api(
    org_a: Member, org_b: Member, objects_of_a: dict[str, str]
) -> None:
    """A stranger's answer is the very answer for an object that does not exist (so it tells
    nothing), and the owner's answer is not (so the route does find the object)."""
    by_token = client(token=org_b.token)
    by_session = client(org_b, session=True)
    by_owner = client(token=org_a.token)
    missing = nonexistent(objects_of_a)
    checked = []
    for route in http_routes():
        if not route.is_api or not route.parameters:
            continue
        url, missing_url = route.url(objects_of_a), route.url(missing)
        for method in route.methods():
            if route.member_checked():
                for browser in (by_token, by_session):
                    answer = send(browser, method, url)
                    assert answer.status_code == 404, (method, url, answer.content[:300])
                    assert answer_of(answer) == answer_of(send(browser, method, missing_url))
            else:
                answer = send(by_token, method, url)
                assert answer.status_code in (401, 403), (method, url, answer.content[:300])
            checked.append((method, url))
        if "get" in route.methods() and route.member_checked():
            mine = by_owner.get(url)
            assert mine.status_code < 500, (url, mine.status_code, mine.content[:300])
            assert answer_of(mine) != answer_of(by_owner.get(missing_url)), url
    assert len(checked) >= 20, checked


def test_another_organisations_objects_are_not_found_in_the_console(
    org_a: Member, org_b: Member, objects_of_a: dict[str, str]
) -> None:
    stranger = client(org_b, session=True)
    owner = client(org_a, session=True)
    missing = nonexistent(objects_of_a)
    checked = []
    for route in http_routes():
        if route.is_api or not route.parameters:
            continue
        url, missing_url = route.url(objects_of_a), route.url(missing)
        answers = {method: send(stranger, method, url) for method in ("get", "post")}
        statuses = {method: answer.status_code for method, answer in answers.items()}
        # A route serves GET or POST or both; what it serves answers 404, never the page.
        assert set(statuses.values()) <= {404, 405} and 404 in statuses.values(), (url, statuses)
        for method, answer in answers.items():
            assert answer_of(answer) == answer_of(send(stranger, method, missing_url)), url
        checked.append(url)
        if statuses["get"] == 404:
            mine = owner.get(url)
            assert mine.status_code < 500, (url, mine.status_code, mine.content[:300])
            assert answer_of(mine) != answer_of(owner.get(missing_url)), url
    assert len(checked) >= 15, checked


def connect(route: Route, values: dict[str, str], user) -> tuple[bool, int | None]:
    """Open the route's websocket as `user` (the ASGI handshake, in this process);
    (accepted, close code)."""
    from asgiref.testing import ApplicationCommunicator
    from channels.routing import URLRouter
    from django.urls import path

    async def attempt() -> tuple[bool, int | None]:
        router = URLRouter([path(route.template, route.callback)])
        scope = {
            "type": "websocket",
            "path": route.url(values),
            "headers": [],
            "query_string": b"",
            "subprotocols": [],
            "user": user,
        }
        communicator = ApplicationCommunicator(router, scope)
        await communicator.send_input({"type": "websocket.connect"})
        answer = await communicator.receive_output(timeout=10)
        if answer["type"] == "websocket.close":
            return False, answer.get("code")
        await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
        await communicator.wait(timeout=10)
        return answer["type"] == "websocket.accept", None

    return asyncio.run(attempt())


def test_websocket_subscriptions_to_another_organisations_objects_are_refused(
    org_a: Member, org_b: Member, objects_of_a: dict[str, str]
) -> None:
    from clusters.models import Membership

    routes = [route for route in websocket_routes() if route.parameters]
    assert routes
    org_a.user.refresh_from_db()
    owner = Membership.objects.select_related("user").get(user=org_a.user).user
    stranger = Membership.objects.select_related("user").get(user=org_b.user).user
    for route in routes:
        assert connect(route, objects_of_a, stranger) == (False, 4403), route.template
        accepted, _ = connect(route, objects_of_a, owner)
        assert accepted, route.template


def test_websockets_refuse_anyone_signed_out(objects_of_a: dict[str, str]) -> None:
    from django.contrib.auth.models import AnonymousUser

    for route in websocket_routes():
        accepted, _ = connect(route, objects_of_a, AnonymousUser())
        assert not accepted, route.template


# --- read-only tokens and viewers change nothing ----------------------------------------------------


def test_read_only_tokens_and_viewers_change_nothing_through_the_api(
    org_a: Member, org_a_viewer: Member, objects_of_a: dict[str, str]
) -> None:
    from clusters.models import AuditEvent

    audit_before = AuditEvent.objects.count()
    callers = {
        "read-only token": client(token=org_a.read_only_token),
        "viewer": client(org_a_viewer, session=True),
    }
    checked = []
    for route in http_routes():
        if not route.is_api or not route.member_checked():
            continue
        url = route.url(objects_of_a)
        for method in route.methods():
            for who, browser in callers.items():
                answer = send(browser, method, url)
                if method in UNSAFE_METHODS:
                    assert answer.status_code == 403, (who, method, url, answer.content[:300])
                    assert answer.json()["code"] == "permission_denied"
                    checked.append((method, url))
                else:
                    assert answer.status_code not in (401, 403), (who, method, url)
    assert len(checked) >= 30, checked
    assert AuditEvent.objects.count() == audit_before


def test_viewers_change_nothing_in_the_console(
    org_a_viewer: Member, objects_of_a: dict[str, str]
) -> None:
    viewer = client(org_a_viewer, session=True)
    checked = []
    for route in http_routes():
        if route.is_api or route.template in ("login/", "logout/", "metrics"):
            continue
        url = route.url(objects_of_a)
        answer = viewer.post(url, data={})
        assert answer.status_code in (403, 405), (url, answer.status_code)
        checked.append(url)
    assert len(checked) >= 20, checked


def test_expired_and_revoked_tokens_are_refused(org_a: Member) -> None:
    from django.utils import timezone

    from clusters.actors import Actor
    from clusters.tokens import _create, api_token_revoke

    membership = org_a.user.membership
    actor = Actor.for_member(membership)
    expiring, expiring_secret = _create(
        organisation=membership.organisation,
        actor=actor,
        name="short",
        read_only=False,
        expires_at=timezone.now() + timedelta(days=1),
    )
    revoked, revoked_secret = _create(
        organisation=membership.organisation,
        actor=actor,
        name="revoked",
        read_only=False,
        expires_at=None,
    )
    assert client(token=expiring_secret).get("/api/v1/clusters/").status_code == 200
    assert client(token=revoked_secret).get("/api/v1/clusters/").status_code == 200

    type(expiring).objects.filter(pk=expiring.pk).update(expires_at=timezone.now())
    api_token_revoke(actor=actor, token=revoked)
    for secret in (expiring_secret, revoked_secret, "sp_" + "x" * 43):
        for method in ("get", "post"):
            answer = send(client(token=secret), method, "/api/v1/clusters/")
            assert answer.status_code == 401, (method, answer.content)
            assert answer.json()["code"] == "authentication_failed"


def test_a_generic_view_over_every_organisations_objects_still_hides_them(
    org_b: Member, objects_of_a: dict[str, str]
) -> None:
    """A view that looks objects up in an unscoped queryset (a mistake a new view could make) is
    still refused another organisation's object, by the default permission's object check."""
    from rest_framework import generics, serializers
    from rest_framework.test import APIRequestFactory

    from clusters.models import Cluster

    class Unscoped(generics.RetrieveAPIView):
        queryset = Cluster.objects.all()
        lookup_url_kwarg = "cluster_id"
        serializer_class = serializers.Serializer

    cluster_id = objects_of_a["cluster_id"]
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {org_b.token}")
    answer = Unscoped.as_view()(request, cluster_id=cluster_id)
    assert answer.status_code == 404, answer.data

    # The same view serves the caller's own object.
    own = Cluster.objects.get(pk=cluster_id)
    own.pk = None
    own.organisation = org_b.user.membership.organisation
    own.save()
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {org_b.token}")
    assert Unscoped.as_view()(request, cluster_id=str(own.pk)).status_code == 200


def test_djangos_admin_cannot_change_tokens_behind_the_audit_log(org_a: Member) -> None:
    """Tokens are changed only where it is audited: the admin shows them but cannot add, edit
    (say, un-revoke or widen one) or delete them."""
    from django.contrib.auth import get_user_model

    from clusters.models import ApiToken

    operator = get_user_model().objects.create_superuser(
        username=f"operator-{uuid.uuid4().hex[:8]}", password=None
    )
    token = ApiToken.objects.filter(organisation=org_a.user.membership.organisation).first()
    browser = client()
    browser.force_login(operator)
    base = "/admin/clusters/apitoken/"
    assert browser.get(base).status_code == 200
    assert browser.get(f"{base}{token.pk}/change/").status_code == 200  # viewable
    assert browser.get(f"{base}add/").status_code == 403
    edited = browser.post(
        f"{base}{token.pk}/change/", {"name": "widened", "read_only": "", "revoked_at": ""}
    )
    assert edited.status_code == 403
    assert browser.post(f"{base}{token.pk}/delete/", {"post": "yes"}).status_code == 403
    after = ApiToken.objects.get(pk=token.pk)
    assert (after.name, after.read_only, after.revoked_at) == (
        token.name,
        token.read_only,
        token.revoked_at,
    )
