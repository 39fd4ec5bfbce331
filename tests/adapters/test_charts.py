"""The dashboard's SVG charts, from hand-made nights with known contents."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from integration.adapters.charts import (
    PHONE_WIDTH,
    TREND_NIGHTS,
    night_chart,
    restless_spans,
    trend_chart,
)
from integration.core.events import Action, ActionKind, MovementEvent, MovementKind
from integration.core.summary import MinuteRecord, NightAccumulator, NightSummary

LONDON = ZoneInfo("Europe/London")
BED = datetime(2026, 11, 23, 22, 30, tzinfo=LONDON).timestamp()
HOURS = 2
NS = {"svg": "http://www.w3.org/2000/svg"}


def summary(room_name: str = "Bedroom", bed: float = BED) -> NightSummary:
    return NightAccumulator("bedroom", room_name, bed, LONDON).finish(bed + HOURS * 3600)


def minute(i: int, temp_c: float | None = 19.0, in_bed: bool = True) -> MinuteRecord:
    known = temp_c is not None
    return MinuteRecord(
        "bedroom",
        BED + 60 * i,
        temp_c,
        17.0 if known else None,
        19.5 if known else None,
        3.0,
        0,
        in_bed,
    )


def event(kind: MovementKind, start_min: float, duration_s: float = 1.0) -> MovementEvent:
    start = BED + 60 * start_min
    spasm_like = kind in (MovementKind.JERK, MovementKind.CLONUS, MovementKind.PLM)
    return MovementEvent("bedroom", kind, start, start + duration_s, 4.0, 0.9, spasm_like)


def action(at_min: float) -> Action:
    return Action(
        "bedroom",
        BED + 60 * at_min,
        ActionKind.MQTT_PUBLISH,
        "bedroom/fan/set",
        {"payload": "ON"},
        {"rule": "comfort"},
    )


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well-formed
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def by_class(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter() if css_class in e.get("class", "").split()]


def path_runs(element: ET.Element) -> int:
    return element.get("d", "").count("M")


def test_night_chart_has_the_band_the_line_and_scales_by_viewbox() -> None:
    root = parse(night_chart(summary(), [minute(i) for i in range(120)], [], [], LONDON))
    assert root.get("viewBox", "").startswith("0 0 720 ")
    assert root.get("width") is None  # fluid: the page decides the size
    (band,) = by_class(root, "band")
    (line,) = by_class(root, "temperature")
    assert path_runs(band) == 1
    assert path_runs(line) == 1
    assert len(line.get("d", "").split("L")) == 120  # a point per minute
    hour_labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"23:00", "00:00"} <= set(hour_labels)


@pytest.mark.parametrize("kind", list(MovementKind), ids=lambda k: k.value)
def test_every_event_is_one_marker_with_its_kind_class(kind: MovementKind) -> None:
    events = [event(kind, 10), event(kind, 50, duration_s=900.0)]
    root = parse(night_chart(summary(), [minute(i) for i in range(120)], events, [], LONDON))
    markers = by_class(root, "marker")
    assert len(markers) == 2
    assert all(f"kind-{kind.value}" in m.get("class", "") for m in markers)
    titles = [m.find("svg:title", NS) for m in markers]
    assert all(t is not None and t.text for t in titles)


def test_a_long_event_is_a_bar_and_a_short_one_a_dot() -> None:
    events = [event(MovementKind.JERK, 10), event(MovementKind.PLM_SERIES, 20, duration_s=900.0)]
    root = parse(night_chart(summary(), [minute(i) for i in range(120)], events, [], LONDON))
    dot, bar = by_class(root, "marker")
    assert dot.tag.endswith("circle")
    assert bar.tag.endswith("rect")
    assert float(bar.get("width", "0")) > 50


def test_spasm_like_markers_are_solid_and_others_faded() -> None:
    events = [event(MovementKind.CLONUS, 10), event(MovementKind.TURNOVER, 20)]
    root = parse(night_chart(summary(), [], events, [], LONDON))
    clonus, turnover = by_class(root, "marker")
    assert "quiet" not in clonus.get("class", "")
    assert "quiet" in turnover.get("class", "")


def test_missing_temperatures_break_the_line_and_the_band() -> None:
    minutes = [minute(i, None if 40 <= i < 60 else 19.0 + i / 100) for i in range(120)]
    root = parse(night_chart(summary(), minutes, [], [], LONDON))
    (band,) = by_class(root, "band")
    (line,) = by_class(root, "temperature")
    assert path_runs(line) == 2
    assert path_runs(band) == 2


def test_a_night_with_no_minutes_and_no_events_says_so() -> None:
    root = parse(night_chart(summary(), [], [], [], LONDON))
    assert not by_class(root, "temperature")
    assert not by_class(root, "band")
    assert not by_class(root, "marker")
    (empty,) = by_class(root, "empty")
    assert empty.text == "no temperature readings this night"


def test_restless_episodes_and_time_out_of_bed_are_shaded() -> None:
    minutes = [minute(i, in_bed=not 70 <= i < 82) for i in range(120)]
    events = [
        event(MovementKind.RESTLESS_START, 20),
        event(MovementKind.RESTLESS_END, 20, duration_s=600.0),
    ]
    root = parse(night_chart(summary(), minutes, events, [], LONDON))
    (restless,) = by_class(root, "restless")
    (out_of_bed,) = by_class(root, "out-of-bed")
    assert float(restless.get("width", "0")) > float(out_of_bed.get("width", "0")) * 0.7
    out_title = out_of_bed.find("svg:title", NS)
    assert out_title is not None
    assert out_title.text == "out of bed 23:40-23:52"


def test_an_unclosed_restless_episode_runs_to_the_end_of_the_night() -> None:
    start = event(MovementKind.RESTLESS_START, 100)
    assert restless_spans([start], BED + 7200) == [(start.start, BED + 7200)]


def test_actions_in_the_night_are_ticks_and_later_ones_are_left_out() -> None:
    actions = [action(5), action(60), action(HOURS * 60 + 45)]  # the last: the morning summary
    root = parse(night_chart(summary(), [minute(i) for i in range(120)], [], actions, LONDON))
    ticks = by_class(root, "action")
    assert len(ticks) == 2
    title = ticks[0].find("svg:title", NS)
    assert title is not None
    assert title.text == "22:35 bedroom/fan/set (payload=ON)"


def test_text_from_data_is_escaped_not_markup() -> None:
    hostile = "<script>alert(1)</script>"
    svg = night_chart(summary(room_name=hostile), [], [], [], LONDON)
    root = parse(svg)
    assert "<script>" not in svg
    assert not list(root.iter("script"))
    title = root.find("svg:title", NS)
    assert title is not None
    assert hostile in (title.text or "")


def test_the_phone_variant_is_narrower_with_the_same_content() -> None:
    minutes = [minute(i) for i in range(120)]
    events = [event(MovementKind.JERK, 10)]
    root = parse(night_chart(summary(), minutes, events, [action(5)], LONDON, width=PHONE_WIDTH))
    assert root.get("viewBox", "").startswith("0 0 400 ")
    assert len(by_class(root, "marker")) == 1
    assert len(by_class(root, "action")) == 1


def nights(count: int) -> list[NightSummary]:
    return [
        dataclasses.replace(
            summary(bed=BED - 86400 * i),
            spasm_count=i % 5,
            in_band_share=None if i == 3 else 0.9,
        )
        for i in range(count)
    ]


def test_trend_has_a_bar_per_night_and_the_in_band_line() -> None:
    root = parse(trend_chart(nights(10)))
    bars = by_class(root, "bar")
    assert len(bars) == 10
    (line,) = by_class(root, "in-band")
    assert path_runs(line) == 2  # night 3 has no temperature: the line breaks there
    assert len(by_class(root, "in-band-dot")) == 9
    titles = [b.find("svg:title", NS) for b in bars]
    assert titles[-1] is not None
    assert titles[-1].text == "2026-11-23 Bedroom: 0 spasm-like, in band 90%"


def test_trend_shows_only_the_last_month_oldest_on_the_left() -> None:
    root = parse(trend_chart(nights(45)))
    bars = by_class(root, "bar")
    assert len(bars) == TREND_NIGHTS
    xs = [float(b.get("x", "0")) for b in bars]
    assert xs == sorted(xs)


def test_trend_with_no_nights_says_so() -> None:
    root = parse(trend_chart([]))
    assert not by_class(root, "bar")
    (empty,) = by_class(root, "empty")
    assert empty.text == "no nights yet"
