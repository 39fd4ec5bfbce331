from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from integration.core.comfort import (
    ActuatorSpec,
    BandOverride,
    BandSetting,
    ComfortController,
    ComfortInput,
    ComfortIntent,
    ComfortSettings,
    PauseSwitch,
    Role,
    State,
    band_at,
    fuse,
)
from integration.core.intents import Notify, SetClimate, SwitchActuator
from integration.core.readings import ContactReading, TemperatureReading, Tick

LONDON = ZoneInfo("Europe/London")
BERLIN = ZoneInfo("Europe/Berlin")
ROOM = "bedroom"
HEATER = ActuatorSpec("heater", Role.HEATER)
COOLER = ActuatorSpec("cooler", Role.COOLER)
CLIMATE = ActuatorSpec("ac", Role.CLIMATE)
FAN = ActuatorSpec("fan", Role.FAN)

# One all-day band 18-20 °C: heat on ≤ 18.25, off ≥ 19.35; cool on ≥ 19.75, off ≤ 18.65.
FLAT = ComfortSettings(
    bands=(BandSetting(name="night", start="00:00", low=18.0, high=20.0),),
    schedule_lead_s=0,
)


def utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def temp(t: float, temp_c: float, sensor_id: str = "s1") -> TemperatureReading:
    return TemperatureReading(ROOM, sensor_id, t, temp_c)


def controller(
    *actuators: ActuatorSpec, settings: ComfortSettings = FLAT, tz: ZoneInfo = LONDON
) -> ComfortController:
    return ComfortController(ROOM, actuators or (HEATER, COOLER), settings, tz)


def said(intents: list[ComfortIntent]) -> list[str]:
    """Each intent in a few words: "heater on", "ac heat 19.0", "ac off", "notify"."""
    words = []
    for intent in intents:
        match intent:
            case SwitchActuator():
                words.append(f"{intent.actuator_id} {'on' if intent.on else 'off'}")
            case SetClimate():
                target = None if intent.target_c is None else f"{intent.target_c:.1f}"
                words.append(" ".join(w for w in (intent.actuator_id, intent.mode, target) if w))
            case Notify():
                words.append("notify")
    return words


def feed(ctl: ComfortController, t: float, temp_c: float) -> list[str]:
    return said(ctl.step([temp(t, temp_c)], t))


# --- schedule -------------------------------------------------------------------------------

SCHEDULE_CASES = [
    ("2026-01-14T21:29:00", LONDON, "day"),
    ("2026-01-14T21:30:00", LONDON, "pre_cool"),
    ("2026-01-14T23:30:00", LONDON, "deep_sleep"),
    ("2026-01-15T00:10:00", LONDON, "deep_sleep"),  # crosses midnight
    ("2026-01-15T05:29:59", LONDON, "deep_sleep"),
    ("2026-01-15T05:30:00", LONDON, "pre_wake"),
    ("2026-01-15T08:00:00", LONDON, "day"),
    ("2026-07-14T20:30:00", LONDON, "pre_cool"),  # 21:30 BST
    ("2026-07-14T20:29:00", LONDON, "day"),
    ("2026-07-14T19:30:00", BERLIN, "pre_cool"),  # 21:30 CEST
]


@pytest.mark.parametrize(
    ("when_utc", "tz", "name"), SCHEDULE_CASES, ids=[f"{c[0]}-{c[1]}" for c in SCHEDULE_CASES]
)
def test_band_follows_local_wall_clock_across_midnight(
    when_utc: str, tz: ZoneInfo, name: str
) -> None:
    assert band_at(ComfortSettings(), utc(when_utc), tz).name == name


DST = ComfortSettings(
    bands=(
        BandSetting(name="evening", start="22:00", low=18, high=20),
        BandSetting(name="small_hours", start="02:30", low=16.5, high=18.5),
        BandSetting(name="morning", start="06:00", low=18, high=20),
    )
)
DST_CASES = [
    # London springs forward 2026-03-29 01:00 GMT -> 02:00 BST: 02:30 BST is 01:30 UTC.
    ("2026-03-29T01:29:00", LONDON, "evening"),
    ("2026-03-29T01:30:00", LONDON, "small_hours"),
    # Berlin skips 02:00-03:00 CET that night: 02:30 never shows, the band starts at 03:00.
    ("2026-03-29T00:59:00", BERLIN, "evening"),
    ("2026-03-29T01:00:00", BERLIN, "small_hours"),
    # London falls back 2026-10-25 02:00 BST -> 01:00 GMT: 02:30 GMT is 02:30 UTC.
    ("2026-10-25T01:30:00", LONDON, "evening"),  # 01:30 GMT, after the repeated hour
    ("2026-10-25T02:30:00", LONDON, "small_hours"),
    ("2026-10-25T05:59:00", LONDON, "small_hours"),
    ("2026-10-25T06:00:00", LONDON, "morning"),
]


