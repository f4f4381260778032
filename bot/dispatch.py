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

from sqlalchemy.orm import Session, sessionmaker

from storage import jobs as job_queries
from storage.jobs import ClaimedJob

logger = logging.getLogger(__name__)


class RetryLater(Exception):
    """Raised by a runner when the work may succeed later (model busy, Slack 5xx)."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.delay = delay


Runner = Callable[[ClaimedJob], None]
OnGiveUp = Callable[[ClaimedJob, str], None]


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
    ) -> None:
        self._sessions = sessions
        self._runners = dict(runners)
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
        """Stops claiming new jobs and waits for running ones; jobs still running after `timeout` keep their
        lease and are taken up by another dispatcher when it expires."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._workers:
            thread.join(timeout=max(0.1, timeout))
        self._workers.clear()

    def notify(self) -> None:
        """Wakes an idle thread now instead of at its next poll; called right after a job is recorded."""
        with self._wake:
            self._pending_wakeups += 1
            self._wake.notify()

    # -- work ------------------------------------------------------------------------------------------------
    def run_once(self) -> bool:
        """Claims and runs one job; returns False when none was due."""
        with self._sessions.begin() as session:
            job = job_queries.claim_next_job(
                session=session, worker_id=self.worker_id, lease=self._lease, kinds=list(self._runners)
            )
        if job is None:
            return False
        with self._running_lock:
            self._running.add(job.id)
        try:
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
        logger.info("job %d (%s) attempt %d started", job.id, job.kind, job.attempts)
        try:
            runner(job)
        except RetryLater as exc:
            if job.attempts >= self._retry.max_attempts:
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
        except Exception as exc:
            logger.exception("job %d (%s) failed", job.id, job.kind)
            self._give_up(job, f"{type(exc).__name__}: {exc}")
            return "failed"
        with self._sessions.begin() as session:
            job_queries.finish_job(session=session, job_id=job.id, worker_id=self.worker_id)
        logger.info("job %d (%s) done", job.id, job.kind)
        return "done"

    def _give_up(self, job: ClaimedJob, reason: str) -> None:
        with self._sessions.begin() as session:
            job_queries.fail_job(session=session, job_id=job.id, worker_id=self.worker_id, error=reason[:2000])
        if self._on_give_up is not None:
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
