"""The weeks in one document: a report to take to the neurologist, as HTML and as a PDF.

`build_report` gathers a period of one room's nights from the history (nights, minutes,
spasm-like events, the person's labels and notes) into a `Report`: a nights table in local
times, rounded, in the words a clinician uses; the nights with no data at all, so a gap is seen;
each night's data quality; and the associations the core computes (`core.association`): events
by room temperature, before and after each note, and a suggested band where the data support it.

`render_html` draws it with the dashboard's templates and charts (one stylesheet, print rules
included); `render_pdf` turns that HTML into an A4 PDF with WeasyPrint, which lays out HTML and
CSS itself (no browser) and draws the inline SVG charts as vectors, so the PDF is the page.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.resources import files
from typing import Protocol
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from integration.adapters.charts import (
    association_chart,
    for_print,
    hour_heatmap,
    spasm_weeks_chart,
    temperature_weeks_chart,
)
from integration.core.association import (
    Association,
    BandSuggestion,
    GroupRate,
    around_note,
    by_temperature,
    counted_spasm_times,
    suggest_band,
)
from integration.core.events import MovementEvent
from integration.core.labels import EventLabel, Label
from integration.core.localtime import night_bounds
from integration.core.notes import Note
from integration.core.summary import MinuteRecord, NightSummary, penn_frequency

__all__ = [
    "MAX_REPORT_NIGHTS",
    "NOT_A_MEDICAL_DEVICE",
    "Link",
    "NoNightsError",
    "Report",
    "ReportCharts",
    "ReportRefusedError",
    "ReportSource",
    "build_report",
    "period_of",
    "render_html",
    "render_pdf",
    "render_weeks",
    "report_charts",
]

# A year: longer periods make a table no one reads and charts whose nights are a pixel wide.
MAX_REPORT_NIGHTS = 366
# A night is thin, and marked so, when sensors were silent for more than this share of it ...
THIN_GAP_SHARE = 0.25
# ... or when it was shorter than this in bed: too little to compare with a whole night.
THIN_IN_BED_S = 3 * 3600.0
_MISSING = "\u2013"  # an en dash where a night has no such figure
NOT_A_MEDICAL_DEVICE = (
    "Not a medical device. smart-bedroom is a comfort and self-tracking tool. It does not "
    "diagnose, treat or monitor any condition, it can miss events and report ones that did not "
    "happen, and its figures are estimates from a bed sensor, not a clinical PLM index, not "
    "polysomnography."
)

# Autoescape on for every template: they are all HTML. StrictUndefined makes a name missing from
# a page's context an error in the tests rather than an empty cell; templates are package data
# that cannot change while the service runs, so they are compiled once and not re-checked. The
# dashboard's pages (web.py) render with this same environment.
TEMPLATES = Environment(
    loader=PackageLoader("integration.adapters", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
# Ours, read once; trusted markup, so the template puts it in <style> as it is.
STYLESHEET = (files("integration.adapters") / "static" / "dashboard.css").read_text("utf-8")
TEMPLATES.globals["stylesheet"] = Markup(STYLESHEET)  # noqa: S704 - our packaged file, not data


def _ratio_words(group: GroupRate, reference: str) -> str:
    """A group's rate ratio and its 95 % CI in a table cell."""
    if group.name == reference:
        return "reference"
    ratio = group.versus_reference
    if ratio is None:
        return _MISSING
    high = "no upper bound" if math.isinf(ratio.high) else f"{ratio.high:.2f}"
    return f"{ratio.ratio:.2f} ({ratio.low:.2f} to {high})"


TEMPLATES.globals["ratio_words"] = _ratio_words


class ReportRefusedError(ValueError):
    """A report that cannot be made; str(e) says why in a sentence for the person."""


class NoNightsError(ReportRefusedError):
    """The period holds no night of the room: there is nothing to report."""


