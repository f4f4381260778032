"""`python -m bot clock`: the scheduler that starts sentiment digests (the Procfile's `clock`).

APScheduler 3 keeps one cron job per scheduled channel in its SQLAlchemy job store, in the same database as
everything else, so a schedule and its next run time survive restarts. Our own table (channel_settings) is the
source of truth for what is scheduled: `/sentiment daily` only writes there, and every clock brings its job store
in line with it every `sync_seconds`.

When a job fires it does not post anything. It works out the last period that has ended, records the digest under
the unique key (team, channel, period) and, only if that insert won, records a `sentiment_digest` job for the
dispatcher. Hence:
- after an outage, APScheduler coalesces the missed runs into one (coalesce=True, no misfire limit), and even if it
  did not, every run would name the same latest period: one digest;
- two clocks on one database both fire, and one insert wins: one digest.

The clock also keeps the database from growing forever: every hour (and a minute after it starts) it drops event
ids and finished jobs nobody needs any more and, when RETENTION_DAYS is set, purges older messages. Both are
idempotent, so two clocks doing it is harmless; they log counts only, never text.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.enqueue import enqueue_digest_job
from bot.settings import channel_allowed
from handlers.sentiment.schedule import Period, Spec, latest_period, parse_spec
from storage import channel_settings as digest_queries
from storage import forgetting
from storage.db import read_session

if TYPE_CHECKING:
    from bot.app import Parlance

logger = logging.getLogger(__name__)

JOBSTORE = "default"
DEFAULT_SYNC_SECONDS = 30.0
HOUSEKEEPING_EVERY = dt.timedelta(hours=1)
HOUSEKEEPING_FIRST_RUN = dt.timedelta(minutes=1)  # soon after start, but not in the middle of starting up
RETENTION_JOB = "retention"
BOOKKEEPING_JOB = "bookkeeping"

# The job store pickles a job's arguments, so a job names its database by a digest of the URL (no credentials in
# the table) and finds the session factory of a clock running in this process here.
_SESSIONS: dict[str, sessionmaker[Session]] = {}
_WAKERS: dict[str, Callable[[], None]] = {}


def database_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def job_id(team_id: str, channel_id: str) -> str:
    return f"{forgetting.SCHEDULED_DIGEST_PREFIX}{team_id}:{channel_id}"


def fire_digest(db_key: str, team_id: str, channel_id: str, spec_text: str) -> int | None:
    """What a scheduled job does: claim the digest of the last ended period and queue its job. Returns the
    digest id when this call won the claim, else None."""
    sessions = _SESSIONS.get(db_key)
    spec = parse_spec(spec_text)
    if sessions is None or spec is None:
        logger.warning("digest job for %s/%s skipped: no clock for its database here", team_id, channel_id)
        return None
    period = latest_period(spec, dt.datetime.now(dt.UTC))
    return queue_digest(sessions, team_id=team_id, channel_id=channel_id, spec_text=spec_text, period=period,
                        wake=_WAKERS.get(db_key))  # fmt: skip


def queue_digest(
    sessions: sessionmaker[Session],
    *,
    team_id: str,
    channel_id: str,
    spec_text: str,
    period: Period,
    wake: Callable[[], None] | None = None,
) -> int | None:
    """Claims the digest of `period` and queues its job, in one transaction; None when someone already had.

    The claim is the transaction's first statement: on SQLite a transaction that reads before it writes fails
    with "database is locked" when another process wrote in between, while one that writes first just waits.
    """
    session = sessions()
    try:
        digest_id = digest_queries.claim_digest(
            session=session,
            team_id=team_id,
            channel_id=channel_id,
            period_key=period.key,
            cadence=period.cadence,
            period_start=period.start,
            period_end=period.end,
        )
        if digest_id is None:
            session.rollback()
            logger.info("digest %s for %s/%s was already claimed", period.key, team_id, channel_id)
            return None
        current = digest_queries.channel_sentiment(session=session, team_id=team_id, channel_id=channel_id)
        if current.schedule != spec_text or current.opted_out:
            session.rollback()  # the schedule changed since this job was stored; the next sync replaces it
            return None
        enqueue_digest_job(session=session, team_id=team_id, channel_id=channel_id, digest_id=digest_id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    logger.info("digest %d (%s) queued for %s/%s", digest_id, period.key, team_id, channel_id)
    if wake is not None:
        wake()
    return digest_id


class DigestClock:
    """One APScheduler BackgroundScheduler over the shared job store, kept in step with channel_settings, plus
    the housekeeping jobs (kept in memory: each clock runs its own)."""

    def __init__(
        self,
        *,
        engine: Engine,
        sessions: sessionmaker[Session],
        sync_seconds: float = DEFAULT_SYNC_SECONDS,
        wake: Callable[[], None] | None = None,
        run_jobs: bool = True,
        retention_days: int | None = None,
        allowed_channels: frozenset[str] | None = None,
    ) -> None:
        """`run_jobs=False` opens the job store without a scheduler thread (tools and tests that read or move
        jobs): a paused BackgroundScheduler would still run due jobs once on its way down. `retention_days`
        (RETENTION_DAYS) adds the hourly purge of older messages; None keeps them. `allowed_channels`
        (ALLOWED_CHANNELS): schedules of other channels, set before they were left out, are not run."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        self._sessions = sessions
        self._sync_seconds = sync_seconds
        self._allowed = allowed_channels
        self._db_key = database_key(engine.url.render_as_string(hide_password=False))
        self._wake = wake
        self._sync_lock = threading.Lock()
        self._stop_lock = threading.Lock()
        self._stopping = False
        self._run_jobs = run_jobs
        self._retention_days = retention_days
        scheduler_class = BackgroundScheduler if run_jobs else _store_only_scheduler()
        self.scheduler = scheduler_class(
            jobstores={JOBSTORE: SQLAlchemyJobStore(engine=engine), "local": MemoryJobStore()},
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
            timezone=dt.UTC,
        )

    def start(self) -> None:
        self._stopping = False
        _SESSIONS[self._db_key] = self._sessions
        if self._wake is not None:
            _WAKERS[self._db_key] = self._wake
        self.scheduler.start(paused=not self._run_jobs)
        if self._run_jobs:
            self.scheduler.add_job(self.sync, "interval", seconds=self._sync_seconds, id="sync", jobstore="local",
                                   next_run_time=dt.datetime.now(dt.UTC))  # fmt: skip
            first = dt.datetime.now(dt.UTC) + HOUSEKEEPING_FIRST_RUN
            every = HOUSEKEEPING_EVERY.total_seconds()
            self.scheduler.add_job(self.prune_bookkeeping, "interval", seconds=every, id=BOOKKEEPING_JOB,
                                   jobstore="local", next_run_time=first)  # fmt: skip
            if self._retention_days is not None:
                self.scheduler.add_job(self.purge, "interval", seconds=every, id=RETENTION_JOB, jobstore="local",
                                       next_run_time=first)  # fmt: skip
        logger.info("digest clock started (sync every %.0fs)", self._sync_seconds)

    def stop(self) -> None:
        """Lets a sync in progress finish first: APScheduler's shutdown holds the job-store lock while it waits for
        running jobs, and a sync needs that lock, so stopping in the middle of one would hang forever."""
        if self.scheduler.state != 0:  # STATE_STOPPED
            with self._stop_lock:
                self._stopping = True
            self.scheduler.shutdown(wait=True)

    def sync(self) -> None:
        """Adds, replaces or removes digest jobs so the job store matches the schedules in channel_settings.

        A job whose schedule did not change is left alone: replacing it would move its next run time and lose the
        run that an outage made it miss.
        """
        with self._stop_lock:
            if not self._stopping:
                self._sync()

    def _sync(self) -> None:
        from apscheduler.jobstores.base import ConflictingIdError, JobLookupError

        with self._sync_lock, read_session(self._sessions) as session:
            wanted = {
                job_id(s.team_id, s.channel_id): (s, parse_spec(s.schedule or ""))
                for s in digest_queries.all_schedules(session=session)
                if not s.opted_out and channel_allowed(self._allowed, s.channel_id)
            }
        existing = {job.id: job for job in self.scheduler.get_jobs(jobstore=JOBSTORE)}
        for stale in set(existing) - set(wanted):
            with contextlib.suppress(JobLookupError):  # another clock removed it first
                self.scheduler.remove_job(stale, jobstore=JOBSTORE)
        for key, (channel, spec) in wanted.items():
            if spec is None:
                continue
            if key in existing and tuple(existing[key].args) == self._args(channel.team_id, channel.channel_id, spec):
                continue
            with contextlib.suppress(ConflictingIdError):  # another clock added it between our read and write
                self.scheduler.add_job(
                    fire_digest,
                    trigger=self._trigger(spec),
                    args=self._args(channel.team_id, channel.channel_id, spec),
                    id=key,
                    jobstore=JOBSTORE,
                    replace_existing=key in existing,
                )
            logger.info("digest schedule %s: %s", key, spec)

    def purge(self) -> int:
        """Deletes messages older than the retention (and what derives from them); returns how many went. A failure
        is logged and the next hour tries again."""
        if self._retention_days is None:
            return 0
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=self._retention_days)
        try:
            with self._sessions() as session:
                return forgetting.purge_older_than(session=session, cutoff=cutoff)
        except Exception:
            logger.exception("retention purge failed; it runs again within the hour")
            return 0

    def prune_bookkeeping(self) -> None:
        """Event ids and finished jobs past their use, whatever the retention."""
        try:
            with self._sessions() as session:
                pruned = forgetting.prune_bookkeeping(session=session)
        except Exception:
            logger.exception("pruning event ids and finished jobs failed; it runs again within the hour")
            return
        logger.info("pruned %d event ids and %d finished jobs", pruned.event_ids, pruned.jobs)

    def _args(self, team_id: str, channel_id: str, spec: Spec) -> tuple[str, str, str, str]:
        return (self._db_key, team_id, channel_id, str(spec))

    @staticmethod
    def _trigger(spec: Spec) -> object:
        from apscheduler.triggers.cron import CronTrigger

        day = "*" if spec.weekday is None else ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[spec.weekday]
        return CronTrigger(day_of_week=day, hour=spec.hour, minute=spec.minute, timezone=dt.UTC)

    def next_run(self, team_id: str, channel_id: str) -> dt.datetime | None:
        job = self.scheduler.get_job(job_id(team_id, channel_id), jobstore=JOBSTORE)
        return job.next_run_time if job is not None else None

    def set_next_run(self, team_id: str, channel_id: str, when: dt.datetime) -> None:
        """Moves a job's next run (tools and tests: "the clock was down since `when`")."""
        self.scheduler.modify_job(job_id(team_id, channel_id), jobstore=JOBSTORE, next_run_time=when)


