"""Hostile YAML is refused at file:line before it is expanded: deep nesting, alias bombs, loops."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from integration.adapters.rulefiles import LiveRules, load_rules
from integration.config import load_config
from integration.errors import ConfigError
from integration.yamlfile import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES

# A few hundred bytes that stand for 9^9 (~387 million) strings once the aliases are expanded.
ALIAS_BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{name}: &{name} [{','.join(['*' + before] * 9)}]\n"
    for before, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_a_rule_file_nested_300_deep_is_refused_on_reload_and_the_last_rules_kept(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "detection.yaml").write_text("detection:\n  onset_ratio: 3.0\n", encoding="utf-8")
    live = LiveRules(rules)
    assert live.load() is not None
    (rules / "detection.yaml").write_text(
        "detection:\n  onset_ratio: 3.0\nbad: " + "[" * 300 + "]" * 300 + "\n", encoding="utf-8"
    )
    assert live.reload() is None
    assert live.reload_failures == 1
    assert live.problems == [
        f"{rules / 'detection.yaml'}:3: YAML refused: nested deeper than {MAX_DEPTH} levels"
    ]


def test_an_alias_bomb_in_the_config_is_refused_at_its_line_without_expanding_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(ALIAS_BOMB, encoding="utf-8")
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as refused:
            load_config(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (problem,) = refused.value.problems
    assert (problem.path, problem.line) == (path, 6)  # where it crosses the bound
    assert f"more than {MAX_NODES} values once its aliases are expanded" in problem.message
    assert peak < 20_000_000  # the bomb expanded would be gigabytes


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "loop.yaml").write_text("detection:\n  x: &x [1, *x]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_rules(rules)
    assert [p.line for p in refused.value.problems] == [2]
    assert "used inside its own anchor" in refused.value.problems[0].message


def test_aliases_a_person_writes_still_load(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "a.yaml").write_text("detection: &d\n  onset_ratio: 3.5\n", encoding="utf-8")
    assert load_rules(rules).detection.onset_ratio == 3.5


def test_a_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="larger than"):
        load_config(path)
