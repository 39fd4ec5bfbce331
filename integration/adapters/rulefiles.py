"""Load `rules/*.yaml` into one RuleSet, with every problem located by file and line.

A section (`detection:`, `comfort:`, `automations:`) may live in any file but only in one; unknown top-level
keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import RootModel
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from watchfiles import awatch

from integration.core.rules import SECTIONS, RuleSet
from integration.errors import ConfigError, Problem
from integration.yamlfile import line_of, read_yaml, validate

_LOGGER = logging.getLogger(__name__)


def rule_files(directory: Path) -> list[Path]:
    """The rule files of a directory, in a stable order."""
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_rules(directory: Path | None) -> RuleSet:
    """Every rule file of `directory` validated into one RuleSet (defaults when None)."""
    if directory is None:
        return RuleSet()
    if not directory.is_dir():
        raise ConfigError([Problem(directory, None, "", "rules directory not found")])
    problems: list[Problem] = []
    sections: dict[str, Any] = {}
    where: dict[str, tuple[Path, Any]] = {}
    for path in rule_files(directory):
        try:
            data = read_yaml(path)
        except ConfigError as err:
            problems.extend(err.problems)
            continue
        if data is None:
            continue
        if not isinstance(data, CommentedMap):
            problems.append(
                Problem(path, line_of(data, ()), "", "a rule file is a mapping of sections")
            )
            continue
        for key in data:
            line = line_of(data, (key,))
            if key not in SECTIONS:
                known = ", ".join(SECTIONS)
                problems.append(Problem(path, line, str(key), f"unknown section (known: {known})"))
            elif key in where:
                first = where[key][0]
                problems.append(
                    Problem(path, line, str(key), f"section already defined in {first}")
                )
            else:
                where[key] = (path, data)
                sections[key] = data[key]
    for key, (path, data) in where.items():
        model = RuleSet.model_fields[key].annotation
        assert isinstance(model, type)  # noqa: S101 - every RuleSet field is a model class
        empty: Any = [] if issubclass(model, RootModel) else {}
        try:
            sections[key] = validate(
                model, data[key] if data[key] is not None else empty, path, prefix=(key,)
            )
        except ConfigError as err:
            problems.extend(_relocate(problem, data, key) for problem in err.problems)
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (str(p.path), p.line or 0)))
    return RuleSet(**sections)


def write_detection(directory: Path, changes: Mapping[str, float]) -> Path:
    """Set `changes` in the `detection:` section where it lives, comments kept; the file written.

    Without a detection section anywhere, `detection.yaml` is created. The edited rules are
    loaded before this returns; if they do not load, the file is put back and ConfigError raised.
    """
    yaml = YAML(typ="rt", pure=True)
    target, data = directory / "detection.yaml", CommentedMap()
    for path in rule_files(directory):
        found = read_yaml(path)
        if isinstance(found, CommentedMap) and "detection" in found:
            target, data = path, found
            break
    if not isinstance(data.get("detection"), CommentedMap):
        data["detection"] = CommentedMap()
    for name, value in changes.items():
        data["detection"][name] = value
    before = target.read_bytes() if target.exists() else None
    written = io.StringIO()
    yaml.dump(data, written)
    temporary = target.with_name(target.name + ".new")
    temporary.write_text(written.getvalue(), encoding="utf-8")
    temporary.replace(target)
    try:
        load_rules(directory)
    except ConfigError:
        if before is None:
            target.unlink()
        else:
            target.write_bytes(before)
        raise
    return target


def _relocate(problem: Problem, data: Any, key: str) -> Problem:
    """Lines found inside a section are already right; a section-level miss points at its key."""
    if problem.line is None:
        return Problem(problem.path, line_of(data, (key,)), problem.field, problem.message)
    return problem


class LiveRules:
    """The rules directory of a running service: reloaded when edited, the last good set kept."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.problems: list[str] = []  # of the last reload; empty when the rules are good
        self.reload_failures = 0

    def load(self) -> RuleSet:
        """The rules at start: a bad set is the caller's error to report."""
        return load_rules(self.directory)

    def reload(self) -> RuleSet | None:
        """The edited rules, or None (problems logged and kept) when they do not load."""
        try:
            rules = load_rules(self.directory)
        except ConfigError as err:
            self.reload_failures += 1
            self.problems = [str(problem) for problem in err.problems]
            for problem in self.problems:
                _LOGGER.error("rules not reloaded, keeping the last good ones: %s", problem)
            return None
        self.problems = []
        _LOGGER.info("rules reloaded from %s", self.directory)
        return rules

    async def edits(self, stopping: asyncio.Event) -> AsyncIterator[None]:
        """One item per batch of edits to the directory, until `stopping` is set."""
        if self.directory is None:
            return
        changes = awatch(self.directory, stop_event=stopping)
        async with contextlib.aclosing(changes):  # its thread ends with the task, not at GC
            async for _changes in changes:
                yield
