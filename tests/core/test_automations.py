from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from integration.core.automations import (
    TRIGGER_KINDS,
    Automation,
    AutomationEngine,
    AutomationIntent,
    Automations,
    RoomContext,
    Signal,
    SignalKind,
    render,
)
from integration.core.events import MovementKind, WhyValue
from integration.core.intents import CallService, Notify, PublishMqtt, SetBand
from integration.errors import ConfigError
from integration.yamlfile import plain, read_yaml, validate

ZONE = ZoneInfo("Europe/London")
RULES = Path(__file__).resolve().parents[2] / "rules" / "automations.yaml"
NOTIFY: dict[str, Any] = {"action": "notify", "message": "hello"}
BEDROOM = RoomContext("bedroom", "Bedroom", True, 19.24, 16.5, 18.5)
GUEST = RoomContext("guest", "Guest room", True, 18.0, 16.5, 18.5)


def local(text: str) -> float:
    """Epoch seconds of a London wall-clock time (an unambiguous one)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE).timestamp()


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


NIGHT = local("2026-01-15T23:00")


def rule(**fields: Any) -> Automation:
    data: dict[str, Any] = {"id": "rule", "when": {"trigger": "spasm"}, "then": [NOTIFY]}
    return Automation.model_validate(data | fields)


def engine(*automations: Automation) -> AutomationEngine:
    return AutomationEngine(automations, ZONE)


def signal(
    kind: SignalKind,
    t: float = NIGHT,
    room: str = "bedroom",
    movement: MovementKind | None = MovementKind.JERK,
) -> Signal:
    return Signal(room, t, kind, movement if kind is SignalKind.SPASM else None)


def context_of(room: str) -> RoomContext:
    return BEDROOM if room == "bedroom" else GUEST


def fires(eng: AutomationEngine, sig: Signal, context: RoomContext | None = None) -> bool:
    return bool(eng.handle(sig, context or context_of(sig.room)))


# --- when -----------------------------------------------------------------------------------


@pytest.mark.parametrize("trigger", TRIGGER_KINDS, ids=[str(kind) for kind in TRIGGER_KINDS])
def test_each_trigger_fires_on_its_own_signal_only(trigger: SignalKind) -> None:
    eng = engine(rule(when={"trigger": trigger.value}))
    fired = [kind for kind in SignalKind if fires(eng, signal(kind))]
    assert fired == [trigger]


ROOM_TRIGGER_CASES = [
    ("same_room_fires", "bedroom", True),
    ("other_room_does_not_fire", "guest", False),
]


@pytest.mark.parametrize(
    ("room", "expected"),
    [c[1:] for c in ROOM_TRIGGER_CASES],
    ids=[c[0] for c in ROOM_TRIGGER_CASES],
)
def test_trigger_room_limits_it_to_that_room(room: str, expected: bool) -> None:
    eng = engine(rule(when={"trigger": "spasm", "room": "bedroom"}))
    assert fires(eng, signal(SignalKind.SPASM, room=room)) is expected


KIND_CASES = [
    ("listed_kind_fires", MovementKind.CLONUS, True),
    ("other_kind_does_not_fire", MovementKind.JERK, False),
    ("unknown_kind_does_not_fire", None, False),
]


@pytest.mark.parametrize(
    ("movement", "expected"), [c[1:] for c in KIND_CASES], ids=[c[0] for c in KIND_CASES]
)
def test_spasm_trigger_kinds_pick_movement_kinds(
    movement: MovementKind | None, expected: bool
) -> None:
    eng = engine(rule(when={"trigger": "spasm", "kinds": ["clonus", "plm"]}))
    assert fires(eng, signal(SignalKind.SPASM, movement=movement)) is expected


def test_any_trigger_of_a_list_fires_and_fires_once() -> None:
    eng = engine(rule(when=[{"trigger": "restless_start"}, {"trigger": "restless_start"}]))
    assert len(eng.handle(signal(SignalKind.RESTLESS_START), BEDROOM)) == 1


ABOVE, BELOW, IN_BAND = (
    SignalKind.TEMPERATURE_ABOVE_BAND,
    SignalKind.TEMPERATURE_BELOW_BAND,
    SignalKind.TEMPERATURE_IN_BAND,
)
HOLD_CASES: list[tuple[str, list[tuple[SignalKind, float]], list[float]]] = [
    ("fires_once_held_for_s", [(ABOVE, 0), (ABOVE, 600), (ABOVE, 899.9), (ABOVE, 900), (ABOVE, 1000)], [900]),
    ("back_in_band_restarts_the_wait", [(ABOVE, 0), (IN_BAND, 500), (ABOVE, 600), (ABOVE, 1400), (ABOVE, 1500)], [1500]),
    ("other_side_restarts_the_wait", [(ABOVE, 0), (BELOW, 300), (ABOVE, 400), (ABOVE, 1200), (ABOVE, 1300)], [1300]),
    ("below_does_not_fire_an_above_trigger", [(BELOW, 0), (BELOW, 1000)], []),
    ("one_signal_is_not_a_hold", [(ABOVE, 0)], []),
]  # fmt: skip


@pytest.mark.parametrize(
    ("signals", "fired_at"), [c[1:] for c in HOLD_CASES], ids=[c[0] for c in HOLD_CASES]
)
def test_for_s_needs_the_condition_held_that_long(
    signals: list[tuple[SignalKind, float]], fired_at: list[float]
) -> None:
    eng = engine(rule(when={"trigger": "temperature_above_band", "for_s": 900}, cooldown_s=86400))
    fired = [dt for kind, dt in signals if fires(eng, signal(kind, NIGHT + dt))]
    assert fired == fired_at


def test_for_s_is_tracked_per_room() -> None:
    eng = engine(rule(when={"trigger": "temperature_above_band", "for_s": 900}))
    fires(eng, signal(ABOVE, NIGHT, room="bedroom"))
    assert not fires(eng, signal(ABOVE, NIGHT + 900, room="guest"))
    assert fires(eng, signal(ABOVE, NIGHT + 900, room="bedroom"))


# --- if -------------------------------------------------------------------------------------

TIME_CASES = [
    ("crossing_midnight_before_start", "22:00", "07:00", "2026-01-15T21:59", False),
    ("crossing_midnight_start_is_inclusive", "22:00", "07:00", "2026-01-15T22:00", True),
    ("crossing_midnight_after_midnight", "22:00", "07:00", "2026-01-16T03:00", True),
    ("crossing_midnight_last_minute", "22:00", "07:00", "2026-01-16T06:59", True),
    ("crossing_midnight_end_is_exclusive", "22:00", "07:00", "2026-01-16T07:00", False),
    ("crossing_midnight_midday", "22:00", "07:00", "2026-01-16T12:00", False),
    ("same_day_inside", "13:00", "15:00", "2026-01-15T14:00", True),
    ("same_day_outside", "13:00", "15:00", "2026-01-15T23:00", False),
    ("after_only_runs_to_midnight", "22:00", None, "2026-01-15T23:59", True),
    ("after_only_ends_at_midnight", "22:00", None, "2026-01-16T00:30", False),
    ("before_only_starts_at_midnight", None, "07:00", "2026-01-16T00:00", True),
    ("before_only_end_is_exclusive", None, "07:00", "2026-01-16T07:00", False),
]


@pytest.mark.parametrize(
    ("after", "before", "when", "expected"),
    [c[1:] for c in TIME_CASES],
    ids=[c[0] for c in TIME_CASES],
)
def test_time_condition_uses_local_wall_clock_and_may_cross_midnight(
    after: str | None, before: str | None, when: str, expected: bool
) -> None:
    condition = {"condition": "time", "after": after, "before": before}
    eng = engine(rule(**{"if": [{k: v for k, v in condition.items() if v is not None}]}))
    assert fires(eng, signal(SignalKind.SPASM, local(when))) is expected


# Europe/London 2026: clocks go 01:00 GMT -> 02:00 BST on 29 March, 02:00 BST -> 01:00 GMT on
# 25 October. Times are given in UTC so the missing and the repeated hour can be named.
DST_CASES = [
    ("spring_0659_bst_is_inside", "22:00", "07:00", "2026-03-29T05:59", True),
    ("spring_0700_bst_is_outside", "22:00", "07:00", "2026-03-29T06:00", False),
    ("spring_0030_gmt_is_inside", "22:00", "07:00", "2026-03-29T00:30", True),
    ("spring_skipped_hour_window_0059_gmt", "01:00", "02:00", "2026-03-29T00:59", False),
    ("spring_skipped_hour_window_0200_bst", "01:00", "02:00", "2026-03-29T01:00", False),
    ("autumn_first_0130_bst_is_inside", "01:00", "02:00", "2026-10-25T00:30", True),
    ("autumn_second_0130_gmt_is_inside", "01:00", "02:00", "2026-10-25T01:30", True),
    ("autumn_0200_gmt_is_outside", "01:00", "02:00", "2026-10-25T02:00", False),
    ("autumn_0059_bst_is_outside", "01:00", "02:00", "2026-10-24T23:59", False),
]


@pytest.mark.parametrize(
    ("after", "before", "when_utc", "expected"),
    [c[1:] for c in DST_CASES],
    ids=[c[0] for c in DST_CASES],
)
def test_time_condition_follows_the_clock_change(
    after: str, before: str, when_utc: str, expected: bool
) -> None:
    eng = engine(rule(**{"if": [{"condition": "time", "after": after, "before": before}]}))
    assert fires(eng, signal(SignalKind.SPASM, utc(when_utc))) is expected


IN_BED_CASES = [
    ("in_bed_wanted_and_in_bed", True, True, True),
    ("in_bed_wanted_but_empty", True, False, False),
    ("in_bed_wanted_but_unknown", True, None, False),
    ("empty_wanted_and_empty", False, False, True),
    ("empty_wanted_but_in_bed", False, True, False),
    ("empty_wanted_but_unknown", False, None, False),
]


@pytest.mark.parametrize(
    ("state", "in_bed", "expected"), [c[1:] for c in IN_BED_CASES], ids=[c[0] for c in IN_BED_CASES]
)
def test_in_bed_condition_holds_only_on_a_known_match(
    state: bool, in_bed: bool | None, expected: bool
) -> None:
    eng = engine(rule(**{"if": [{"condition": "in_bed", "state": state}]}))
    context = RoomContext("bedroom", "Bedroom", in_bed, 19.0, 16.5, 18.5)
    assert fires(eng, signal(SignalKind.SPASM), context) is expected


J, C = MovementKind.JERK, MovementKind.CLONUS
COUNT_CASES: list[tuple[str, list[tuple[float, MovementKind, str]], list[str] | None, bool]] = [
    ("three_within_window", [(-590, J, "bedroom"), (-100, J, "bedroom"), (0, J, "bedroom")], None, True),
    ("two_within_window", [(-300, J, "bedroom"), (0, J, "bedroom")], None, False),
    ("first_just_outside_window", [(-600.5, J, "bedroom"), (-300, J, "bedroom"), (0, J, "bedroom")], None, False),
    ("first_exactly_at_window_edge", [(-600, J, "bedroom"), (-300, J, "bedroom"), (0, J, "bedroom")], None, True),
    ("other_room_does_not_count", [(-300, J, "guest"), (-200, J, "guest"), (0, J, "bedroom")], None, False),
    ("kinds_filter_counts_two_of_three", [(-300, J, "bedroom"), (-200, C, "bedroom"), (0, C, "bedroom")], ["clonus"], False),
    ("kinds_filter_counts_three_of_four", [(-400, C, "bedroom"), (-300, J, "bedroom"), (-200, C, "bedroom"), (0, C, "bedroom")], ["clonus"], True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spasms", "kinds", "expected"), [c[1:] for c in COUNT_CASES], ids=[c[0] for c in COUNT_CASES]
)
def test_count_condition_counts_spasms_in_the_window(
    spasms: list[tuple[float, MovementKind, str]], kinds: list[str] | None, expected: bool
) -> None:
    count: dict[str, Any] = {"condition": "count", "min": 3, "window_s": 600}
    eng = engine(rule(**{"if": [count | ({"kinds": kinds} if kinds else {})]}))
    results = [
        fires(eng, signal(SignalKind.SPASM, NIGHT + dt, room, kind)) for dt, kind, room in spasms
    ]
    assert results == [False] * (len(spasms) - 1) + [expected]


ROOM_CASES = [("listed_room", "bedroom", True), ("unlisted_room", "guest", False)]


@pytest.mark.parametrize(
    ("room", "expected"), [c[1:] for c in ROOM_CASES], ids=[c[0] for c in ROOM_CASES]
)
def test_room_condition_limits_rooms(room: str, expected: bool) -> None:
    eng = engine(rule(**{"if": [{"condition": "room", "rooms": ["bedroom", "study"]}]}))
    assert fires(eng, signal(SignalKind.SPASM, room=room)) is expected


# --- cooldown and quiet hours -----------------------------------------------------------------

COOLDOWN_CASES = [
    ("just_before_cooldown_ends", 599.999, "bedroom", False),
    ("exactly_at_cooldown", 600.0, "bedroom", True),
    ("other_room_has_its_own_cooldown", 1.0, "guest", True),
]


@pytest.mark.parametrize(
    ("dt", "room", "expected"), [c[1:] for c in COOLDOWN_CASES], ids=[c[0] for c in COOLDOWN_CASES]
)
def test_cooldown_is_per_room_and_ends_exactly_at_cooldown_s(
    dt: float, room: str, expected: bool
) -> None:
    eng = engine(rule(cooldown_s=600))
    assert fires(eng, signal(SignalKind.SPASM, NIGHT))
    assert fires(eng, signal(SignalKind.SPASM, NIGHT + dt, room)) is expected


def test_a_condition_failing_does_not_start_the_cooldown() -> None:
    eng = engine(rule(**{"if": [{"condition": "in_bed", "state": True}]}, cooldown_s=600))
    out_of_bed = RoomContext("bedroom", "Bedroom", False, 19.0, 16.5, 18.5)
    assert not fires(eng, signal(SignalKind.SPASM, NIGHT), out_of_bed)
    assert fires(eng, signal(SignalKind.SPASM, NIGHT + 1), BEDROOM)


QUIET_CASES = [
    ("inside_quiet_hours_drops_notify_only", "2026-01-16T02:00", [CallService, PublishMqtt, SetBand]),
    ("outside_quiet_hours_runs_everything", "2026-01-16T12:00", [CallService, Notify, PublishMqtt, SetBand]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("when", "kinds"), [c[1:] for c in QUIET_CASES], ids=[c[0] for c in QUIET_CASES]
)
def test_quiet_hours_suppress_notify_actions_only(
    when: str, kinds: list[type[AutomationIntent]]
) -> None:
    then = [
        {
            "action": "ha_service",
            "service": "fan.turn_on",
            "data": {"entity_id": "fan.bedroom_fan"},
        },
        NOTIFY,
        {"action": "mqtt_publish", "topic": "bedroom/fan/set", "payload": "ON"},
        {"action": "set_comfort_band", "low_c": 16, "high_c": 18},
    ]
    eng = engine(rule(then=then, quiet_hours={"after": "23:30", "before": "06:30"}))
    assert [type(a) for a in eng.handle(signal(SignalKind.SPASM, local(when)), BEDROOM)] == kinds


# --- actions and templates ------------------------------------------------------------------


def test_actions_carry_rendered_data_and_why() -> None:
    eng = engine(
        rule(
            id="fan_on_when_restless",
            **{"if": [{"condition": "count", "min": 2, "window_s": 600}]},
            then=[
                {"action": "ha_service", "service": "climate.set_temperature",
                 "data": {"entity_id": "climate.bedroom", "temperature": "{band_low_c}",
                          "label": "{room} at {temperature_c:.1f}", "nested_ok": 3}},
                {"action": "mqtt_publish", "topic": "bedroom/fan/set",
                 "payload": '{{"state": "ON", "count": {count}}}', "retain": True},
                {"action": "notify", "title": "Restless night", "service": "notify.mobile_app_phone",
                 "message": "{count} spasm-like movements ({kind}) in {room_name} by {time}"},
                {"action": "set_comfort_band", "low_c": 17.0, "high_c": 18.5},
            ],
        )
    )  # fmt: skip
    t = local("2026-01-15T23:05")
    assert eng.handle(signal(SignalKind.SPASM, t - 60), BEDROOM) == []
    actions = eng.handle(signal(SignalKind.SPASM, t, movement=MovementKind.CLONUS), BEDROOM)
    why: dict[str, WhyValue] = {
        "rule": "fan_on_when_restless",
        "trigger": "spasm",
        "room": "bedroom",
        "count": 2,
        "temperature_c": 19.24,
        "kind": "clonus",
    }
    message = "2 spasm-like movements (clonus) in Bedroom by 23:05"
    # What goes out for each: tests/adapters/test_actions.py, `test_automation_intents_...`.
    assert actions == [
        CallService("bedroom", t, "climate.set_temperature",
                    {"entity_id": "climate.bedroom", "temperature": 16.5, "label": "bedroom at 19.2", "nested_ok": 3}, why),
        PublishMqtt("bedroom", t, "bedroom/fan/set", '{"state": "ON", "count": 2}', True, why),
        Notify("bedroom", t, "Restless night", message, "notify.mobile_app_phone", why,
               key=f"fan_on_when_restless_{t:.0f}"),  # an episode's own notification
        SetBand("bedroom", t, 17.0, 18.5, why),
    ]  # fmt: skip


def test_for_s_trigger_records_it_in_why() -> None:
    eng = engine(rule(when={"trigger": "temperature_above_band", "for_s": 60}))
    eng.handle(signal(ABOVE, NIGHT), BEDROOM)
    (action,) = eng.handle(signal(ABOVE, NIGHT + 60), BEDROOM)
    assert action.why == {
        "rule": "rule",
        "trigger": "temperature_above_band",
        "room": "bedroom",
        "for_s": 60.0,
        "temperature_c": 19.24,
    }


VALUES: dict[str, WhyValue] = {
    "room": "bedroom",
    "room_name": "Bedroom",
    "temperature_c": 19.25,
    "band_low_c": 16.5,
    "band_high_c": None,
    "count": 3,
    "kind": "jerk",
    "time": "23:05",
}
RENDER_CASES = [
    ("plain_text_unchanged", "no values here", "no values here"),
    ("names_substituted", "{room_name} ({room}) at {time}", "Bedroom (bedroom) at 23:05"),
    ("number_as_is", "{temperature_c} °C", "19.25 °C"),
    ("number_precision", "{temperature_c:.1f}/{band_low_c:.0f}", "19.2/16"),
    ("integer_precision", "{count:.1f}", "3.0"),
    ("unknown_value_says_unknown", "above {band_high_c:.1f}", "above unknown"),
    ("double_braces_are_literal", '{{"n": {count}}}', '{"n": 3}'),
    ("double_braces_around_a_name_stay_text", "{{room}}", "{room}"),
]


@pytest.mark.parametrize(
    ("template", "expected"), [c[1:] for c in RENDER_CASES], ids=[c[0] for c in RENDER_CASES]
)
def test_templates_render_named_values_only(template: str, expected: str) -> None:
    assert render(template, VALUES) == expected


def test_reload_keeps_history_and_cooldowns_of_kept_ids() -> None:
    counting = rule(**{"if": [{"condition": "count", "min": 3, "window_s": 600}]}, cooldown_s=600)
    eng = engine(counting)
    for dt in (0, 10, 20):
        eng.handle(signal(SignalKind.SPASM, NIGHT + dt), BEDROOM)
    eng.reload([counting])
    assert not fires(eng, signal(SignalKind.SPASM, NIGHT + 30))  # still cooling down
    eng.reload([counting.model_copy(update={"id": "renamed"})])
    assert fires(eng, signal(SignalKind.SPASM, NIGHT + 40))  # 5 spasms remembered, new id


# --- validation -------------------------------------------------------------------------------

MESSAGE_CASES: list[tuple[str, dict[str, Any], tuple[str | int, ...], str]] = [
    ("unknown_trigger", {"when": {"trigger": "spasms"}}, ("when", 0, "trigger"), "unknown trigger 'spasms': use one of temperature_above_band, temperature_below_band, spasm, restless_start, restless_end, out_of_bed, night_start, night_end, sensor_stale, rules_reloaded"),
    ("in_band_is_not_a_trigger", {"when": {"trigger": "temperature_in_band"}}, ("when", 0, "trigger"), "unknown trigger 'temperature_in_band': use one of temperature_above_band, temperature_below_band, spasm, restless_start, restless_end, out_of_bed, night_start, night_end, sensor_stale, rules_reloaded"),
    ("no_trigger", {"when": []}, ("when",), "when needs at least one trigger"),
    ("for_s_on_spasm", {"when": {"trigger": "spasm", "for_s": 60}}, ("when", 0), "for_s only applies to temperature_above_band and temperature_below_band"),
    ("negative_for_s", {"when": {"trigger": "temperature_above_band", "for_s": -1}}, ("when", 0), "for_s must not be negative (got -1)"),
    ("kinds_on_restless", {"when": {"trigger": "restless_start", "kinds": ["jerk"]}}, ("when", 0), "kinds only applies to the spasm trigger"),
    ("kinds_not_spasm_like", {"when": {"trigger": "spasm", "kinds": ["turnover"]}}, ("when", 0, "kinds"), "'turnover' is not a spasm-like movement kind: use clonus, jerk, plm"),
    ("trigger_room_not_an_id", {"when": {"trigger": "spasm", "room": "Bed Room"}}, ("when", 0, "room"), "'Bed Room' is not a room id (lowercase letters, digits and _)"),
    ("bad_time", {"if": [{"condition": "time", "after": "25:00"}]}, ("if", 0, "time", "after"), "'25:00' is not a time of day like \"22:00\" (HH:MM, quote it)"),
    ("unquoted_yaml_11_time", {"if": [{"condition": "time", "before": 1320}]}, ("if", 0, "time", "before"), "1320 is not a time of day like \"22:00\" (HH:MM, quote it)"),
    ("empty_time_window", {"if": [{"condition": "time", "after": "22:00", "before": "22:00"}]}, ("if", 0, "time"), "after and before are the same time; the window would be empty"),
    ("time_without_edges", {"if": [{"condition": "time"}]}, ("if", 0, "time"), "a time condition needs after, before or both"),
    ("unknown_condition", {"if": [{"condition": "weather"}]}, ("if", 0), "unknown or missing condition: use one of time, in_bed, count, room"),
    ("unknown_action", {"then": [{"action": "launch"}]}, ("then", 0), "unknown or missing action: use one of ha_service, mqtt_publish, notify, set_comfort_band"),
    ("no_action", {"then": []}, ("then",), "then needs at least one action"),
    ("unknown_template_name", {"then": [{"action": "notify", "message": "{temp}"}]}, ("then", 0, "notify", "message"), "unknown template value {temp}: use one of room, room_name, temperature_c, band_low_c, band_high_c, count, kind, time"),
    ("attribute_access", {"then": [{"action": "notify", "message": "{a.b}"}]}, ("then", 0, "notify", "message"), "{a.b}: attribute access and indexing are not allowed; use one of room, room_name, temperature_c, band_low_c, band_high_c, count, kind, time"),
    ("indexing", {"then": [{"action": "notify", "message": "{room[0]}"}]}, ("then", 0, "notify", "message"), "{room[0]}: attribute access and indexing are not allowed; use one of room, room_name, temperature_c, band_low_c, band_high_c, count, kind, time"),
    ("conversion", {"then": [{"action": "notify", "message": "{room!r}"}]}, ("then", 0, "notify", "message"), "{room!r}: conversions (!r, !s) are not allowed; write {name}"),
    ("format_spec", {"then": [{"action": "notify", "message": "{temperature_c:>10}"}]}, ("then", 0, "notify", "message"), "{temperature_c:>10}: the only format allowed is a number precision like {temperature_c:.1f}"),
    ("precision_on_text", {"then": [{"action": "notify", "message": "{room:.1f}"}]}, ("then", 0, "notify", "message"), "{room:.1f}: a precision only applies to numbers (band_high_c, band_low_c, count, temperature_c)"),
    ("empty_placeholder", {"then": [{"action": "notify", "message": "{}"}]}, ("then", 0, "notify", "message"), "empty template value {}: name one of room, room_name, temperature_c, band_low_c, band_high_c, count, kind, time"),
    ("json_without_double_braces", {"then": [{"action": "mqtt_publish", "topic": "a/b", "payload": '{"on": 1}'}]}, ("then", 0, "mqtt_publish", "payload"), "{\"on\": 1} is not a template value; write {{ and }} for literal braces"),
    ("unmatched_close_brace", {"then": [{"action": "notify", "title": "a}", "message": "b"}]}, ("then", 0, "notify", "title"), "lone '}' in 'a}': write {{ or }} for a literal brace"),
    ("template_in_data", {"then": [{"action": "ha_service", "service": "fan.turn_on", "data": {"x": "{fan}"}}]}, ("then", 0, "ha_service", "data"), "unknown template value {fan}: use one of room, room_name, temperature_c, band_low_c, band_high_c, count, kind, time"),
    ("count_without_count_condition", {"then": [{"action": "notify", "message": "{count} spasms"}]}, (), "{count} needs a count condition in `if`"),
    ("mqtt_multi_level_wildcard", {"then": [{"action": "mqtt_publish", "topic": "bedroom/#", "payload": "ON"}]}, ("then", 0, "mqtt_publish", "topic"), "topic 'bedroom/#': + and # are wildcards, not allowed when publishing"),
    ("mqtt_single_level_wildcard", {"then": [{"action": "mqtt_publish", "topic": "+/fan/set", "payload": "ON"}]}, ("then", 0, "mqtt_publish", "topic"), "topic '+/fan/set': + and # are wildcards, not allowed when publishing"),
    ("data_list_value", {"then": [{"action": "ha_service", "service": "light.turn_on", "data": {"rgb_color": [255, 0, 0]}}]}, ("then", 0, "ha_service", "data"), "data.rgb_color must be a single value (text, number, true/false), not a list or mapping"),
    ("data_mapping_value", {"then": [{"action": "ha_service", "service": "fan.turn_on", "data": {"target": {"entity_id": "fan.a"}}}]}, ("then", 0, "ha_service", "data"), "data.target must be a single value (text, number, true/false), not a list or mapping"),
    ("bad_service", {"then": [{"action": "ha_service", "service": "turn fan on"}]}, ("then", 0, "ha_service", "service"), "'turn fan on' is not an HA service like \"fan.turn_on\""),
    ("notify_service_not_notify", {"then": [{"action": "notify", "message": "m", "service": "light.turn_on"}]}, ("then", 0, "notify", "service"), "'light.turn_on' is not a notify service like notify.mobile_app_phone"),
    ("band_upside_down", {"then": [{"action": "set_comfort_band", "low_c": 19, "high_c": 18}]}, ("then", 0, "set_comfort_band"), "low_c 19 must be below high_c 18"),
    ("band_in_fahrenheit", {"then": [{"action": "set_comfort_band", "low_c": 62, "high_c": 66}]}, ("then", 0, "set_comfort_band"), "62 °C is outside 5-35 °C; is the unit right?"),
    ("cooldown_zero", {"cooldown_s": 0}, ("cooldown_s",), "cooldown must be positive (got 0)"),
    ("id_not_a_slug", {"id": "Fan On"}, ("id",), "id 'Fan On' must be a slug: lowercase letters, digits and _ (like fan_on_when_restless)"),
    ("quiet_hours_empty", {"quiet_hours": {"after": "23:00", "before": "23:00"}}, ("quiet_hours",), "after and before are the same time; the window would be empty"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "loc", "message"), [c[1:] for c in MESSAGE_CASES], ids=[c[0] for c in MESSAGE_CASES]
)
def test_validators_explain_in_plain_words(
    fields: dict[str, Any], loc: tuple[str | int, ...], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        rule(**fields)
    errors = [(e["loc"], e["msg"].removeprefix("Value error, ")) for e in caught.value.errors()]
    assert errors == [(loc, message)]


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        rule(**{"if": [{"condition": "time", "after": "22:00", "state": True}]})
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [
        (("if", 0, "time", "state"), "extra_forbidden")
    ]


def test_duplicate_ids_are_refused() -> None:
    data = {"id": "same", "when": {"trigger": "spasm"}, "then": [NOTIFY]}
    with pytest.raises(ValidationError) as caught:
        Automations.model_validate([data, data])
    assert [e["msg"] for e in caught.value.errors()] == [
        "Value error, duplicate id 'same': each automation needs its own id"
    ]


def test_a_bad_rule_is_reported_at_its_file_line() -> None:
    text = "automations:\n  - id: a\n    when: {trigger: spasm}\n    if:\n      - condition: time\n        after: '25:00'\n    then: [{action: notify, message: hi}]\n"
    path = Path("automations.yaml")
    with pytest.raises(ConfigError) as caught:
        validate(Automations, read_yaml(path, text)["automations"], path, prefix=("automations",))
    assert [str(p) for p in caught.value.problems] == [
        "automations.yaml:6: automations[0].if[0].time.after: "
        "'25:00' is not a time of day like \"22:00\" (HH:MM, quote it)"
    ]


# --- the shipped examples ---------------------------------------------------------------------


def shipped() -> Automations:
    data = YAML(typ="rt").load(RULES.read_text(encoding="utf-8"))
    return Automations.model_validate(plain(data["automations"]))


def test_shipped_examples_are_valid() -> None:
    assert [a.id for a in shipped().root] == [
        "fan_low_after_spasms",
        "notify_bedroom_too_warm",
        "dim_light_when_up_at_night",
        "cooler_after_restless_night",
        "sensor_gone_quiet",
        "announce_rules_reloaded",
    ]


def test_shipped_fan_example_starts_the_script_on_the_third_spasm_in_bed() -> None:
    eng = AutomationEngine(shipped().root, ZONE)
    t = local("2026-01-16T02:00")
    results = [eng.handle(signal(SignalKind.SPASM, t + dt), BEDROOM) for dt in (0, 120, 240)]
    assert results[:2] == [[], []]
    assert [
        (type(a), a.service, dict(a.data)) for a in results[2] if isinstance(a, CallService)
    ] == [(CallService, "script.turn_on", {"entity_id": "script.bedroom_fan_low_20_min"})]
    assert len(results[2]) == 1


def test_shipped_warm_room_example_notifies_after_15_minutes_outside_quiet_hours() -> None:
    eng = AutomationEngine(shipped().root, ZONE)
    t = local("2026-01-15T21:00")
    assert eng.handle(signal(ABOVE, t), BEDROOM) == []
    actions = eng.handle(signal(ABOVE, t + 900), BEDROOM)
    # One notification, to HA and to the phone (tests/adapters/test_actions.py: both go out).
    assert [(type(a), a.service, a.message) for a in actions if isinstance(a, Notify)] == [
        (Notify, "notify.mobile_app_phone", "Bedroom is 19.2 °C, above 18.5 °C for 15 minutes")
    ]
    assert len(actions) == 1


def test_a_number_payload_is_published_as_text() -> None:
    eng = engine(
        rule(then=[{"action": "mqtt_publish", "topic": "bedroom/fan/speed", "payload": 30}])
    )
    (action,) = eng.handle(signal(SignalKind.SPASM), BEDROOM)
    assert isinstance(action, PublishMqtt)
    assert (action.payload, action.retain) == ("30", False)
