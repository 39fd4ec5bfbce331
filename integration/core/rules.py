"""The rule set: detection, comfort, automations and night tunables, from `rules/*.yaml`.

Each top-level key of a rule file is one section; a section missing from every file takes
its documented defaults, so the service runs with no rule files at all.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from integration.core.automations import Automations
from integration.core.comfort import ComfortSettings
from integration.core.detectors.settings import DetectionSettings
from integration.core.night import NightSettings


class RuleSet(BaseModel):
    """All rules in force; replaced whole on a good reload, never patched in place."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    detection: DetectionSettings = DetectionSettings()
    comfort: ComfortSettings = ComfortSettings()
    automations: Automations = Automations(())
    night: NightSettings = NightSettings()


SECTIONS: tuple[str, ...] = tuple(RuleSet.model_fields)
