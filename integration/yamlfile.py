"""Load a YAML file into a pydantic model, reporting every problem as `file:line: field: message`.

ruamel.yaml keeps the line of every key and item, so pydantic's error `loc` can be walked back
to the line a person has to edit. Loading is safe: no YAML tag constructs Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.tokens import ScalarToken

from integration.errors import ConfigError, Problem

ModelT = TypeVar("ModelT", bound=BaseModel)

# A rule or config file larger than this is certainly not hand-written; refuse before parsing.
MAX_FILE_BYTES = 1_000_000
# Bounds checked while composing, before anything is constructed, expanded or validated: our
# files nest a handful of levels, and a file holds a few thousand values at most. Deeper nesting
# would exhaust the recursion of whatever walks the tree; aliases can make a few hundred bytes
# stand for billions of values (the "billion laughs"), so what aliases expand to is counted.
MAX_DEPTH = 50
MAX_NODES = 100_000


def read_yaml(path: Path, text: str | None = None) -> Any:
    """Parse YAML with line marks; raise ConfigError located at the syntax error."""
    try:
        if text is None:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise ConfigError([Problem(path, None, "", f"larger than {MAX_FILE_BYTES} bytes")])
            text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError([Problem(path, None, "", f"cannot read: {err}")]) from err
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError([Problem(path, None, "", f"larger than {MAX_FILE_BYTES} bytes")])
    yaml = YAML(typ="rt", pure=True)
    yaml.Composer = BoundedComposer
    try:
        return yaml.load(text)
    except YamlBoundError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Problem(path, line, "", f"YAML refused: {err.problem}")]) from err
    except MarkedYAMLError as err:
        line, message = syntax_problem(err, text)
        raise ConfigError([Problem(path, line, "", f"YAML syntax: {message}")]) from err
    except ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        message = f"a control character (code {err.character:#04x}) that a YAML file cannot hold"
        raise ConfigError([Problem(path, line, "", f"YAML syntax: {message}")]) from err
    except YAMLError as err:
        raise ConfigError([Problem(path, None, "", f"YAML syntax: {err}")]) from err


def syntax_problem(err: MarkedYAMLError, text: str) -> tuple[int | None, str]:
    """The line to edit and a plain sentence for a YAML scanner, parser or composer error.

    The parser's own words ("while parsing a block mapping expected <block end>, but found
    '<block mapping start>'") name its state, not the mistake; the common mistakes are told
    apart here from the marks and the text around them. The line is where the fix goes: the
    offending line (the problem mark), but for a quote or bracket never closed, where it opens.
    """
    rows = text.splitlines()
    problem, context = str(err.problem or ""), str(err.context or "")
    pm, cm = err.problem_mark, err.context_mark
    if pm is None:
        return (cm.line + 1 if cm is not None else None), _plain_parser_words(problem)
    line, column = pm.line + 1, pm.column
    row = rows[pm.line] if pm.line < len(rows) else ""
    opened = cm.line + 1 if cm is not None else None

    quoted = _quote_left_open(text, rows, pm.line)
    if quoted is not None and not isinstance(err, DuplicateKeyError):
        start, end, quote = quoted
        return start, (
            f"the quote {quote} opened on this line is only closed on line {end}; "
            "close it on this line"
        )
    if isinstance(err, DuplicateKeyError):
        key = row[column:].split(":", 1)[0].strip().strip("\"'")
        first = _first_key_line(rows, key, column, cm.line if cm is not None else 0, pm.line)
        where = f"first on line {first}" if first else f"in the block that starts on line {opened}"
        return line, f"the key {key!r} is given twice in the same block ({where}); keep one"
    if problem == "mapping values are not allowed here":
        if re.search(r":(\s|$)", row[:column]):
            return line, (
                "a second ': ' on one line (like `key: value: value`); a value that holds "
                "': ' must be put in quotes, like key: \"a: b\""
            )
        above = _line_above(rows, pm.line)
        deeper = above is not None and _key_column(row) > _key_column(rows[above])
        misaligned = _misaligned(rows, pm.line, above) if deeper and above is not None else None
        if misaligned:
            return line, misaligned
        squeezed = above is not None and re.search(r"\S:\S", rows[above])
        if squeezed and above is not None and not re.search(r":(\s|$)", rows[above]):
            return above + 1, "no space after the colon: write `key: value`, not `key:value`"
        where = f"line {above + 1}" if above is not None else "the line above"
        return line, (
            f"a ': ' here, but the value of {where} goes on into this line (is a space missing "
            f"after a colon on {where}, or a quote left open?)"
        )
    if "cannot start any token" in problem:
        found = re.search(r"found character '(.*)' that", problem)
        char = found.group(1) if found else "?"
        if char == "\\t":
            if not row[:column].strip():
                return line, "a tab is used to indent this line; YAML indents with spaces only"
            return line, "a tab character here; YAML separates with spaces only"
        return line, f"a value cannot start with {char!r}; put the value in quotes"
    if "quoted scalar" in context and cm is not None:
        quote = text[cm.index] if cm.index < len(text) else '"'
        if "end of stream" in problem or "document separator" in problem:
            return opened, f"the quote {quote} opened on this line is never closed"
        if "escape" in problem:
            return line, (
                "an unknown backslash escape inside double quotes; use single quotes, or write "
                "\\\\ for a backslash"
            )
    if "flow sequence" in context or "flow mapping" in context:
        bracket, closer = ("[", "]") if "sequence" in context else ("{", "}")
        got = re.search(r"but got '(.*)'$", problem)
        seen = got.group(1) if got else ""
        if opened is not None and opened != line:
            what = "the end of the file" if seen == "<stream end>" else f"line {line}"
            return (
                opened,
                f"the {bracket} opened on this line is not closed by a {closer} before {what}",
            )
        return line, f"a ',' or the closing {closer} is missing in the {bracket} … {closer} here"
    if "simple key" in context and "expected ':'" in problem and cm is not None:
        return opened, "this line is neither `key: value` nor a list item `- …` (a colon missing?)"
    if problem.startswith("expected <block end>"):
        found = re.search(r"but found '(.*)'$", problem)
        seen = found.group(1) if found else ""
        if seen in {"]", "}"}:
            return line, f"a closing {seen} with no opening one before it"
        if seen == "<scalar>" and column > 0 and row[column - 1] in "\"'":
            return line, "text after a closing quote; put the whole value in the quotes"
        above = _line_above(rows, pm.line)
        if seen == "-" and cm is not None and _indent(row) == cm.column:
            return line, (
                f"a list item '- ' among the `key: value` lines of the block that starts on "
                f"line {opened}; indent it under its key"
            )
        misaligned = _misaligned(rows, pm.line, above) if above is not None else None
        if misaligned:
            return line, misaligned
        return line, (
            f"this line does not fit the block that starts on line {opened} "
            "(check its indentation and colons)"
        )
    if "undefined alias" in problem:
        name = row[column:].lstrip("*").split()[0] if row[column:] else "?"
        return line, f"*{name} refers to no anchor &{name} defined before it"
    if "single document" in context:
        return line, "a second document starts here (after --- or ...); the file holds one"
    return line, _plain_parser_words(problem)


def _quote_left_open(text: str, rows: Sequence[str], index: int) -> tuple[int, int, str] | None:
    """A quoted value running over lines up to the error on row `index`: (opened, closed, quote).

    A quote left open swallows the lines after it up to the next quote; the error then shows
    lines later, where nothing is wrong. Legal YAML, but a config's values fit on one line.
    """
    above = _line_above(rows, index)
    near = index if above is None else above  # the error's line, or the content line above it
    last = None
    try:
        for token in YAML(typ="rt", pure=True).scan(text):
            if token.start_mark.line > index:
                break
            if isinstance(token, ScalarToken) and token.style in {"'", '"'}:
                last = token
    except YAMLError:
        pass
    if last is None or last.start_mark.line == last.end_mark.line or last.end_mark.line < near:
        return None
    return last.start_mark.line + 1, last.end_mark.line + 1, str(last.style)


def _plain_parser_words(problem: str) -> str:
    """A parser problem we have no sentence for, without its tokens' internal names."""
    for seen, words in (
        ("<block end>", "the end of the block"),
        ("<block mapping start>", "a new key"),
        ("<block sequence start>", "a new list"),
        ("<stream end>", "the end of the file"),
        ("<scalar>", "a value"),
    ):
        problem = problem.replace(seen, words)
    return f"not valid YAML here: {problem}"