class ReportSource(Protocol):
    """What a report reads from the history (`Store` is one)."""

    async def nights(self, from_t: float, to_t: float) -> list[NightSummary]:
        """Summaries of every room's nights that began in [from_t, to_t), oldest first."""

    async def minutes(self, room: str, from_t: float, to_t: float) -> list[MinuteRecord]:
        """The minute records of `room` in [from_t, to_t), oldest first."""

    async def spasm_events(
        self, room: str, from_t: float, to_t: float
    ) -> list[tuple[int, MovementEvent, Label | None]]:
        """Spasm-like events of `room` in [from_t, to_t) with their ids and labels."""

    async def labels(self, room: str | None, from_t: float, to_t: float) -> list[EventLabel]:
        """Labels of `room` on times in [from_t, to_t), oldest first."""

    async def notes(self, room: str | None, from_t: float, to_t: float) -> list[Note]:
        """Notes of `room` at times in [from_t, to_t), oldest first."""


@dataclass(frozen=True, slots=True)
class NightRow:
    """One night of the nights table, as a clinician reads it: local times, rounded words."""

    night: date
    when: str  # "Mon 23 Nov"
    bed: str  # "22:41"
    wake: str
    in_bed: str  # "7.9 h"
    spasms: int
    per_hour: str  # "1.2"
    frequency: str  # the Penn Spasm Frequency Scale band in words
    restless: str  # "3 (24 min)"
    out_of_bed: str  # "12 min (2 get-ups)"
    sleep: str  # "87 %"
    temperature: str  # "18.2 (17.5-19.0)"
    in_band: str  # "82 %"
    labels: str  # "3 confirmed, 1 rejected"
    quality: str  # "2 gaps, 34 min; 5 rejected messages"
    thin: bool  # too little data to weigh as a whole night


@dataclass(frozen=True, slots=True)
class LabelTotals:
    """The person's labels over the period."""

    confirmed: int
    rejected: int
    unlabelled: int
    missed: int


@dataclass(frozen=True, slots=True)
class NoteAssociation:
    """Spasm-like events before and after one note (its number in the notes list)."""

    number: int
    note: Note
    association: Association


@dataclass(frozen=True, slots=True)
class Report:
    """One room's nights over a period, with what they say together."""

    room: str
    room_name: str
    zone: ZoneInfo
    first: date
    last: date
    made_on: date | None  # the day it was made, when the maker knows (the CLI does)
    summaries: tuple[NightSummary, ...]  # one a night with data, oldest first
    rows: tuple[NightRow, ...]
    gaps: tuple[tuple[date, date], ...]  # runs of nights in the period without any data
    notes: tuple[Note, ...]  # numbered from 1 in this order
    bands: Mapping[date, tuple[float, float]]  # the comfort band in force each night
    labels: LabelTotals
    by_band: Association
    by_degree: Association
    around_notes: tuple[NoteAssociation, ...]
    suggestion: BandSuggestion | None
    current_band: tuple[float, float] | None

    @property
    def nights_in_period(self) -> int:
        """How many nights the period spans, with data or not."""
        return (self.last - self.first).days + 1

    @property
    def period(self) -> str:
        """The period in words: "23 Nov 2026 to 20 Dec 2026"."""
        return f"{self.first:%d %b %Y} to {self.last:%d %b %Y}"

    @property
    def thin_nights(self) -> int:
        """Nights with data, but too little of it to weigh as a whole night."""
        return sum(row.thin for row in self.rows)

    @property
    def gap_words(self) -> list[str]:
        """Each run of nights without data, in words."""
        return [
            f"{a:%a %d %b}"
            if a == b
            else f"{a:%a %d %b} to {b:%a %d %b} ({(b - a).days + 1} nights)"
            for a, b in self.gaps
        ]

    @property
    def note_lines(self) -> list[tuple[str, str]]:
        """Each note as (local day and time, text), numbered by its place in the list."""
        return [
            (f"{datetime.fromtimestamp(note.at, self.zone):%a %d %b %Y %H:%M}", note.text)
            for note in self.notes
        ]

    @property
    def mean_spasms(self) -> str:
        """Spasm-like events per night with data, on average."""
        if not self.summaries:
            return _MISSING
        return f"{sum(s.spasm_count for s in self.summaries) / len(self.summaries):.1f}"


