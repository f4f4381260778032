"""What every job does while the model is busy or away: tell the person waiting once that the answer is coming,
wait with backoff until MODEL_WAIT_SECONDS after the request, and give the bad news, with the reason, after that.

One policy for every kind: `waits_for_model` wraps each runner (bot/jobs/runners/__init__.py), so a runner just
lets ModelUnavailable / ModelBusy escape, and its kind says only where its notes go (`Waiting`): the caller's
ephemeral, the thread, or nobody (a scheduled digest waits and gives up silently, the reason kept in the job's
last_error). An outage is measured in minutes, not in attempts, so the wait is expressed with RetryLater's `until`,
which lifts the dispatcher's attempt limit up to the deadline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from bot import texts
from bot.jobs.dispatch import GiveUp, RetryLater, Runner
from bot.model.client import ModelBusy, ModelError, ModelUnavailable
from storage.jobs import ClaimedJob

MODEL_WAIT_REASON = "waiting for the model"  # how a job's last_error starts while it waits: the user was told
MODEL_RETRY_MAX_DELAY = 30.0  # seconds between tries while the model is away: someone is waiting for the answer
MODEL_AWAY = (ModelUnavailable, ModelBusy)  # what waiting can cure; any other ModelError fails the job


@dataclass(frozen=True)
class Waiting:
    """Where one job's notes about the wait go.

    `tell` shows a note to the person waiting (None: nobody is, so nothing is said). `idempotent`: telling again
    what the message already says changes nothing (an edit of the reply), so the busy note is restored on every
    wait, e.g. over a half answer cut short by a second outage; otherwise it is said once. `busy` and `gave_up`
    are the kind's sentences (texts.MODEL_BUSY / MODEL_GAVE_UP unless it has its own).
    """

    tell: Callable[[str], None] | None = None
    idempotent: bool = False
    busy: str = texts.MODEL_BUSY
    gave_up: str = texts.MODEL_GAVE_UP


NOBODY_WAITING = Waiting()
WhoWaits = Callable[[ClaimedJob], Waiting]


class ModelAway(Exception):
    """Raised by a runner whose notes belong in a message it opened during this attempt (a mention's streamed
    reply), instead of where its kind's `WhoWaits` would put them: the policy stays the same, only the place
    differs. Raise it `from` the ModelError."""

    def __init__(self, error: ModelError, waiting: Waiting) -> None:
        super().__init__(str(error))
        self.error = error
        self.waiting = waiting


def waits_for_model(runner: Runner, who_waits: WhoWaits, *, longest: dt.timedelta) -> Runner:
    """`runner`, with the model-wait policy around it: the model being away or busy becomes a retry until
    `longest` after the request (`wait_for_model`), with the notes going where `who_waits(job)` says."""

    def run(job: ClaimedJob) -> None:
        try:
            runner(job)
        except ModelAway as away:
            raise wait_for_model(job, away.error, longest=longest, waiting=away.waiting) from away.error
        except MODEL_AWAY as exc:
            raise wait_for_model(job, exc, longest=longest, waiting=who_waits(job)) from exc

    return run


def wait_for_model(job: ClaimedJob, exc: Exception, *, longest: dt.timedelta, waiting: Waiting) -> RetryLater | GiveUp:
    """What the job's attempt ends with when the model is busy or unreachable.

    The person waiting hears once that the answer is coming, and the job waits until `longest` after the request.
    Then they hear that the bot stopped waiting and why, and the job fails with the reason.
    """
    now = dt.datetime.now(dt.UTC)
    deadline = job.created_at + longest
    remaining = (deadline - now).total_seconds()
    cause = f"{type(exc).__name__}: {exc}"
    if remaining <= 1.0:
        waited = _duration(now - job.created_at)
        if waiting.tell is not None:
            waiting.tell(waiting.gave_up.format(reason=_reason(exc), waited=waited))
        return GiveUp(f"gave up waiting for the model after {waited}: {cause}")
    if waiting.tell is not None and (waiting.idempotent or not told_model_busy(job)):
        waiting.tell(waiting.busy)
    delay = min(MODEL_RETRY_MAX_DELAY, 2.0 * 2 ** max(0, job.attempts - 1), remaining)
    return RetryLater(f"{MODEL_WAIT_REASON}: {cause}", delay=delay, until=deadline)


def told_model_busy(job: ClaimedJob) -> bool:
    """Whether the previous attempt stopped to wait for the model, so the busy note is already there."""
    return (job.last_error or "").startswith(MODEL_WAIT_REASON)


def _reason(exc: Exception) -> str:
    """Why the bot stopped waiting, as the gave-up sentence says it."""
    return texts.MODEL_WAS_BUSY if isinstance(exc, ModelBusy) else texts.MODEL_WAS_AWAY


def _duration(span: dt.timedelta) -> str:
    seconds = round(span.total_seconds())
    return f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
