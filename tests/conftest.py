from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.broker import BrokerProcess

_names = itertools.count()


@pytest.fixture
def make_broker(tmp_path: Path) -> Iterator[Callable[..., BrokerProcess]]:
    """Factory for real broker processes in this test's temp dir; all are stopped afterwards."""
    started: list[BrokerProcess] = []

    def make(overrides: dict[str, object] | None = None, broker_id: int = 0) -> BrokerProcess:
        broker = BrokerProcess(
            tmp_path / f"broker-{broker_id}-{len(started)}", overrides, broker_id
        )
        started.append(broker)
        return broker.start()

    yield make
    for broker in started:
        broker.kill()


@pytest.fixture
def broker(make_broker: Callable[..., BrokerProcess]) -> BrokerProcess:
    return make_broker()


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A topic name unique to the test."""
    return f"{re.sub(r'[^a-zA-Z0-9._-]', '.', request.node.name)[:180]}.{next(_names)}"
