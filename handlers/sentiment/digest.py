"""A sentiment digest from plain data: the period's mood, the change from the period before, the most positive and
most negative threads with a one-line gist, and volume by day. No Slack, no SQL; bot/slack/sentiment_views.py formats
it.

A period with fewer than `MIN_MESSAGES` scored messages gets `enough=False` and nothing else worth drawing: a mean
of three messages would be a misleading headline and a chart of it worse.

The one-line gist quotes the thread's most telling sentence with mentions reduced to "@someone", taken only from
the messages passed in, which are the digest's own channel's: a digest never quotes another channel.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from handlers.sentiment.scoring import normalize
from handlers.text.sentences import split_sentences

MIN_MESSAGES = 5
GIST_CHARS = 120


@dataclass(frozen=True, slots=True)
class ScoredLine:
    """One scored message: Slack ts, thread root (None for a top-level message), text, score in [-1, 1]."""

    ts: str
    thread_ts: str | None
    text: str
    label: str
    score: float


@dataclass(frozen=True, slots=True)
class DayMood:
    day: dt.date
    count: int
    mean: float | None


@dataclass(frozen=True, slots=True)
class ThreadMood:
    thread_ts: str  # the root message's ts, for the permalink
    count: int
    mean: float
    gist: str


@dataclass(frozen=True)
class Digest:
    start: dt.datetime
    end: dt.datetime
    count: int
    enough: bool
    mean: float | None = None
    labels: dict[str, int] = field(default_factory=dict)
    previous_mean: float | None = None
    previous_count: int = 0
    days: list[DayMood] = field(default_factory=list)
    most_positive: ThreadMood | None = None
    most_negative: ThreadMood | None = None

    @property
    def change(self) -> float | None:
        if self.mean is None or self.previous_mean is None:
            return None
        return self.mean - self.previous_mean

    @property
    def mood(self) -> str:
        if self.mean is None:
            return "unknown"
        return "positive" if self.mean > 0.15 else "negative" if self.mean < -0.15 else "neutral"


def build_digest(
    lines: Sequence[ScoredLine],
    *,
    start: dt.datetime,
    end: dt.datetime,
    previous: Sequence[ScoredLine] = (),
    tz: dt.tzinfo = dt.UTC,
    min_messages: int = MIN_MESSAGES,
) -> Digest:
    """The digest of `lines` (the period [start, end)); `previous` is the period before, for the change."""
    if len(lines) < min_messages:
        return Digest(start=start, end=end, count=len(lines), enough=False)
    mean = sum(line.score for line in lines) / len(lines)
    previous_mean = sum(p.score for p in previous) / len(previous) if len(previous) >= min_messages else None
    positive, negative = _extreme_threads(lines)
    return Digest(
        start=start,
        end=end,
        count=len(lines),
        enough=True,
        mean=mean,
        labels=dict(Counter(line.label for line in lines)),
        previous_mean=previous_mean,
        previous_count=len(previous),
        days=days_of(lines, start=start, end=end, tz=tz),
        most_positive=positive,
        most_negative=negative,
    )


def days_of(lines: Sequence[ScoredLine], *, start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> list[DayMood]:
    """Messages and mean score per local day, every day of the period listed (quiet days with count 0)."""
    buckets: dict[dt.date, list[float]] = defaultdict(list)
    for line in lines:
        buckets[dt.datetime.fromtimestamp(float(line.ts), tz).date()].append(line.score)
    first, last = start.astimezone(tz).date(), (end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    days = []
    day = first
    while day <= last:
        scores = buckets.get(day, [])
        days.append(DayMood(day, len(scores), sum(scores) / len(scores) if scores else None))
        day += dt.timedelta(days=1)
    return days


def _extreme_threads(lines: Sequence[ScoredLine]) -> tuple[ThreadMood | None, ThreadMood | None]:
    threads: dict[str, list[ScoredLine]] = defaultdict(list)
    for line in lines:
        threads[line.thread_ts or line.ts].append(line)

    def weight(group: list[ScoredLine]) -> float:
        # A mean shrunk towards 0 for small threads: one cheerful message should not beat a cheerful discussion.
        return sum(line.score for line in group) / (len(group) + 1)

    ranked = sorted(threads.items(), key=lambda item: weight(item[1]))
    low_key, low = ranked[0]
    high_key, high = ranked[-1]
    positive = _mood(high_key, high, +1) if weight(high) > 0 else None
    negative = _mood(low_key, low, -1) if weight(low) < 0 and low_key != high_key else None
    return positive, negative


def _mood(thread_ts: str, group: list[ScoredLine], sign: int) -> ThreadMood:
    mean = sum(line.score for line in group) / len(group)
    return ThreadMood(thread_ts, len(group), mean, gist(group, sign))


def gist(group: Sequence[ScoredLine], sign: int) -> str:
    """The thread in one line: the first sentence of its most positive (sign=+1) or negative message."""
    best = max(group, key=lambda line: sign * line.score)
    text = normalize(best.text)
    sentences = split_sentences(text) or [text]
    line = sentences[0] if sentences else ""
    return line if len(line) <= GIST_CHARS else line[: GIST_CHARS - 1].rstrip() + "…"
