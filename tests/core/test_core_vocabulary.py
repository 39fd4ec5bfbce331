"""The core speaks intents: no Home Assistant service, entity domain or ON/OFF payload in it."""

from __future__ import annotations

import ast
from collections.abc import Set
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "integration" / "core"
FORBIDDEN = (
    "climate.",
    "persistent_notification",
    "turn_on",
    "turn_off",
    "notify.",
    '"ON"',
    '"OFF"',
)
# The rule-file schema of the user's own HA actions: it checks and explains what the user
# writes (a service like fan.turn_on, a notify.* service), which is data, never emitted by us.
USER_RULE_SCHEMA = {"automations.py": ("HaServiceAction", "NotifyAction")}
# What a simulated device puts on the wire (an ESPHome binary sensor's ON/OFF): device data the
# simulator renders for the parsers, never a command of ours.
DEVICE_WIRE_FORMATS = {"simulation/night.py": ("_EsphomeBinarySensor",)}


def _schema_lines(path: Path) -> set[int]:
    """Lines of the classes `USER_RULE_SCHEMA` allows in `path`."""
    relative = str(path.relative_to(CORE))
    names = USER_RULE_SCHEMA.get(relative, ()) + DEVICE_WIRE_FORMATS.get(relative, ())
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        line
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and node.name in names
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }


def _hits(path: Path, allowed: Set[int] = frozenset()) -> list[str]:
    """`line: word` for every forbidden word in `path` outside the `allowed` lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        f"{number}: {word}"
        for number, line in enumerate(lines, start=1)
        for word in FORBIDDEN
        if word in line and number not in allowed
    ]


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_names_no_home_assistant_service_or_payload(path: Path) -> None:
    assert _hits(path, _schema_lines(path)) == []


def test_the_check_finds_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('ACTION = "climate.set_temperature"\nSTATE = "ON"  # notify.x\n', "utf-8")
    assert _hits(sample) == ["1: climate.", "2: notify.", '2: "ON"']
