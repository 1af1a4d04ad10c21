"""Every operation of the OpenAPI schema the app serves, exercised by schemathesis with generated
requests (valid and invalid) through the WSGI application in this process, as an owner with a
read-write token: no answer may be a server error, and answers the schema documents must match it.

Path parameters that name an organisation's objects get a real object half of the time, so the
requests reach past the lookup into validation and the services. The organisation's cluster is
still being created, so nothing talks to brokers; operations it would start are queued on a queue of
this test's own, which no worker reads and which is removed at the end.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.support.cluster_rows import create_local_cluster

EXAMPLES_PER_OPERATION = 20


@pytest.fixture(scope="module")
def own_task_queue(django_db: str) -> Iterator[str]:
    """Celery messages sent during the run go to a queue of this test's own, removed after."""
    from django.conf import settings as django_settings
    from redis import Redis

    from controlplane.celery import app

    queue = f"schemathesis-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    # The app caches its queue declarations and router on first use.
    for cached in ("queues", "default_queue", "router"):
        app.amqp.__dict__.pop(cached, None)
    yield queue
    app.conf.task_default_queue = previous
    for cached in ("queues", "default_queue", "router"):
        app.amqp.__dict__.pop(cached, None)
    Redis.from_url(django_settings.CELERY_BROKER_URL).delete(queue)


@pytest.fixture(scope="module")
def owner(own_task_queue: str) -> dict[str, str]:
    """An owner's token and one object of each kind their paths can name."""
    from django.utils import timezone

    from alerts.models import AlertRule, NotificationChannel, Silence
    from clusters.models import Node
    from clusters.tenancy import organisation_bootstrap
    from provisioning.models import Operation

    membership, _token, secret = organisation_bootstrap(
        organisation=f"fuzzed-{uuid.uuid4().hex[:8]}",
        username=f"fuzzer-{uuid.uuid4().hex[:8]}",
        password=None,
        token_name="schemathesis",
    )
    cluster = create_local_cluster(
        "fuzzed", organisation=membership.organisation, status="creating"
    )
    node = Node.objects.create(cluster=cluster, role="broker", index=0, host="127.0.9.1", port=9092)
    operation = Operation.objects.create(
        cluster=cluster, kind="create", state="failed", requested_by="test"
    )
    now = timezone.now()
    return {
        "token": secret,
        "organisation_id": str(membership.organisation_id),
        "cluster_id": str(cluster.pk),
        "node_id": str(node.pk),
        "operation_id": str(operation.pk),
        "rule_id": str(AlertRule.objects.create(cluster=cluster, kind="node_down").pk),
        "silence_id": str(
            Silence.objects.create(
                cluster=cluster,
                kind="node_down",
                starts_at=now,
                ends_at=now + timedelta(hours=1),
                created_by="test",
            ).pk
        ),
        "channel_id": str(
            NotificationChannel.objects.create(
                organisation=membership.organisation,
                name="ops",
                kind="email",
                email_to=["ops@example.com"],
                created_by="test",
            ).pk
        ),
    }


@pytest.fixture(scope="module")
def api_schema(owner: dict[str, str]):
    from django.core.wsgi import get_wsgi_application

    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


def test_the_schema_covers_the_api(api_schema) -> None:
    """The run below reaches the API's operations (an empty schema would pass it vacuously)."""
    paths = {result.ok().path for result in api_schema.get_all_operations()}
    assert len(paths) >= 20, paths
    assert "/api/v1/clusters/{cluster_id}/" in paths


def cases_of(operation, owner: dict[str, str]) -> st.SearchStrategy:
    """Valid and invalid requests, with the owner's real objects in the path or random ones."""
    parameters = {p.name for p in operation.path_parameters}
    real = {name: value for name, value in owner.items() if name in parameters}
    strategies = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategies.append(operation.as_strategy(mode))
        if real:
            strategies.append(operation.as_strategy(mode, path_parameters=real))
    return st.one_of(strategies)


def describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return "\n".join([str(exc), *(describe(e) for e in exc.exceptions)])
    return f"{type(exc).__name__}: {exc}"


def usable_token(owner: dict[str, str]) -> str:
    """The run's token, or a new one if the run revoked it (token ids are small integers that
    generated requests hit): every request is made with authority, so it reaches the view."""
    from clusters.actors import Actor
    from clusters.models import ApiToken, Membership
    from clusters.tokens import _create, token_digest

    if not ApiToken.objects.filter(digest=token_digest(owner["token"]), revoked_at=None).exists():
        membership = Membership.objects.select_related("organisation", "user").get(
            organisation_id=owner["organisation_id"]
        )
        _token, owner["token"] = _create(
            organisation=membership.organisation,
            actor=Actor.for_member(membership),
            name="schemathesis",
            read_only=False,
            expires_at=None,
        )
    return owner["token"]


def test_no_operation_fails_or_breaks_its_schema(api_schema, owner: dict[str, str]) -> None:
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    for operation in operations:

        @given(case=cases_of(operation, owner))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate, Phase.target, Phase.shrink],
        )
        def exercise(case) -> None:
            headers = {"Authorization": f"Bearer {usable_token(owner)}"}
            case.call_and_validate(headers=headers, checks=checks)

        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # every operation runs; all are reported
            failures[operation.label] = describe(exc)[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{error}" for label, error in failures.items())


def test_what_the_run_found_answers_400_not_500(owner: dict[str, str]) -> None:
    """The server errors the run found, pinned down: a NUL character anywhere in the path or the
    query (PostgreSQL refuses it in text), filters outside their enums, malformed ids, huge limits."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {usable_token(owner)}")
    cluster = f"/api/v1/clusters/{owner['cluster_id']}"
    for url in (
        f"{cluster}/alerts/?state=%00",
        f"{cluster}/alerts/?kind=node%00down",
        f"{cluster}/silences/?%00=1",
        f"{cluster}/topics/a%00b/",
        "/api/v1/clusters/?status=run%00ning",
    ):
        answer = client.get(url)
        assert answer.status_code == 400, (url, answer.content)
        assert answer.json()["code"] == "malformed_request", url
    assert Client(HTTP_HOST="127.0.0.1").get("/clusters/a%00b/").status_code == 400
    for url, field in (
        (f"{cluster}/alerts/?state=burning", "state"),
        (f"{cluster}/alerts/?kind=gremlins", "kind"),
        ("/api/v1/clusters/?status=sleeping", "status"),
    ):
        answer = client.get(url)
        assert answer.status_code == 400 and field in answer.json()["errors"], (url, answer.content)
    assert client.get("/api/v1/alert-channels/?cluster=firing").status_code == 404
    page = client.get("/api/v1/clusters/?limit=88365755823432346506176988446720&offset=0")
    assert page.status_code == 200 and page.json()["results"], page.content
