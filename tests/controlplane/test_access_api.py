"""Kafka users, ACLs and firewall rules of a cluster, from the services, the API and the CLI.

The first tests run the services in this process against a real broker: its PLAINTEXT listener is
the control plane's (inter-broker, so the firewall never applies to it; ANONYMOUS there is a super
user), its SASL_PLAINTEXT listener the clients', with Kafka's ACL authorizer. The last test drives
a SASL_SSL cluster built by the platform through the API and the CLI, with confluent-kafka clients.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from tests.controlplane.conftest import cluster_payload
from tests.support.broker import HOST, BrokerProcess
from tests.support.platform import Platform
from tests.support.ports import free_port
from tests.support.waiting import wait_until

TIMEOUT = 15.0
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass
class AccessBroker:
    process: BrokerProcess
    clients: str  # the SASL_PLAINTEXT listener


@pytest.fixture(scope="module")
def access_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccessBroker]:
    sasl_port = free_port()
    process = BrokerProcess(Path(tmp_path_factory.mktemp("access")))
    process.overrides.update(
        {
            "listeners": f"PLAINTEXT://{HOST}:{process.port},SASL_PLAINTEXT://{HOST}:{sasl_port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "sasl.enabled.mechanisms": ",".join(MECHANISMS),
            "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
            "super.users": "User:ANONYMOUS",
            "allow.everyone.if.no.acl.found": "false",
            "connection.failed.authentication.delay.ms": 100,
        }
    )
    process.start()
    yield AccessBroker(process, f"{HOST}:{sasl_port}")
    process.kill()


@pytest.fixture
def world(django_db: str, access_broker: AccessBroker) -> SimpleNamespace:
    """An organisation with a writer and a read-only actor, and a running cluster whose one broker
    is the module's broker."""
    from access import selectors, services
    from access.models import FirewallRule, KafkaUser
    from clusters.actors import Actor
    from clusters.models import (
        AuditEvent,
        Cluster,
        ClusterStatus,
        DataplaneVersion,
        Node,
        NodeRole,
        NodeSize,
        NodeStatus,
        Organisation,
        Provider,
        Region,
    )

    suffix = uuid.uuid4().hex[:8]
    organisation = Organisation.objects.create(name=f"org-{suffix}")
    provider = Provider.objects.get(slug="local")
    size = NodeSize.objects.filter(provider=provider).first()
    cluster = Cluster.objects.create(
        organisation=organisation,
        name=f"access-{suffix}",
        provider=provider,
        region=Region.objects.get(provider=provider, slug="local"),
        node_size=size,
        dataplane_version=DataplaneVersion.objects.get(is_default=True),
        broker_count=1,
        zookeeper_count=1,
        default_replication_factor=1,
        storage_gib=size.disk_gib,
        security_protocol="PLAINTEXT",
        status=ClusterStatus.RUNNING,
        created_by="test",
    )
    Node.objects.create(
        cluster=cluster,
        role=NodeRole.BROKER,
        index=0,
        host=HOST,
        port=access_broker.process.port,
        status=NodeStatus.RUNNING,
    )
    return SimpleNamespace(
        suffix=suffix,
        cluster=cluster,
        writer=Actor(organisation=organisation, label="user:writer", can_write=True),
        reader=Actor(organisation=organisation, label="token:ro (sp_x)", can_write=False),
        broker=access_broker,
        services=services,
        selectors=selectors,
        KafkaUser=KafkaUser,
        FirewallRule=FirewallRule,
        audit=lambda: list(
            AuditEvent.objects.filter(organisation=organisation).order_by("created_at", "id")
        ),
    )


def sasl_client(bootstrap: str, user: str, password: str, mechanism: str) -> dict[str, Any]:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password,
    }


def logs_in(client: dict[str, Any]) -> bool:
    """Whether the client authenticates: metadata comes back, or the connection fails."""
    admin = AdminClient({**client, "socket.connection.setup.timeout.ms": 3000})
    try:
        admin.list_topics(timeout=6)
    except KafkaException:
        return False
    return True


