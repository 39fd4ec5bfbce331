"""The add-on's tests: a fake Supervisor on a free loopback port, the add-on's folders in tmp."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from tests.addon.fake_supervisor import FakeSupervisor


@pytest.fixture
async def supervisor() -> AsyncIterator[FakeSupervisor]:
    fake = FakeSupervisor()
    fake.server = TestServer(fake.app(), host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The add-on's /data: the options the Supervisor writes, and the history."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def addon_config(tmp_path: Path) -> Path:
    """The add-on's /config: the user's addon_configs/…_smart_bedroom folder."""
    path = tmp_path / "addon_config"
    path.mkdir()
    return path
