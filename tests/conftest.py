"""Shared fixtures: a private Mosquitto per session, a unique topic per test, a fake HA."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp.test_utils import TestServer

from tests.fake_ha import FakeHomeAssistant
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


@pytest.fixture
async def fake_ha() -> AsyncIterator[FakeHomeAssistant]:
    """A small aiohttp server speaking HA's REST shapes, on a free loopback port."""
    ha = FakeHomeAssistant()
    ha.server = TestServer(ha.app(), host="127.0.0.1")
    await ha.server.start_server()
    yield ha
    ha.release()  # ends any trickling or hanging answer
    await ha.server.close()