def _indent(row: str) -> int:
    return len(row) - len(row.lstrip(" "))


def _key_column(row: str) -> int:
    """Where the line's key starts: after its indent and any list dashes (`  - id:` → 4)."""
    column = _indent(row)
    while row.startswith("- ", column) or row[column:] == "-":
        column += 1
        column += _indent(row[column:])
    return column


def _line_above(rows: Sequence[str], index: int) -> int | None:
    """The index of the nearest line above with content (not blank, not only a comment)."""
    for above in range(min(index, len(rows)) - 1, -1, -1):
        stripped = rows[above].strip()
        if stripped and not stripped.startswith("#"):
            return above
    return None


def _misaligned(rows: Sequence[str], index: int, above: int) -> str | None:
    """Why line `index` does not line up with the content line `above` it, or None if it does.

    A list item is measured to its dash, any other line to its key (`  - id:` has its key at 4).
    """
    item = rows[index].lstrip().startswith("-")
    measure = _indent if item else _key_column
    here, there = measure(rows[index]), measure(rows[above])
    if here == there:
        return None
    dashed = ", counting its '- '" if not item and rows[above].lstrip().startswith("-") else ""
    spaces = "space" if here == 1 else "spaces"
    return (
        f"the indentation does not line up with the lines above (line {index + 1} is indented "
        f"{here} {spaces}, line {above + 1} above it {there}{dashed})"
    )


