"""The one place slow work happens: job rows recorded before the ack are claimed here and run.

Several dispatcher threads (and several processes) can share one database: a job is claimed with a lease by
exactly one of them, the lease is renewed while it runs, and a job whose owner died is taken up again once its
lease expires. A failure the runner marks as temporary is retried with backoff; anything else fails the job.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.teams import acting_for
from storage import jobs as job_queries
from storage.db import read_session
from storage.jobs import ClaimedJob

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    """Raised by a runner when the work may succeed later (model busy, Slack 5xx).

    `until` lifts the attempt limit up to that time: an outage is measured in minutes, not in attempts, so work
    waiting for the model keeps its place until then and the runner itself says when it has waited long enough.
    """

    def __init__(self, reason: str, delay: float | None = None, *, until: dt.datetime | None = None) -> None:
        super().__init__(reason)
        self.delay = delay
        self.until = until


class GiveUp(Exception):
    """Raised by a runner that stops for good after telling the user why, so the dispatcher fails the job
    without a second, vaguer message."""


Runner = Callable[[ClaimedJob], None]
OnGiveUp = Callable[[ClaimedJob, str], None]
# Checks a claimed job's payload before its runner sees it, raising ValueError when it is not its kind's
# (bot.jobs.kinds.payload_for).
PayloadCheck = Callable[[str, Mapping[str, Any]], object]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 2.0
    max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))


class Dispatcher:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        runners: Mapping[str, Runner],
        on_give_up: OnGiveUp | None = None,
        threads: int = 4,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        poll_interval: float = 1.0,
        retry: RetryPolicy = RetryPolicy(),
        on_finished: Callable[[str, str, float], None] | None = None,
        check_payload: PayloadCheck | None = None,
    ) -> None:
        """`check_payload`: the app passes bot.jobs.kinds.payload_for; without one (tests of the queue itself)
        payloads reach their runners unchecked."""
        self._sessions = sessions
        self._runners = dict(runners)
        self._check_payload = check_payload
        self._on_give_up = on_give_up
        self._threads = threads
        self._lease = lease
        self._poll_interval = poll_interval
        self._retry = retry
        self._on_finished = on_finished or (lambda kind, outcome, seconds: None)
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._wake = threading.Condition()
        self._pending_wakeups = 0
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []
        self._running: set[int] = set()
        self._running_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping.clear()
        for index in range(self._threads):
            thread = threading.Thread(target=self._work_loop, name=f"dispatch-{index}", daemon=True)
            thread.start()
            self._workers.append(thread)
        heartbeat = threading.Thread(target=self._heartbeat_loop, name="dispatch-heartbeat", daemon=True)
        heartbeat.start()
        self._workers.append(heartbeat)
        logger.info("dispatcher %s started with %d threads", self.worker_id, self._threads)

    def stop(self, timeout: float = 30.0) -> None:
        """Stops claiming new jobs and waits up to `timeout` seconds in all for running ones. Jobs still running
        then keep their lease until `release_running` hands them back (Parlance.close does)."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._workers:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._workers = [thread for thread in self._workers if thread.is_alive()]

    def release_running(self) -> list[int]:
        """Hands the jobs this dispatcher still runs back to the queue, due now, so another process starts them
        at once instead of when their lease expires. Called after `stop`, just before the process exits: the
        threads still running them are abandoned, and their later writes to those jobs change nothing, because
        the jobs are no longer theirs."""
        with self._running_lock:
            running = sorted(self._running)
        if not running:
            return []
        with self._sessions.begin() as session:
            released = job_queries.release_jobs(session=session, job_ids=running, worker_id=self.worker_id)
        logger.warning("handed %d unfinished job(s) back to the queue: %s", len(released), released)
        return released

    def notify(self) -> None:
        """Wakes an idle thread now instead of at its next poll; called right after a job is recorded."""
        with self._wake:
            self._pending_wakeups += 1
            self._wake.notify()

    # -- work ------------------------------------------------------------------------------------------------
    def run_once(self) -> bool:
        """Claims and runs one job; returns False when none was due."""
        if self._stopping.is_set():  # a thread between jobs when stop() began must not claim one more
            return False
        with read_session(self._sessions) as session:
            if not job_queries.any_due_job(session=session, kinds=list(self._runners)):
                return False
        with self._sessions.begin() as session:
            job = job_queries.claim_next_job(
                session=session, worker_id=self.worker_id, lease=self._lease, kinds=list(self._runners)
            )
        if job is None:
            return False
        with self._running_lock:
            self._running.add(job.id)
        try:
            with acting_for(
                job.team_id
            ):  # its Slack calls go out as the bot of the job's workspace (bot/slack/teams.py)
                self._run(job)
        finally:
            with self._running_lock:
                self._running.discard(job.id)
        return True

    def _run(self, job: ClaimedJob) -> None:
        started = time.monotonic()
        outcome = self._attempt(job)
        self._on_finished(job.kind, outcome, time.monotonic() - started)

    def _attempt(self, job: ClaimedJob) -> str:
        """Runs the job once and records what happened: done, retry or failed."""
        runner = self._runners[job.kind]
        if self._check_payload is not None:
            try:
                self._check_payload(job.kind, job.payload)
            except ValueError as exc:  # a row this version cannot read: running it could only fail halfway
                logger.warning("job %d (%s) gave up: %s", job.id, job.kind, exc)
                self._give_up(job, str(exc), tell=False)  # nor can it say whom to tell
                return "failed"
        logger.info("job %d (%s) attempt %d started", job.id, job.kind, job.attempts)
        try:
            runner(job)
        except RetryLater as exc:
            return self._retry_later(job, exc)
        except OperationalError as exc:  # the database locked or out of reach: as passing as a Slack outage, and
            # the retry finds whatever the attempt posted before it could record it
            return self._retry_later(job, RetryLater(f"database unavailable: {type(exc.orig).__name__}: {exc.orig}"))
        except GiveUp as exc:
            logger.warning("job %d (%s) gave up: %s", job.id, job.kind, exc)
            self._give_up(job, str(exc), tell=False)
            return "failed"
        except Exception as exc:
            logger.exception("job %d (%s) failed", job.id, job.kind)
            self._give_up(job, f"{type(exc).__name__}: {exc}")
            return "failed"
        with self._sessions.begin() as session:
            job_queries.finish_job(session=session, job_id=job.id, worker_id=self.worker_id)
        logger.info("job %d (%s) done", job.id, job.kind)
        return "done"

    def _retry_later(self, job: ClaimedJob, exc: RetryLater) -> str:
        waiting = exc.until is not None and dt.datetime.now(dt.UTC) < exc.until
        if job.attempts >= self._retry.max_attempts and not waiting:
            self._give_up(job, f"gave up after {job.attempts} attempts: {exc}")
            return "failed"
        delay = exc.delay if exc.delay is not None else self._retry.delay(job.attempts)
        logger.warning("job %d (%s) will retry in %.1fs: %s", job.id, job.kind, delay, exc)
        with self._sessions.begin() as session:
            job_queries.retry_job_later(
                session=session,
                job_id=job.id,
                worker_id=self.worker_id,
                delay=dt.timedelta(seconds=delay),
                error=str(exc)[:2000],
            )
        return "retry"

    def _give_up(self, job: ClaimedJob, reason: str, *, tell: bool = True) -> None:
        with self._sessions.begin() as session:
            job_queries.fail_job(session=session, job_id=job.id, worker_id=self.worker_id, error=reason[:2000])
        if tell and self._on_give_up is not None:
            try:
                self._on_give_up(job, reason)
            except Exception:
                logger.exception("could not tell the user that job %d failed", job.id)

    def _work_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:
                logger.exception("dispatcher loop error; backing off")
            with self._wake:
                if self._pending_wakeups:
                    self._pending_wakeups -= 1
                    continue
                self._wake.wait(timeout=self._poll_interval)
                if self._pending_wakeups:
                    self._pending_wakeups -= 1

    def _heartbeat_loop(self) -> None:
        interval = max(1.0, self._lease.total_seconds() / 3)
        while not self._stopping.wait(interval):
            with self._running_lock:
                running = list(self._running)
            for job_id in running:
                try:
                    with self._sessions.begin() as session:
                        job_queries.extend_lease(
                            session=session, job_id=job_id, worker_id=self.worker_id, lease=self._lease
                        )
                except Exception:
                    logger.exception("could not extend the lease of job %d", job_id)