@pytest.mark.parametrize(
    ("when_utc", "tz", "name"), DST_CASES, ids=[f"{c[0]}-{c[1]}" for c in DST_CASES]
)
def test_band_changes_at_local_time_through_dst(when_utc: str, tz: ZoneInfo, name: str) -> None:
    assert band_at(DST, utc(when_utc), tz).name == name


def test_band_override_lasts_until_night_end_across_spring_forward() -> None:
    ctl = controller(HEATER)
    set_at = utc("2026-03-28T22:00:00")  # 22:00 GMT; 08:00 next morning is BST = 07:00 UTC
    ctl.step([temp(set_at, 21.0), BandOverride(ROOM, set_at, 21.5, 23.5)], set_at)
    assert ctl.state is State.HEATING
    before_end = utc("2026-03-29T06:59:00")
    assert ctl.step([temp(before_end, 22.0)], before_end) == []
    after_end = utc("2026-03-29T07:00:00")  # back on the 18-20 band: 22.0 is too warm
    assert said(ctl.step([temp(after_end, 22.0)], after_end)) == ["heater off"]


OVERRIDE_CASES = [
    ("warmer_band_heats", (21.0, 23.0), 20.5, State.HEATING),
    ("low_not_below_high_keeps_the_last_band", (23.0, 21.0), 20.5, State.HEATING),
    ("none_clears_the_override", (None, None), 20.5, State.IDLE),
]


@pytest.mark.parametrize(
    ("band", "temp_c", "state"),
    [c[1:] for c in OVERRIDE_CASES],
    ids=[c[0] for c in OVERRIDE_CASES],
)
def test_band_override_sets_the_band_for_the_night(
    band: tuple[float | None, float | None], temp_c: float, state: State
) -> None:
    ctl = controller(HEATER)
    ctl.step([BandOverride(ROOM, 0.0, 21.0, 23.0)], 0.0)
    ctl.step([BandOverride(ROOM, 1.0, *band), temp(1.0, temp_c)], 1.0)
    assert ctl.state is state


# --- fusion and staleness ---------------------------------------------------------------------