def start_beside(parlance: Parlance, stack: contextlib.ExitStack) -> DigestClock:
    """On one machine (`python -m bot`, local mode) the clock runs inside the web process, stopped with it;
    scaled out it is its own process (`python -m bot clock`)."""
    clock = DigestClock(
        engine=parlance.engine,
        sessions=parlance.sessions,
        wake=parlance.dispatcher.notify,
        retention_days=parlance.settings.retention_days,
        allowed_channels=parlance.settings.allowed_channel_ids,
    )
    clock.start()
    stack.callback(clock.stop)
    return clock


def _store_only_scheduler() -> type:
    from apscheduler.schedulers.base import BaseScheduler

    class StoreOnlyScheduler(BaseScheduler):
        """Reads and writes the job store; never wakes up to run a job."""

        def shutdown(self, wait: bool = True) -> None:
            super().shutdown(wait)

        def wakeup(self) -> None:
            pass

    return StoreOnlyScheduler


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `python -m bot clock` (bot/cli.py)."""
    parser.add_argument(
        "--sync-seconds",
        type=float,
        default=DEFAULT_SYNC_SECONDS,
        help="how often the job store is brought in line with the channels' schedules (default: %(default)s)",
    )


def run_until_stopped(
    *,
    database_url: str,
    retention_days: int | None,
    sync_seconds: float,
    allowed_channels: frozenset[str] | None = None,
) -> None:
    """`python -m bot clock` once the settings are read and logging is set: runs until SIGTERM or SIGINT."""
    from storage.db import make_engine, make_session_factory, migrate

    engine = make_engine(database_url)
    migrate(engine)
    clock = DigestClock(
        engine=engine,
        sessions=make_session_factory(engine),
        sync_seconds=sync_seconds,
        retention_days=retention_days,
        allowed_channels=allowed_channels,
    )
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    clock.start()
    stopping.wait()
    clock.stop()
    engine.dispose()


if __name__ == "__main__":
    # `python -m bot.background.clock` is `python -m bot clock`, whose code imports this module by its name and runs
    # it there, not in this __main__ copy: jobs name `bot.background.clock:fire_digest`, which must find the session
    # factory registered by the clock that is running.
    import sys

    from bot.cli import main as cli_main

    sys.exit(cli_main(["clock", *sys.argv[1:]]))
