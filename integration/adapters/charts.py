"""The dashboard's charts as SVG text: pure functions of a night's data, no I/O.

Built with ElementTree, so every label from data is escaped by the serializer and the result is
always well-formed XML. Sizes are in viewBox units; the SVG carries no width, so it scales to its
container (a phone's width or a desktop column). Colours come from the classes' rules in the
dashboard's stylesheet (`static/dashboard.css`, a colour-blind-safe palette), so the page's light
and dark themes restyle the same markup.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from integration.core.association import Association
from integration.core.events import Action, MovementEvent, MovementKind, describe
from integration.core.localtime import night_date
from integration.core.notes import Note
from integration.core.summary import MinuteRecord, NightSummary

__all__ = [
    "LANES",
    "PHONE_WIDTH",
    "PRINT_STYLE",
    "association_chart",
    "for_print",
    "heat_steps",
    "hour_heatmap",
    "live_chart",
    "night_chart",
    "restless_spans",
    "rolling_mean",
    "spasm_weeks_chart",
    "temperature_weeks_chart",
    "trend_chart",
]

SVG_NS = "http://www.w3.org/2000/svg"

# Night chart geometry (viewBox units). 720 wide keeps labels legible when a phone scales it to
# about half size; the lanes give every kind of event its own row, so markers never hide others.
NIGHT_WIDTH = 720.0
PHONE_WIDTH = 400.0  # the narrow variant a phone shows at nearly its own size
NIGHT_LEFT = 112.0  # room for the lane names and their colour keys
NIGHT_RIGHT = 24.0  # half a time label, so the last hour is not cut off
NIGHT_TOP = 36.0  # room for the action ticks above the temperature plot
TEMP_HEIGHT = 190.0
LANE_GAP = 14.0
LANE_HEIGHT = 19.0
AXIS_HEIGHT = 26.0
MARKER_RADIUS = 5.0
MIN_TICK_GAP = 56.0  # hour labels closer than this would touch
# An event drawn narrower than this many units is a dot; a longer one is a bar of its duration.
MIN_BAR_WIDTH = 6.0
TEMP_PAD_C = 0.5  # head-room above and below the warmest and coldest value shown

TREND_WIDTH = 720.0
TREND_HEIGHT = 190.0
TREND_LEFT = 40.0
TREND_RIGHT = 60.0  # room for the percentages of the in-band line
TREND_TOP = 14.0
TREND_BOTTOM = 28.0
TREND_NIGHTS = 30  # the trend covers the last month
TREND_MIN_SLOTS = 14  # a short history keeps bars a sensible width

LIVE_WIDTH = 720.0
LIVE_HEIGHT = 170.0
LIVE_LEFT = 76.0  # room for "-300 mg"
LIVE_RIGHT = 14.0
LIVE_TOP = 10.0
LIVE_BOTTOM = 26.0
LIVE_SPAN_S = 60.0  # the live view's minute
# The smallest half-height: a sensor at rest (2-3 mg of noise) shows as noise, not full scale.
LIVE_MIN_SCALE_MG = 10.0
LIVE_GAP_S = 0.5  # points further apart than this are not joined: the sensor was silent

# One lane per kind a person tells apart; a restless episode's start and end share a lane.
LANES: tuple[tuple[str, tuple[MovementKind, ...]], ...] = (
    ("jerk", (MovementKind.JERK,)),
    ("clonus", (MovementKind.CLONUS,)),
    ("plm", (MovementKind.PLM,)),
    ("plm series", (MovementKind.PLM_SERIES,)),
    ("turnover", (MovementKind.TURNOVER,)),
    ("movement", (MovementKind.MOVEMENT,)),
    ("out of bed", (MovementKind.OUT_OF_BED,)),
    ("restless", (MovementKind.RESTLESS_START, MovementKind.RESTLESS_END)),
)


@dataclass(frozen=True, slots=True)
class _Scale:
    """A linear map from data values to viewBox units."""

    lo: float
    hi: float
    out_lo: float
    out_hi: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo
        share = (value - self.lo) / span if span else 0.5
        return self.out_lo + share * (self.out_hi - self.out_lo)


def _n(value: float) -> str:
    """A coordinate with one decimal: enough for a screen, short in the markup."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _svg(width: float, height: float, label: str, css_class: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "viewBox": f"0 0 {_n(width)} {_n(height)}",
            "class": f"chart {css_class}",
            "role": "img",
            "aria-label": label,
        },
    )
    ET.SubElement(svg, "title").text = label
    return svg


def _text(
    parent: ET.Element, x: float, y: float, text: str, attrs: dict[str, str] | None = None
) -> ET.Element:
    element = ET.SubElement(parent, "text", {"x": _n(x), "y": _n(y), **(attrs or {})})
    element.text = text
    return element


def _tooltip(element: ET.Element, text: str) -> None:
    ET.SubElement(element, "title").text = text


def _serialize(svg: ET.Element) -> str:
    return ET.tostring(svg, encoding="unicode")


def _clock(t: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(t, zone).strftime("%H:%M")


def _hour_ticks(x: _Scale, zone: ZoneInfo) -> list[float]:
    """Whole local hours inside the scale's span, spaced at least `MIN_TICK_GAP` apart."""
    start, end = x.lo, x.hi
    per_hour = (x.out_hi - x.out_lo) / max((end - start) / 3600, 1e-9)
    hours = next((h for h in (1, 2, 3, 4, 6) if h * per_hour >= MIN_TICK_GAP), 12)
    first = datetime.fromtimestamp(start, zone).replace(minute=0, second=0, microsecond=0)
    t = (first + timedelta(hours=1)).timestamp()
    step = hours * 3600.0
    ticks = []
    while t <= end:
        ticks.append(t)
        t += step
    return ticks


def _nice_step(span: float, max_lines: int) -> float:
    """A 1, 2 or 5 times power-of-ten step giving at most `max_lines` grid lines."""
    raw = max(span / max_lines, 1e-9)
    power = 10.0 ** math.floor(math.log10(raw))
    return next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)


