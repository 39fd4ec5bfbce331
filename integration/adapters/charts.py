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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from integration.core.events import Action, MovementEvent, MovementKind, describe
from integration.core.summary import MinuteRecord, NightSummary

__all__ = [
    "LANES",
    "PHONE_WIDTH",
    "live_chart",
    "night_chart",
    "restless_spans",
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


def _temperature_plot(
    svg: ET.Element, minutes: Sequence[MinuteRecord], x: _Scale, lowest: float, highest: float
) -> None:
    lo, hi = math.floor(lowest - TEMP_PAD_C), math.ceil(highest + TEMP_PAD_C)
    y = _Scale(lo, hi, NIGHT_TOP + TEMP_HEIGHT, NIGHT_TOP)
    grid = ET.SubElement(svg, "g", {"class": "temp-axis"})
    step = _nice_step(hi - lo, 5)
    value = math.ceil(lo / step) * step
    while value <= hi + 1e-9:
        ET.SubElement(
            grid,
            "line",
            {
                "class": "grid",
                "x1": _n(NIGHT_LEFT),
                "x2": _n(x.out_hi),
                "y1": _n(y(value)),
                "y2": _n(y(value)),
            },
        )
        _text(grid, NIGHT_LEFT - 8, y(value) + 4, f"{value:g} °C", {"text-anchor": "end"})
        value += step

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


def trend_chart(summaries: Sequence[NightSummary], width: float = TREND_WIDTH) -> str:
    """The last `TREND_NIGHTS` nights: spasm-like events as bars, time in band as a line.

    `width` is the viewBox width: `PHONE_WIDTH` draws the same nights for a narrow screen.
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
