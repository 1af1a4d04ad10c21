from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.django_db import django_database
from tests.support.moto_server import MotoServer
from tests.support.platform import Platform


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The control plane (database, web server, Celery worker) shared by this session's tests."""
    started = Platform(Path(tmp_path_factory.mktemp("platform"))).start()
    yield started
    started.stop()


@pytest.fixture
def tenant(platform: Platform) -> dict[str, str]:
    """A fresh organisation with an owner who can sign in and a read-write API token."""
    suffix = uuid.uuid4().hex[:8]
    password = f"pw-{uuid.uuid4().hex}"
    username = f"owner-{suffix}"
    token = platform.tenant(f"org-{suffix}", username, password=password)
    return {
        "organisation": f"org-{suffix}",
        "username": username,
        "password": password,
        "token": token,
    }


def cluster_payload(name: str, brokers: int = 1, **extra: object) -> dict[str, object]:
    """A small local cluster. PLAINTEXT unless `extra` says otherwise: tests that are not about
    security drive plain Kafka clients against it."""
    return {
        "name": name,
        "provider": "local",
        "region": "local",
        "node_size": "dev-small",
        "broker_count": brokers,
        "zookeeper_count": 1,
        "default_replication_factor": min(3, brokers),
        "security_protocol": "PLAINTEXT",
        **extra,
    }


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """moto's AWS stand-in as a server process on loopback, shared by this session's tests."""
    server = MotoServer(Path(tmp_path_factory.mktemp("moto"))).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Django configured in this process on a migrated database of its own, for tests that call
    services and models directly; yields the database's name."""
    with django_database(Path(tmp_path_factory.mktemp("django-var"))) as database:
        yield database