def restless_spans(events: Iterable[MovementEvent], night_end: float) -> list[tuple[float, float]]:
    """Restless episodes as (start, end): an end event spans its episode; an unclosed one runs on."""
    spans: list[tuple[float, float]] = []
    open_at: float | None = None
    for event in sorted(events, key=lambda e: (e.start, e.end)):
        if event.kind is MovementKind.RESTLESS_START:
            open_at = event.start if open_at is None else open_at
        elif event.kind is MovementKind.RESTLESS_END:
            spans.append((event.start, event.end))
            open_at = None
    if open_at is not None:
        spans.append((open_at, max(open_at, night_end)))
    return spans


def _out_of_bed_spans(minutes: Sequence[MinuteRecord]) -> list[tuple[float, float]]:
    """Runs of minutes with any time out of bed, as (start, end)."""
    spans: list[tuple[float, float]] = []
    for record in minutes:
        if record.in_bed:
            continue
        if spans and spans[-1][1] >= record.t:
            spans[-1] = (spans[-1][0], record.t + 60.0)
        else:
            spans.append((record.t, record.t + 60.0))
    return spans


def _runs(points: Sequence[tuple[float, float] | None]) -> list[list[tuple[float, float]]]:
    """Consecutive known points, split where a value is missing."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    return [run for run in runs if run]


def _action_tooltip(action: Action, zone: ZoneInfo) -> str:
    data = ", ".join(f"{k}={v}" for k, v in action.data.items() if k not in ("message", "title"))
    return f"{_clock(action.t, zone)} {action.target}" + (f" ({data})" if data else "")


def night_chart(
    summary: NightSummary,
    minutes: Sequence[MinuteRecord],
    events: Sequence[MovementEvent],
    actions: Sequence[Action],
    zone: ZoneInfo,
    width: float = NIGHT_WIDTH,
) -> str:
    """One night as SVG: temperature against the comfort band, events by kind, spans, actions.

    Minutes must be in time order; a minute with no temperature breaks the line and the band.
    `width` is the viewBox width: `PHONE_WIDTH` draws the same night for a narrow screen.
    """
    lanes_top = NIGHT_TOP + TEMP_HEIGHT + LANE_GAP
    height = lanes_top + LANE_HEIGHT * len(LANES) + AXIS_HEIGHT
    plot_bottom = lanes_top + LANE_HEIGHT * len(LANES)
    svg = _svg(
        width,
        height,
        f"The night of {summary.night_date} in {summary.room_name}: room temperature against "
        f"the comfort band, {len(events)} events, {len(actions)} actions",
        "night-chart",
    )
    start = min([summary.bed_time, *(m.t for m in minutes[:1])])
    end = max([summary.wake_time, *(m.t + 60.0 for m in minutes[-1:])])
    x = _Scale(start, end, NIGHT_LEFT, width - NIGHT_RIGHT)

    values = [
        v
        for m in minutes
        for v in (m.temp_c, m.low_c, m.high_c)
        if v is not None and math.isfinite(v)
    ]
    spans = ET.SubElement(svg, "g", {"class": "spans"})
    for css_class, span_list in (
        ("out-of-bed", _out_of_bed_spans(minutes)),
        ("restless", restless_spans(events, summary.wake_time)),
    ):
        for a, b in span_list:
            left, right = x(max(a, start)), x(min(b, end))
            rect = ET.SubElement(
                spans,
                "rect",
                {
                    "class": css_class,
                    "x": _n(left),
                    "y": _n(NIGHT_TOP),
                    "width": _n(max(right - left, 1.0)),
                    "height": _n(plot_bottom - NIGHT_TOP),
                },
            )
            label = "out of bed" if css_class == "out-of-bed" else "restless"
            _tooltip(rect, f"{label} {_clock(a, zone)}-{_clock(b, zone)}")

    if values:
        _temperature_plot(svg, minutes, x, min(values), max(values))
    else:
        _text(
            svg,
            (NIGHT_LEFT + width) / 2,
            NIGHT_TOP + TEMP_HEIGHT / 2,
            "no temperature readings this night",
            {"class": "empty", "text-anchor": "middle"},
        )

    axis = ET.SubElement(svg, "g", {"class": "time-axis"})
    for tick in _hour_ticks(x, zone):
        ET.SubElement(
            axis,
            "line",
            {
                "class": "grid",
                "x1": _n(x(tick)),
                "x2": _n(x(tick)),
                "y1": _n(NIGHT_TOP),
                "y2": _n(plot_bottom),
            },
        )
        _text(axis, x(tick), height - 7, _clock(tick, zone), {"text-anchor": "middle"})

    ticks = ET.SubElement(svg, "g", {"class": "actions"})
    for action in actions:
        if not start <= action.t <= end:
            continue
        tick_line = ET.SubElement(
            ticks,
            "line",
            {
                "class": "action",
                "x1": _n(x(action.t)),
                "x2": _n(x(action.t)),
                "y1": _n(NIGHT_TOP - 30),
                "y2": _n(NIGHT_TOP - 14),
            },
        )
        _tooltip(tick_line, _action_tooltip(action, zone))
    _text(svg, NIGHT_LEFT - 8, NIGHT_TOP - 17, "actions", {"text-anchor": "end"})

    _event_lanes(svg, events, x, lanes_top, zone)
    return _serialize(svg)


def _temperature_axis(
    svg: ET.Element,
    span_c: tuple[float, float],
    y_px: tuple[float, float],
    x_px: tuple[float, float],
    label_gap: float,
) -> _Scale:
    """Whole-degree padded °C scale over `span_c`, its grid lines and labels; returns the scale."""
    lo, hi = math.floor(span_c[0] - TEMP_PAD_C), math.ceil(span_c[1] + TEMP_PAD_C)
    y = _Scale(lo, hi, y_px[0], y_px[1])
    grid = ET.SubElement(svg, "g", {"class": "temp-axis"})
    step = _nice_step(hi - lo, 5)
    value = math.ceil(lo / step) * step
    while value <= hi + 1e-9:
        line = {"class": "grid", "x1": _n(x_px[0]), "x2": _n(x_px[1])}
        ET.SubElement(grid, "line", {**line, "y1": _n(y(value)), "y2": _n(y(value))})
        _text(grid, x_px[0] - label_gap, y(value) + 4, f"{value:g} °C", {"text-anchor": "end"})
        value += step
    return y


def _temperature_plot(
    svg: ET.Element, minutes: Sequence[MinuteRecord], x: _Scale, lowest: float, highest: float
) -> None:
    y = _temperature_axis(
        svg, (lowest, highest), (NIGHT_TOP + TEMP_HEIGHT, NIGHT_TOP), (NIGHT_LEFT, x.out_hi), 8
    )

    band_points = [
        None if m.low_c is None or m.high_c is None else (m.low_c, m.high_c) for m in minutes
    ]
    commands = []
    for run_start, run in _indexed_runs(band_points):
        upper, lower = [], []
        for offset, (low, high) in enumerate(run):
            t = minutes[run_start + offset].t
            upper += [f"{_n(x(t))},{_n(y(high))}", f"{_n(x(t + 60))},{_n(y(high))}"]
            lower += [f"{_n(x(t))},{_n(y(low))}", f"{_n(x(t + 60))},{_n(y(low))}"]
        commands.append("M" + " L".join(upper + lower[::-1]) + " Z")
    if commands:
        band = ET.SubElement(svg, "path", {"class": "band", "d": " ".join(commands)})
        _tooltip(band, "comfort band")

    line_points = [None if m.temp_c is None else (x(m.t + 30), y(m.temp_c)) for m in minutes]
    segments = [
        "M" + " L".join(f"{_n(px)},{_n(py)}" for px, py in run) for run in _runs(line_points)
    ]
    if segments:
        line = ET.SubElement(svg, "path", {"class": "temperature", "d": " ".join(segments)})
        _tooltip(line, "room temperature")


def _indexed_runs(
    values: Sequence[tuple[float, float] | None],
) -> list[tuple[int, list[tuple[float, float]]]]:
    """Runs of known values with the index each starts at."""
    runs: list[tuple[int, list[tuple[float, float]]]] = []
    previous_known = False
    for index, value in enumerate(values):
        if value is None:
            previous_known = False
            continue
        if not previous_known:
            runs.append((index, []))
        runs[-1][1].append(value)
        previous_known = True
    return runs


def _event_lanes(
    svg: ET.Element, events: Sequence[MovementEvent], x: _Scale, top: float, zone: ZoneInfo
) -> None:
    group = ET.SubElement(svg, "g", {"class": "events"})
    lane_of = {kind: index for index, (_, kinds) in enumerate(LANES) for kind in kinds}
    for index, (name, kinds) in enumerate(LANES):
        middle = top + LANE_HEIGHT * (index + 0.5)
        _text(
            group, NIGHT_LEFT - 18, middle + 4, name, {"class": "lane-label", "text-anchor": "end"}
        )
        ET.SubElement(  # the lane's colour key: the lanes are the legend of the markers
            group,
            "circle",
            {
                "class": f"lane-key kind-{kinds[-1].value}",
                "cx": _n(NIGHT_LEFT - 9),
                "cy": _n(middle),
                "r": "4",
            },
        )
        ET.SubElement(
            group,
            "line",
            {
                "class": "grid",
                "x1": _n(NIGHT_LEFT),
                "x2": _n(x.out_hi),
                "y1": _n(middle),
                "y2": _n(middle),
            },
        )
    for event in events:
        middle = top + LANE_HEIGHT * (lane_of[event.kind] + 0.5)
        classes = f"marker kind-{event.kind.value}" + ("" if event.spasm_like else " quiet")
        left, right = x(max(event.start, x.lo)), x(min(max(event.end, event.start), x.hi))
        if right - left < MIN_BAR_WIDTH or event.kind is MovementKind.RESTLESS_START:
            marker = ET.SubElement(
                group,
                "circle",
                {
                    "class": classes,
                    "cx": _n((left + right) / 2),
                    "cy": _n(middle),
                    "r": _n(MARKER_RADIUS),
                },
            )
        else:
            marker = ET.SubElement(
                group,
                "rect",
                {
                    "class": classes,
                    "x": _n(left),
                    "y": _n(middle - MARKER_RADIUS),
                    "width": _n(right - left),
                    "height": _n(2 * MARKER_RADIUS),
                    "rx": "3",
                },
            )
        _tooltip(marker, describe(event, zone))


def trend_chart(
    summaries: Sequence[NightSummary], width: float = TREND_WIDTH, notes: Sequence[Note] = ()
) -> str:
    """The last `TREND_NIGHTS` nights: spasm-like events as bars, time in band as a line.

    `width` is the viewBox width: `PHONE_WIDTH` draws the same nights for a narrow screen.
    `notes` (numbered from 1 in the order given) are dashed lines before the first night they
    concern; those outside the nights shown are left out.
    """
    nights = sorted(summaries, key=lambda s: s.bed_time)[-TREND_NIGHTS:]
    svg = _svg(
        width,
        TREND_HEIGHT,
        f"The last {len(nights)} nights: spasm-like events per night (bars) and time in the "
        "comfort band (line)",
        "trend-chart",
    )
    bottom, right = TREND_HEIGHT - TREND_BOTTOM, width - TREND_RIGHT
    if not nights:
        _text(
            svg,
            width / 2,
            TREND_HEIGHT / 2,
            "no nights yet",
            {"class": "empty", "text-anchor": "middle"},
        )
        return _serialize(svg)
    most = max(4, max(s.spasm_count for s in nights))  # a quiet month still gets a readable scale
    step = _nice_step(most, 4)
    top_count = math.ceil(most / step) * step
    count_y = _Scale(0, top_count, bottom, TREND_TOP)
    share_y = _Scale(0, 1, bottom, TREND_TOP)
    slots = max(len(nights), TREND_MIN_SLOTS)
    slot = (right - TREND_LEFT) / slots
    first_slot = slots - len(nights)  # newest night at the right edge

    axis = ET.SubElement(svg, "g", {"class": "axes"})
    value = 0.0
    while value <= top_count + 1e-9:
        ET.SubElement(
            axis,
            "line",
            {
                "class": "grid",
                "x1": _n(TREND_LEFT),
                "x2": _n(right),
                "y1": _n(count_y(value)),
                "y2": _n(count_y(value)),
            },
        )
        _text(axis, TREND_LEFT - 6, count_y(value) + 4, f"{value:g}", {"text-anchor": "end"})
        value += step
    for share in (0.0, 0.5, 1.0):
        _text(axis, right + 6, share_y(share) + 4, f"{share:.0%}", {"class": "in-band-label"})

    bars = ET.SubElement(svg, "g", {"class": "bars"})
    points: list[tuple[float, float] | None] = []
    for index, night in enumerate(nights):
        centre = TREND_LEFT + slot * (first_slot + index + 0.5)
        height = bottom - count_y(night.spasm_count)
        bar = ET.SubElement(
            bars,
            "rect",
            {
                "class": "bar",
                "x": _n(centre - slot * 0.35),
                "y": _n(bottom - height),
                "width": _n(slot * 0.7),
                "height": _n(height),
            },
        )
        band = "no temperature" if night.in_band_share is None else f"{night.in_band_share:.0%}"
        _tooltip(
            bar,
            f"{night.night_date} {night.room_name}: {night.spasm_count} spasm-like, in band {band}",
        )
        points.append(
            None if night.in_band_share is None else (centre, share_y(night.in_band_share))
        )
        if (len(nights) - 1 - index) % 7 == 0:  # label every week back from the newest
            label = f"{date.fromisoformat(night.night_date):%d %b}"
            _text(svg, centre, TREND_HEIGHT - 8, label, {"text-anchor": "middle"})

    segments = ["M" + " L".join(f"{_n(a)},{_n(b)}" for a, b in run) for run in _runs(points)]
    if segments:
        ET.SubElement(svg, "path", {"class": "in-band", "d": " ".join(segments)})
    dates = [date.fromisoformat(night.night_date) for night in nights]
    for day, numbers in sorted(_note_nights(notes, ZoneInfo(nights[0].zone)).items()):
        if dates[0] <= day <= dates[-1]:
            index = next(i for i, d in enumerate(dates) if d >= day)
            text = "; ".join(f"{n}: {notes[n - 1].text}" for n in numbers)
            x = TREND_LEFT + slot * (first_slot + index)
            _note_marker(svg, x, TREND_TOP + 4, bottom, numbers, text)
    for point in points:
        if point is not None:
            ET.SubElement(
                svg,
                "circle",
                {"class": "in-band-dot", "cx": _n(point[0]), "cy": _n(point[1]), "r": "3"},
            )
    return _serialize(svg)


def live_chart(
    points: Sequence[tuple[float, float]], resting_mg: float | None, width: float = LIVE_WIDTH
) -> str:
    """A sensor's last minute: (seconds before its newest sample, mg) as a line around 0.

    `resting_mg` shades the resting level, plus and minus; the scale is symmetric and grows
    with the largest value shown. `width` as for `trend_chart`.
    """
    svg = _svg(
        width,
        LIVE_HEIGHT,
        "The last minute of the sensor's signal: movement in mg around its running mean",
        "live-chart",
    )
    right, bottom = width - LIVE_RIGHT, LIVE_HEIGHT - LIVE_BOTTOM
    x = _Scale(-LIVE_SPAN_S, 0.0, LIVE_LEFT, right)
    peak = max((abs(v) for _, v in points), default=0.0)
    most = max(peak, LIVE_MIN_SCALE_MG, 1.2 * (resting_mg or 0.0))
    step = _nice_step(most, 4)
    top = math.ceil(most / step) * step
    y = _Scale(-top, top, bottom, LIVE_TOP)
    axis = ET.SubElement(svg, "g", {"class": "axes"})
    for value in (-top, 0.0, top):
        ET.SubElement(
            axis,
            "line",
            {
                "class": "grid",
                "x1": _n(LIVE_LEFT),
                "x2": _n(right),
                "y1": _n(y(value)),
                "y2": _n(y(value)),
            },
        )
        label = f"{value:+g} mg" if value else "0"
        _text(axis, LIVE_LEFT - 6, y(value) + 4, label, {"text-anchor": "end"})
    every = 15 if width > PHONE_WIDTH else 20
    for seconds in range(-int(LIVE_SPAN_S), 1, every):
        label = f"{seconds} s" if seconds else "latest"
        anchor = "end" if seconds == 0 else "middle"
        _text(svg, x(seconds), LIVE_HEIGHT - 8, label, {"text-anchor": anchor})
    if resting_mg:
        band = min(resting_mg, top)
        ET.SubElement(
            svg,
            "rect",
            {
                "class": "resting",
                "x": _n(LIVE_LEFT),
                "y": _n(y(band)),
                "width": _n(right - LIVE_LEFT),
                "height": _n(y(-band) - y(band)),
            },
        )
    if not points:
        _text(
            svg,
            (LIVE_LEFT + right) / 2,
            LIVE_TOP + (bottom - LIVE_TOP) / 2 - 8,
            "no signal yet",
            {"class": "empty", "text-anchor": "middle"},
        )
        return _serialize(svg)
    runs: list[list[tuple[float, float]]] = [[]]
    previous: float | None = None
    for t, value in points:
        if previous is not None and t - previous > LIVE_GAP_S:
            runs.append([])
        runs[-1].append((x(max(t, -LIVE_SPAN_S)), y(value)))
        previous = t
    # A lone point is a zero-length line, which the round line cap draws as a dot.
    d = " ".join(
        "M" + " L".join(f"{_n(a)},{_n(b)}" for a, b in run) + (" h0" if len(run) == 1 else "")
        for run in runs
    )
    ET.SubElement(svg, "path", {"class": "signal", "d": d})
    return _serialize(svg)


# --- the weeks: charts over a period of nights (the weeks view and the report) ---------------

WEEKS_WIDTH = 720.0
WEEKS_LEFT = 48.0
WEEKS_RIGHT = 30.0  # half a date label, so the newest night's is not cut off
WEEKS_TOP = 26.0  # room for the notes' numbers above the plot
WEEKS_BOTTOM = 28.0
WEEKS_HEIGHT = 210.0
ROLLING_NIGHTS = 7  # the rolling mean's window: a week smooths the weekday-weekend swing
# A rolling mean over fewer nights with data than this is not drawn: it would be one night's noise.
ROLLING_MIN_NIGHTS = 4
MIN_DATE_GAP = 64.0  # date labels closer than this would touch
HEAT_ROW_HEIGHT = 15.0
HEAT_LEFT = 56.0  # room for "HH:00"
# Hours of the night always shown in the heat-map (local), so a quiet period keeps its shape.
HEAT_FIRST_HOUR = 21
HEAT_LAST_HOUR = 7
HEAT_SHADES = 4  # an hour's count falls in one of this many shades; 0 is left blank
HEAT_LEGEND_HEIGHT = 22.0
FOREST_ROW_HEIGHT = 30.0
FOREST_TOP = 34.0
# The forest plot's ratio axis: from a quarter to four times the reference rate, log scale.
FOREST_MIN_RATIO = 0.25
FOREST_MAX_RATIO = 4.0

# The charts' look in print (the report's PDF): WeasyPrint draws inline SVG by itself, without the
# page's stylesheet, so a printed chart carries its own. Shades of grey, dashes and shapes only,
# so a black-and-white printer or a photocopy keeps every distinction.
PRINT_STYLE = """
text { fill: #333; font-size: 13px; font-family: "DejaVu Sans", sans-serif; }
text.empty { font-size: 16px; }
text.note-number { fill: #000; font-weight: bold; }
.grid { stroke: #ccc; stroke-width: 1; }
.bar { fill: #999; }
.no-data { fill: none; stroke: #999; stroke-width: 1; stroke-dasharray: 2 2; }
.rolling { fill: none; stroke: #000; stroke-width: 2.5; stroke-linejoin: round; }
.in-band { fill: none; stroke: #000; stroke-width: 1.5; stroke-dasharray: 5 3; }
.in-band-dot { fill: #000; }
.note-line { stroke: #000; stroke-width: 1.4; stroke-dasharray: 4 3; }
.band-strip { fill: #ddd; }
.temp-range { stroke: #000; stroke-width: 1.6; }
.temp-mean { fill: #fff; stroke: #000; stroke-width: 1.6; }
.heat-1 { fill: #d9d9d9; } .heat-2 { fill: #a6a6a6; } .heat-3 { fill: #666; } .heat-4 { fill: #1a1a1a; }
.ci { stroke: #000; stroke-width: 2; }
.ratio { fill: #000; }
.ratio.reference { fill: #fff; stroke: #000; stroke-width: 1.6; }
.unity { stroke: #000; stroke-width: 1; stroke-dasharray: 3 3; }
"""


@dataclass(frozen=True, slots=True)
class _Nights:
    """The nights of a period as slots along x, one per date, oldest at the left."""

    first: date
    last: date
    left: float
    right: float

    @property
    def count(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def slot(self) -> float:
        return (self.right - self.left) / self.count

    def centre(self, day: date) -> float:
        return self.left + self.slot * ((day - self.first).days + 0.5)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range(self.count)]


def rolling_mean(
    values: Sequence[float | None], window: int = ROLLING_NIGHTS, least: int = ROLLING_MIN_NIGHTS
) -> list[float | None]:
    """The trailing mean of each value's `window` (itself and those before it), known ones only.

    None where fewer than `least` of the window are known: a night without data is left out,
    not counted as zero.
    """
    means: list[float | None] = []
    for index in range(len(values)):
        known = [v for v in values[max(0, index - window + 1) : index + 1] if v is not None]
        means.append(sum(known) / len(known) if len(known) >= least else None)
    return means


def _note_nights(notes: Sequence[Note], zone: ZoneInfo) -> dict[date, list[int]]:
    """The night each note belongs to, with the notes' numbers (1 for the first)."""
    by_night: dict[date, list[int]] = {}
    for number, note in enumerate(notes, start=1):
        by_night.setdefault(night_date(note.at, zone), []).append(number)
    return by_night


def _note_marker(
    parent: ET.Element, x: float, top: float, bottom: float, numbers: Sequence[int], text: str
) -> None:
    """A dashed vertical line with the notes' numbers above it, keyed to the list below the chart."""
    group = ET.SubElement(parent, "g", {"class": "note"})
    ET.SubElement(
        group,
        "line",
        {"class": "note-line", "x1": _n(x), "x2": _n(x), "y1": _n(top), "y2": _n(bottom)},
    )
    label = ",".join(str(n) for n in numbers)
    _text(group, x, top - 6, label, {"class": "note-number", "text-anchor": "middle"})
    _tooltip(group, text)


def _date_labels(svg: ET.Element, axis: _Nights, y: float) -> None:
    """Every week (or two, or four) back from the newest night, as many as fit."""
    every = next((k for k in (7, 14, 28) if k * axis.slot >= MIN_DATE_GAP), 56)
    for back in range(0, axis.count, every):
        day = axis.last - timedelta(days=back)
        _text(svg, axis.centre(day), y, f"{day:%d %b}", {"text-anchor": "middle"})


def _count_axis(
    svg: ET.Element, most: float, top: float, bottom: float, left: float, right: float
) -> _Scale:
    """A count scale from 0 with its grid lines and labels at the left."""
    step = _nice_step(max(most, 4.0), 4)
    highest = math.ceil(max(most, 4.0) / step) * step
    y = _Scale(0, highest, bottom, top)
    axis = ET.SubElement(svg, "g", {"class": "axes"})
    value = 0.0
    while value <= highest + 1e-9:
        ET.SubElement(
            axis,
            "line",
            {
                "class": "grid",
                "x1": _n(left),
                "x2": _n(right),
                "y1": _n(y(value)),
                "y2": _n(y(value)),
            },
        )
        _text(axis, left - 6, y(value) + 4, f"{value:g}", {"text-anchor": "end"})
        value += step
    return y


def _by_night(summaries: Iterable[NightSummary]) -> dict[date, NightSummary]:
    """One summary a night date; of two on one date, the longer in bed (as the night page does)."""
    chosen: dict[date, NightSummary] = {}
    for summary in summaries:
        day = date.fromisoformat(summary.night_date)
        if day not in chosen or summary.time_in_bed_s > chosen[day].time_in_bed_s:
            chosen[day] = summary
    return chosen


def spasm_weeks_chart(
    summaries: Sequence[NightSummary],
    first: date,
    last: date,
    notes: Sequence[Note] = (),
    width: float = WEEKS_WIDTH,
) -> str:
    """Spasm-like events per night (bars), their 7-night rolling mean (line), notes as markers.

    One slot per date from `first` to `last`: a night without data is an empty dashed box, so a
    gap is seen, not hidden. Notes are numbered from 1 in the order given.
    """
    axis = _Nights(first, last, WEEKS_LEFT, width - WEEKS_RIGHT)
    nights = _by_night(s for s in summaries if first <= date.fromisoformat(s.night_date) <= last)
    svg = _svg(
        width,
        WEEKS_HEIGHT,
        f"Spasm-like events per night from {first} to {last} (bars), their {ROLLING_NIGHTS}-night "
        f"rolling mean (line), {len(notes)} notes (dashed lines)",
        "weeks-chart",
    )
    bottom = WEEKS_HEIGHT - WEEKS_BOTTOM
    counts = [nights[d].spasm_count if d in nights else None for d in axis.days()]
    y = _count_axis(
        svg, float(max((c for c in counts if c is not None), default=0)), WEEKS_TOP, bottom,
        WEEKS_LEFT, axis.right,
    )  # fmt: skip
    bars = ET.SubElement(svg, "g", {"class": "bars"})
    for day, count in zip(axis.days(), counts, strict=True):
        centre, half = axis.centre(day), axis.slot * 0.35
        if count is None:
            box = ET.SubElement(
                bars,
                "rect",
                {
                    "class": "no-data",
                    "x": _n(centre - half),
                    "y": _n(WEEKS_TOP),
                    "width": _n(2 * half),
                    "height": _n(bottom - WEEKS_TOP),
                },
            )
            _tooltip(box, f"{day}: no data")
            continue
        bar = ET.SubElement(
            bars,
            "rect",
            {
                "class": "bar",
                "x": _n(centre - half),
                "y": _n(y(count)),
                "width": _n(2 * half),
                "height": _n(bottom - y(count)),
            },
        )
        _tooltip(bar, f"{day}: {count} spasm-like")
    means = rolling_mean([None if c is None else float(c) for c in counts])
    points = [
        None if m is None else (axis.centre(d), y(m))
        for d, m in zip(axis.days(), means, strict=True)
    ]
    segments = ["M" + " L".join(f"{_n(a)},{_n(b)}" for a, b in run) for run in _runs(points)]
    if segments:
        line = ET.SubElement(svg, "path", {"class": "rolling", "d": " ".join(segments)})
        _tooltip(line, f"{ROLLING_NIGHTS}-night rolling mean")
    _period_notes(svg, axis, notes, ZoneInfo(summaries[0].zone) if summaries else None, bottom)
    _date_labels(svg, axis, WEEKS_HEIGHT - 8)
    return _serialize(svg)


def _period_notes(
    svg: ET.Element, axis: _Nights, notes: Sequence[Note], zone: ZoneInfo | None, bottom: float
) -> None:
    """Each note's marker at the start of the night it belongs to."""
    if zone is None:
        return
    by_night = _note_nights(notes, zone)
    for day, numbers in sorted(by_night.items()):
        if axis.first <= day <= axis.last:
            text = "; ".join(f"{n}: {notes[n - 1].text}" for n in numbers)
            _note_marker(svg, axis.centre(day) - axis.slot / 2, WEEKS_TOP, bottom, numbers, text)


def _night_hour_order(hour: int) -> int:
    """Hours in the order of a night: 12:00 first, 11:00 last."""
    return (hour - 12) % 24


def heat_steps(most: int) -> tuple[int, ...]:
    """The least count of each shade, from 1: equal shares of the busiest hour's count.

    With few events a shade is one count each (1, 2, 3, 4); the busiest hour is always darkest.
    """
    steps = [1]
    for share in range(1, HEAT_SHADES):
        steps.append(max(steps[-1] + 1, math.ceil(most * share / HEAT_SHADES) + 1))
    return tuple(steps)


def hour_heatmap(
    summaries: Sequence[NightSummary], first: date, last: date, width: float = WEEKS_WIDTH
) -> str:
    """Spasm-like events by hour of the night (rows) across the nights (columns), darker = more.

    Hours 21:00 to 07:00 are always shown, more when events fall outside them; the legend under
    the dates says which counts each shade stands for.
    """
    nights = _by_night(s for s in summaries if first <= date.fromisoformat(s.night_date) <= last)
    hours = {HEAT_FIRST_HOUR, HEAT_LAST_HOUR} | {
        int(hour[:2]) for s in nights.values() for hour, n in s.spasms_by_hour.items() if n
    }
    ordered = sorted(hours, key=_night_hour_order)
    rows = [
        (h + 12) % 24
        for h in range(_night_hour_order(ordered[0]), _night_hour_order(ordered[-1]) + 1)
    ]
    most = max((n for s in nights.values() for n in s.spasms_by_hour.values()), default=0)
    steps = heat_steps(most)
    top = 8.0
    plot_bottom = top + HEAT_ROW_HEIGHT * len(rows)
    height = plot_bottom + WEEKS_BOTTOM + HEAT_LEGEND_HEIGHT
    axis = _Nights(first, last, HEAT_LEFT, width - WEEKS_RIGHT)
    svg = _svg(
        width,
        height,
        f"Spasm-like events by hour of the night from {first} to {last}: one column a night, "
        "darker cells have more events",
        "heat-chart",
    )
    grid = ET.SubElement(svg, "g", {"class": "heat"})
    for row, hour in enumerate(rows):
        middle = top + HEAT_ROW_HEIGHT * (row + 0.5)
        if row % 2 == 0:
            _text(grid, HEAT_LEFT - 6, middle + 4, f"{hour:02d}:00", {"text-anchor": "end"})
        ET.SubElement(
            grid,
            "line",
            {
                "class": "grid",
                "x1": _n(HEAT_LEFT),
                "x2": _n(axis.right),
                "y1": _n(top + HEAT_ROW_HEIGHT * row),
                "y2": _n(top + HEAT_ROW_HEIGHT * row),
            },
        )
    for day in axis.days():
        summary = nights.get(day)
        if summary is None:
            continue
        for row, hour in enumerate(rows):
            count = summary.spasms_by_hour.get(f"{hour:02d}:00", 0)
            if count <= 0:
                continue
            shade = sum(count >= least for least in steps)
            cell = ET.SubElement(
                grid,
                "rect",
                {
                    "class": f"heat-cell heat-{shade}",
                    "x": _n(axis.centre(day) - axis.slot / 2 + 0.5),
                    "y": _n(top + HEAT_ROW_HEIGHT * row + 0.5),
                    "width": _n(max(axis.slot - 1, 1.0)),
                    "height": _n(HEAT_ROW_HEIGHT - 1),
                },
            )
            _tooltip(cell, f"{day} {hour:02d}:00: {count} spasm-like")
    _date_labels(svg, axis, plot_bottom + 18)
    legend = ET.SubElement(svg, "g", {"class": "heat-legend"})
    y = height - 14
    x = HEAT_LEFT
    _text(legend, x, y + 9, "events an hour:", {})
    x += 112
    for shade, least in enumerate(steps, start=1):
        upper = steps[shade] - 1 if shade < len(steps) else max(most, least)
        label = str(least) if upper <= least else f"{least}-{upper}"
        ET.SubElement(
            legend,
            "rect",
            {
                "class": f"heat-cell heat-{shade}",
                "x": _n(x),
                "y": _n(y),
                "width": "16",
                "height": "11",
            },
        )
        _text(legend, x + 21, y + 9, label, {})
        x += 30 + 8 * len(label)
    return _serialize(svg)


def temperature_weeks_chart(
    summaries: Sequence[NightSummary],
    bands: Mapping[date, tuple[float, float]],
    first: date,
    last: date,
    width: float = WEEKS_WIDTH,
) -> str:
    """Room temperature per night, lowest to highest (line) and mean (circle), on the band (strip).

    `bands` is the comfort band in force each night (low, high °C); a night without one has no strip.
    """
    axis = _Nights(first, last, WEEKS_LEFT, width - WEEKS_RIGHT)
    nights = _by_night(s for s in summaries if first <= date.fromisoformat(s.night_date) <= last)
    svg = _svg(
        width,
        WEEKS_HEIGHT,
        f"Room temperature per night from {first} to {last}: lowest to highest (line), mean "
        "(circle), against the comfort band (shaded)",
        "temp-weeks-chart",
    )
    bottom = WEEKS_HEIGHT - WEEKS_BOTTOM
    values = [
        v
        for s in nights.values()
        for v in (s.temp_min_c, s.temp_max_c)
        if v is not None and math.isfinite(v)
    ] + [v for day, band in bands.items() if first <= day <= last for v in band]
    if not values:
        _text(
            svg,
            width / 2,
            WEEKS_HEIGHT / 2,
            "no temperature readings in this period",
            {"class": "empty", "text-anchor": "middle"},
        )
        return _serialize(svg)
    y = _temperature_axis(
        svg, (min(values), max(values)), (bottom, WEEKS_TOP), (WEEKS_LEFT, axis.right), 6
    )
    strips = ET.SubElement(svg, "g", {"class": "bands"})
    for day in axis.days():
        band = bands.get(day)
        if band is None:
            continue
        low, high = band
        strip = ET.SubElement(
            strips,
            "rect",
            {
                "class": "band-strip",
                "x": _n(axis.centre(day) - axis.slot / 2),
                "y": _n(y(high)),
                "width": _n(axis.slot),
                "height": _n(max(y(low) - y(high), 0.5)),
            },
        )
        _tooltip(strip, f"{day}: band {low:g}-{high:g} °C")
    marks = ET.SubElement(svg, "g", {"class": "temps"})
    radius = max(1.5, min(4.0, axis.slot * 0.3))
    for day, summary in sorted(nights.items()):
        low_c, mean_c, high_c = summary.temp_min_c, summary.temp_mean_c, summary.temp_max_c
        if low_c is None or mean_c is None or high_c is None:
            continue
        x = axis.centre(day)
        ET.SubElement(
            marks,
            "line",
            {
                "class": "temp-range",
                "x1": _n(x),
                "x2": _n(x),
                "y1": _n(y(low_c)),
                "y2": _n(y(high_c)),
            },
        )
        dot = ET.SubElement(
            marks,
            "circle",
            {"class": "temp-mean", "cx": _n(x), "cy": _n(y(mean_c)), "r": _n(radius)},
        )
        _tooltip(dot, f"{day}: {low_c:.1f}-{high_c:.1f} °C, mean {mean_c:.1f} °C")
    _date_labels(svg, axis, WEEKS_HEIGHT - 8)
    return _serialize(svg)


def association_chart(association: Association, width: float = WEEKS_WIDTH) -> str:
    """Each group's rate and its rate ratio to the reference with a 95 % CI (a forest plot).

    The rate is events an hour with what it rests on; the ratio is a square on a log axis, its
    confidence interval a line. A group without enough data says so in place of a point.
    """
    groups = association.groups
    height = FOREST_TOP + FOREST_ROW_HEIGHT * max(len(groups), 1) + WEEKS_BOTTOM
    svg = _svg(
        width,
        height,
        f"{association.title}: events an hour in each group and the rate ratio against "
        f"{association.reference}, with its 95 % confidence interval, on a log scale",
        "forest-chart",
    )
    plot_left = width * 0.55
    plot_right = width - WEEKS_RIGHT - 8
    x = _Scale(math.log(FOREST_MIN_RATIO), math.log(FOREST_MAX_RATIO), plot_left, plot_right)
    bottom = FOREST_TOP + FOREST_ROW_HEIGHT * max(len(groups), 1)
    _text(svg, 4, FOREST_TOP - 12, "group", {"class": "column-head"})
    _text(
        svg,
        plot_left - 10,
        FOREST_TOP - 12,
        "events an hour",
        {"class": "column-head", "text-anchor": "end"},
    )
    _text(
        svg, (plot_left + plot_right) / 2, FOREST_TOP - 12, f"ratio to {association.reference}",
        {"class": "column-head", "text-anchor": "middle"},
    )  # fmt: skip
    axis = ET.SubElement(svg, "g", {"class": "axes"})
    for tick in (0.25, 0.5, 1.0, 2.0, 4.0):
        ET.SubElement(
            axis,
            "line",
            {
                "class": "unity" if tick == 1.0 else "grid",
                "x1": _n(x(math.log(tick))),
                "x2": _n(x(math.log(tick))),
                "y1": _n(FOREST_TOP),
                "y2": _n(bottom),
            },
        )
        _text(axis, x(math.log(tick)), height - 8, f"{tick:g}x", {"text-anchor": "middle"})
    rows = ET.SubElement(svg, "g", {"class": "forest"})
    for index, group in enumerate(groups):
        middle = FOREST_TOP + FOREST_ROW_HEIGHT * (index + 0.5)
        _text(rows, 4, middle + 4, group.name, {"class": "lane-label"})
        rate = (
            "not enough data"
            if group.per_hour is None
            else f"{group.per_hour:.2f} ({group.events} in {group.minutes / 60:.0f} h)"
        )
        _text(rows, plot_left - 10, middle + 4, rate, {"text-anchor": "end"})
        if group.name == association.reference and group.per_hour is not None:
            ET.SubElement(
                rows,
                "circle",
                {"class": "ratio reference", "cx": _n(x(0.0)), "cy": _n(middle), "r": "5"},
            )
            continue
        ratio = group.versus_reference
        if ratio is None:
            continue
        clamp = (math.log(FOREST_MIN_RATIO), math.log(FOREST_MAX_RATIO))

        def at(value: float, lo: float = clamp[0], hi: float = clamp[1]) -> float:
            return x(min(max(math.log(max(value, 1e-9)), lo), hi))

        ci = ET.SubElement(
            rows,
            "line",
            {
                "class": "ci",
                "x1": _n(at(ratio.low)),
                "x2": _n(at(ratio.high)),
                "y1": _n(middle),
                "y2": _n(middle),
            },
        )
        _tooltip(ci, f"95 % CI {ratio.low:.2f}-{ratio.high:.2f}")
        point = ET.SubElement(
            rows,
            "rect",
            {
                "class": "ratio",
                "x": _n(at(ratio.ratio) - 5),
                "y": _n(middle - 5),
                "width": "10",
                "height": "10",
            },
        )
        _tooltip(
            point, f"{group.name}: {ratio.ratio:.2f}x (95 % CI {ratio.low:.2f}-{ratio.high:.2f})"
        )
    return _serialize(svg)


def for_print(svg_text: str) -> str:
    """A chart with `PRINT_STYLE` inside it, for a renderer that does not apply the page's CSS."""
    return svg_text.replace("</title>", f"</title><style>{PRINT_STYLE}</style>", 1)
