"""Load a YAML file into a pydantic model, reporting every problem as `file:line: field: message`.

ruamel.yaml keeps the line of every key and item, so pydantic's error `loc` can be walked back
to the line a person has to edit. Loading is safe: no YAML tag constructs Python objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent

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
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(part) for part in (err.context, err.problem) if part)
        kind = "YAML refused" if isinstance(err, YamlBoundError) else "YAML syntax"
        raise ConfigError([Problem(path, line, "", f"{kind}: {message}")]) from err
    except YAMLError as err:
        raise ConfigError([Problem(path, None, "", f"YAML syntax: {err}")]) from err


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
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
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