STALE = ComfortSettings(sensor_stale_s=600, sensor_stale_s_by_id={"fast": 60})
FUSE_CASES = [
    ("median_of_three", [("a", 0, 18.0), ("b", 0, 19.0), ("c", 0, 25.0)], (19.0, ("a", "b", "c"))),
    ("one_stale_median_of_rest", [("a", 0, 18.0), ("b", 0, 19.0), ("c", -601, 25.0)], (18.5, ("a", "b"))),
    ("exactly_at_limit_is_fresh", [("a", -600, 18.0)], (18.0, ("a",))),
    ("per_sensor_limit", [("a", 0, 18.0), ("fast", -61, 30.0)], (18.0, ("a",))),
    ("all_stale", [("a", -601, 18.0), ("fast", -61, 19.0)], None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("readings", "expected"), [c[1:] for c in FUSE_CASES], ids=[c[0] for c in FUSE_CASES]
)
def test_fused_temperature_is_median_of_fresh_sensors(
    readings: list[tuple[str, float, float]], expected: tuple[float, tuple[str, ...]] | None
) -> None:
    latest = [TemperatureReading(ROOM, sid, t, c) for sid, t, c in readings]
    assert fuse(latest, 0.0, STALE) == expected


BLIND_CASES = [
    # policy, actuators, temp, seconds blind → targets commanded at that moment
    ("hold_keeps_heater_at_first", "hold", (HEATER,), 17.0, 0, []),
    ("hold_stops_heater_at_max", "hold", (HEATER,), 17.0, 1800, ["heater off"]),
    ("hold_keeps_cooler_past_max", "hold", (COOLER,), 21.0, 1800, []),
    ("hold_stops_climate_heat_at_max", "hold", (CLIMATE,), 17.0, 1800, ["ac off"]),
    ("safe_off_stops_heater_at_once", "safe_off", (HEATER,), 17.0, 0, ["heater off"]),
    ("safe_off_stops_cooler_at_once", "safe_off", (COOLER,), 21.0, 0, ["cooler off"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("policy", "actuators", "temp_c", "blind_s", "expected"),
    [c[1:] for c in BLIND_CASES],
    ids=[c[0] for c in BLIND_CASES],
)
def test_all_sensors_stale_fails_safe_and_never_heats_blind(
    policy: str,
    actuators: tuple[ActuatorSpec, ...],
    temp_c: float,
    blind_s: float,
    expected: list[str],
) -> None:
    settings = FLAT.model_copy(update={"blind_policy": policy})
    ctl = controller(*actuators, settings=settings)
    assert ctl.step([temp(0.0, temp_c)], 0.0) != []  # heating or cooling now
    goes_blind = 901.0  # sensor_stale_s is 900
    first = ctl.step([], goes_blind)
    assert ctl.state is State.BLIND
    actions = first if blind_s == 0 else ctl.step([], goes_blind + blind_s)
    assert said(actions) == expected
    assert ctl.step([], goes_blind + blind_s + 60) == []  # said once


def test_heater_blind_limit_is_not_reached_a_second_early() -> None:
    ctl = controller(HEATER)
    ctl.step([temp(0.0, 17.0)], 0.0)
    ctl.step([], 901.0)
    assert ctl.step([], 901.0 + 1799.0) == []
    assert said(ctl.step([], 901.0 + 1800.0)) == ["heater off"]


def test_start_with_no_sensor_is_blind_and_sensors_back_resume_control() -> None:
    ctl = controller(HEATER)
    assert ctl.step([Tick(0.0)], 0.0) == []
    states = [ctl.state]
    assert feed(ctl, 10.0, 17.0) == ["heater on"]
    states.append(ctl.state)
    assert states == [State.BLIND, State.HEATING]


# --- hysteresis and cycle limits ---------------------------------------------------------------

EDGE_CASES = [
    ("heat_on_exactly_at_edge", 18.25, 18.25, "heater on", State.HEATING),
    ("no_heat_just_above_edge", 18.26, 18.26, "cooler off", State.IDLE),
    ("cool_on_exactly_at_edge", 19.75, 19.75, "cooler on", State.COOLING),
    ("no_cool_just_below_edge", 19.74, 19.74, "cooler off", State.IDLE),
    ("heat_off_exactly_at_edge", 18.0, 19.35, "heater off", State.IDLE),
    ("heat_stays_just_below_edge", 18.0, 19.34, None, State.HEATING),
    ("cool_off_exactly_at_edge", 20.5, 18.65, "cooler off", State.IDLE),
    ("cool_stays_just_above_edge", 20.5, 18.66, None, State.COOLING),
]


@pytest.mark.parametrize(
    ("first_c", "then_c", "target", "state"),
    [c[1:] for c in EDGE_CASES],
    ids=[c[0] for c in EDGE_CASES],
)
def test_hysteresis_edges_are_inclusive(
    first_c: float, then_c: float, target: str | None, state: State
) -> None:
    ctl = controller(HEATER, COOLER)
    first = feed(ctl, 0.0, first_c)
    then = feed(ctl, 600.0, then_c)  # past min_on_s
    assert ctl.state is state
    assert target is None or target in first + then


CYCLE_CASES = [
    ("not_off_before_min_on", [(0, 17.0), (299, 19.5)], State.HEATING, []),
    ("off_at_min_on", [(0, 17.0), (300, 19.5)], State.IDLE, ["heater off"]),
    ("not_on_before_min_off", [(0, 17.0), (300, 19.5), (599, 17.0)], State.IDLE, []),
    ("on_at_min_off", [(0, 17.0), (300, 19.5), (600, 17.0)], State.HEATING, ["heater on"]),
]


@pytest.mark.parametrize(
    ("temps", "state", "last"), [c[1:] for c in CYCLE_CASES], ids=[c[0] for c in CYCLE_CASES]
)
def test_min_on_and_off_times_prevent_short_cycling(
    temps: list[tuple[float, float]], state: State, last: list[str]
) -> None:
    ctl = controller(HEATER)
    results = [feed(ctl, t, c) for t, c in temps]
    assert ctl.state is state
    assert results[-1] == last


def test_repeated_ticks_command_nothing_new() -> None:
    ctl = controller(HEATER)
    assert feed(ctl, 0.0, 17.0) == ["heater on"]
    assert [ctl.step([Tick(t)], t) for t in (1.0, 2.0, 60.0)] == [[], [], []]


# --- actions and why ---------------------------------------------------------------------------

# What each actuator is told; tests/adapters/test_actions.py has what goes out for each.
INTENT_CASES = [
    ("heater", HEATER, 17.0, [SwitchActuator(ROOM, 0.0, "heater", Role.HEATER, on=True)]),
    ("cooler", COOLER, 21.0, [SwitchActuator(ROOM, 0.0, "cooler", Role.COOLER, on=True)]),
    ("fan", FAN, 21.0, [SwitchActuator(ROOM, 0.0, "fan", Role.FAN, on=True)]),
    ("climate_heat", CLIMATE, 17.0, [SetClimate(ROOM, 0.0, "ac", "heat", 19.0)]),
    ("climate_cool", CLIMATE, 21.0, [SetClimate(ROOM, 0.0, "ac", "cool", 19.0)]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "temp_c", "expected"), [c[1:] for c in INTENT_CASES], ids=[c[0] for c in INTENT_CASES]
)
def test_actuator_kinds_get_their_commands(
    spec: ActuatorSpec, temp_c: float, expected: list[ComfortIntent]
) -> None:
    intents = controller(spec).step([temp(0.0, temp_c)], 0.0)
    assert [replace(i, why={}) for i in intents] == expected


def test_every_action_says_why() -> None:
    ctl = controller(HEATER)
    readings: list[ComfortInput] = [temp(0.0, 17.0, "a"), temp(0.0, 17.4, "b")]
    (action,) = ctl.step(readings, 0.0)
    assert action.room == ROOM
    assert action.t == 0.0
    assert dict(action.why) == {
        "rule": "comfort",
        "state": "heating",
        "transition": "blind->idle, idle->heating",
        "band": "night",
        "band_low_c": 18.0,
        "band_high_c": 20.0,
        "temp_c": 17.2,
        "sensors": "a,b",
        "fault": None,
        "window_open": None,
        "ahead_c": 17.2,  # nothing learned yet: no lag to look ahead by
        "undershoot_heat_c": 0.0,
        "overshoot_heat_c": 0.0,
        "undershoot_cool_c": 0.0,
        "overshoot_cool_c": 0.0,
    }


def test_climate_setpoint_follows_a_band_change() -> None:
    ctl = controller(CLIMATE, settings=ComfortSettings(schedule_lead_s=0))
    evening = utc("2026-01-14T23:00:00")  # pre_cool 18-20
    ctl.step([temp(evening, 17.0)], evening)
    later = utc("2026-01-14T23:30:00")  # deep_sleep 16.5-18.5, still heating at 16.6
    actions = ctl.step([temp(later, 16.6)], later)
    assert [(a.mode, a.target_c) for a in actions if isinstance(a, SetClimate)] == [(None, 17.5)]
    assert said(actions) == ["ac 17.5"]


def test_schedule_lead_warms_toward_a_warmer_next_band() -> None:
    # deep_sleep 16.5-18.5 heats from 16.75; 30 min before pre_wake (18-20) from 17.45.
    lead = ComfortSettings()
    early = utc("2026-01-15T04:59:00")
    idle = controller(HEATER, settings=lead).step([temp(early, 17.4)], early)
    assert said(idle) == ["heater off"]  # the first step states every actuator
    inside = utc("2026-01-15T05:00:00")
    heats = controller(HEATER, settings=lead).step([temp(inside, 17.4)], inside)
    assert said(heats) == ["heater on"]


# --- pause and SAFE ----------------------------------------------------------------------------


def test_pause_turns_off_and_then_commands_nothing_until_resumed() -> None:
    ctl = controller(HEATER)
    feed(ctl, 0.0, 17.0)
    assert said(ctl.step([PauseSwitch(ROOM, 10.0, paused=True)], 10.0)) == ["heater off"]
    assert feed(ctl, 400.0, 15.0) == []
    assert ctl.state is State.PAUSED
    resumed = ctl.step([PauseSwitch(ROOM, 500.0, paused=False), temp(500.0, 15.0)], 500.0)
    assert said(resumed) == ["heater on"]


def test_inputs_for_another_room_are_ignored() -> None:
    ctl = controller(HEATER)
    assert ctl.step([TemperatureReading("study", "s1", 0.0, 10.0)], 0.0) == []
    assert ctl.state is State.BLIND


def test_a_clock_set_back_keeps_runs_rests_and_readings_at_their_ages() -> None:
    ctl = controller(HEATER)
    assert feed(ctl, 0.0, 17.0) == ["heater on"]
    # The clock goes an hour back: the heater has run 0 s of its 300 s minimum, and a warm
    # reading stamped by the new clock is taken as the newest, not refused as older.
    back = -3600.0
    assert feed(ctl, back, 25.0) == []
    assert ctl.state is State.HEATING
    assert feed(ctl, back + 240.0, 25.0) == []
    assert feed(ctl, back + FLAT.min_on_s, 25.0) == ["heater off"]
    # The rest before it may heat again runs from that switch, on the new clock.
    off = back + FLAT.min_on_s
    assert feed(ctl, off + FLAT.min_off_s - 1.0, 15.0) == []
    assert feed(ctl, off + FLAT.min_off_s, 15.0) == ["heater on"]


def test_input_a_little_late_is_late_not_a_clock_step(caplog: pytest.LogCaptureFixture) -> None:
    ctl = controller(HEATER)
    assert feed(ctl, 0.0, 17.0) == ["heater on"]
    assert feed(ctl, 100.0, 17.0) == []
    assert feed(ctl, 95.0, 25.0) == []  # a tick trailing arrivals, say: nothing shifts
    assert feed(ctl, FLAT.min_on_s, 25.0) == ["heater off"]  # the run counted from 0
    assert "went back" not in caplog.text


SAFE_CASES = [
    ("temperature_nan", [temp(100.0, float("nan"))], 100.0, "not a number"),
]


@pytest.mark.parametrize(
    ("inputs", "now", "fault"), [c[1:] for c in SAFE_CASES], ids=[c[0] for c in SAFE_CASES]
)
def test_inconsistency_turns_off_once_reports_and_sticks_in_safe(
    inputs: list[ComfortInput], now: float, fault: str
) -> None:
    ctl = controller(HEATER)
    feed(ctl, 0.0, 17.0)
    feed(ctl, 100.0, 17.0)
    actions = ctl.step(inputs, now)
    assert ctl.state is State.SAFE
    assert said(actions) == ["heater off", "notify"]
    notice = actions[-1]
    assert isinstance(notice, Notify)
    assert notice.service is None
    assert fault in notice.message
    for t in (200.0, 1000.0, 5000.0):
        assert ctl.step([temp(t, 10.0), PauseSwitch(ROOM, t, paused=False)], t) == []
    assert ctl.state is State.SAFE


def test_a_heater_that_does_nothing_is_stopped_said_once_and_tried_again_later() -> None:
    """The room falls 1 °C an hour before and while the heater runs: unplugged, or a window."""
    ctl = controller(HEATER)
    start = utc("2026-01-14T23:00:00")
    said_at: dict[float, list[str]] = {}
    for minute in range(0, 150):
        t = start + minute * 60
        said_at[t] = said(ctl.step([temp(t, 18.8 - minute / 60)], t))
    spoken = [(round((t - start) / 60), words) for t, words in said_at.items() if words]
    assert spoken[0] == (0, ["heater off"])  # the first step says what every actuator does
    (on_at, on_words), (off_at, off_words), *later = spoken[1:]
    assert on_words == ["heater on"]
    assert off_words == ["heater off", "notify"]
    assert 30 <= off_at - on_at <= 35  # NO_EFFECT_S, then the next step
    assert ctl.failing(start + off_at * 60)
    assert not any("notify" in words for _, words in later)  # said once
    assert later[0][1] == ["heater on"]  # tried again an hour later
    assert later[0][0] - off_at == pytest.approx(60, abs=1)


def test_a_weak_heater_that_slows_the_fall_is_not_taken_for_a_broken_one() -> None:
    ctl = controller(HEATER)
    start = utc("2026-01-14T23:00:00")
    temp_c = 18.8
    for minute in range(0, 120):
        t = start + minute * 60
        heating = ctl.state is State.HEATING
        temp_c += (-0.4 if heating else -1.0) / 60  # it slows the fall: it works
        ctl.step([temp(t, temp_c)], t)
    assert ctl.state is State.HEATING
    assert not ctl.failing(start + 120 * 60)


def test_an_open_window_stops_heating_at_once_and_starts_nothing_until_closed() -> None:
    ctl = controller(HEATER)
    start = utc("2026-01-14T23:00:00")
    assert said(ctl.step([temp(start, 17.0)], start)) == ["heater on"]
    window = ContactReading(ROOM, "window", start + 60, True)
    # Within the heater's minimum run: an open window does not wait for it.
    assert said(ctl.step([window, temp(start + 60, 17.0)], start + 60)) == ["heater off"]
    assert ctl.window_open
    assert said(ctl.step([temp(start + 600, 16.0)], start + 600)) == []  # cold, but open
    closed = ContactReading(ROOM, "window", start + 900, False)
    assert said(ctl.step([closed, temp(start + 900, 16.0)], start + 900)) == ["heater on"]
