"""Cron triggers: compute ticks, and at each tick send ``inngest/scheduled.timer`` once.

Expressions are five-field cron (or a croniter macro such as ``@hourly``), evaluated in UTC
unless prefixed with a zone the way Inngest writes it: ``TZ=Europe/Paris 0 9 * * 1-5``
(``CRON_TZ=`` works too). A trigger's ``jitter`` is ignored: ticks fire on the tick.

A tick fires once across replicas and leader changes: it is recorded in ``cron_ticks``
(primary key: function, tick) in the same transaction that waits for Kafka to accept the
event, so a failed send records nothing and is tried again. The event id is derived from the
function and the tick, so if a leader dies between the send and the commit, the next leader's
send repeats the same event and the matcher starts no second run. Ticks missed while no
scheduler ran are not replayed as a storm: only the most recent one fires.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from ulid import ULID

from services.core.bus import Bus
from services.core.errors import BadInput
from services.core.metrics import Metrics
from services.core.model import Event, Function
from services.core.publish import publish_events
from services.core.store import AppStore, Database
from services.core.store.cron_ticks import CronTickStore
from services.scheduler.timers import epoch_ms

log = logging.getLogger(__name__)

SCHEDULED_EVENT = "inngest/scheduled.timer"

_TZ_PREFIX = re.compile(r"^(?:CRON_)?TZ=(\S+)\s+(.+)$")


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A parsed cron expression: ``expr`` as declared, ``fields`` for croniter, its zone."""

    expr: str
    fields: str
    tz: ZoneInfo


def parse_cron(expr: str) -> CronSpec:
    """Parse and check an expression; raises ``BadInput`` saying what is wrong.

    Example::

        parse_cron("TZ=Europe/Paris 0 9 * * 1-5").tz  # ZoneInfo("Europe/Paris")
    """
    text = expr.strip()
    tz = ZoneInfo("UTC")
    m = _TZ_PREFIX.match(text)
    if m:
        try:
            tz = ZoneInfo(m.group(1))
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(f"cron {expr!r}: unknown time zone {m.group(1)!r}") from None
        text = m.group(2).strip()
    if not text.startswith("@") and len(text.split()) != 5:
        raise BadInput(f"cron {expr!r}: expected five fields (minute hour day month weekday)")
    if not croniter.is_valid(text):
        raise BadInput(f"cron {expr!r}: not a valid cron expression")
    spec = CronSpec(expr, text, tz)
    try:
        next_tick(spec, datetime(2000, 1, 1, tzinfo=UTC))
    except CroniterError:
        raise BadInput(f"cron {expr!r}: never fires") from None
    return spec


def next_tick(spec: CronSpec, after: datetime) -> datetime:
    """The first tick strictly after ``after`` (aware), in UTC."""
    t: datetime = croniter(spec.fields, after.astimezone(spec.tz)).get_next(datetime)
    return t.astimezone(UTC)


def latest_tick(spec: CronSpec, now: datetime) -> datetime:
    """The last tick at or before ``now``, in UTC."""
    before: datetime = croniter(spec.fields, now.astimezone(spec.tz)).get_prev(datetime)
    prev = before.astimezone(UTC)
    following = next_tick(spec, prev)
    return following if following <= now else prev


def first_due(spec: CronSpec, now: datetime, last_fired: datetime | None) -> datetime:
    """The tick to fire first: the most recent missed one if a tick was missed, else the next."""
    if last_fired is not None:
        prev = latest_tick(spec, now)
        if prev > last_fired:
            return prev
    return next_tick(spec, now)


def scheduled_event_id(function_id: str, tick: datetime) -> str:
    """A ULID for the tick's event, the same every time it is computed."""
    ms = epoch_ms(tick)
    digest = hashlib.sha256(f"{function_id}|{ms}".encode()).digest()
    return str(ULID.from_bytes(ms.to_bytes(6, "big") + digest[:10]))


@dataclass(slots=True)
class _Entry:
    function_id: str
    spec: CronSpec
    due: datetime


class CronFirer:
    """The cron triggers of every active function and when each fires next."""

    def __init__(self, db: Database, bus: Bus, topic: str, metrics: Metrics) -> None:
        self.db = db
        self.apps = AppStore(db)
        self.ticks = CronTickStore(db)
        self.bus = bus
        self.topic = topic
        self.metrics = metrics
        self.entries: list[_Entry] = []
        self._reported: set[tuple[str, str]] = set()

    async def reload(self, now: datetime) -> None:
        """Load cron triggers again (at start and whenever functions change)."""
        self.load(await self.apps.functions(), await self.ticks.last_ticks(), now)

    def load(
        self, functions: list[Function], last_fired: dict[str, datetime], now: datetime
    ) -> None:
        known = {(e.function_id, e.spec.expr): e.due for e in self.entries}
        entries: list[_Entry] = []
        for fn in sorted(functions, key=lambda f: f.id):
            for trigger in fn.triggers:
                if trigger.cron is None:
                    continue
                try:
                    spec = parse_cron(trigger.cron)
                except BadInput as exc:
                    self._report(fn.id, trigger.cron, exc)
                    continue
                due = known.get((fn.id, spec.expr))
                if due is None:
                    due = first_due(spec, now, last_fired.get(fn.id))
                entries.append(_Entry(fn.id, spec, due))
        self.entries = entries

    def next_due(self) -> datetime | None:
        return min((e.due for e in self.entries), default=None)

    async def fire(self, now: datetime) -> int:
        """Fire every tick due at ``now``; returns how many events were sent."""
        due = [e for e in self.entries if e.due <= now]
        if not due:
            return 0
        events: list[Event] = []
        # Rows are inserted in (function, tick) order so two leaders briefly overlapping
        # wait on each other instead of deadlocking.
        async with self.db.tx() as conn:
            for e in due:
                event = Event(
                    id=scheduled_event_id(e.function_id, e.due),
                    name=SCHEDULED_EVENT,
                    data={"cron": e.spec.expr, "function_id": e.function_id},
                    ts=epoch_ms(e.due),
                )
                if await self.ticks.record(conn, e.function_id, e.due, event.id):
                    events.append(event)
            await publish_events(self.bus, self.topic, events, epoch_ms(now))
        self.metrics.cron_ticks.inc(len(events))
        for e in due:
            e.due = next_tick(e.spec, max(now, e.due))
        return len(events)

    def _report(self, function_id: str, expr: str, exc: BadInput) -> None:
        if (function_id, expr) in self._reported:
            return
        self._reported.add((function_id, expr))
        self.metrics.dead_letters.labels("scheduler-cron").inc()
        log.warning("function %s: skipping cron trigger: %s", function_id, exc.message)
