"""What a job does while the model is busy or away: tell the user once that the answer is coming, then wait
with backoff until MODEL_WAIT_SECONDS after the request, and give the bad news after that.

An outage is measured in minutes, not in attempts, so the wait is expressed with RetryLater's `until`, which lifts
the dispatcher's attempt limit up to the deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot import texts
from bot.jobs.dispatch import GiveUp, RetryLater
from storage.jobs import ClaimedJob

MODEL_WAIT_REASON = "waiting for the model"  # how a job's last_error starts while it waits: the user was told
MODEL_RETRY_MAX_DELAY = 30.0  # seconds between tries while the model is away: someone is waiting for the answer


def wait_for_model(
    job: ClaimedJob,
    exc: Exception,
    *,
    longest: dt.timedelta,
    tell: Callable[[str], None],
    idempotent_tell: bool = False,
) -> RetryLater | GiveUp:
    """What a runner raises when the model is busy or unreachable (`raise wait_for_model(...) from exc`).

    The user hears once that the answer is coming (`tell`, which a later answer replaces where it can), and the
    job waits until `longest` after the request. Then `tell` gives the bad news instead and the job fails.
    `idempotent_tell`: telling again what the message already says changes nothing (an edit of the reply), so the
    note is always restored, e.g. over a half answer cut short by a second outage.
    """
    now = dt.datetime.now(dt.UTC)
    deadline = job.created_at + longest
    remaining = (deadline - now).total_seconds()
    if remaining <= 1.0:
        waited = _duration(now - job.created_at)
        tell(texts.MODEL_GAVE_UP.format(waited=waited))
        return GiveUp(f"gave up waiting for the model after {waited}: {type(exc).__name__}: {exc}")
    if idempotent_tell or not told_model_busy(job):
        tell(texts.MODEL_BUSY)
    delay = min(MODEL_RETRY_MAX_DELAY, 2.0 * 2 ** max(0, job.attempts - 1), remaining)
    return RetryLater(f"{MODEL_WAIT_REASON}: {type(exc).__name__}: {exc}", delay=delay, until=deadline)


def told_model_busy(job: ClaimedJob) -> bool:
    """Whether the previous attempt stopped to wait for the model, so the busy note is already there."""
    return (job.last_error or "").startswith(MODEL_WAIT_REASON)


def _duration(span: dt.timedelta) -> str:
    seconds = round(span.total_seconds())
    return f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
