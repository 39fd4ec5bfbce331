"""The charts over weeks of nights, from hand-made summaries with known contents."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from integration.adapters.charts import (
    PHONE_WIDTH,
    PRINT_STYLE,
    association_chart,
    for_print,
    heat_steps,
    hour_heatmap,
    rolling_mean,
    spasm_weeks_chart,
    temperature_weeks_chart,
    trend_chart,
)
from integration.core.association import ASSOCIATION_CAVEAT, Association, GroupRate, RateRatio
from integration.core.notes import Note
from integration.core.summary import NightAccumulator, NightSummary

BERLIN = ZoneInfo("Europe/Berlin")
FIRST = date(2026, 10, 5)
NS = {"svg": "http://www.w3.org/2000/svg"}


def night(day: date, spasms: int = 3, by_hour: dict[str, int] | None = None) -> NightSummary:
    bed = datetime.combine(day, time(22, 30), BERLIN).timestamp()
    summary = NightAccumulator("bedroom", "Bedroom", bed, BERLIN).finish(bed + 8 * 3600)
    return dataclasses.replace(
        summary,
        spasm_count=spasms,
        spasms_by_hour=by_hour or {},
        temp_min_c=17.5,
        temp_mean_c=18.5,
        temp_max_c=19.5,
    )


def note(day: date, text: str = "baclofen 10 mg") -> Note:
    return Note("bedroom", datetime.combine(day, time(21, 0), BERLIN).timestamp(), text, "cli")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own chart


def of_class(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter() if css_class in (e.get("class") or "").split()]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 2.0, 3.0], [None, None, None]),
        ([2.0] * 4, [None, None, None, 2.0]),
        ([0.0, 7.0, 0.0, 7.0, 0.0, 7.0, 0.0, 7.0], [None, None, None, 3.5, 2.8, 3.5, 3.0, 4.0]),
        ([4.0, None, 4.0, 4.0, None, 4.0, None, None, None], [None] * 5 + [4.0, 4.0, None, None]),
    ],
    ids=["too-few", "fourth-night", "a-week-trails", "missing-nights-left-out-not-zero"],
)
def test_rolling_mean_over_a_week_of_known_nights(
    values: list[float | None], expected: list[float | None]
) -> None:
    assert rolling_mean(values) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("most", "steps"), [(0, (1, 2, 3, 4)), (4, (1, 2, 3, 4)), (12, (1, 4, 7, 10))]
)
def test_heat_shades_split_the_busiest_hour(most: int, steps: tuple[int, ...]) -> None:
    assert heat_steps(most) == steps


def test_nights_chart_has_a_slot_a_night_gaps_drawn_and_notes_numbered() -> None:
    days = [FIRST + timedelta(days=i) for i in range(14) if i not in (3, 4)]
    root = parse(
        spasm_weeks_chart(
            [night(d, spasms=i) for i, d in enumerate(days)],
            FIRST,
            FIRST + timedelta(days=13),
            [note(FIRST + timedelta(days=7)), note(FIRST + timedelta(days=7), "a hot day")],
        )
    )
    assert len(of_class(root, "bar")) == 12
    assert len(of_class(root, "no-data")) == 2
    assert len(of_class(root, "rolling")) == 1
    (marker,) = of_class(root, "note")
    number, title = marker.find("svg:text", NS), marker.find("svg:title", NS)
    assert number is not None
    assert number.text == "1,2"
    assert title is not None
    assert "2: a hot day" in (title.text or "")
    line = marker.find("svg:line", NS)
    assert line is not None
    bar_x = [float(b.get("x", 0)) for b in of_class(root, "bar")]
    # The marker stands at the start of the note's night, between the bars of nights 6 and 7
    # (the 5th and 6th drawn: nights 3 and 4 have none).
    assert bar_x[4] < float(line.get("x1", 0)) < bar_x[5]


def test_a_note_outside_the_period_is_not_drawn() -> None:
    root = parse(
        spasm_weeks_chart(
            [night(FIRST)], FIRST, FIRST + timedelta(days=6), [note(date(2026, 1, 1))]
        )
    )
    assert of_class(root, "note") == []


def test_heatmap_shades_each_hour_of_each_night() -> None:
    nights = [
        night(FIRST, by_hour={"23:00": 1, "02:00": 12}),
        night(FIRST + timedelta(days=2), by_hour={"19:00": 3}),
    ]
    root = parse(hour_heatmap(nights, FIRST, FIRST + timedelta(days=2)))
    cells = [c for c in of_class(root, "heat-cell") if c.find("svg:title", NS) is not None]
    titles = sorted(c.find("svg:title", NS).text or "" for c in cells)  # type: ignore[union-attr]
    assert titles == [
        f"{FIRST} 02:00: 12 spasm-like",
        f"{FIRST} 23:00: 1 spasm-like",
        f"{FIRST + timedelta(days=2)} 19:00: 3 spasm-like",
    ]
    busiest = next(c for c in cells if "12 spasm" in (c.find("svg:title", NS).text or ""))  # type: ignore[union-attr]
    assert "heat-4" in (busiest.get("class") or "")
    labels = [t.text for t in root.iter(f"{{{NS['svg']}}}text")]
    assert "19:00" in labels  # an event at 19:00 widens the night's rows beyond 21:00


def test_temperature_chart_draws_each_night_on_its_band() -> None:
    days = [FIRST + timedelta(days=i) for i in range(5)]
    bands = {d: (18.0, 20.0) for d in days[:3]}
    root = parse(temperature_weeks_chart([night(d) for d in days], bands, days[0], days[-1]))
    assert len(of_class(root, "band-strip")) == 3
    assert len(of_class(root, "temp-range")) == 5
    assert len(of_class(root, "temp-mean")) == 5
    empty = parse(temperature_weeks_chart([], {}, days[0], days[-1]))
    assert [e.text for e in of_class(empty, "empty")] == ["no temperature readings in this period"]


def association(*, enough: bool = True) -> Association:
    return Association(
        title="Spasm-like events by room temperature against the comfort band",
        reference="in the band",
        groups=(
            GroupRate("below the band", 16.0, 18.0, 3, 200, 3, None, None),
            GroupRate("in the band", 18.0, 20.0, 120, 3000, 30, 2.4, None),
            GroupRate("above the band", 20.0, 23.0, 90, 1200, 14, 4.5, RateRatio(1.9, 1.4, 2.5)),
            GroupRate("far above", 23.0, None, 9, 700, 8, 0.77, RateRatio(0.3, 0.1, float("inf"))),
        ),
        enough=enough,
        verdict="Above the band: 90 % more.",
        caveat=ASSOCIATION_CAVEAT,
    )


def test_forest_plot_draws_ratios_with_their_intervals_on_a_log_axis() -> None:
    root = parse(association_chart(association()))
    assert len(of_class(root, "reference")) == 1
    ratios = [r for r in of_class(root, "ratio") if "reference" not in (r.get("class") or "")]
    assert len(ratios) == 2
    cis = of_class(root, "ci")
    assert len(cis) == 2
    (unity,) = of_class(root, "unity")
    one = float(unity.get("x1", 0))
    above = ratios[0]
    assert float(above.get("x", 0)) + 5 > one  # 1.9x lies right of 1x
    texts = [t.text for t in root.iter(f"{{{NS['svg']}}}text")]
    assert "not enough data" in texts
    assert "0.25x" in texts
    assert "4x" in texts
    # An interval with no upper bound runs to the axis' end, not off the chart.
    far_ci = cis[1]
    assert float(far_ci.get("x2", 0)) <= 720


def test_trend_chart_draws_notes_on_the_nights_shown() -> None:
    nights = [night(FIRST + timedelta(days=i)) for i in range(10)]
    root = parse(trend_chart(nights, notes=[note(FIRST + timedelta(days=4))]))
    (marker,) = of_class(root, "note")
    assert "1: baclofen 10 mg" in (marker.find("svg:title", NS).text or "")  # type: ignore[union-attr]
    narrow = parse(trend_chart(nights, PHONE_WIDTH, notes=[note(FIRST - timedelta(days=40))]))
    assert of_class(narrow, "note") == []


def test_a_printed_chart_carries_its_own_greyscale_style() -> None:
    svg = for_print(association_chart(association()))
    root = parse(svg)
    (style,) = root.iter(f"{{{NS['svg']}}}style")
    assert style.text == PRINT_STYLE
    assert "var(" not in PRINT_STYLE  # no page stylesheet to resolve them in print