def _first_key_line(rows: Sequence[str], key: str, column: int, start: int, end: int) -> int | None:
    """The 1-based line where `key` first appears at `column` between rows `start` and `end`."""
    for index in range(start, min(end, len(rows))):
        row = rows[index]
        if _key_column(row) == column and re.match(
            rf"[\"']?{re.escape(key)}[\"']?\s*:", row[column:]
        ):
            return index + 1
    return None


class YamlBoundError(ComposerError):
    """A file nested too deeply or expanding to too many values."""


class BoundedComposer(Composer):
    """ruamel's composer, refusing nesting deeper than MAX_DEPTH and more than MAX_NODES values.

    Every node's size counts what it stands for once its aliases are expanded, so an alias bomb
    is refused at the alias that crosses the bound, in time proportional to the file's length.
    An alias inside its own anchor (a loop) is refused too: nothing that walks it would end.
    """

    def compose_document(self) -> Any:
        """One document, with fresh counts."""
        self._open: list[int] = []  # the expanded size of each node being composed so far
        self._sizes: dict[int, int] = {}  # id(node) → expanded size, for finished nodes
        self._total = 0
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        """A node, counted; raises YamlBoundError (with the node's line) past a bound."""
        event = self.parser.peek_event()
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:
                raise YamlBoundError(
                    None,
                    None,
                    f"alias *{event.anchor} is used inside its own anchor",
                    event.start_mark,
                )
            self._count(size, event)
            return node
        if len(self._open) >= MAX_DEPTH:
            raise YamlBoundError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
            )
        self._open.append(0)
        node = super().compose_node(parent, index)
        size = 1 + self._open.pop()
        self._sizes[id(node)] = size
        self._count(size, event)
        return node

    def _count(self, size: int, event: Any) -> None:
        if self._open:
            self._open[-1] += size
        else:
            self._total += size
        if max(self._total, self._open[-1] if self._open else 0) > MAX_NODES:
            raise YamlBoundError(
                None,
                None,
                f"stands for more than {MAX_NODES} values once its aliases are expanded",
                event.start_mark,
            )