def _period_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[float, float]:
    """UTC bounds of the bedtimes of nights dated `first` to `last`."""
    return night_bounds(first, zone)[0], night_bounds(last, zone)[1]


async def build_report(
    source: ReportSource,
    *,
    room: str | None,
    room_names: Mapping[str, str],
    first: date,
    last: date,
    zone: ZoneInfo,
    made_on: date | None = None,
) -> Report:
    """The report of `room`'s nights dated `first` to `last` (both included).

    `room` None is the only configured room. Raises ReportRefusedError for dates out of order,
    a period over `MAX_REPORT_NIGHTS`, a room not configured, or a period without any night.
    """
    if last < first:
        raise ReportRefusedError(f"The period is back to front: {first} is after {last}.")
    if (last - first).days + 1 > MAX_REPORT_NIGHTS:
        raise ReportRefusedError(
            f"The period is {(last - first).days + 1} nights long; a report covers at most "
            f"{MAX_REPORT_NIGHTS}."
        )
    room = _room(room, room_names)
    from_t, to_t = _period_bounds(first, last, zone)
    chosen: dict[date, NightSummary] = {}
    for summary in await source.nights(from_t, to_t):
        day = date.fromisoformat(summary.night_date)
        if summary.room == room and (
            day not in chosen or summary.time_in_bed_s > chosen[day].time_in_bed_s
        ):
            chosen[day] = summary
    if not chosen:
        raise NoNightsError(
            f"No nights of {room_names[room]} ({room}) from {first} to {last}: nothing to report."
        )
    summaries = tuple(chosen[day] for day in sorted(chosen))
    # The last night of the period runs past its bounds into the morning after.
    until = max(to_t, max(s.wake_time for s in summaries) + 1.0)
    minutes = await source.minutes(room, from_t, until)
    events = await source.spasm_events(room, from_t, until)
    labels = await source.labels(room, from_t, until)
    notes = tuple(await source.notes(room, from_t, to_t))
    spasm_times = counted_spasm_times(events, [x for x in labels if x.label is Label.MISSED])
    bands = _bands(minutes, summaries)
    current = _latest_band(minutes)
    around = []
    for number, note in enumerate(notes, start=1):
        around.append(NoteAssociation(number, note, around_note(minutes, spasm_times, note, zone)))
    return Report(
        room=room,
        room_name=room_names[room],
        zone=zone,
        first=first,
        last=last,
        made_on=made_on,
        summaries=summaries,
        rows=tuple(_row(s, zone) for s in summaries),
        gaps=_gaps(first, last, set(chosen)),
        notes=notes,
        bands=bands,
        labels=LabelTotals(
            confirmed=sum(s.labels.confirmed for s in summaries),
            rejected=sum(s.labels.rejected for s in summaries),
            unlabelled=sum(s.labels.unlabelled for s in summaries),
            missed=sum(s.labels.missed for s in summaries),
        ),
        by_band=by_temperature(minutes, spasm_times, "band"),
        by_degree=by_temperature(minutes, spasm_times, "degree"),
        around_notes=tuple(around),
        suggestion=None if current is None else suggest_band(minutes, spasm_times, *current),
        current_band=current,
    )


def _room(room: str | None, room_names: Mapping[str, str]) -> str:
    """The room asked for, or the only one; refused when unknown or not said among several."""
    known = ", ".join(sorted(room_names)) or "none"
    if room is None:
        if len(room_names) == 1:
            return next(iter(room_names))
        raise ReportRefusedError(f"Several rooms are configured ({known}): say which one.")
    if room not in room_names:
        raise ReportRefusedError(f"No room {room!r} is configured; the rooms are: {known}.")
    return room


