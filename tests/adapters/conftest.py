"""What the dashboard tests share: a history store, and one filled with a replayed night."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integration.adapters.store import Store
from tests.browser.history import ReplayedNight, fill


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "history.db")
    yield store
    await store.close()


@pytest.fixture
async def night(store: Store) -> ReplayedNight:
    return await fill(store)
