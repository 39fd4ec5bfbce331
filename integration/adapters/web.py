"""The service's own web dashboard: nights list, night pages, JSON API, /healthz and /metrics.

Pages are rendered on the server (HTML with inline SVG, no JavaScript, no external resources)
and link with relative URLs only, so they work the same at `/` and behind Home Assistant's
ingress or in a Webpage card. Everything taken from data is HTML-escaped, and a strict
Content-Security-Policy forbids scripts, so a hostile room name or `why` string cannot inject.

With a token set, every route but `/healthz` needs `Authorization: Bearer <token>` or
`?token=<token>`; a page opened with `?token=` carries it in its links.
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from integration.adapters.charts import (
    CHART_CSS,
    KIND_LABELS,
    PHONE_WIDTH,
    night_chart,
    trend_chart,
)
from integration.core.events import Action, ActionKind, MovementEvent, MovementKind
from integration.core.summary import MinuteRecord, NightSummary, render_text
from integration.errors import StoreError

__all__ = ["Health", "MetricsSource", "NightHistory", "make_app", "start_dashboard"]

_LOGGER = logging.getLogger(__name__)

LIST_NIGHTS = 30  # nights on the list page and in the trend: a month
MAX_API_NIGHTS = 366  # a year through the API in one request
# The morning summary action goes out when the night closes, after the person has been up
# for `out_of_bed_to_close_s` (30 min by default): the night's actions reach this far past waking.
NIGHT_CLOSE_TAIL_S = 2 * 3600.0
_MISSING = "\u2013"  # an en dash where a night has no such figure
_NOON = time(12, 0)  # a night is dated by the evening it began: its date runs noon to noon

# No scripts, no fetches, no frames inside; inline styles and SVG only. Embedding in HA's
# iframe stays allowed (no frame-ancestors), and `no-referrer` keeps a ?token= off other sites.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


Row = dict[str, str | int | float | None]


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


class MetricsSource(Protocol):
    """Where `/metrics` comes from (`ServiceMetrics` is one)."""

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type."""


@dataclass(frozen=True, slots=True)
class Health:
    """What `/healthz` reports; HTTP 200 only while the broker is connected."""

    broker: str  # "connected", "connecting", "disconnected"
    home_assistant: str  # "connected", "unavailable", "disabled"
    last_seen: dict[str, float] = field(default_factory=dict)  # "room/sensor" → UTC epoch s
    store: str = "ok"  # "ok", "unavailable", "error: ..."
    store_failures: int = 0  # history writes that failed since start; stays when "ok" again
    # Overload, shown: topics flooding now (messages dropped for it since start), and messages
    # dropped because the service fell behind, a topic flooded or the payload was oversize.
    flooding: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)


def _e(value: object) -> str:
    """Text from data, safe in HTML content and quoted attributes."""
    return html.escape(str(value), quote=True)


def _night_range(night_date: date, zone: ZoneInfo) -> tuple[float, float]:
    """UTC epoch bounds of bed times dated `night_date` (local noon to the next local noon)."""
    start = datetime.combine(night_date, _NOON, zone)
    end = datetime.combine(night_date + timedelta(days=1), _NOON, zone)
    return start.timestamp(), end.timestamp()


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


