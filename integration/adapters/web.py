"""The service's own web dashboard: nights, night pages, the live signal, JSON, /healthz, /metrics.

Pages are rendered on the server (HTML with inline SVG, no JavaScript, no external resources)
and link with relative URLs only, so they work the same at `/` and behind Home Assistant's
ingress or in a Webpage card. They come from Jinja2 templates (`templates/`) with autoescape on,
so everything taken from data is escaped by one mechanism; a strict Content-Security-Policy
forbids scripts and allows only the packaged stylesheet (`static/dashboard.css`, inlined in each
page so a page is one request that needs no token of its own), so a hostile room name or `why`
string cannot inject markup, script or style.

With a token set, every route but `/healthz` needs `Authorization: Bearer <token>` or
`?token=<token>`; a page opened with `?token=` carries it in its links.

Behind Home Assistant's ingress (a listener of its own, `make_app(ingress_proxy=…)`) the browser
asks HA for `/api/hassio_ingress/<token>/…`, and HA's Supervisor asks us for the rest of the path
with the prefix in `X-Ingress-Path`. Relative URLs (links, form actions, redirects) resolve under
the prefix as they do at `/`, so nothing needs that header. The listener answers the Supervisor's
address alone, without a token of ours: HA has authenticated the user and names them in
`X-Remote-User-*` (the pages show the name).
https://developers.home-assistant.io/docs/add-ons/presentation#ingress

The live page (`/live`) shows each motion sensor's last minute while a person places it. It
stays script-free too: it reloads itself every `LIVE_REFRESH_S` with `<meta http-equiv="refresh">`
(no CSP source is needed for that), relative, so the reload keeps the ingress prefix and
`?token=`; `/api/live` has the same in JSON for anything that would rather poll.

The person's labels and notes are the only writes, as HTML form POSTs safe against cross-site
request forgery: a form field must carry the dashboard's CSRF token (random per start, in the pages
only), the browser's `Sec-Fetch-Site` must say same-origin (or, from browsers without it,
`Origin` must be this host: behind ingress, the host the browser asked, HA's, which HA's proxy
names in `X-Forwarded-Host`), and the CSP's `form-action 'self'` keeps our forms on this site.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import logging
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Literal, Protocol
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Handler, Middleware
from markupsafe import Markup

from integration.adapters.charts import PHONE_WIDTH, live_chart, night_chart, trend_chart
from integration.adapters.livesignal import POINT_HZ, WINDOW_S, SensorView
from integration.adapters.report import (
    STYLESHEET,
    TEMPLATES,
    Link,
    NoNightsError,
    Report,
    ReportRefusedError,
    build_report,
    period_of,
    render_html,
    render_weeks,
    report_charts,
)
from integration.config import ServiceConfig, resolve_secret
from integration.core.events import KIND_LABELS, Action, ActionKind, MovementEvent, MovementKind
from integration.core.labels import EventLabel, Label
from integration.core.localtime import night_bounds
from integration.core.notes import MAX_NOTE_CHARS, Note, NoteRefused
from integration.core.summary import MinuteRecord, NightSummary, render_text
from integration.errors import LabelRefusedError, StoreError

__all__ = [
    "DashboardListeners",
    "Health",
    "Labeller",
    "LiveSource",
    "MetricsSource",
    "NightHistory",
    "NoteKeeper",
    "make_app",
    "start_dashboard",
]

_LOGGER = logging.getLogger(__name__)

LIST_NIGHTS = 30  # nights on the list page and in the trend: a month
WEEKS_NIGHTS = (30, 90)  # the weeks view's spans: a month, a season (the first is the default)
MAX_API_NIGHTS = 366  # a year through the API in one request
# The morning summary action goes out when the night closes, after the person has been up
# for `out_of_bed_to_close_s` (30 min by default): the night's actions reach this far past waking.
NIGHT_CLOSE_TAIL_S = 2 * 3600.0
_MISSING = "\u2013"  # an en dash where a night has no such figure
# The dates a night can have: history is in epoch seconds, and a night's bounds reach a day
# past its date, which must still be a date Python can hold.
FIRST_NIGHT = date(1970, 1, 2)
LAST_NIGHT = date.max - timedelta(days=2)
# The live page reloads this often: a bed sensor sends a batch a second, so it shows each one.
LIVE_REFRESH_S = 1
# Who HA's ingress says is looking (X-Remote-User-*): shown on the pages, so kept to one short line.
MAX_VIEWER_CHARS = 64

# CSP allows an inline <style> by the base64 SHA-256 of its exact text (a CSP "hash-source").
_STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLESHEET.encode()).digest()).decode()

# No scripts, no fetches, no frames inside; SVG and the one stylesheet only, by its hash, so not
# even an injected <style> or style="" would apply. Embedding in HA's iframe stays allowed (no
# frame-ancestors), and `no-referrer` keeps a ?token= off other sites.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src '{_STYLE_HASH}'; img-src data:; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


Row = dict[str, str | int | float | None]
# Every configured motion sensor's last minute and figures, now (`LiveSignal.view` at the clock)
LiveSource = Callable[[], Sequence[SensorView]]


class NightHistory(Protocol):
    """What the dashboard reads from the history store (`Store` is one)."""

    async def summaries(self, room: str, limit: int) -> list[NightSummary]:
        """The latest `limit` summaries of `room`, newest first."""

    async def nights(self, from_t: float, to_t: float) -> list[NightSummary]:
        """Summaries of every room's nights that began in [from_t, to_t), oldest first."""

    async def export(
        self, from_t: float, to_t: float, table: Literal["nights", "events", "actions", "minutes"]
    ) -> list[Row]:
        """Flat rows of one table in [from_t, to_t), oldest first."""

    async def notes(self, room: str | None, from_t: float, to_t: float) -> list[Note]:
        """The person's notes of `room` (every room when None) in [from_t, to_t), oldest first."""

    async def minutes(self, room: str, from_t: float, to_t: float) -> list[MinuteRecord]:
        """The minute records of `room` in [from_t, to_t), oldest first (the weeks view)."""

    async def spasm_events(
        self, room: str, from_t: float, to_t: float
    ) -> list[tuple[int, MovementEvent, Label | None]]:
        """Spasm-like events of `room` in [from_t, to_t) with their ids and labels."""

    async def labels(self, room: str | None, from_t: float, to_t: float) -> list[EventLabel]:
        """Labels of `room` on times in [from_t, to_t), oldest first."""


