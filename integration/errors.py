"""Exceptions of smart-bedroom: one root, one per adapter, located config errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class SmartBedroomError(Exception):
    """Root of every error this service raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a YAML file: `path:line: field: message`."""

    path: Path
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ConfigError(SmartBedroomError):
    """A config or rule file is invalid; carries every located problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class BrokerUnavailableError(SmartBedroomError):
    """The MQTT broker cannot be reached or refused us."""


class HomeAssistantUnavailableError(SmartBedroomError):
    """Home Assistant's API cannot be reached or refused us."""


class SupervisorError(SmartBedroomError):
    """Inside the add-on: the Supervisor is away, refused us, or provides no MQTT broker."""


class StoreError(SmartBedroomError):
    """The SQLite history store failed."""


class LabelRefusedError(SmartBedroomError):
    """A label that cannot be kept: no such event, not spasm-like, or older than the history."""