def produce(client: dict[str, Any], topic: str) -> KafkaError | None:
    """Produce one record; the delivery error, or None when it was written."""
    producer = Producer({**client, "message.timeout.ms": 20000})
    delivered: list[KafkaError | None] = []
    producer.produce(topic, b"record", on_delivery=lambda err, _msg: delivered.append(err))
    producer.flush(25)
    assert delivered, "the producer never reported the delivery"
    return delivered[0]


# --- validation and permissions, without touching the cluster ------------------------------------------


@pytest.mark.parametrize(
    "name", ["", "has space", "a,b", "a=b", "User:x", "-leading", "x" * 65, "ANONYMOUS"]
)
def test_kafka_user_names_are_checked_before_anything_changes(world, name: str) -> None:
    from clusters.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        world.services.kafka_user_create(actor=world.writer, cluster=world.cluster, name=name)
    assert "name" in refused.value.field_errors
    assert not world.KafkaUser.objects.filter(cluster=world.cluster).exists()
    assert world.audit() == []


def test_only_scram_mechanisms_are_offered(world) -> None:
    from clusters.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        world.services.kafka_user_create(
            actor=world.writer, cluster=world.cluster, name="app", mechanisms=["PLAIN"]
        )
    assert "mechanisms" in refused.value.field_errors


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"resource_type": "queue"}, "resource_type"),
        ({"pattern_type": "match"}, "pattern_type"),
        ({"resource_type": "group", "operation": "Write"}, "operation"),
        ({"resource_type": "cluster", "resource_name": "mine"}, "resource_name"),
        ({"pattern_type": "prefixed", "resource_name": "*"}, "resource_name"),
        ({"resource_name": "bad topic"}, "resource_name"),
        ({"principal": "alice"}, "principal"),
        ({"host": "somewhere"}, "host"),
        ({"permission": "Maybe"}, "permission"),
    ],
)
def test_acls_are_checked_as_kafka_would(world, fields: dict[str, str], field: str) -> None:
    from access.acls import acl_entry
    from clusters.errors import InvalidInput

    acl = {
        "resource_type": "topic",
        "pattern_type": "literal",
        "resource_name": "orders",
        "principal": "User:app",
        "host": "*",
        "operation": "Read",
        "permission": "Allow",
        **fields,
    }
    with pytest.raises(InvalidInput) as refused:
        acl_entry(**acl)
    assert field in refused.value.field_errors


def test_presets_expand_to_what_kafka_acls_grants_producers_and_consumers(world) -> None:
    from access.acls import AclEntry, preset_entries
    from clusters.errors import InvalidInput

    producer = preset_entries(preset="producer", principal="User:app", topic_prefix="orders-")
    assert {(e.resource_type, e.pattern_type, e.resource_name, e.operation) for e in producer} == {
        ("topic", "prefixed", "orders-", "Write"),
        ("topic", "prefixed", "orders-", "Describe"),
        ("topic", "prefixed", "orders-", "Create"),
    }
    consumer = preset_entries(
        preset="consumer", principal="User:app", topic_prefix="orders-", group="billing"
    )
    assert {(e.resource_type, e.pattern_type, e.resource_name, e.operation) for e in consumer} == {
        ("topic", "prefixed", "orders-", "Read"),
        ("topic", "prefixed", "orders-", "Describe"),
        ("group", "literal", "billing", "Read"),
    }
    assert all(e.permission == "Allow" and e.host == "*" for e in producer + consumer)
    assert [AclEntry.from_id(e.id) for e in consumer] == consumer
    with pytest.raises(InvalidInput) as no_group:
        preset_entries(preset="consumer", principal="User:app", topic_prefix="orders-")
    assert "group" in no_group.value.field_errors
    with pytest.raises(InvalidInput):
        preset_entries(preset="admin", principal="User:app", topic_prefix="orders-")
    with pytest.raises(InvalidInput):
        AclEntry.from_id("not-an-id")