class NoteKeeper(Protocol):
    """Where the person's notes go (`Outbound` keeps them in the history)."""

    async def keep_note(self, room: str, text: str, at: float | None, source: str) -> Note:
        """A note on `room` at `at` (None: now); raises NoteRefused with the sentence why."""


class Labeller(Protocol):
    """Where the person's labels go (`Outbound` keeps them and shows them in HA)."""

    async def label_event(self, event_id: int, label: Label, source: str) -> EventLabel:
        """Confirm or reject one event; raises LabelRefusedError with the reason."""

    async def report_missed(self, room: str, source: str) -> EventLabel:
        """A spasm the sensor missed, now; raises LabelRefusedError with the reason."""


class MetricsSource(Protocol):
    """Where `/metrics` comes from (`ServiceMetrics` is one)."""

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type."""


@dataclass(frozen=True, slots=True)
class Health:
    """What `/healthz` reports; HTTP 200 only while the broker is connected."""

    broker: str  # "connected", "connecting", "disconnected"
    # "available", "unavailable", "auth_failed", "unexpected_reply", "unknown" (not asked
    # yet), "disabled"; with why it is not available, in words
    home_assistant: str
    last_seen: dict[str, float] = field(default_factory=dict)  # "room/sensor" → UTC epoch s
    store: str = "ok"  # "ok", "unavailable: <why>", "error: <the last failed write>"
    store_failures: int = 0  # history writes that failed since start; stays when "ok" again
    # Overload, shown: topics flooding now (messages dropped for it since start), and messages
    # dropped because the service fell behind, a topic flooded or the payload was oversize.
    flooding: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    home_assistant_detail: str = ""  # why HA is not available, in words
    # HA actions parked (never to be sent: HA refused them for good, or they failed the same
    # lasting way again and again) since start, and kept in the history store in all
    dead_letters: int = 0
    dead_letters_kept: int = 0
    # Sensors read from HA entities: "connected", "connecting", "backing_off", "auth_failed",
    # or "disabled" when no sensor reads one; with why it is down, in words
    home_assistant_entities: str = "disabled"
    home_assistant_entities_detail: str = ""
    # What each room's comfort controller learned of it (rates, lag, overshoot, when), by room id
    comfort_learned: dict[str, dict[str, Any]] = field(default_factory=dict)


def _event_from_row(row: Row) -> MovementEvent:
    return MovementEvent(
        room=str(row["room"]),
        kind=MovementKind(str(row["kind"])),
        start=float(row["start"] or 0.0),
        end=float(row["end"] or 0.0),
        peak=float(row["peak"] or 0.0),
        confidence=float(row["confidence"] or 0.0),
        spasm_like=bool(row["spasm_like"]),
        why=json.loads(str(row["why"])),
    )


def _action_from_row(row: Row) -> Action:
    return Action(
        room=str(row["room"]),
        t=float(row["t"] or 0.0),
        kind=ActionKind(str(row["kind"])),
        target=str(row["target"]),
        data=json.loads(str(row["data"])),
        why=json.loads(str(row["why"])),
    )


def _minute_from_row(row: Row) -> MinuteRecord:
    def number(key: str) -> float | None:
        value = row[key]
        return None if value is None else float(value)

    return MinuteRecord(
        room=str(row["room"]),
        t=float(row["minute"] or 0.0),
        temp_c=number("temp_c"),
        low_c=number("low_c"),
        high_c=number("high_c"),
        activity_mg=number("activity_mg"),
        spasms=int(row["spasms"] or 0),
        in_bed=bool(row["in_bed"]),
    )


@dataclass(frozen=True, slots=True)
class _Night:
    """One night with everything its page and API show."""

    summary: NightSummary
    minutes: list[MinuteRecord]
    events: list[MovementEvent]
    actions: list[Action]
    event_rows: list[Row]  # with the history's id and the person's label of each event


class _Dashboard:
    """Request handlers over the store, the health callback and the metrics."""

    def __init__(
        self,
        store: NightHistory | None,
        zone: ZoneInfo,
        health: Callable[[], Health],
        metrics: MetricsSource,
        room_names: Mapping[str, str],
        labeller: Labeller | None = None,
        requests: _Requests | None = None,
        behind_ingress: bool = False,
        live: LiveSource | None = None,
        note_keeper: NoteKeeper | None = None,
    ) -> None:
        self.store = store
        self.live = live
        self.note_keeper = note_keeper
        # Every request comes through HA's ingress proxy, so its X-Forwarded-* and X-Remote-User-*
        # headers are the proxy's word (make_app lets no one else in).
        self.behind_ingress = behind_ingress
        self.labeller = labeller
        self.requests = requests or _Requests()
        self.csrf = secrets.token_urlsafe(32)  # in our pages' forms only; new at each start
        self.zone = zone
        self.health = health
        self.metrics = metrics
        self.room_names = dict(room_names)

    # --- data ------------------------------------------------------------------------------

    def _room_name(self, summary: NightSummary) -> str:
        return self.room_names.get(summary.room, summary.room_name)

    async def _recent(self, room: str | None, limit: int) -> list[NightSummary]:
        """The newest `limit` nights of one room or all configured rooms, newest first."""
        if self.store is None:
            return []
        rooms = [room] if room is not None else list(self.room_names)
        nights = [s for r in rooms for s in await self.store.summaries(r, limit)]
        nights.sort(key=lambda s: (s.bed_time, s.room), reverse=True)
        return nights[:limit]

    async def _night(self, room: str, night_date: date) -> _Night | None:
        """The room's night dated `night_date`; of two on one date, the longer in bed."""
        if self.store is None:
            return None
        from_t, to_t = night_bounds(night_date, self.zone)
        candidates = [s for s in await self.store.nights(from_t, to_t) if s.room == room]
        if not candidates:
            return None
        summary = max(candidates, key=lambda s: s.time_in_bed_s)
        first_minute = math.floor(summary.bed_time / 60) * 60.0
        # export() takes [from, to): the step past wake keeps the wake instant itself.
        wake_end = math.nextafter(summary.wake_time, math.inf)
        minutes = await self.store.export(first_minute, wake_end, "minutes")
        events = await self.store.export(summary.bed_time, wake_end, "events")
        actions = await self.store.export(
            summary.bed_time, summary.wake_time + NIGHT_CLOSE_TAIL_S, "actions"
        )
        ours = [r for r in events if r["room"] == room]
        return _Night(
            summary,
            [_minute_from_row(r) for r in minutes if r["room"] == room],
            [_event_from_row(r) for r in ours],
            [_action_from_row(r) for r in actions if r["room"] == room],
            ours,
        )

    async def _notes_of(self, room: str, night_date: date) -> list[Note]:
        """The room's notes dated `night_date` (local noon to noon, as the night is dated)."""
        if self.store is None:
            return []
        return await self.store.notes(room, *night_bounds(night_date, self.zone))

    def _only_room(self, request: web.Request) -> str:
        """The room of a `/…/{date}` URL: `?room=`, else the one configured room."""
        room = request.query.get("room")
        if room:
            return room
        if len(self.room_names) == 1:
            return next(iter(self.room_names))
        raise web.HTTPNotFound(
            text="several rooms: ask for nights/{room}/{date} or add ?room=",
            headers=_SECURITY_HEADERS,
        )

    # --- JSON ------------------------------------------------------------------------------

    async def api_nights(self, request: web.Request) -> web.Response:
        """Summaries, newest first: `?room=` one room, `?limit=` how many (default 30)."""
        if self.store is None:
            return _json({"error": "no history store"}, status=503)
        try:
            limit = int(request.query.get("limit", LIST_NIGHTS))
        except ValueError:
            raise web.HTTPBadRequest(text="limit must be a whole number") from None
        limit = max(1, min(limit, MAX_API_NIGHTS))
        nights = await self._recent(request.query.get("room") or None, limit)
        return _json({"nights": [_summary_json(s) for s in nights]})

    async def api_night(self, request: web.Request) -> web.Response:
        """One night: summary, text, minutes, events and actions."""
        if self.store is None:
            return _json({"error": "no history store"}, status=503)
        room = request.match_info.get("room") or self._only_room(request)
        night = await self._night(room, _parse_date(request.match_info["date"]))
        if night is None:
            return _json({"error": "no such night"}, status=404)
        return _json(
            {
                "summary": _summary_json(night.summary),
                "text": render_text(night.summary),
                "minutes": [asdict(m) for m in night.minutes],
                "events": [
                    {**asdict(e), "kind": e.kind.value, "why": dict(e.why)} for e in night.events
                ],
                "actions": [
                    {**asdict(a), "kind": a.kind.value, "data": dict(a.data), "why": dict(a.why)}
                    for a in night.actions
                ],
            }
        )

    async def api_live(self, _request: web.Request) -> web.Response:
        """Each motion sensor's last minute: points, rate, counts and resting level."""
        if self.live is None:
            return _json({"error": "the live signal needs the running service"}, status=404)
        response = _json(
            {
                "window_s": WINDOW_S,
                "point_hz": POINT_HZ,
                "sensors": [_live_json(view) for view in self.live()],
            }
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    async def healthz(self, _request: web.Request) -> web.Response:
        """Every component's state and the last message per sensor; 503 without the broker.

        With the requests refused unread (malformed) since start.
        """
        health = self.health()
        return _json(
            {**asdict(health), "malformed_requests": self.requests.malformed},
            status=200 if health.broker == "connected" else 503,
        )

    async def metrics_text(self, _request: web.Request) -> web.Response:
        """Prometheus text exposition."""
        body, content_type = self.metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    # --- pages -----------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        """The nights list with the month's trend, per room."""
        room = request.query.get("room") or None
        token = _token_query(request)
        nights = await self._recent(room, LIST_NIGHTS)
        trends = []
        for trend_room in [room] if room else sorted({s.room for s in nights}):
            of_room = [s for s in nights if s.room == trend_room]
            if of_room and self.store is not None:
                # Drawn on the trend, numbered, and listed under it with their local times.
                notes = await self.store.notes(
                    trend_room,
                    night_bounds(date.fromisoformat(of_room[-1].night_date), self.zone)[0],
                    night_bounds(date.fromisoformat(of_room[0].night_date), self.zone)[1],
                )
                trends.append(
                    _Trend(
                        self._room_name(of_room[0]),
                        _both_widths(functools.partial(trend_chart, notes=notes), of_room),
                        tuple(
                            (f"{datetime.fromtimestamp(n.at, self.zone):%a %d %b %H:%M}", n.text)
                            for n in notes
                        ),
                    )
                )
        return _page(
            "nights.html",
            title="Nights",
            back=None,
            room_links=_room_links(self.room_names, room, token),
            has_store=self.store is not None,
            trends=trends,
            rows=[self._night_row(s, token) for s in nights],
            weeks_href="weeks" + token,
            several_rooms=len(self.room_names) > 1,
            missed_forms=[
                _RoomLink(f"rooms/{quote(room_id, safe='')}/missed{token}", name, False)
                for room_id, name in self.room_names.items()
                if room in (None, room_id)
            ]
            if self.labeller is not None
            else [],
            note_forms=[
                _RoomLink(f"rooms/{quote(room_id, safe='')}/notes{token}", name, False)
                for room_id, name in self.room_names.items()
                if room in (None, room_id)
            ]
            if self.note_keeper is not None
            else [],
            max_note_chars=MAX_NOTE_CHARS,
            csrf=self.csrf,
            viewer=self._viewer(request),
            live_href=None if self.live is None else "live" + token,
        )

    async def live_page(self, request: web.Request) -> web.Response:
        """Each motion sensor's last minute and figures, reloading itself every second."""
        token = _token_query(request)
        if self.live is None:
            return _page(
                "message.html",
                title="Live signal",
                back="./" + token,
                status=404,
                message="The live signal needs the running service.",
            )
        response = _page(
            "live.html",
            title="Live signal",
            back="./" + token,
            refresh_s=LIVE_REFRESH_S,
            sensors=[_live_panel(view) for view in self.live()],
            rooms=[
                (self.room_names.get(room, room), _learned_figures(learned))
                for room, learned in sorted(self.health().comfort_learned.items())
            ],
            viewer=self._viewer(request),
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def _night_row(self, s: NightSummary, token: str) -> _NightRow:
        return _NightRow(
            href=f"nights/{quote(s.room, safe='')}/{quote(s.night_date)}{token}",
            when=datetime.fromisoformat(s.night_date).strftime("%a %d %b"),
            room_name=self._room_name(s),
            in_bed=f"{s.time_in_bed_s / 3600:.1f} h",
            spasms=str(s.spasm_count),
            restless=f"{s.restless_total_min:.0f} min",
            in_band=_MISSING if s.in_band_share is None else f"{s.in_band_share:.0%}",
            asleep=_MISSING if s.sleep is None else f"{s.sleep.efficiency:.0%}",
        )

    async def night_page(self, request: web.Request) -> web.Response:
        """One night: the chart, the morning summary and the event list."""
        room = request.match_info["room"]
        night_date = _parse_date(request.match_info["date"])
        token = _token_query(request)
        back = f"../../{token}"
        night = await self._night(room, night_date)
        if night is None:
            return _page(
                "message.html",
                title="No such night",
                back=back,
                status=404,
                message="No night of this room on this date.",
            )
        s = night.summary
        notes = await self._notes_of(room, night_date)
        title = f"{self._room_name(s)}, night of {datetime.fromisoformat(s.night_date):%a %d %b %Y}"
        row = self._night_row(s, token)
        figures = [
            ("In bed", row.in_bed),
            ("Spasm-like", row.spasms),
            ("Restless", row.restless),
            ("In band", row.in_band),
            ("Asleep (est.)", row.asleep),
            ("Up", str(s.get_ups)),
        ]
        return _page(
            "night.html",
            title=title,
            back=back,
            figures=figures,
            chart=_both_widths(
                night_chart, s, night.minutes, night.events, night.actions, self.zone
            ),
            summary_lines=render_text(s).splitlines(),
            events=[
                _EventRow(
                    id=int(r["id"] or 0),
                    time=_local(e.start, self.zone, seconds=True),
                    kind=e.kind.value,
                    kind_label=KIND_LABELS[e.kind],
                    duration=f"{e.end - e.start:.1f} s",
                    peak=f"{e.peak:.1f}",
                    spasm_like="yes" if e.spasm_like else "no",
                    label=_LABEL_WORDS.get(str(r["label"]), "") if e.spasm_like else "",
                    labellable=e.spasm_like and self.labeller is not None,
                )
                for e, r in zip(night.events, night.event_rows, strict=True)
            ],
            notes=[_NoteRow(_weekday_time(n.at, self.zone), n.text, n.source) for n in notes],
            label_action=f"{quote(s.night_date)}/label{token}",
            csrf=self.csrf,
            viewer=self._viewer(request),
            actions=[
                _ActionRow(
                    time=_local(a.t, self.zone),
                    target=a.target,
                    data=_describe(a.data),
                    rule=str(a.why.get("rule", "")),
                )
                for a in night.actions
            ],
        )

    # --- the weeks, and the report for the neurologist ----------------------------------------

    def _weeks_room(self, request: web.Request) -> str:
        """`?room=`, else the first configured room; 400 for a room not configured."""
        room = request.query.get("room") or next(iter(self.room_names), "")
        if room not in self.room_names:
            raise web.HTTPBadRequest(
                text=f"no room {room!r}: the rooms are {', '.join(self.room_names) or 'none'}",
                headers=_SECURITY_HEADERS,
            )
        return room

    async def _report(
        self, room: str, first: date, last: date, *, missing_ok: bool = False
    ) -> Report | None:
        """The room's report, or a 400 naming what is wrong with the period (404: no nights)."""
        if self.store is None:
            raise web.HTTPServiceUnavailable(text="no history store", headers=_SECURITY_HEADERS)
        try:
            return await build_report(
                self.store,
                room=room,
                room_names=self.room_names,
                first=first,
                last=last,
                zone=self.zone,
            )
        except NoNightsError as refused:
            if missing_ok:
                return None
            raise web.HTTPNotFound(text=str(refused), headers=_SECURITY_HEADERS) from None
        except ReportRefusedError as refused:
            raise web.HTTPBadRequest(text=str(refused), headers=_SECURITY_HEADERS) from None

    async def weeks_page(self, request: web.Request) -> web.Response:
        """The last 30 or 90 nights of a room: per night, by hour, by temperature, around notes."""
        token = _token_query(request)
        extra = "&" + token[1:] if token else ""
        nights_text = request.query.get("nights", str(WEEKS_NIGHTS[0]))
        if nights_text not in {str(n) for n in WEEKS_NIGHTS}:
            raise web.HTTPBadRequest(
                text=f"nights must be one of {', '.join(map(str, WEEKS_NIGHTS))}",
                headers=_SECURITY_HEADERS,
            )
        nights = int(nights_text)
        room = self._weeks_room(request)
        latest = await self._recent(room, 1)
        report = None
        if latest:
            first, last = period_of(date.fromisoformat(latest[0].night_date), nights)
            report = await self._report(room, first, last, missing_ok=True)
        room_query = urlencode({"room": room})
        report_href = ""
        if report is not None:
            period = urlencode({"from": report.first, "to": report.last, "room": room})
            report_href = f"report?{period}{extra}"
        document = render_weeks(
            report,
            wide=None if report is None else report_charts(report),
            narrow=None if report is None else report_charts(report, width=PHONE_WIDTH),
            span_links=[
                Link(f"weeks?nights={n}&{room_query}{extra}", f"Last {n} nights", n == nights)
                for n in WEEKS_NIGHTS
            ],
            room_links=[
                Link(f"weeks?nights={nights}&{urlencode({'room': r})}{extra}", name, r == room)
                for r, name in self.room_names.items()
            ]
            if len(self.room_names) > 1
            else [],
            report_href=report_href,
            back="./" + token,
            empty_message=f"No nights of {self.room_names[room]} yet.",
            viewer=self._viewer(request),
        )
        return web.Response(text=document, content_type="text/html", headers=_SECURITY_HEADERS)

    async def report_page(self, request: web.Request) -> web.Response:
        """The printable report of `?from=` to `?to=` (night dates), `?room=` or the first room."""
        token = _token_query(request)
        days = []
        for key in ("from", "to"):
            text = request.query.get(key, "")
            try:
                days.append(date.fromisoformat(text))
            except ValueError:
                raise web.HTTPBadRequest(
                    text=f"{key} must be a night's date like 2026-11-24 (got {text[:20]!r})",
                    headers=_SECURITY_HEADERS,
                ) from None
        room = self._weeks_room(request)
        report = await self._report(room, days[0], days[1])
        assert report is not None  # noqa: S101 - _report returns None only when missing_ok
        extra = "&" + token[1:] if token else ""
        document = render_html(
            report,
            printed=False,
            back="./" + token,
            weeks_href=f"weeks?{urlencode({'room': room})}{extra}",
            viewer=self._viewer(request),
        )
        return web.Response(text=document, content_type="text/html", headers=_SECURITY_HEADERS)

    # --- the person's labels: the only writes -----------------------------------------------

    async def label_event(self, request: web.Request) -> web.Response:
        """A label from a night page's event row; back to the page (303), or a clear refusal."""
        form = await self._trusted_form(request)
        # Relative to .../nights/<room>/<date>/label: the night's page, prefix and all.
        night_page = f"../{quote(request.match_info['date'])}{_token_query(request)}"
        try:
            event_id = int(str(form.get("event", "")))
            label = Label(str(form.get("label", "")))
        except ValueError:
            return _refusal(
                "An event number and a label (confirmed or rejected) are needed.", night_page
            )
        if label is Label.MISSED:
            return _refusal(
                "A missed spasm is reported from the nights page, not on an event.", night_page
            )
        try:
            await self._labeller().label_event(event_id, label, "dashboard")
        except LabelRefusedError as err:
            return _refusal(f"The label was not kept: {err}.", night_page)
        raise web.HTTPSeeOther(night_page)

    async def report_missed(self, request: web.Request) -> web.Response:
        """The nights page's "I just had a spasm"; back to it (303), or a clear refusal."""
        await self._trusted_form(request)
        room = request.match_info["room"]
        if room not in self.room_names:
            return _refusal("No such room.", "../../", status=404)
        try:
            await self._labeller().report_missed(room, "dashboard")
        except LabelRefusedError as err:
            return _refusal(f"The spasm was not recorded: {err}.", "../../")
        raise web.HTTPSeeOther(
            f"../../?room={quote(room)}" + _token_query(request).replace("?", "&")
        )

    async def add_note(self, request: web.Request) -> web.Response:
        """The nights page's note form; back to the room's nights (303), or a clear refusal."""
        if self.note_keeper is None:
            raise web.HTTPNotFound(text="notes need the running service")
        form = await self._trusted_form(request)
        room = request.match_info["room"]
        if room not in self.room_names:
            return _refusal("No such room.", "../../", status=404)
        back = f"../../?room={quote(room)}" + _token_query(request).replace("?", "&")
        when = str(form.get("at", "")).strip()
        try:
            at = _wall_time(when, self.zone) if when else None
        except ValueError:
            return _refusal(f"{when!r} is not a date and time like 2026-11-23T22:00.", back)
        try:
            await self.note_keeper.keep_note(room, str(form.get("text", "")), at, "dashboard")
        except NoteRefused as refused:
            return _refusal(f"The note was not kept. {refused}", back)
        raise web.HTTPSeeOther(back)

    def _labeller(self) -> Labeller:
        if self.labeller is None:
            raise web.HTTPNotFound(text="labels need the running service")
        return self.labeller

    def _viewer(self, request: web.Request) -> str:
        """The HA user ingress says is looking, in one short line; empty when not behind it."""
        if not self.behind_ingress:
            return ""
        headers = request.headers
        name = headers.get("X-Remote-User-Display-Name") or headers.get("X-Remote-User-Name")
        return " ".join((name or "").split())[:MAX_VIEWER_CHARS]

    def _own_origin(self, request: web.Request) -> str:
        """The origin our pages have in the browser: behind ingress, HA's, as its proxy says."""
        if not self.behind_ingress:
            return f"{request.scheme}://{request.host}"
        # A chain of proxies appends: the first entry is the one the browser asked.
        proto = _first(request.headers.get("X-Forwarded-Proto")) or request.scheme
        host = _first(request.headers.get("X-Forwarded-Host")) or request.host
        return f"{proto}://{host}"

    async def _trusted_form(self, request: web.Request) -> Mapping[str, object]:
        """The POSTed form, once it proves it came from one of our pages (see the module doc)."""
        site = request.headers.get("Sec-Fetch-Site")
        origin = request.headers.get("Origin")
        if site is not None and site != "same-origin":
            raise web.HTTPForbidden(text="cross-site form refused", headers=_SECURITY_HEADERS)
        if site is None and origin is not None and origin != self._own_origin(request):
            raise web.HTTPForbidden(text="cross-site form refused", headers=_SECURITY_HEADERS)
        if request.content_type != "application/x-www-form-urlencoded":
            raise web.HTTPUnsupportedMediaType(text="a form is expected")
        form = await request.post()
        given = str(form.get("csrf", ""))
        if not hmac.compare_digest(given.encode(), self.csrf.encode()):
            raise web.HTTPForbidden(
                text="the page is out of date (the service restarted): reload it and try again",
                headers=_SECURITY_HEADERS,
            )
        return form


_LABEL_WORDS = {Label.CONFIRMED.value: "a spasm", Label.REJECTED.value: "not a spasm"}


def _refusal(message: str, back: str, status: int = 400) -> web.Response:
    """A refused label, said plainly; `back` leads to the page the form was on."""
    return _page("message.html", title="Not kept", back=back, status=status, message=message)


# --- what the templates show: plain text they escape, and charts that are markup already ------


@dataclass(frozen=True, slots=True)
class _Chart:
    """One chart's SVG at both widths; markup from ElementTree, which escaped its text."""

    wide: Markup
    narrow: Markup


@dataclass(frozen=True, slots=True)
class _Trend:
    room_name: str
    chart: _Chart
    notes: tuple[tuple[str, str], ...] = ()  # (local time, text), numbered as on the chart


@dataclass(frozen=True, slots=True)
class _RoomLink:
    href: str
    name: str
    current: bool


@dataclass(frozen=True, slots=True)
class _NightRow:
    href: str
    when: str
    room_name: str
    in_bed: str
    spasms: str
    restless: str
    in_band: str
    asleep: str


@dataclass(frozen=True, slots=True)
class _LivePanel:
    name: str  # "Bedroom: bed"
    topic: str
    heard: bool  # a sample has come
    rejected: int
    flat: bool  # stuck: identical samples
    figures: list[tuple[str, str]]
    chart: _Chart


@dataclass(frozen=True, slots=True)
class _EventRow:
    id: int
    time: str
    kind: str  # the MovementKind's value: its colour class in the stylesheet
    kind_label: str
    duration: str
    peak: str
    spasm_like: str
    label: str  # the person's word, in words; empty when none
    labellable: bool  # spasm-like, and the service takes labels


@dataclass(frozen=True, slots=True)
class _NoteRow:
    time: str
    text: str
    source: str  # cli | ha | dashboard | simulation


@dataclass(frozen=True, slots=True)
class _ActionRow:
    time: str
    target: str
    data: str
    rule: str


# --- helpers -------------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, allow_nan=False))


def _summary_json(summary: NightSummary) -> dict[str, Any]:
    return {**summary.to_dict(), "night_date": summary.night_date}


def _learned_figures(learned: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What a comfort controller learned of its room, as the live page shows it."""

    def shown(key: str, unit: str) -> str:
        value = learned.get(key)
        return "not yet" if value is None else f"{value:g} {unit}"

    return [
        ("heating rate", shown("heating_rate_c_per_h", "°C/h")),
        ("cooling rate", shown("cooling_rate_c_per_h", "°C/h")),
        ("lag, switch to turn", shown("room_lag_min", "min")),
        ("heating overshoot", shown("heating_overshoot_c", "°C")),
        ("cooling overshoot", shown("cooling_overshoot_c", "°C")),
        ("last learned", str(learned.get("learned_at") or "not yet")[:16].replace("T", " ")),
    ]


def _live_panel(view: SensorView) -> _LivePanel:
    """One sensor on the live page: its figures in words, its minute drawn at both widths."""
    f = view.figures
    rate = _MISSING if view.measured_rate_hz is None else f"{view.measured_rate_hz:.1f} Hz"
    declared = _MISSING
    if view.latest_t is not None:
        declared = "single" if view.declared_rate_hz is None else f"{view.declared_rate_hz:g} Hz"
    heard = _MISSING if view.heard_s_ago is None else f"{view.heard_s_ago:.1f} s ago"
    # The detector learns it from quiet seconds once it has `warmup_s` of signal
    resting = _MISSING if view.latest_t is None else "learning"
    if f.resting_mg is not None:
        resting = f"{f.resting_mg:.1f} mg"
    figures = [
        ("Rate, measured", rate),
        ("Rate, sent", declared),
        ("Messages", str(f.messages)),
        ("Rejected", str(f.rejected)),
        ("Dropped", str(sum(f.dropped.values()))),
        ("Resting level", resting),
        ("Peak, last minute", f"{view.peak_mg:.0f} mg" if view.points else _MISSING),
        ("Last message", heard),
    ]
    return _LivePanel(
        name=f"{view.sensor.room_name}: {view.sensor.sensor_id}",
        topic=view.sensor.topic,
        heard=bool(view.points),
        rejected=f.rejected,
        flat=f.flat,
        figures=figures,
        chart=_both_widths(live_chart, view.points, f.resting_mg),
    )


def _live_json(view: SensorView) -> dict[str, Any]:
    f = view.figures
    return {
        "room": view.sensor.room,
        "room_name": view.sensor.room_name,
        "sensor": view.sensor.sensor_id,
        "topic": view.sensor.topic,
        "heard_s_ago": _rounded(view.heard_s_ago, 2),
        "latest_t": view.latest_t,
        "declared_rate_hz": view.declared_rate_hz,
        "measured_rate_hz": _rounded(view.measured_rate_hz, 2),
        "messages": f.messages,
        "rejected": f.rejected,
        "dropped": dict(f.dropped),
        "resting_mg": f.resting_mg,
        "flat": f.flat,
        "peak_mg": round(view.peak_mg, 2),
        # [seconds before the newest sample, mg]: a tenth of a second, a hundredth of a mg
        "points": [[round(t, 1), round(v, 2)] for t, v in view.points],
    }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _parse_date(text: str) -> date:
    """A night's date from a URL: 404 when it is no date, 400 when no night can have it."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise web.HTTPNotFound(text="not a date (YYYY-MM-DD)") from None
    if not FIRST_NIGHT <= day <= LAST_NIGHT:
        raise web.HTTPBadRequest(
            text=f"date out of range: nights are dated {FIRST_NIGHT} to {LAST_NIGHT}",
            headers=_SECURITY_HEADERS,
        )
    return day


def _wall_time(text: str, zone: ZoneInfo) -> float:
    """A datetime-local field (the person's wall time, no offset) as UTC epoch seconds."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()


def _weekday_time(t: float, zone: ZoneInfo) -> str:
    """Weekday and time, "Mon 22:00": a night's date runs noon to noon, over two days."""
    return datetime.fromtimestamp(t, zone).strftime("%a %H:%M")


def _local(t: float, zone: ZoneInfo, seconds: bool = False) -> str:
    return datetime.fromtimestamp(t, zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def _describe(data: Mapping[str, object]) -> str:
    """An action's data in one line; the summary's own text is on the page already."""
    return ", ".join(f"{k}={v}" for k, v in data.items() if k not in ("message", "title"))


def _first(header: str | None) -> str:
    """The first of a header's comma-separated values, trimmed; empty when there is none."""
    return (header or "").split(",", 1)[0].strip()


def _token_query(request: web.Request) -> str:
    """`?token=…` for links when the page itself was opened with one, else nothing."""
    token = request.query.get("token")
    return "?" + urlencode({"token": token}) if token else ""


def _room_links(room_names: Mapping[str, str], current: str | None, token: str) -> list[_RoomLink]:
    """Links to each room's list when there are several rooms."""
    if len(room_names) < 2:
        return []
    extra = "&" + token[1:] if token else ""
    links = [_RoomLink("./" + token, "All rooms", current is None)]
    links += [
        _RoomLink("?" + urlencode({"room": room_id}) + extra, name, current == room_id)
        for room_id, name in room_names.items()
    ]
    return links


def _both_widths(draw: Callable[..., str], *args: object) -> _Chart:
    """A chart drawn wide and narrow; the stylesheet shows the one that fits the screen."""
    return _Chart(
        Markup(draw(*args)),  # noqa: S704 - SVG serialized by ElementTree, its text escaped
        Markup(draw(*args, width=PHONE_WIDTH)),  # noqa: S704 - as above
    )


def _page(
    template: str,
    *,
    title: str,
    back: str | None,
    status: int = 200,
    viewer: str = "",
    live_href: str | None = None,
    refresh_s: int | None = None,
    **context: object,
) -> web.Response:
    """A page from `templates/`, with the security headers every page carries.

    `live_href` puts a link to the live page in the header; `refresh_s` makes the page reload
    itself that often.
    """
    document = TEMPLATES.get_template(template).render(
        title=title, back=back, viewer=viewer, live_href=live_href, refresh_s=refresh_s, **context
    )
    return web.Response(
        text=document, content_type="text/html", status=status, headers=_SECURITY_HEADERS
    )


def _token_middleware(token: str) -> Middleware:
    expected = token.encode()

    @web.middleware
    async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/healthz":  # health checkers and HA's watchdog carry no token
            return await handler(request)
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else request.query.get("token", "")
        if not hmac.compare_digest(given.encode(), expected):
            raise web.HTTPUnauthorized(
                text="a token is needed: Authorization: Bearer <token>, or ?token=",
                headers={"WWW-Authenticate": 'Bearer realm="smart-bedroom"'},
            )
        return await handler(request)

    return require_token


def _ingress_only(proxy: IPv4Address | IPv6Address) -> Middleware:
    """Answer HA's ingress proxy alone: it has authenticated the user; no one else has."""
    warned = False

    @web.middleware
    async def from_the_proxy(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal warned
        peer = _peer_address(request)
        if peer != proxy:
            # Once at WARNING: a Supervisor at another address shows here; repeats at DEBUG.
            _LOGGER.log(
                logging.DEBUG if warned else logging.WARNING,
                "dashboard ingress: request from %s refused (only %s, HA's ingress, is answered)",
                peer or "an unknown address",
                proxy,
            )
            warned = True
            raise web.HTTPForbidden(
                text="this port answers Home Assistant's ingress only", headers=_SECURITY_HEADERS
            )
        return await handler(request)

    return from_the_proxy


def _peer_address(request: web.Request) -> IPv4Address | IPv6Address | None:
    """The address the connection came from (never a header); an IPv4 one as IPv4."""
    try:
        address = ip_address(request.remote or "")
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@web.middleware
async def _store_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A failing store answers 503 with the reason, and the service goes on."""
    try:
        return await handler(request)
    except StoreError as error:
        _LOGGER.warning("dashboard %s: %s", request.path, error)
        raise web.HTTPServiceUnavailable(text=str(error)) from error


def make_app(
    *,
    store: NightHistory | None,
    zone: ZoneInfo,
    health: Callable[[], Health],
    metrics: MetricsSource,
    token: str | None,
    room_names: Mapping[str, str],
    labeller: Labeller | None = None,
    ingress_proxy: IPv4Address | IPv6Address | None = None,
    live: LiveSource | None = None,
    note_keeper: NoteKeeper | None = None,
) -> web.Application:
    """The dashboard as an aiohttp application; `token` None leaves it open (localhost only).

    Without `live` (the running service's motion sensors), `/live` says it needs the service.

    With `ingress_proxy`, it is HA's ingress listener: it answers that address alone (403 to
    any other) and takes no token, as HA has authenticated the user.
    """
    if ingress_proxy is not None and token:
        raise ValueError("an ingress listener takes no token: HA authenticates its users")
    middlewares: list[Middleware] = [_store_errors]
    if token:
        middlewares.insert(0, _token_middleware(token))
    if ingress_proxy is not None:
        middlewares.insert(0, _ingress_only(ingress_proxy))
    app = web.Application(middlewares=middlewares)
    app[_REQUESTS] = requests = _Requests()
    dashboard = _Dashboard(
        store,
        zone,
        health,
        metrics,
        room_names,
        labeller,
        requests,
        behind_ingress=ingress_proxy is not None,
        live=live,
        note_keeper=note_keeper,
    )
    date_part = r"{date:\d{4}-\d{2}-\d{2}}"
    app.router.add_get("/", dashboard.index)
    app.router.add_get(f"/nights/{{room}}/{date_part}", dashboard.night_page)
    app.router.add_get("/api/nights", dashboard.api_nights)
    app.router.add_get(f"/api/nights/{date_part}", dashboard.api_night)
    app.router.add_get(f"/api/nights/{{room}}/{date_part}", dashboard.api_night)
    app.router.add_post(f"/nights/{{room}}/{date_part}/label", dashboard.label_event)
    app.router.add_post("/rooms/{room}/missed", dashboard.report_missed)
    app.router.add_post("/rooms/{room}/notes", dashboard.add_note)
    app.router.add_get("/live", dashboard.live_page)
    app.router.add_get("/weeks", dashboard.weeks_page)
    app.router.add_get("/report", dashboard.report_page)
    app.router.add_get("/api/live", dashboard.api_live)
    app.router.add_get("/healthz", dashboard.healthz)
    app.router.add_get("/metrics", dashboard.metrics_text)
    return app


@dataclass(frozen=True, slots=True)
class DashboardListeners:
    """The dashboard's running listeners: direct (host:port) and HA's ingress, each if started."""

    direct: web.AppRunner | None
    ingress: web.AppRunner | None = None

    async def cleanup(self) -> None:
        """Stop every listener."""
        for runner in (self.direct, self.ingress):
            if runner is not None:
                await runner.cleanup()


async def serve_dashboard(
    config: ServiceConfig,
    store: NightHistory | None,
    health: Callable[[], Health],
    metrics: MetricsSource,
    labeller: Labeller | None = None,
    live: LiveSource | None = None,
    note_keeper: NoteKeeper | None = None,
) -> tuple[DashboardListeners, str | None] | None:
    """The dashboard as configured, and its direct address; None when off or nothing started.

    A token named but empty (an unset variable, an empty file) never serves health data open:
    the direct listener stays off. HA's ingress listener needs no token, so it starts anyway.
    """
    settings = config.dashboard
    if not settings.enabled:
        return None

    def app(token: str | None, ingress_proxy: IPv4Address | IPv6Address | None) -> web.Application:
        return make_app(
            store=store,
            zone=config.zone,
            health=health,
            metrics=metrics,
            token=token,
            room_names={room.id: room.name for room in config.rooms},
            labeller=labeller,
            ingress_proxy=ingress_proxy,
            live=live,
            note_keeper=note_keeper,
        )

    direct: web.AppRunner | None = None
    url: str | None = None
    token = resolve_secret(settings.token) if settings.token is not None else None
    if settings.token is not None and not token:
        _LOGGER.error("dashboard not started: its token (%s) is empty", settings.token)
    else:
        direct = await _start_or_log(app(token, None), settings.host, settings.port)
    if direct is not None:
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        url = f"http://{host}:{direct.addresses[0][1]}/"
    ingress: web.AppRunner | None = None
    if settings.ingress_port is not None:
        proxy = settings.ingress_proxy
        # Every interface: the Supervisor reaches the add-on's container on HA's own network.
        everywhere = "::" if proxy.version == 6 else "0.0.0.0"  # noqa: S104 - one address answered
        ingress = await _start_or_log(app(None, proxy), everywhere, settings.ingress_port)
        if ingress is not None:
            _LOGGER.info("dashboard: Home Assistant's ingress answered from %s only", proxy)
    if direct is None and ingress is None:
        return None
    return DashboardListeners(direct, ingress), url


async def _start_or_log(app: web.Application, host: str, port: int) -> web.AppRunner | None:
    """`start_dashboard`, or None with the reason logged when the port cannot be had."""
    try:
        return await start_dashboard(app, host, port)
    except OSError as err:
        _LOGGER.error("dashboard not started on %s:%d: %s", host, port, err)
        return None


class _ServerLog(logging.Logger):
    """aiohttp's request-handling log, with requests it cannot parse at DEBUG, counted.

    Anyone who reaches the port can send those (a 100 KB header, a bad method, TLS to plain
    HTTP); a traceback at ERROR for each would let them flood the log. aiohttp already answers
    them 400 and closes the connection. An exception in our own handlers stays an ERROR with
    its traceback: that is a bug to see.
    """

    def __init__(self, requests: _Requests) -> None:
        super().__init__(f"{__name__}.server")
        self.parent = _LOGGER  # propagates to the handlers everyone else's records reach
        self._requests = requests

    def exception(  # type: ignore[override]  # exc_info narrowed to what aiohttp passes
        self, msg: object, *args: object, exc_info: BaseException | bool = True, **kw: Any
    ) -> None:
        """Log at ERROR with the traceback, unless the request could not be parsed."""
        if isinstance(exc_info, HttpProcessingError):
            self._refused(exc_info)
            return
        super().exception(msg, *args, exc_info=exc_info, **kw)

    def debug(self, msg: object, *args: object, **kw: Any) -> None:
        """Log at DEBUG; a request that could not be parsed in one line, without traceback."""
        exc_info = kw.get("exc_info")
        if isinstance(exc_info, HttpProcessingError):
            self._refused(exc_info)
            return
        super().debug(msg, *args, **kw)

    def _refused(self, error: HttpProcessingError) -> None:
        self._requests.malformed += 1
        reason = " ".join(str(error.message).split())[:200]  # one line, bounded
        super().debug("malformed request refused (%d): %s", error.code, reason)


@dataclass(slots=True)
class _Requests:
    """What the server counts of requests that never reached a handler."""

    malformed: int = 0


_REQUESTS = web.AppKey("requests", _Requests)


async def start_dashboard(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `app` on host:port; `await runner.cleanup()` stops it."""
    runner = web.AppRunner(app, access_log=None, logger=_ServerLog(app[_REQUESTS]))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    _LOGGER.info("dashboard: serving on http://%s:%d/", host, port)
    return runner
