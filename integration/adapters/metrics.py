"""The service's counters in the Prometheus text format, with the official client library.

Each service owns a `CollectorRegistry` of its own (never the process-wide default), so two
services in one process (tests, the demo) never share or double-register a metric.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

__all__ = ["ServiceMetrics"]

# The ticker runs each second: lateness past a second means the loop is starved.
LOOP_LAG_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ServiceMetrics:
    """Messages in, rejections by reason, events by kind, actions by kind, loop lag."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._rejected_seen: dict[str, int] = {}
        self._messages = Counter(
            "smart_bedroom_messages",
            "MQTT messages received from sensors",
            registry=self.registry,
        )
        self._rejected = Counter(
            "smart_bedroom_rejected_messages",
            "Sensor messages refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self._events = Counter(
            "smart_bedroom_events",
            "Movement events detected, by kind",
            ["kind"],
            registry=self.registry,
        )
        self._actions = Counter(
            "smart_bedroom_actions",
            "Actions taken, by kind",
            ["kind"],
            registry=self.registry,
        )
        self._clock_steps = Counter(
            "smart_bedroom_clock_steps",
            "Times the wall clock was set forward or back",
            registry=self.registry,
        )
        self._store_failures = Counter(
            "smart_bedroom_store_failures",
            "History writes that failed (disk full, locked)",
            registry=self.registry,
        )
        self._raw_night_failures = Counter(
            "smart_bedroom_raw_night_failures",
            "Raw-night writes or deletions that failed (disk full, not writable)",
            registry=self.registry,
        )
        self._loop_lag = Histogram(
            "smart_bedroom_loop_lag_seconds",
            "How late the once-a-second ticker ran",
            buckets=LOOP_LAG_BUCKETS_S,
            registry=self.registry,
        )

    def messages(self, n: int = 1) -> None:
        """Count `n` messages received."""
        self._messages.inc(n)

    def rejected(self, reason: str) -> None:
        """Count one message refused for `reason`."""
        self._rejected.labels(reason=reason).inc()

    def event(self, kind: str) -> None:
        """Count one movement event of `kind`."""
        self._events.labels(kind=kind).inc()

    def action(self, kind: str) -> None:
        """Count one action of `kind`."""
        self._actions.labels(kind=kind).inc()

    def clock_step(self) -> None:
        """Count one step of the wall clock."""
        self._clock_steps.inc()

    def store_failure(self) -> None:
        """Count one failed history write."""
        self._store_failures.inc()

    def raw_night_failure(self) -> None:
        """Count one failed raw-night write or deletion (called from the writer's thread)."""
        self._raw_night_failures.inc()

    def rejected_total(self, rejected: Mapping[str, int]) -> None:
        """Catch up with the pipeline's running totals of refused messages, by reason."""
        for reason, count in rejected.items():
            new = count - self._rejected_seen.get(reason, 0)
            if new:
                self._rejected_seen[reason] = count
                for _ in range(new):
                    self.rejected(reason)

    def loop_lag(self, seconds: float) -> None:
        """Record how late a tick ran (negative lateness counts as on time)."""
        self._loop_lag.observe(max(0.0, seconds))

    def expose_dropped(self, read: Callable[[], Mapping[str, int]]) -> None:
        """The MQTT link's drops by reason, kept there, read each time /metrics is."""
        self.registry.register(
            _ReadCounter(
                "smart_bedroom_dropped_messages",
                "Messages dropped before parsing: a flooding topic, an oversize payload, a full queue",
                "reason",
                read,
            )
        )

    def render(self) -> tuple[bytes, str]:
        """The exposition body and its content type, for `/metrics`."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _ReadCounter(Collector):
    """Counters by one label, read from their owner at scrape time rather than copied."""

    def __init__(
        self, name: str, documentation: str, label: str, read: Callable[[], Mapping[str, int]]
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self._read = read

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=[self._label])
        for value, count in self._read().items():
            family.add_metric([value], count)
        yield family