def test_read_only_actors_change_nothing(world) -> None:
    from access.acls import acl_entry
    from clusters.actors import PermissionDenied

    user, _password = world.services.kafka_user_create(
        actor=world.writer, cluster=world.cluster, name=f"ro-{world.suffix}"
    )
    entry = acl_entry("topic", "literal", "t", user.principal, "*", "Read", "Allow")
    attempts = [
        lambda: world.services.kafka_user_create(
            actor=world.reader, cluster=world.cluster, name="other"
        ),
        lambda: world.services.kafka_user_rotate(
            actor=world.reader, cluster=world.cluster, user=user
        ),
        lambda: world.services.kafka_user_delete(
            actor=world.reader, cluster=world.cluster, user=user
        ),
        lambda: world.services.acls_create(
            actor=world.reader, cluster=world.cluster, entries=[entry]
        ),
        lambda: world.services.acl_delete(actor=world.reader, cluster=world.cluster, entry=entry),
        lambda: world.services.firewall_rule_add(
            actor=world.reader, cluster=world.cluster, cidr="10.0.0.0/8"
        ),
        lambda: world.services.firewall_rule_delete(
            actor=world.reader, cluster=world.cluster, cidr="10.0.0.0/8"
        ),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            attempt()
    assert [u.name for u in world.selectors.kafka_users_of(world.cluster)] == [user.name]
    assert [e.action for e in world.audit()] == ["kafka_user.create"]
    world.cluster.refresh_from_db()
    assert world.cluster.allowed_cidrs == []


# --- on a real broker -----------------------------------------------------------------------------------


def test_a_new_user_logs_in_with_its_one_time_password_until_it_is_rotated(world) -> None:
    from access import kafka

    name = f"app-{world.suffix}"
    user, password = world.services.kafka_user_create(
        actor=world.writer, cluster=world.cluster, name=name
    )
    assert len(password) >= 32
    assert user.mechanisms == list(MECHANISMS)
    assert kafka.scram_mechanisms_of(world.cluster, name) == set(MECHANISMS)
    for mechanism in MECHANISMS:
        assert logs_in(sasl_client(world.broker.clients, name, password, mechanism))
    assert not logs_in(sasl_client(world.broker.clients, name, password + "x", MECHANISMS[0]))

    rotated = world.services.kafka_user_rotate(actor=world.writer, cluster=world.cluster, user=user)
    assert rotated != password and len(rotated) >= 32
    for mechanism in MECHANISMS:
        assert not logs_in(sasl_client(world.broker.clients, name, password, mechanism))
        assert logs_in(sasl_client(world.broker.clients, name, rotated, mechanism))

    # Nothing the control plane keeps holds either password.
    stored = json.dumps(
        list(world.KafkaUser.objects.filter(pk=user.pk).values())
        + [{"details": e.details, "name": e.object_name} for e in world.audit()],
        default=str,
    )
    assert password not in stored and rotated not in stored
    events = world.audit()
    assert [e.action for e in events] == ["kafka_user.create", "kafka_user.rotate"]
    assert all(e.actor == "user:writer" and e.details["user"] == name for e in events)

    with pytest.raises(Exception) as taken:
        world.services.kafka_user_create(actor=world.writer, cluster=world.cluster, name=name)
    assert getattr(taken.value, "code", "") == "conflict"


def test_acls_grant_exactly_what_they_say_and_go_with_their_user(world) -> None:
    from django.http import Http404

    from access import kafka
    from access.acls import acl_entry, preset_entries
    from clusters.errors import InvalidInput

    name = f"producer-{world.suffix}"
    user, password = world.services.kafka_user_create(
        actor=world.writer, cluster=world.cluster, name=name, mechanisms=["SCRAM-SHA-512"]
    )
    client = sasl_client(world.broker.clients, name, password, "SCRAM-SHA-512")
    prefix = f"orders-{world.suffix}-"
    assert produce(client, f"{prefix}a").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    entries = preset_entries(preset="producer", principal=user.principal, topic_prefix=prefix)
    world.services.acls_create(
        actor=world.writer, cluster=world.cluster, entries=entries, preset="producer"
    )
    held = [e for e in world.selectors.acls_of(world.cluster) if e.principal == user.principal]
    assert sorted(held, key=lambda e: e.operation) == sorted(entries, key=lambda e: e.operation)
    assert produce(client, f"{prefix}a") is None
    assert produce(client, f"elsewhere-{world.suffix}").code() == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED
    )

    # ACLs name users of this cluster only.
    stranger = acl_entry("topic", "literal", "t", "User:stranger", "*", "Read", "Allow")
    with pytest.raises(InvalidInput) as refused:
        world.services.acls_create(actor=world.writer, cluster=world.cluster, entries=[stranger])
    assert "principal" in refused.value.field_errors

    write = next(e for e in entries if e.operation == "Write")
    world.services.acl_delete(actor=world.writer, cluster=world.cluster, entry=write)
    assert write not in world.selectors.acls_of(world.cluster)
    assert produce(client, f"{prefix}b").code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    with pytest.raises(Http404):
        world.services.acl_delete(actor=world.writer, cluster=world.cluster, entry=write)

    removed = world.services.kafka_user_delete(actor=world.writer, cluster=world.cluster, user=user)
    assert removed == 2  # Describe and Create were left
    assert not [e for e in world.selectors.acls_of(world.cluster) if e.principal == user.principal]
    assert kafka.scram_mechanisms_of(world.cluster, name) == set()
    assert not logs_in(client)
    actions = [e.action for e in world.audit()]
    assert actions == ["kafka_user.create", "acl.create", "acl.delete", "kafka_user.delete"]
    assert world.audit()[1].details["preset"] == "producer"


