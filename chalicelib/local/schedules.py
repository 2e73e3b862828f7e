"""EventBridge schedules for the local stack: ``rate(...)`` and ``cron(...)`` expressions.

The scheduler runs on a clock that can go faster than the wall clock (``speedup``), so a
``rate(15 minutes)`` job can be watched in seconds. Cron expressions support what AWS documents
except the ``L``, ``W`` and ``#`` specials.
"""

from __future__ import annotations

import calendar
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from chalicelib.local.lambda_events import invoke, scheduled_event
from chalicelib.local.sources import ScheduleSource

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$", re.IGNORECASE)
_CRON = re.compile(r"^cron\((.*)\)$", re.IGNORECASE)
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_SEARCH_LIMIT = timedelta(days=5 * 366)


class Schedule(Protocol):
    def next_fire(self, after: datetime) -> datetime: ...


@dataclass(frozen=True)
class RateSchedule:
    period: timedelta

    def next_fire(self, after: datetime) -> datetime:
        return after + self.period


@dataclass(frozen=True)
class CronField:
    allowed: frozenset[int] | None  # None: any value

    def matches(self, value: int) -> bool:
        return self.allowed is None or value in self.allowed


@dataclass(frozen=True)
class CronSchedule:
    minutes: CronField
    hours: CronField
    days: CronField
    months: CronField
    weekdays: CronField  # AWS numbering: 1 = Sunday … 7 = Saturday
    years: CronField

    def next_fire(self, after: datetime) -> datetime:
        """The first whole minute strictly after ``after`` that the expression matches (UTC)."""
        moment = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        limit = after + _SEARCH_LIMIT
        while moment <= limit:
            if not (self.years.matches(moment.year) and self.months.matches(moment.month)):
                moment = _first_of_next_month(moment)
            elif not (self.days.matches(moment.day) and self.weekdays.matches(_aws_weekday(moment))):
                moment = (moment + timedelta(days=1)).replace(hour=0, minute=0)
            elif not self.hours.matches(moment.hour):
                moment = (moment + timedelta(hours=1)).replace(minute=0)
            elif not self.minutes.matches(moment.minute):
                moment += timedelta(minutes=1)
            else:
                return moment
        raise ValueError("the cron expression never fires in the next five years")


def parse_schedule(expression: str) -> Schedule:
    """A ``rate(...)`` or ``cron(...)`` expression; raises ValueError for anything else."""
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).lower().rstrip("s")
        if value < 1:
            raise ValueError(f"{expression}: the rate must be at least 1")
        return RateSchedule(timedelta(seconds=value * _UNIT_SECONDS[unit]))
    cron = _CRON.match(text)
    if cron:
        return _parse_cron(cron.group(1), expression)
    raise ValueError(f"{expression}: not a rate(...) or cron(...) expression")


def _parse_cron(body: str, expression: str) -> CronSchedule:
    fields = body.split()
    if len(fields) != 6:
        raise ValueError(f"{expression}: cron needs six fields (minutes hours day month weekday year)")
    minute, hour, day, month, weekday, year = fields
    return CronSchedule(
        minutes=_field(minute, 0, 59, {}, expression),
        hours=_field(hour, 0, 23, {}, expression),
        days=_field(day, 1, 31, {}, expression),
        months=_field(month, 1, 12, {name.upper(): n for name, n in _MONTHS.items()}, expression),
        weekdays=_field(weekday, 1, 7, _WEEKDAYS, expression),
        years=_field(year, 1970, 2199, {}, expression),
    )


def _field(text: str, low: int, high: int, names: dict[str, int], expression: str) -> CronField:
    if text in ("*", "?"):
        return CronField(None)
    if any(special in text.upper() for special in ("L", "W", "#")) and not _is_named(text, names):
        raise ValueError(f"{expression}: the L, W and # specials are not supported locally")
    allowed: set[int] = set()
    for part in text.split(","):
        allowed.update(_part(part, low, high, names, expression))
    return CronField(frozenset(allowed))


def _part(part: str, low: int, high: int, names: dict[str, int], expression: str) -> range:
    span, _, step_text = part.partition("/")
    step = int(step_text) if step_text else 1
    if span == "*":
        first, last = low, high
    elif "-" in span:
        start, end = span.split("-", 1)
        first, last = _value(start, names, expression), _value(end, names, expression)
    else:
        first = _value(span, names, expression)
        last = high if step_text else first
    if not (low <= first <= high and low <= last <= high) or step < 1:
        raise ValueError(f"{expression}: {part!r} is out of range {low}-{high}")
    return range(first, last + 1, step)


def _value(text: str, names: dict[str, int], expression: str) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    try:
        return int(text)
    except ValueError as exc:
        raise ValueError(f"{expression}: cannot read {text!r}") from exc


def _is_named(text: str, names: dict[str, int]) -> bool:
    tokens = re.split(r"[,/-]", text.upper())
    return all(token.isdigit() or token in names for token in tokens)


def _aws_weekday(moment: datetime) -> int:
    return (moment.weekday() + 1) % 7 + 1


def _first_of_next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0)


@dataclass
class _Job:
    source: ScheduleSource
    schedule: Schedule
    due: datetime  # on the scheduler's clock


class Scheduler(threading.Thread):
    """Fires the app's schedule handlers when their expressions come due."""

    def __init__(self, sources: Sequence[ScheduleSource], *, app_name: str, region: str, speedup: float = 1.0) -> None:
        super().__init__(name="scheduler", daemon=True)
        if speedup <= 0:
            raise ValueError("the schedule speed-up must be positive")
        self._app_name = app_name
        self._region = region
        self._speedup = speedup
        self._stop_event = threading.Event()
        self._origin_wall = datetime.now(UTC)
        self._origin = time.monotonic()
        self._jobs: list[_Job] = []
        now = self.clock()
        for source in sources:
            try:
                schedule = parse_schedule(source.expression)
            except ValueError as exc:
                logger.warning("schedule %s is not run locally: %s", source.name, exc)
                continue
            self._jobs.append(_Job(source, schedule, schedule.next_fire(now)))

    def clock(self) -> datetime:
        """Now, on the (possibly accelerated) scheduler clock."""
        elapsed = (time.monotonic() - self._origin) * self._speedup
        return self._origin_wall + timedelta(seconds=elapsed)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(30.0)

    def run(self) -> None:
        if not self._jobs:
            return
        while not self._stop_event.is_set():
            now = self.clock()
            for job in self._jobs:
                if job.due <= now:
                    self._fire(job)
            wait = (min(job.due for job in self._jobs) - self.clock()).total_seconds() / self._speedup
            self._stop_event.wait(min(max(wait, 0.0), 1.0))

    def _fire(self, job: _Job) -> None:
        function_name = f"{self._app_name}-local-{job.source.name}"
        invoke(job.source.handler, scheduled_event(function_name, self._region), function_name)
        job.due = job.schedule.next_fire(job.due)
        current = self.clock()
        if job.due <= current:
            # EventBridge does not catch up on runs missed while a handler was busy.
            job.due = job.schedule.next_fire(current)
