"""Broken config and rule files, generated: every one is refused with located problems, none
crashes the loader (YAML is loaded safely, so no tag constructs anything)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.adapters.rulefiles import load_rules
from integration.config import load_config
from integration.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CONFIG_LINES = (REPO / "config" / "smart-bedroom.yaml").read_text(encoding="utf-8").splitlines()
RULE_FILES = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "rules").glob("*.yaml")}
# What typing mistakes and hostile files put in YAML.
JUNK = st.sampled_from(
    [
        "",
        "  ",
        "-",
        ":",
        "- - -",
        "{",
        "]",
        "'",
        '"',
        "!!python/object/apply:os.system ['true']",
        "&a [*a]",
        "*undefined",
        "null",
        "~",
        "1e999",
        "-127",
        "NaN",
        "\t",
        "é",
        "\x00",
        "key: value: other",
        "rooms: 7",
        "low: 30",
        "topic: a/#/b",
        "id: Bad Id",
        "<script>alert(1)</script>",
    ]
)


@st.composite
def mutated(draw: st.DrawFn, lines: list[str]) -> str:
    """A real file with a few lines deleted, duplicated or replaced by junk."""
    out = list(lines)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, max(0, len(out) - 1)))
        match draw(st.sampled_from(["delete", "duplicate", "junk", "append-junk"])):
            case "delete" if out:
                del out[where]
            case "duplicate" if out:
                out.insert(where, out[where])
            case "junk" if out:
                out[where] = draw(JUNK)
            case _:
                out.insert(where, out[where] + " " + draw(JUNK) if out else draw(JUNK))
    return "\n".join(out) + "\n"


def refused_or_loaded(load: Callable[[], object]) -> None:
    """The loader either returns or raises ConfigError whose problems each name their file."""
    problems = []
    try:
        load()
    except ConfigError as err:
        problems = err.problems
        assert problems
    assert all(problem.path is not None and problem.message for problem in problems)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated(CONFIG_LINES))
def test_a_broken_config_is_refused_not_crashed_on(text: str) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "smart-bedroom.yaml"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        refused_or_loaded(lambda: load_config(path))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(RULE_FILES)),
    data=st.data(),
)
def test_a_broken_rule_file_is_refused_not_crashed_on(name: str, data: st.DataObject) -> None:
    text = data.draw(mutated(RULE_FILES[name].splitlines()))
    with tempfile.TemporaryDirectory() as workdir:
        rules = Path(workdir)
        for other, content in RULE_FILES.items():
            (rules / other).write_text(content, encoding="utf-8")
        (rules / name).write_text(text, encoding="utf-8")
        refused_or_loaded(lambda: load_rules(rules))


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_at_all_is_refused_not_crashed_on(text: str) -> None:
    with tempfile.TemporaryDirectory() as workdir:
        path = Path(workdir) / "smart-bedroom.yaml"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        refused_or_loaded(lambda: load_config(path))
