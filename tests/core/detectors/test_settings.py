from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from integration.adapters.rulefiles import load_rules
from integration.core.detectors import (
    MAX_EMISSION_DELAY_S,
    DetectionSettings,
    emission_delay_bound_s,
    plm_hold_bound_s,
)

RULES_DIR = Path(__file__).resolve().parents[3] / "rules"


def test_rule_file_mirrors_every_default_with_a_comment() -> None:
    assert load_rules(RULES_DIR).detection == DetectionSettings()
    lines = (RULES_DIR / "detection.yaml").read_text(encoding="utf-8").splitlines()
    for name in DetectionSettings.model_fields:
        (index,) = [i for i, line in enumerate(lines) if line.strip().startswith(f"{name}:")]
        assert lines[index - 1].strip().startswith("#"), name


def test_every_setting_is_described() -> None:
    assert all(field.description for field in DetectionSettings.model_fields.values())


@pytest.mark.parametrize(
    "overrides",
    [
        {"onset_ratio": 1.5, "offset_ratio": 2.0},
        {"jerk_min_s": 3.0, "jerk_max_s": 2.0},
        {"plm_min_interval_s": 90.0, "plm_max_interval_s": 10.0},
        {"clonus_min_hz": 9.0},
    ],
    ids=["offset_above_onset", "jerk_range", "plm_interval_range", "clonus_band"],
)
def test_inverted_ranges_are_refused(overrides: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="must be below"):
        DetectionSettings(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [{"offset_hold_s": 5.0}, {"envelope_tau_s": 1.0}],
    ids=["long_hold", "slow_envelope"],
)
def test_settings_that_break_the_emission_promise_are_refused(overrides: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="promised"):
        DetectionSettings(**overrides)


def test_default_bounds() -> None:
    settings = DetectionSettings()
    assert emission_delay_bound_s(settings) <= MAX_EMISSION_DELAY_S
    assert plm_hold_bound_s(settings) == 3 * settings.plm_max_interval_s + 1.0
