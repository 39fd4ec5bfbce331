"""Shared fixtures: a private Mosquitto per test session and a unique topic per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.mosquitto import Mosquitto


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A running private broker; tests that stop it must start it again."""
    broker = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def unique_topic() -> str:
    """A topic prefix no other test publishes under, so retained messages never leak."""
    return f"smart-bedroom-test/{uuid.uuid4().hex}"
