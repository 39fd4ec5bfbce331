"""`smart-bedroom check` on broken YAML: the line to edit and a sentence, not the parser's words.

Each case breaks one line of a real config file; `check` must exit 1 with exactly
`file:line: YAML syntax: <sentence>`, and `run` must refuse the file with the same line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_runs import check, run

CONFIG = """\
timezone: Europe/London
homeassistant:
  enabled: false
dashboard:
  enabled: false
mqtt:
  host: 127.0.0.1
  username: bedroom
rooms:
  - id: bedroom
    name: Bedroom
    sensors:
      - id: temp
        kind: temperature
        topic: zigbee2mqtt/bedroom_climate
        unit: C
      - id: bed
        kind: motion
        topic: 'bed/accel'
        rate_hz: 50
"""

# The parser's own vocabulary: none of it may reach a person.
RAW_WORDING = (
    "while parsing",
    "while scanning",
    "while constructing",
    "expected <block end>",
    "<block mapping start>",
    "<block sequence start>",
    "<scalar>",
    "cannot start any token",
    "mapping values are not allowed",
    "could not find expected",
    "found duplicate key",
    "Traceback",
)

INDENT = "the indentation does not line up with the lines above"

# name: (the line as in CONFIG, what it becomes, the line to report, the sentence after it)
CASES: dict[str, tuple[str, str, int, str]] = {
    "indent-less-than-siblings": (
        "        unit: C\n",
        "       unit: C\n",
        16,
        f"{INDENT} (line 16 is indented 7 spaces, line 15 above it 8)",
    ),
    "indent-more-than-siblings": (
        "        topic: 'bed/accel'\n",
        "         topic: 'bed/accel'\n",
        19,
        f"{INDENT} (line 19 is indented 9 spaces, line 18 above it 8)",
    ),
    "indent-under-a-list-item": (
        "    name: Bedroom\n",
        "   name: Bedroom\n",
        11,
        f"{INDENT} (line 11 is indented 3 spaces, line 10 above it 4, counting its '- ')",
    ),
    "tab-indent": (
        "        unit: C\n",
        "\tunit: C\n",
        16,
        "a tab is used to indent this line; YAML indents with spaces only",
    ),
    "tab-after-spaces": (
        "        unit: C\n",
        "      \t  unit: C\n",
        16,
        "a tab is used to indent this line; YAML indents with spaces only",
    ),
    "double-quote-never-closed": (
        "    name: Bedroom\n",
        '    name: "Bedroom\n',
        11,
        'the quote " opened on this line is never closed',
    ),
    "single-quote-closed-lines-later": (
        "    name: Bedroom\n",
        "    name: 'Bedroom\n",
        11,
        "the quote ' opened on this line is only closed on line 19; close it on this line",
    ),
    "bracket-never-closed": (
        "        topic: zigbee2mqtt/bedroom_climate\n",
        "        topic: [zigbee2mqtt/bedroom_climate\n",
        15,
        "the [ opened on this line is not closed by a ] before line 16",
    ),
    "brace-never-closed": (
        "        topic: zigbee2mqtt/bedroom_climate\n",
        "        topic: {zigbee2mqtt/bedroom_climate\n",
        15,
        "the { opened on this line is not closed by a } before line 16",
    ),
    "closing-bracket-without-opening": (
        "        rate_hz: 50\n",
        "        rate_hz: [50]]\n",
        20,
        "a closing ] with no opening one before it",
    ),
    "key-value-value": (
        "        unit: C\n",
        "        unit: C: F\n",
        16,
        "a second ': ' on one line (like `key: value: value`); a value that holds ': ' must be "
        'put in quotes, like key: "a: b"',
    ),
    "duplicate-key": (
        "        unit: C\n",
        "        unit: C\n        kind: humidity\n",
        17,
        "the key 'kind' is given twice in the same block (first on line 14); keep one",
    ),
    "no-colon": (
        "    name: Bedroom\n",
        "    name Bedroom\n",
        11,
        "this line is neither `key: value` nor a list item `- …` (a colon missing?)",
    ),
    "no-space-after-colon": (
        "  host: 127.0.0.1\n",
        "  host:127.0.0.1\n",
        7,
        "no space after the colon: write `key: value`, not `key:value`",
    ),
    "list-item-among-keys": (
        "mqtt:\n",
        "- mqtt:\n",
        6,
        "a list item '- ' among the `key: value` lines of the block that starts on line 1; "
        "indent it under its key",
    ),
    "value-starting-with-at": (
        "    name: Bedroom\n",
        "    name: @Bedroom\n",
        11,
        "a value cannot start with '@'; put the value in quotes",
    ),
    "alias-without-anchor": (
        "    name: Bedroom\n",
        "    name: *bedroom\n",
        11,
        "*bedroom refers to no anchor &bedroom defined before it",
    ),
    "second-document": (
        "rooms:\n",
        "---\nrooms:\n",
        9,
        "a second document starts here (after --- or ...); the file holds one",
    ),
    "control-character": (
        "    name: Bedroom\n",
        "    name: Bed\x07room\n",
        11,
        "a control character (code 0x07) that a YAML file cannot hold",
    ),
}


def write(tmp_path: Path, old: str, new: str) -> Path:
    assert CONFIG.count(old) == 1, old
    path = tmp_path / "smart-bedroom.yaml"
    path.write_text(CONFIG.replace(old, new), encoding="utf-8")
    return path


def test_the_unbroken_config_passes(tmp_path: Path) -> None:
    path = write(tmp_path, "rooms:\n", "rooms:\n")
    assert check(path)[0] == 0


@pytest.mark.parametrize(("old", "new", "line", "sentence"), CASES.values(), ids=CASES.keys())
def test_check_names_the_line_to_edit_in_plain_words(
    tmp_path: Path, old: str, new: str, line: int, sentence: str
) -> None:
    path = write(tmp_path, old, new)
    code, err = check(path)
    assert (code, err) == (1, f"{path}:{line}: YAML syntax: {sentence}\n")
    assert not [words for words in RAW_WORDING if words in err]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (*CASES["indent-less-than-siblings"][:2], ":16: YAML syntax: "),
        (
            "        unit: C\n",
            "        unit: kelvinish\n",
            ":16: rooms[0].sensors[0].unit: unit 'kelvinish' does not fit a temperature sensor "
            "(use: C, F)",
        ),
    ],
    ids=["bad-indent", "wrong-unit"],
)
def test_run_refuses_with_the_same_message_as_check(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = write(tmp_path, old, new)
    checked = check(path)
    assert checked[0] == 1
    assert checked[1].startswith(f"{path}{expected}")
    assert run(path) == checked