def test_firewall_rules_are_refused_where_the_provider_cannot_enforce_them(world) -> None:
    from clusters.errors import Conflict, InvalidInput

    name = f"fw-{world.suffix}"
    _user, password = world.services.kafka_user_create(
        actor=world.writer, cluster=world.cluster, name=name
    )
    client = sasl_client(world.broker.clients, name, password, "SCRAM-SHA-256")
    for bad in ("10.0.0.1/8", "not a network", "", "10.0.0.0/33"):
        with pytest.raises(InvalidInput) as refused:
            world.services.firewall_rule_add(actor=world.writer, cluster=world.cluster, cidr=bad)
        assert "cidr" in refused.value.field_errors
    # A PLAINTEXT cluster's one listener carries replication too: the local provider refuses rather
    # than keep a rule it cannot apply.
    with pytest.raises(Conflict, match="SASL_SSL"):
        world.services.firewall_rule_add(
            actor=world.writer, cluster=world.cluster, cidr="10.0.0.0/8", description="office"
        )
    world.cluster.refresh_from_db()
    assert world.cluster.allowed_cidrs == []
    assert list(world.selectors.firewall_of(world.cluster)) == []
    assert not [e for e in world.audit() if e.action.startswith("firewall.")]
    assert logs_in(client)


# --- the API in this process: tokens, scoping, the schema ------------------------------------------------


