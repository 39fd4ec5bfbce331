"""Nesting and aliases, generated: every file loads or is refused with a located ConfigError.

Inputs stay small (hundreds of bytes), so a file that expanded anything before the bounds were
checked would show up as memory and time the suite does not have.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integration.adapters.rulefiles import load_rules
from integration.config import load_config
from integration.errors import ConfigError, Problem
from integration.yamlfile import read_yaml

SUITE = settings(max_examples=60, derandomize=True, deadline=None)


@st.composite
def nested(draw: st.DrawFn) -> str:
    """Flow and block nesting of any depth up to twice the bound, maybe unbalanced."""
    depth = draw(st.integers(0, 120))
    style = draw(st.sampled_from(["flow-seq", "flow-map", "block", "mixed"]))
    if style == "flow-seq":
        text = "[" * depth + "1" + "]" * draw(st.integers(0, depth))
    elif style == "flow-map":
        text = "{a: " * depth + "1" + "}" * draw(st.integers(0, depth))
    elif style == "block":
        text = "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "v\n"
    else:
        text = "- " * depth + "[{x: " * (depth // 2) + "1" + "}]" * (depth // 2)
    return "detection:\n  x: " + text + "\n" if draw(st.booleans()) else text


@st.composite
def aliases(draw: st.DrawFn) -> str:
    """Chains of anchors, each level repeating the one before, some looping back on themselves."""
    width = draw(st.integers(1, 12))
    levels = draw(st.integers(1, 10))
    lines = [f"l0: &l0 [{','.join(['x'] * width)}]"]
    for level in range(1, levels):
        refs = [f"*l{draw(st.integers(0, level))}" for _ in range(width)]  # *l{level}: a loop
        lines.append(f"l{level}: &l{level} [{','.join(refs)}]")
    if draw(st.booleans()):
        lines.append("merged: {<<: *l0}")
    return "\n".join(lines) + "\n"


def problems_of(load: Callable[[], object]) -> list[Problem] | None:
    """None when `load` returns; the problems of its ConfigError (any other exception fails)."""
    try:
        load()
    except ConfigError as err:
        return err.problems
    return None


def refused_at_a_line_or_loaded(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.yaml"
        path.write_text(text, encoding="utf-8")
        rules = Path(folder) / "rules"
        rules.mkdir()
        (rules / "file.yaml").write_text(text, encoding="utf-8")
        loads = (
            (path, lambda: read_yaml(path)),
            (path, lambda: load_config(path)),
            (rules / "file.yaml", lambda: load_rules(rules)),
        )
        for where, load in loads:
            problems = problems_of(load)
            if problems is not None:
                assert problems
                assert all(p.path == where and p.message for p in problems)


@SUITE
@given(nested())
def test_nesting_of_any_depth_is_loaded_or_refused_with_its_line(text: str) -> None:
    refused_at_a_line_or_loaded(text)


@SUITE
@given(aliases())
def test_alias_chains_are_loaded_or_refused_with_their_line(text: str) -> None:
    refused_at_a_line_or_loaded(text)


@SUITE
@given(st.integers(51, 400), st.sampled_from(["[", "{a: ", "- "]))
def test_nesting_past_the_bound_is_always_refused_with_a_line(depth: int, opener: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file.yaml"
        path.write_text(opener * depth + "1\n", encoding="utf-8")
        with pytest.raises(ConfigError) as refused:
            read_yaml(path)
        assert all(p.line is not None for p in refused.value.problems)