def _gaps(first: date, last: date, have: set[date]) -> tuple[tuple[date, date], ...]:
    """Runs of consecutive nights from `first` to `last` that are not in `have`."""
    runs: list[tuple[date, date]] = []
    day = first
    while day <= last:
        if day not in have:
            if runs and runs[-1][1] == day - timedelta(days=1):
                runs[-1] = (runs[-1][0], day)
            else:
                runs.append((day, day))
        day += timedelta(days=1)
    return tuple(runs)


def _bands(
    minutes: Sequence[MinuteRecord], summaries: Sequence[NightSummary]
) -> dict[date, tuple[float, float]]:
    """The band in force for most of each night's minutes."""
    bands: dict[date, tuple[float, float]] = {}
    index = 0
    for summary in summaries:
        counts: Counter[tuple[float, float]] = Counter()
        while index < len(minutes) and minutes[index].t < summary.bed_time - 60:
            index += 1
        probe = index
        while probe < len(minutes) and minutes[probe].t < summary.wake_time:
            m = minutes[probe]
            if m.low_c is not None and m.high_c is not None:
                counts[(m.low_c, m.high_c)] += 1
            probe += 1
        if counts:
            bands[date.fromisoformat(summary.night_date)] = counts.most_common(1)[0][0]
    return bands


def _latest_band(minutes: Sequence[MinuteRecord]) -> tuple[float, float] | None:
    """The band in force at the latest minute that had one: the band a suggestion compares with."""
    for m in reversed(minutes):
        if m.low_c is not None and m.high_c is not None:
            return m.low_c, m.high_c
    return None


def _row(s: NightSummary, zone: ZoneInfo) -> NightRow:
    def clock(t: float) -> str:
        return datetime.fromtimestamp(t, zone).strftime("%H:%M")

    def share(value: float | None) -> str:
        return _MISSING if value is None else f"{value:.0%}"

    quality = s.quality
    gaps = "no gaps"
    if quality.sensor_gaps:
        gaps = (
            f"{quality.sensor_gaps} gap{'s' if quality.sensor_gaps > 1 else ''}, "
            f"{quality.gap_total_s / 60:.0f} min"
        )
    if quality.rejected_total:
        gaps += f"; {quality.rejected_total} rejected messages"
    temperature = _MISSING
    if s.temp_mean_c is not None and s.temp_min_c is not None and s.temp_max_c is not None:
        temperature = f"{s.temp_mean_c:.1f} ({s.temp_min_c:.1f}-{s.temp_max_c:.1f})"
    said = s.labels
    label_words = ", ".join(
        f"{n} {word}"
        for n, word in (
            (said.confirmed, "confirmed"),
            (said.rejected, "rejected"),
            (said.missed, "missed"),
        )
        if n
    )
    night_s = max(s.wake_time - s.bed_time, 1.0)
    return NightRow(
        night=date.fromisoformat(s.night_date),
        when=f"{date.fromisoformat(s.night_date):%a %d %b}",
        bed=clock(s.bed_time),
        wake=clock(s.wake_time),
        in_bed=f"{s.time_in_bed_s / 3600:.1f} h",
        spasms=s.spasm_count,
        per_hour=_MISSING if s.spasm_rate_per_h is None else f"{s.spasm_rate_per_h:.1f}",
        frequency=penn_frequency(s.spasm_rate_per_h or 0.0),
        restless=f"{s.restless_episodes} ({s.restless_total_min:.0f} min)",
        out_of_bed=f"{s.time_out_of_bed_s / 60:.0f} min ({s.get_ups} up)",
        sleep=_MISSING if s.sleep is None else f"{s.sleep.efficiency:.0%}",
        temperature=temperature,
        in_band=share(s.in_band_share),
        labels=label_words or _MISSING,
        quality=gaps,
        thin=quality.gap_total_s > THIN_GAP_SHARE * night_s or s.time_in_bed_s < THIN_IN_BED_S,
    )


