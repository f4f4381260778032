"""The background scorer: a thread in the web process that gives every stored message its sentiment.

It lives in the web process because that is where the model client is (RunnerDeps.model); the clock process
has no model. Each round takes up to `batch_size` pending messages (new, or edited since they were scored) from
the channels that have some, scores them in one batched model call and stores the scores. Several web processes
may each run one: a message scored twice costs a little model time and nothing else.

It never starves the interactive skills: before each batch it looks at the job queue, and while jobs other than
sentiment work are waiting it steps aside. Batches are small (one embeddings call of 32 texts takes about a
second on two CPU cores), so an interactive request waits at most one batch at the worker.

While the model is away (the worker still loading, restarting) nothing is lost: a message is pending until its
score is stored, so the batch simply waits. The scorer backs off, doubling its pause up to a ceiling, and new
messages do not cut that pause short (each would cost a call that fails); the first batch that scores resets it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.kinds import JobKind
from bot.model.client import ModelClient, ModelError
from handlers.sentiment.scoring import Method, score_texts
from storage import sentiment_scores as sentiment_queries
from storage.db import read_session
from storage.sentiment_scores import PendingMessage, Score

logger = logging.getLogger(__name__)

SENTIMENT_JOB_KINDS = (JobKind.SENTIMENT_DIGEST, JobKind.SENTIMENT_COMMAND, JobKind.SENTIMENT_HOME)
# Messages per embedding request: the worker sorts them by length into forward passes of similar texts, which a
# bigger request makes possible (55 messages/s at 32, 72 at 128 on 2 cores, bench/sentiment.py); 128 tweets are
# under 2 s of worker time, so an interactive request behind them waits little.
BATCH_SIZE = 128
STEP_ASIDE_SECONDS = 0.5  # how often it looks again while interactive jobs are due
FIRST_BACKOFF_SECONDS = 1.0  # the pause after the first failed batch; it doubles on each failure after that


@dataclass(frozen=True)
class Pause:
    """What the scorer does after a round: wait `seconds`, or less when new messages arrive (`wakeable`)."""

    seconds: float
    wakeable: bool = True


def score_pending(
    sessions: sessionmaker[Session],
    model: ModelClient,
    *,
    batch_size: int = BATCH_SIZE,
    method: Method = "embeddings",
    team_id: str | None = None,
    channel_id: str | None = None,
) -> int:
    """Scores one batch of pending messages (of one channel, or of any); returns how many were stored."""
    with read_session(sessions) as session:
        if team_id is not None and channel_id is not None:
            channels = [(team_id, channel_id)]
        else:
            channels = sentiment_queries.channels_with_unscored(session=session)
        batch: list[tuple[str, str, PendingMessage]] = []
        for team, channel in channels:
            room = batch_size - len(batch)
            if room <= 0:
                break
            pending = sentiment_queries.unscored_messages(session=session, team_id=team, channel_id=channel, limit=room)
            batch.extend((team, channel, message) for message in pending)
    if not batch:
        return 0
    results = score_texts([message.text for _, _, message in batch], model, method=method)
    by_channel: dict[tuple[str, str], list[Score]] = {}
    for (team, channel, message), result in zip(batch, results, strict=True):
        by_channel.setdefault((team, channel), []).append(
            Score(message.id, message.version, result.label, result.score)
        )
    stored = 0
    with sessions.begin() as session:
        for (team, channel), scores in by_channel.items():
            stored += sentiment_queries.save_scores(session=session, team_id=team, channel_id=channel, scores=scores)
    logger.debug("scored %d messages in %d channels", stored, len(by_channel))
    return stored


def drain_channel(
    sessions: sessionmaker[Session], model: ModelClient, *, team_id: str, channel_id: str, limit: int = 5000
) -> int:
    """Scores a channel's pending messages now (before a digest), up to `limit`."""
    done = 0
    while done < limit:
        stored = score_pending(sessions, model, team_id=team_id, channel_id=channel_id)
        if stored == 0:
            break
        done += stored
    return done


class BackgroundScorer:
    """Start it with the web process, stop it before the model client closes."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        model: ModelClient,
        batch_size: int = BATCH_SIZE,
        idle_seconds: float = 2.0,
        error_backoff_seconds: float = 60.0,
        method: Method = "embeddings",
        interactive_waiting: Callable[[], bool] | None = None,
    ) -> None:
        self._sessions = sessions
        self._model = model
        self._batch_size = batch_size
        self._idle = idle_seconds
        self._backoff = error_backoff_seconds  # the longest pause while the model is away
        self._failures = 0  # batches failed in a row
        self._method = method
        self._interactive_waiting = interactive_waiting or self._jobs_waiting
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.scored = 0

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="sentiment-scorer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def notify(self) -> None:
        """Starts the next round now (new messages were stored) instead of after the idle wait."""
        self._wake.set()

    def _jobs_waiting(self) -> bool:
        with read_session(self._sessions) as session:
            return sentiment_queries.interactive_jobs_waiting(session=session, excluding=SENTIMENT_JOB_KINDS)

    def step(self) -> Pause:
        """One round: steps aside for interactive work, or scores one batch; says how long to pause after it."""
        try:
            if self._interactive_waiting():
                return Pause(STEP_ASIDE_SECONDS)
            stored = score_pending(self._sessions, self._model, batch_size=self._batch_size, method=self._method)
        except Exception as exc:
            self._failures += 1
            pause = Pause(min(self._backoff, FIRST_BACKOFF_SECONDS * 2 ** (self._failures - 1)), wakeable=False)
            if isinstance(exc, ModelError):
                logger.warning(
                    "sentiment scoring waits %.0fs for the model; its messages stay pending: %s", pause.seconds, exc
                )
            else:
                logger.exception("sentiment scoring failed; trying again in %.0fs", pause.seconds)
            return pause
        self._failures = 0
        self.scored += stored
        return Pause(self._idle) if stored == 0 else Pause(0.0)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            pause = self.step()
            if pause.seconds > 0:
                self._pause(pause)

    def _pause(self, pause: Pause) -> None:
        if pause.wakeable:
            self._wake.wait(pause.seconds)
            self._wake.clear()
        else:  # only stopping ends a backoff early: new messages wait with the rest
            self._stopping.wait(pause.seconds)
