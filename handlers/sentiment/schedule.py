"""`/sentiment` commands and digest schedules as plain data: parsing, time zones, and which period is due.

A schedule is stored as a UTC spec ("daily 07:00", "weekly sun 23:30") next to the zone name it was given in, as
the issue asks. The spec is converted from the caller's local time once, when it is set, so a weekday can move
when the local time is near midnight; after a daylight-saving change the digest keeps its UTC time (one hour
earlier or later on the wall clock), and `/sentiment status` shows both.

`latest_period` is what makes a missed digest coalesce: whatever time a clock wakes up, the period it sends is the
last one that has ended, so three missed days give one digest (for the latest day), never three.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from handlers.commands import UsageError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIME = dt.time(9, 0)
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")
_FULL_WEEKDAYS = {name: i for i, name in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))}  # fmt: skip

USAGE = (
    "Usage: `/sentiment daily [HH:MM]`, `/sentiment weekly [mon..sun] [HH:MM]` (your time zone), "
    "`/sentiment now`, `/sentiment status`, `/sentiment off` (stop digests), "
    "`/sentiment forget` (delete this channel's scores and stop scoring it)."
)

Action = Literal["daily", "weekly", "off", "now", "status", "forget", "help"]


@dataclass(frozen=True)
class SentimentCommand:
    action: Action
    weekday: int | None = None  # 0 = Monday
    at: dt.time | None = None  # local time of the caller


def parse_sentiment(text: str) -> SentimentCommand | UsageError:
    """Reads what follows `/sentiment`; every mistake gets an answer that says what was wrong."""
    words = text.lower().split()
    if not words or words[0] in {"help", "?"}:
        return SentimentCommand("help")
    action, rest = words[0], words[1:]
    if action in {"off", "now", "status", "forget"}:
        if rest:
            return UsageError(f"`/sentiment {action}` takes nothing after it. {USAGE}")
        return SentimentCommand(action)  # type: ignore[arg-type]
    if action == "daily":
        if len(rest) > 1:
            return UsageError(f"`/sentiment daily` takes one time at most, like `/sentiment daily 09:00`. {USAGE}")
        at = parse_time(rest[0]) if rest else DEFAULT_TIME
        return at if isinstance(at, UsageError) else SentimentCommand("daily", at=at)
    if action == "weekly":
        weekday, at = 0, DEFAULT_TIME
        if len(rest) > 2:
            return UsageError(
                f"`/sentiment weekly` takes a day and a time, like `/sentiment weekly fri 16:00`. {USAGE}"
            )
        for word in rest:
            if _TIME.match(word):
                parsed = parse_time(word)
                if isinstance(parsed, UsageError):
                    return parsed
                at = parsed
            else:
                day = parse_weekday(word)
                if isinstance(day, UsageError):
                    return day
                weekday = day
        return SentimentCommand("weekly", weekday=weekday, at=at)
    return UsageError(f"I don't know `/sentiment {words[0]}`. {USAGE}")


def parse_time(word: str) -> dt.time | UsageError:
    match = _TIME.match(word)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        if hour < 24 and minute < 60:
            return dt.time(hour, minute)
    return UsageError(f"`{word}` is not a time of day. Use 24-hour HH:MM, like `09:00` or `17:30`.")


def parse_weekday(word: str) -> int | UsageError:
    if word[:3] in WEEKDAYS and (word in WEEKDAYS or word in _FULL_WEEKDAYS):
        return WEEKDAYS.index(word[:3])
    return UsageError(f"`{word}` is not a day of the week. Use one of {', '.join(WEEKDAYS)}.")


def zone(name: str | None) -> dt.tzinfo:
    """The IANA zone, or UTC when Slack gave none we know."""
    try:
        return ZoneInfo(name) if name else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


@dataclass(frozen=True)
class Spec:
    """A schedule in UTC."""

    cadence: Literal["daily", "weekly"]
    hour: int
    minute: int
    weekday: int | None = None

    def __str__(self) -> str:
        day = f" {WEEKDAYS[self.weekday]}" if self.weekday is not None else ""
        return f"{self.cadence}{day} {self.hour:02d}:{self.minute:02d}"

    @property
    def length(self) -> dt.timedelta:
        return dt.timedelta(days=1 if self.cadence == "daily" else 7)


def to_spec(command: SentimentCommand, timezone: str | None, *, today: dt.date | None = None) -> Spec:
    """The UTC spec for a local `daily`/`weekly` command, converted as of `today` in the caller's zone."""
    tz = zone(timezone)
    at = command.at or DEFAULT_TIME
    local_today = today or dt.datetime.now(tz).date()
    if command.action == "weekly":
        local_today += dt.timedelta(days=((command.weekday or 0) - local_today.weekday()) % 7)
    utc = dt.datetime.combine(local_today, at, tzinfo=tz).astimezone(dt.UTC)
    if command.action == "weekly":
        return Spec("weekly", utc.hour, utc.minute, utc.weekday())
    return Spec("daily", utc.hour, utc.minute)


def parse_spec(text: str) -> Spec | None:
    parts = text.split()
    try:
        hour, minute = (int(v) for v in parts[-1].split(":"))
        if parts[0] == "daily" and len(parts) == 2:
            return Spec("daily", hour, minute)
        if parts[0] == "weekly" and len(parts) == 3:
            return Spec("weekly", hour, minute, WEEKDAYS.index(parts[1]))
    except (ValueError, IndexError):
        return None
    return None


@dataclass(frozen=True)
class Period:
    cadence: str
    start: dt.datetime
    end: dt.datetime

    @property
    def key(self) -> str:
        return f"{self.cadence}:{self.end.strftime('%Y-%m-%dT%H:%MZ')}"

    def previous(self) -> Period:
        length = self.end - self.start
        return Period(self.cadence, self.start - length, self.start)


def latest_period(spec: Spec, now: dt.datetime) -> Period:
    """The last whole period that has ended by `now`: it ends at the latest scheduled time at or before `now`."""
    now = now.astimezone(dt.UTC)
    end = now.replace(hour=spec.hour, minute=spec.minute, second=0, microsecond=0)
    if spec.weekday is not None:
        end -= dt.timedelta(days=(end.weekday() - spec.weekday) % 7)
    if end > now:
        end -= spec.length
    return Period(spec.cadence, end - spec.length, end)


def describe(spec: Spec, timezone: str | None, *, now: dt.datetime | None = None) -> str:
    """ "every Monday at 09:00 (Europe/Paris; 08:00 UTC)": the stored UTC time shown in the zone it was set in."""
    tz = zone(timezone)
    now = now or dt.datetime.now(dt.UTC)
    fire = latest_period(spec, now).end.astimezone(tz)
    utc = f"{spec.hour:02d}:{spec.minute:02d} UTC"
    if spec.cadence == "daily":
        return f"every day at {fire:%H:%M} ({timezone or 'UTC'}; {utc})"
    return f"every {fire:%A} at {fire:%H:%M} ({timezone or 'UTC'}; {WEEKDAYS[spec.weekday or 0]} {utc})"