# --- drawing --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportCharts:
    """The report's charts as SVG markup (from ElementTree, which escaped every label)."""

    spasms: Markup
    hours: Markup
    temperature: Markup
    by_band: Markup
    by_degree: Markup | None  # only when there was enough data for 1 °C groups
    around_notes: tuple[Markup, ...]  # one per association in `Report.around_notes` with enough


def report_charts(
    report: Report, *, width: float | None = None, printed: bool = False
) -> ReportCharts:
    """The report's charts at `width` (the charts' own default when None).

    `printed` gives each chart its own greyscale style: a PDF renderer draws SVG without the
    page's stylesheet.
    """
    sized = {} if width is None else {"width": width}

    def markup(svg: str) -> Markup:
        return Markup(for_print(svg) if printed else svg)  # noqa: S704 - ElementTree output

    summaries = report.summaries
    return ReportCharts(
        spasms=markup(
            spasm_weeks_chart(summaries, report.first, report.last, report.notes, **sized)
        ),
        hours=markup(hour_heatmap(summaries, report.first, report.last, **sized)),
        temperature=markup(
            temperature_weeks_chart(summaries, report.bands, report.first, report.last, **sized)
        ),
        by_band=markup(association_chart(report.by_band, **sized)),
        by_degree=markup(association_chart(report.by_degree, **sized))
        if report.by_degree.enough
        else None,
        around_notes=tuple(
            markup(association_chart(item.association, **sized))
            for item in report.around_notes
            if item.association.enough
        ),
    )


def render_html(
    report: Report,
    *,
    printed: bool = True,
    back: str | None = None,
    weeks_href: str | None = None,
    viewer: str = "",
) -> str:
    """The report as one HTML document: the printable page, and the PDF's source.

    `back` and `weeks_href` link the page into the dashboard; the PDF has neither.
    """
    return TEMPLATES.get_template("report.html").render(
        title=f"{report.room_name}: nights {report.period}",
        back=back,
        viewer=viewer,
        live_href=None,
        refresh_s=None,
        weeks_href=weeks_href,
        report=report,
        charts=report_charts(report, printed=printed),
        statement=NOT_A_MEDICAL_DEVICE,
    )


@dataclass(frozen=True, slots=True)
class Link:
    """A link in the weeks view's navigation."""

    href: str
    name: str
    current: bool


def render_weeks(
    report: Report | None,
    *,
    wide: ReportCharts | None,
    narrow: ReportCharts | None,
    span_links: Sequence[Link],
    room_links: Sequence[Link],
    report_href: str,
    back: str,
    empty_message: str = "No nights in this period yet.",
    viewer: str = "",
) -> str:
    """The dashboard's weeks view: the report's charts at both widths, the associations."""
    return TEMPLATES.get_template("weeks.html").render(
        title="The weeks" if report is None else f"The weeks: {report.room_name}",
        back=back,
        viewer=viewer,
        live_href=None,
        refresh_s=None,
        report=report,
        wide=wide,
        narrow=narrow,
        span_links=span_links,
        room_links=room_links,
        report_href=report_href,
        empty_message=empty_message,
    )


def render_pdf(html: str) -> bytes:
    """The HTML of `render_html` as an A4 PDF (WeasyPrint: its own layout, no browser).

    The document holds its stylesheet and charts, so nothing is fetched to render it.
    """
    # WeasyPrint warns of every rule of the dashboard's stylesheet it does not draw (SVG paint
    # on HTML, media features): known, harmless, and the printed charts carry their own style.
    # Its progress log says each step at INFO, from its import on: not news in a CLI's output.
    for name in ("weasyprint", "weasyprint.progress"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Imported here: WeasyPrint loads Pango, which the service needs only when a PDF is made.
    import weasyprint

    pdf: bytes = weasyprint.HTML(string=html, media_type="print").write_pdf()
    return pdf


def period_of(last: date, nights: int) -> tuple[date, date]:
    """The `nights` nights ending with the night dated `last`."""
    return last - timedelta(days=nights - 1), last