class _Dashboard:
    """Request handlers over the store, the health callback and the metrics."""

    def __init__(
        self,
        store: NightHistory | None,
        zone: ZoneInfo,
        health: Callable[[], Health],
        metrics: MetricsSource,
        room_names: Mapping[str, str],
    ) -> None:
        self.store = store
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
        from_t, to_t = _night_range(night_date, self.zone)
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
        return _Night(
            summary,
            [_minute_from_row(r) for r in minutes if r["room"] == room],
            [_event_from_row(r) for r in events if r["room"] == room],
            [_action_from_row(r) for r in actions if r["room"] == room],
        )

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

    async def healthz(self, _request: web.Request) -> web.Response:
        """Broker, HA and store state and the last message per sensor; 503 without the broker."""
        health = self.health()
        return _json(asdict(health), status=200 if health.broker == "connected" else 503)

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
        parts = ["<h1>Nights</h1>", _room_filter(self.room_names, room, token)]
        if self.store is None:
            parts.append('<p class="empty">The history store is not available.</p>')
        elif not nights:
            parts.append(
                '<p class="empty">No nights yet. A night appears here the morning after '
                "it ends.</p>"
            )
        else:
            for trend_room in [room] if room else sorted({s.room for s in nights}):
                of_room = [s for s in nights if s.room == trend_room]
                if not of_room:
                    continue
                parts.append(
                    f'<figure class="trend"><figcaption>{_e(self._room_name(of_room[0]))}: '
                    '<span class="key bar-key"></span> spasm-like events per night, '
                    '<span class="key line-key"></span> time in the comfort band'
                    f"</figcaption>{_both_widths(trend_chart, of_room)}</figure>"
                )
            parts.append(self._nights_table(nights, token, several_rooms=len(self.room_names) > 1))
        return _page("Nights", "".join(parts), back=None)

    def _nights_table(self, nights: Sequence[NightSummary], token: str, several_rooms: bool) -> str:
        head = ["Night", "In bed", "Spasm-like", "Restless", "In band", "Asleep (est.)"]
        rows = []
        for s in nights:
            href = f"nights/{quote(s.room, safe='')}/{quote(s.night_date)}{token}"
            when = datetime.fromisoformat(s.night_date).strftime("%a %d %b")
            room = f'<span class="room">{_e(self._room_name(s))}</span>' if several_rooms else ""
            cells = [
                f'<a href="{_e(href)}">{_e(when)}</a>{room}',
                f"{s.time_in_bed_s / 3600:.1f} h",
                str(s.spasm_count),
                f"{s.restless_total_min:.0f} min",
                _MISSING if s.in_band_share is None else f"{s.in_band_share:.0%}",
                _MISSING if s.sleep is None else f"{s.sleep.efficiency:.0%}",
            ]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        header = "".join(f'<th scope="col">{h}</th>' for h in head)
        return (
            '<div class="table-wrap"><table class="nights"><thead><tr>'
            f"{header}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )

    async def night_page(self, request: web.Request) -> web.Response:
        """One night: the chart, the morning summary and the event list."""
        room = request.match_info["room"]
        night_date = _parse_date(request.match_info["date"])
        token = _token_query(request)
        back = f"../../{token}"
        night = await self._night(room, night_date)
        if night is None:
            body = '<p class="empty">No night of this room on this date.</p>'
            return _page("No such night", body, back=back, status=404)
        s = night.summary
        name = self._room_name(s)
        title = f"{name}, night of {datetime.fromisoformat(s.night_date):%a %d %b %Y}"
        figures = [
            ("In bed", f"{s.time_in_bed_s / 3600:.1f} h"),
            ("Spasm-like", str(s.spasm_count)),
            ("Restless", f"{s.restless_total_min:.0f} min"),
            ("In band", _MISSING if s.in_band_share is None else f"{s.in_band_share:.0%}"),
            ("Asleep (est.)", _MISSING if s.sleep is None else f"{s.sleep.efficiency:.0%}"),
            ("Up", str(s.get_ups)),
        ]
        figures_html = "".join(
            f'<div class="figure"><span class="value">{_e(v)}</span>'
            f'<span class="label">{_e(k)}</span></div>'
            for k, v in figures
        )
        chart = _both_widths(night_chart, s, night.minutes, night.events, night.actions, self.zone)
        summary_lines = "".join(f"<p>{_e(line)}</p>" for line in render_text(s).splitlines())
        body = (
            f'<h1>{_e(title)}</h1><div class="figures">{figures_html}</div>'
            f'<figure class="night">{chart}<figcaption>{_legend()}</figcaption></figure>'
            f'<section class="summary"><h2>Morning summary</h2>{summary_lines}</section>'
            f"{self._events_table(night.events)}{self._actions_table(night.actions)}"
        )
        return _page(title, body, back=back)

    def _events_table(self, events: Sequence[MovementEvent]) -> str:
        if not events:
            return '<section><h2>Events</h2><p class="empty">No events this night.</p></section>'
        rows = "".join(
            "<tr>"
            f"<td>{_e(_local(e.start, self.zone, seconds=True))}</td>"
            f'<td><span class="key kind-{_e(e.kind.value)}"></span>{_e(KIND_LABELS[e.kind])}</td>'
            f"<td>{e.end - e.start:.1f} s</td>"
            f"<td>{e.peak:.1f}</td>"
            f"<td>{'yes' if e.spasm_like else 'no'}</td>"
            "</tr>"
            for e in events
        )
        return (
            f'<section><h2>Events ({len(events)})</h2><div class="table-wrap"><table>'
            '<thead><tr><th scope="col">Time</th><th scope="col">Kind</th>'
            '<th scope="col">Duration</th><th scope="col">Peak</th>'
            '<th scope="col">Spasm-like</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div></section>"
        )

    def _actions_table(self, actions: Sequence[Action]) -> str:
        if not actions:
            return ""
        rows = "".join(
            "<tr>"
            f"<td>{_e(_local(a.t, self.zone))}</td>"
            f"<td>{_e(a.target)}</td>"
            f"<td>{_e(_describe(a.data))}</td>"
            f"<td>{_e(a.why.get('rule', ''))}</td>"
            "</tr>"
            for a in actions
        )
        return (
            f'<section><h2>Actions ({len(actions)})</h2><div class="table-wrap"><table>'
            '<thead><tr><th scope="col">Time</th><th scope="col">What</th>'
            '<th scope="col">Data</th><th scope="col">Rule</th></tr></thead>'
            f"<tbody>{rows}</tbody></table></div></section>"
        )


# --- helpers -------------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, allow_nan=False))


def _summary_json(summary: NightSummary) -> dict[str, Any]:
    return {**summary.to_dict(), "night_date": summary.night_date}


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise web.HTTPNotFound(text="not a date (YYYY-MM-DD)") from None


def _local(t: float, zone: ZoneInfo, seconds: bool = False) -> str:
    return datetime.fromtimestamp(t, zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def _describe(data: Mapping[str, object]) -> str:
    """An action's data in one line; the summary's own text is on the page already."""
    return ", ".join(f"{k}={v}" for k, v in data.items() if k not in ("message", "title"))


def _token_query(request: web.Request) -> str:
    """`?token=…` for links when the page itself was opened with one, else nothing."""
    token = request.query.get("token")
    return "?" + urlencode({"token": token}) if token else ""


def _room_filter(room_names: Mapping[str, str], current: str | None, token: str) -> str:
    """Links to each room's list when there are several rooms."""
    if len(room_names) < 2:
        return ""
    extra = "&" + token[1:] if token else ""
    links = [f'<a href="{_e("./" + token)}"{_current(current is None)}>All rooms</a>']
    links += [
        f'<a href="?{_e(urlencode({"room": room_id}) + extra)}"'
        f"{_current(current == room_id)}>{_e(name)}</a>"
        for room_id, name in room_names.items()
    ]
    return f'<nav class="rooms">{" ".join(links)}</nav>'


def _current(is_current: bool) -> str:
    return ' aria-current="page"' if is_current else ""


def _both_widths(draw: Callable[..., str], *args: object) -> str:
    """A chart drawn wide and narrow; CSS shows the one that fits the screen."""
    return (
        f'<div class="wide">{draw(*args)}</div>'
        f'<div class="narrow">{draw(*args, width=PHONE_WIDTH)}</div>'
    )


def _legend() -> str:
    items = [
        ('<span class="key line-key"></span>', "room temperature"),
        ('<span class="key band-key"></span>', "comfort band"),
        ('<span class="key restless-key"></span>', "restless episode"),
        ('<span class="key out-key"></span>', "out of bed"),
        ('<span class="key action-key"></span>', "action"),
    ]
    entries = "".join(f"<li>{key}{_e(label)}</li>" for key, label in items)
    return (
        f'<ul class="legend">{entries}</ul><p class="hint">Each event is a marker in the row '
        "of its kind; faded ones are not spasm-like. Hover or long-press a marker for its "
        "details.</p>"
    )


_PAGE_CSS = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e;
  --rule: #d8dee4; --card: #f6f8fa; --link: #0b5cad; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --rule: #30363d; --card: #161b22;
    --link: #79c0ff; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header, main { max-width: 60rem; margin: 0 auto; padding: 0.75rem 1rem; }
header { display: flex; gap: 1rem; align-items: baseline; border-bottom: 1px solid var(--rule); }
header .brand { font-weight: 600; color: var(--fg); text-decoration: none; }
a { color: var(--link); }
h1 { font-size: 1.35rem; margin: 0.5rem 0 0.75rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
figure { margin: 0.75rem 0 1rem; }
figcaption { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0; }
.empty { color: var(--muted); padding: 2rem 0; text-align: center; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(6.5rem, 1fr));
  gap: 0.5rem; }
.figure { background: var(--card); border-radius: 0.5rem; padding: 0.5rem 0.75rem; }
.figure .value { display: block; font-size: 1.3rem; font-weight: 600; }
.figure .label { color: var(--muted); font-size: 0.85rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.95rem;
  font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 0.4rem 0.6rem; border-bottom: 1px solid var(--rule);
  white-space: nowrap; }
th { color: var(--muted); font-weight: 600; }
.summary p { margin: 0.3rem 0; }
td .room { display: block; color: var(--muted); font-size: 0.85rem; max-width: 12rem;
  overflow: hidden; text-overflow: ellipsis; }
nav.rooms { display: flex; flex-wrap: wrap; gap: 0.75rem; margin: 0.25rem 0 0.5rem; }
nav.rooms a[aria-current] { font-weight: 600; color: var(--fg); text-decoration: none; }
.legend { list-style: none; padding: 0; margin: 0.25rem 0; display: flex; flex-wrap: wrap;
  gap: 0.25rem 1rem; }
.hint { margin: 0.25rem 0; }
.key { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 50%;
  margin-right: 0.35rem; vertical-align: -0.05rem; background: currentColor; }
.line-key { border-radius: 0; height: 0.2rem; vertical-align: 0.2rem; color: var(--chart-line); }
.band-key { border-radius: 0.15rem; color: var(--chart-band); opacity: 0.35; }
.restless-key { border-radius: 0.15rem; color: var(--chart-restless); opacity: 0.45; }
.out-key { border-radius: 0.15rem; color: var(--chart-out); opacity: 0.5; }
.action-key { border-radius: 0; width: 0.2rem; color: var(--chart-action); }
.bar-key { border-radius: 0.15rem; color: var(--chart-bar); }
figure.trend .line-key { color: var(--chart-band); }
.narrow { display: none; }
@media (max-width: 40rem) {
  .wide { display: none; }
  .narrow { display: block; }
  header, main { padding: 0.5rem 0.75rem; }
}
"""


def _page(title: str, body: str, back: str | None, status: int = 200) -> web.Response:
    nav = f'<a href="{_e(back)}">All nights</a>' if back is not None else ""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{_e(title)} · smart-bedroom</title>"
        f"<style>{_PAGE_CSS}{CHART_CSS}</style></head><body>"
        f'<header><span class="brand">smart-bedroom</span>{nav}</header>'
        f"<main>{body}</main></body></html>"
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
) -> web.Application:
    """The dashboard as an aiohttp application; `token` None leaves it open (localhost only)."""
    middlewares: list[Middleware] = [_store_errors]
    if token:
        middlewares.insert(0, _token_middleware(token))
    app = web.Application(middlewares=middlewares)
    dashboard = _Dashboard(store, zone, health, metrics, room_names)
    date_part = r"{date:\d{4}-\d{2}-\d{2}}"
    app.router.add_get("/", dashboard.index)
    app.router.add_get(f"/nights/{{room}}/{date_part}", dashboard.night_page)
    app.router.add_get("/api/nights", dashboard.api_nights)
    app.router.add_get(f"/api/nights/{date_part}", dashboard.api_night)
    app.router.add_get(f"/api/nights/{{room}}/{date_part}", dashboard.api_night)
    app.router.add_get("/healthz", dashboard.healthz)
    app.router.add_get("/metrics", dashboard.metrics_text)
    return app


async def start_dashboard(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `app` on host:port; `await runner.cleanup()` stops it."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    _LOGGER.info("dashboard: serving on http://%s:%d/", host, port)
    return runner