class FieldError(ValueError):
    """A model validator's problem that belongs to one field: located at that field's line.

    Pydantic puts what a model validator raises at the model (a sensor's first line, a path
    without the field); `raise FieldError("unit", "…")` puts it at the `unit:` line, under
    `….unit`, and `FieldError(("sensors", 1, "id"), "…")` at the second sensor's id. A check
    that needs one field only is better a field validator: it runs even when others fail.
    """

    def __init__(self, loc: str | int | tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc: tuple[str | int, ...] = loc if isinstance(loc, tuple) else (loc,)


def validate(
    model: type[ModelT], data: Any, path: Path, *, prefix: tuple[str | int, ...] = ()
) -> ModelT:
    """Validate parsed YAML into `model`; every pydantic error becomes a located Problem."""
    try:
        return model.model_validate(plain(data))
    except ValidationError as err:
        raise ConfigError(problems_from(err, data, path, prefix)) from err


# A check run after validation: (where in the file, what is wrong) for each problem it finds.
Check = Callable[[ModelT], Iterable[tuple[Sequence[str | int], str]]]


def load_model(model: type[ModelT], path: Path, checks: Iterable[Check[ModelT]] = ()) -> ModelT:
    """Read and validate one YAML file as a whole; then `checks`, located like pydantic's errors.

    Checks may do I/O (validators never do): reading a secret file, a certificate.
    """
    data = read_yaml(path)
    validated = validate(model, {} if data is None else data, path)
    problems = [
        Problem(path, line_of(data, loc), dotted(loc), message)
        for check in checks
        for loc, message in check(validated)
    ]
    if problems:
        raise ConfigError(problems)
    return validated


def problems_from(
    err: ValidationError, data: Any, path: Path, prefix: tuple[str | int, ...] = ()
) -> list[Problem]:
    """Turn pydantic errors into located, plain-language problems."""
    problems = []
    for detail in err.errors(include_url=False):
        loc = tuple(detail["loc"])
        cause = detail.get("ctx", {}).get("error")
        if isinstance(cause, FieldError):
            loc += cause.loc
        problems.append(
            Problem(
                path=path,
                line=line_of(data, loc),
                field=dotted(prefix + loc),
                message=plain_message(detail),
            )
        )
    return problems


def line_of(data: Any, loc: Sequence[str | int]) -> int | None:
    """The 1-based line of the deepest part of `loc` that exists in the parsed YAML."""
    line: int | None = None
    node = data
    for part in loc:
        # `plain` made every key a string for pydantic; the file's may be a number or a bool.
        key = _key_named(node, part) if isinstance(node, CommentedMap) else None
        if isinstance(node, CommentedMap) and key is not None:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedMap) and isinstance(part, str):
            continue  # a tag pydantic adds for a tagged union, not a key of the file
        else:
            if line is None and isinstance(node, CommentedMap | CommentedSeq):
                line = node.lc.line + 1
            break
    if line is None and isinstance(data, CommentedMap | CommentedSeq):
        line = data.lc.line + 1
    return line


def _key_named(node: CommentedMap, part: str | int) -> Any:
    """The key of `node` that `part` names (itself, or one whose text it is); None if none."""
    if part in node:
        return part
    return next((key for key in node if str(key) == str(part)), None)


def dotted(loc: Sequence[str | int]) -> str:
    """`("rooms", 0, "sensors", 1, "topic")` → `rooms[0].sensors[1].topic`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def plain_message(detail: Mapping[str, Any]) -> str:
    """Pydantic's message, in words a person editing YAML understands."""
    kind = detail["type"]
    if kind == "missing":
        return "required, but missing"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the commented example)"
    message = str(detail["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind not in {"value_error", "assertion_error"} and "input" in detail:
        shown = repr(detail["input"])
        message = f"{message} (got {shown[:60]})"
    return message


def plain(data: Any) -> Any:
    """ruamel's commented containers → plain dicts, lists and scalars for pydantic."""
    if isinstance(data, Mapping):
        return {str(key): plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [plain(item) for item in data]
    return data