def api_client(world, read_only: bool = False, organisation=None):
    from django.test import Client

    from clusters.actors import Actor
    from clusters.tokens import api_token_create

    actor = world.writer
    if organisation is not None:
        actor = Actor(organisation=organisation, label="user:other", can_write=True)
    _token, secret = api_token_create(
        actor=actor, name=f"t-{uuid.uuid4().hex[:6]}", read_only=read_only
    )
    return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_the_api_scopes_reads_and_writes_and_shows_a_password_once(world) -> None:
    from clusters.models import Organisation

    base = f"/api/v1/clusters/{world.cluster.pk}"
    writer = api_client(world)
    created = writer.post(f"{base}/users/", {"name": f"api-{world.suffix}"}, "application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert len(body["password"]) >= 32 and body["principal"] == f"User:api-{world.suffix}"
    listed = writer.get(f"{base}/users/").json()["results"]
    assert [u["name"] for u in listed] == [f"api-{world.suffix}"]
    assert "password" not in listed[0] and body["password"] not in json.dumps(listed)
    invalid = writer.post(f"{base}/users/", {"name": "no spaces"}, "application/json")
    assert invalid.status_code == 400 and invalid.json()["code"] == "invalid"
    assert "name" in invalid.json()["errors"]

    reader = api_client(world, read_only=True)
    assert reader.get(f"{base}/users/").status_code == 200
    assert reader.get(f"{base}/firewall/").status_code == 200
    assert reader.get(f"{base}/acls/").status_code == 200
    for method, path, data in [
        ("post", f"{base}/users/", {"name": "nope"}),
        ("post", f"{base}/users/api-{world.suffix}/rotate/", {}),
        ("delete", f"{base}/users/api-{world.suffix}/", None),
        ("post", f"{base}/firewall/", {"cidr": "10.0.0.0/8"}),
        ("post", f"{base}/acls/presets/", {"preset": "producer"}),
    ]:
        answer = getattr(reader, method)(path, data, "application/json")
        assert answer.status_code == 403, (path, answer.content)

    other = Organisation.objects.create(name=f"other-{world.suffix}")
    stranger = api_client(world, organisation=other)
    for path in ("users/", f"users/api-{world.suffix}/", "acls/", "firewall/"):
        assert stranger.get(f"{base}/{path}").status_code == 404
    assert stranger.post(f"{base}/users/", {"name": "x1"}, "application/json").status_code == 404
    changes = [e.action for e in world.audit() if not e.action.startswith("token.")]
    assert changes == ["kafka_user.create"]

    schema = writer.get("/api/schema/", {"format": "json"}).json()
    for path in (
        "/api/v1/clusters/{cluster_id}/users/",
        "/api/v1/clusters/{cluster_id}/users/{name}/rotate/",
        "/api/v1/clusters/{cluster_id}/acls/",
        "/api/v1/clusters/{cluster_id}/acls/presets/",
        "/api/v1/clusters/{cluster_id}/acls/{acl_id}/",
        "/api/v1/clusters/{cluster_id}/firewall/",
        "/api/v1/clusters/{cluster_id}/firewall/{cidr}/",
    ):
        assert path in schema["paths"], path


# --- end to end: a SASL_SSL cluster built by the platform -------------------------------------------------


def cli(platform: Platform, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "apiclient.cli",
            "--quiet",
            "--url",
            platform.url,
            "--token",
            token,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_acls_and_firewall_on_a_real_cluster(
    platform: Platform, tenant: dict[str, str], tmp_path: Path
) -> None:
    name = f"acc-{uuid.uuid4().hex[:6]}"
    api = httpx.Client(
        base_url=f"{platform.url}/api/v1",
        headers={"Authorization": f"Bearer {tenant['token']}"},
        timeout=60,
    )
    created = api.post("/clusters/", json=cluster_payload(name, security_protocol="SASL_SSL"))
    assert created.status_code == 202, created.text
    cluster_id = created.json()["cluster"]["id"]
    try:
        built = platform.wait_operation(api, created.json()["operation"]["id"], timeout=300)
        assert built["state"] == "succeeded", platform.describe_failure()
        cluster = api.get(f"/clusters/{cluster_id}/").json()
        ca_file = tmp_path / "ca.pem"
        ca = api.get(f"/clusters/{cluster_id}/ca.pem")
        assert ca.status_code == 200, ca.text
        ca_file.write_text(ca.text)

        def client(user: str, password: str) -> dict[str, Any]:
            return {
                "bootstrap.servers": cluster["bootstrap_servers"],
                "security.protocol": "SASL_SSL",
                "sasl.mechanism": "SCRAM-SHA-512",
                "sasl.username": user,
                "sasl.password": password,
                "ssl.ca.location": str(ca_file),
            }

        for topic in ("orders-eu", "orders-us", "payments"):
            made = api.post(f"/clusters/{cluster_id}/topics/", json={"name": topic})
            assert made.status_code == 201, made.text

        # A user from the CLI: the password is all its standard output.
        made = cli(platform, tenant["token"], "users", "create", name, "shop")
        assert made.returncode == 0, made.stderr
        password = made.stdout.strip()
        assert len(password) >= 32
        preset = api.post(
            f"/clusters/{cluster_id}/acls/presets/",
            json={"preset": "producer", "principal": "User:shop", "topic_prefix": "orders-"},
        )
        assert preset.status_code == 201, preset.text
        listed = cli(platform, tenant["token"], "acls", "list", name, "--json")
        assert {(a["principal"], a["operation"]) for a in json.loads(listed.stdout)} >= {
            ("User:shop", "Write"),
            ("User:shop", "Describe"),
        }

        assert produce(client("shop", password), "orders-eu") is None
        assert produce(client("shop", password), "payments").code() == (
            KafkaError.TOPIC_AUTHORIZATION_FAILED
        )

        rotated = api.post(f"/clusters/{cluster_id}/users/shop/rotate/")
        assert rotated.status_code == 200, rotated.text
        new_password = rotated.json()["password"]
        assert not logs_in(client("shop", password))
        assert produce(client("shop", new_password), "orders-eu") is None

        # The firewall: a network without 127.0.0.1 keeps the client out, adding it lets it in.
        closed = api.post(
            f"/clusters/{cluster_id}/firewall/", json={"cidr": "10.0.0.0/8", "description": "vpn"}
        )
        assert closed.status_code == 201, closed.text
        wait_until(lambda: not logs_in(client("shop", new_password)), timeout=30)
        # The control plane still reaches the cluster (over its own mutual-TLS listener).
        assert api.get(f"/clusters/{cluster_id}/acls/").status_code == 200
        opened = cli(platform, tenant["token"], "firewall", "allow", name, "127.0.0.0/8")
        assert opened.returncode == 0, opened.stderr
        wait_until(lambda: logs_in(client("shop", new_password)), timeout=30)
        assert produce(client("shop", new_password), "orders-us") is None
        revoked = cli(platform, tenant["token"], "firewall", "revoke", name, "10.0.0.0/8")
        assert revoked.returncode == 0, revoked.stderr
        rules = api.get(f"/clusters/{cluster_id}/firewall/").json()["results"]
        assert [r["cidr"] for r in rules] == ["127.0.0.0/8"]
        # The last network stays (allow 0.0.0.0/0 explicitly for any address); no duplicates.
        last = api.delete(f"/clusters/{cluster_id}/firewall/127.0.0.0/8/")
        assert last.status_code == 409, last.text
        again = api.post(f"/clusters/{cluster_id}/firewall/", json={"cidr": "127.0.0.0/8"})
        assert again.status_code == 409, again.text
        assert logs_in(client("shop", new_password))

        actions = [
            e["action"]
            for e in api.get("/audit/").json()["results"]
            if e["object_id"] == cluster_id
        ]
        for action in (
            "kafka_user.create",
            "acl.create",
            "kafka_user.rotate",
            "firewall.allow",
            "firewall.revoke",
        ):
            assert action in actions
        audit_text = api.get("/audit/").text
        assert password not in audit_text and new_password not in audit_text
    finally:
        deleted = api.delete(f"/clusters/{cluster_id}/", params={"confirm_name": name})
        assert deleted.status_code == 202, deleted.text
        platform.wait_operation(api, deleted.json()["id"])
