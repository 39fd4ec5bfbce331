"""Every service under test keeps its history store in the test's own directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _history_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The config's default store path is relative: run from a fresh directory per test.
    monkeypatch.chdir(tmp_path)
