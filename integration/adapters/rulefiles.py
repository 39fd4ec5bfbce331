"""Load `rules/*.yaml` into one RuleSet, with every problem located by file and line.

A section (`detection:`, `comfort:`, `automations:`) may live in any file but only in one; unknown top-level
keys are errors, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import RootModel
from ruamel.yaml.comments import CommentedMap

from integration.core.rules import SECTIONS, RuleSet
from integration.errors import ConfigError, Problem
from integration.yamlfile import line_of, read_yaml, validate


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


def _relocate(problem: Problem, data: Any, key: str) -> Problem:
    """Lines found inside a section are already right; a section-level miss points at its key."""
    if problem.line is None:
        return Problem(problem.path, line_of(data, (key,)), problem.field, problem.message)
    return problem
