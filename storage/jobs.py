"""The job queue: rows recorded before Slack is acked, claimed with a lease by exactly one dispatcher.

What the claim guarantees besides "exactly one": the jobs of one thread run one after another, in the order they
were recorded (a follow-up sent while the bot is still writing is answered after that answer, which it can then
read), and one person's flood of requests does not hold up everyone else: few of their jobs run at a time, and
those of people with fewer requests waiting are claimed first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, bindparam, case, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage.db import insert_absent_statement, insert_if_absent, rows_changed
from storage.tables import Job, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
UNFINISHED = (QUEUED, RUNNING)
# How many of one person's jobs run at once. One: a person reads one answer at a time, and the model worker
# answers in turn, so one running job of someone who sent fifty puts at most one answer in front of anyone
# else's: their wait is at most about twice its usual (the fairness goal), however many threads dispatch.
RUNNING_PER_USER = 1
# Every claim, in every process, takes this PostgreSQL transaction lock first (any constant shared by every
# Parlance process, other than storage.db's migration lock).
CLAIM_LOCK_KEY = 72_617_727


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    team_id: str
    channel_id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    reply_ts: str | None
    created_at: dt.datetime  # when the request was accepted: deadlines (MODEL_WAIT_SECONDS) count from here
    last_error: str | None  # why the previous attempt did not finish, so a retry knows what the user was told
    continued_ts: tuple[str, ...] = ()  # the messages an earlier attempt posted after reply_ts (a long answer)


def enqueue_job(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    user_id: str | None = None,
    thread_ts: str | None = None,
) -> int | None:
    """Adds a job in the caller's transaction; returns None when a job with the same dedupe key exists.

    `user_id`: who asked, for the per-person limits of the claim. `thread_ts`: for a reply in a thread, which
    then runs after the thread's earlier jobs, and makes the thread the bot's (`has_reply_job_in_thread`). A job
    joining a backlog its person was already told about counts as told too (`tell_queued_once`)."""
    values: dict[str, Any] = {
        "team_id": team_id,
        "channel_id": channel_id,
        "kind": kind,
        "payload": payload,
        "dedupe_key": dedupe_key,
        "user_id": user_id,
        "thread_ts": thread_ts,
    }
    if user_id is None:
        return insert_if_absent(session, Job, values, keys=["dedupe_key"])
    statement = _enqueue_for_a_person(session.get_bind().dialect.name)
    return session.execute(statement, {**values, "told_team": team_id, "told_user": user_id}).scalar()


@lru_cache(maxsize=4)
def _enqueue_for_a_person(dialect: str) -> Insert:
    """INSERT … ON CONFLICT DO NOTHING whose told_queued is computed in SQL from the person's unfinished jobs;
    built once (per call it cost milliseconds of every ack, bench/ack_latency.py)."""
    told = aliased(Job)
    told_before = exists().where(
        told.team_id == bindparam("told_team"),
        told.user_id == bindparam("told_user"),
        told.state.in_(UNFINISHED),
        told.told_queued,
    )
    return insert_absent_statement(Job.__table__, ("dedupe_key",), dialect).values(told_queued=told_before)


def any_due_job(*, session: Session, kinds: list[str] | None = None) -> bool:
    """Whether some job is queued and due, or running past its lease: a read that lets an idle dispatcher skip the
    claim, which on SQLite takes the write lock (most wake-ups and polls find nothing, and every ack waited
    behind those empty claims: bench/ack_latency.py)."""
    now = utcnow()
    due = select(Job.id).where(
        or_((Job.state == QUEUED) & (Job.run_after <= now), (Job.state == RUNNING) & (Job.lease_until < now))
    )
    if kinds:
        due = due.where(Job.kind.in_(kinds))
    return session.execute(due.limit(1)).first() is not None


def claim_next_job(
    *, session: Session, worker_id: str, lease: dt.timedelta, kinds: list[str] | None = None
) -> ClaimedJob | None:
    """Takes the next runnable job: queued and due, or running with an expired lease (its owner died); not one
    whose thread has an earlier job unfinished, nor one of a person who already has RUNNING_PER_USER running.
    Among those, the jobs of whoever has the fewest unfinished ones come first, then the oldest: one request
    waits behind no one's flood, the flood waits behind everyone's requests (one person's jobs stay in order).

    One UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) makes the claim atomic. SKIP LOCKED alone would
    let two claimers take two jobs of one person at once, each blind to the other's uncommitted claim, so on
    PostgreSQL claims also take one transaction lock, held only for this statement's transaction: the UPDATE then
    reads every earlier claim as committed. SQLite's BEGIN IMMEDIATE already serialises them. The thread rule
    needs neither: an earlier job, once finished, stays finished.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(CLAIM_LOCK_KEY)))
    now = utcnow()
    other = aliased(Job)
    same_user = (other.team_id == Job.team_id) & (other.user_id == Job.user_id)
    earlier_in_thread = exists().where(
        other.team_id == Job.team_id,
        other.channel_id == Job.channel_id,
        other.thread_ts == Job.thread_ts,
        other.id < Job.id,
        other.state.in_(UNFINISHED),
    )
    running_of_user = (
        select(func.count()).select_from(other).where(same_user, other.state == RUNNING, other.id != Job.id)
    ).scalar_subquery()
    backlog_of_user = (
        select(func.count()).select_from(other).where(same_user, other.state.in_(UNFINISHED))
    ).scalar_subquery()
    candidate = (
        select(Job.id)
        .where(
            or_(
                (Job.state == QUEUED) & (Job.run_after <= now),
                (Job.state == RUNNING) & (Job.lease_until < now),
            ),
            or_(Job.thread_ts.is_(None), ~earlier_in_thread),
            or_(Job.user_id.is_(None), running_of_user < RUNNING_PER_USER),
        )
        .order_by(backlog_of_user, Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Job)
    )
    if kinds:
        candidate = candidate.where(Job.kind.in_(kinds))
    row = session.execute(
        update(Job)
        .where(Job.id == candidate.scalar_subquery())
        .values(state=RUNNING, locked_by=worker_id, lease_until=now + lease, attempts=Job.attempts + 1)
        .returning(
            Job.id,
            Job.team_id,
            Job.channel_id,
            Job.kind,
            Job.payload,
            Job.attempts,
            Job.reply_ts,
            Job.created_at,
            Job.last_error,
            Job.continued_ts,
        )
    ).first()
    if row is None:
        return None
    fields = row._asdict()
    return ClaimedJob(**{**fields, "continued_ts": tuple(fields["continued_ts"] or ())})


def has_reply_job_in_thread(*, session: Session, team_id: str, channel_id: str, thread_ts: str) -> bool:
    """Whether a reply job was recorded for this thread: the bot is in the thread from then on, before it has
    written a word there, so a follow-up sent while it writes is recognised as one."""
    query = (
        select(Job.id).where(Job.team_id == team_id, Job.channel_id == channel_id, Job.thread_ts == thread_ts).limit(1)
    )
    return session.scalar(query) is not None


def tell_queued_once(*, session: Session, job_id: int, team_id: str, user_id: str, at_least: int) -> int | None:
    """How many of `user_id`'s jobs wait behind this one, when they are at least `at_least` and the person has
    not been told about this job yet; None otherwise. Marks this job and every one waiting as told, and jobs
    recorded while any of those is unfinished are told already (`enqueue_job`), so the note is said once for a
    backlog, however long it keeps growing; only a new backlog, after the last one drained, is told again. One
    person's jobs run one at a time (RUNNING_PER_USER), so two of them never ask at once. None too when the job
    is gone (its workspace uninstalled the app meanwhile)."""
    told = session.scalar(select(Job.told_queued).where(Job.id == job_id))
    if told is None or told:
        return None
    mine = (Job.team_id == team_id) & (Job.user_id == user_id)
    waiting = session.scalar(select(func.count()).select_from(Job).where(mine, Job.state == QUEUED)) or 0
    if waiting < at_least:
        return None
    session.execute(update(Job).where(mine, Job.state.in_(UNFINISHED)).values(told_queued=True))
    return waiting


def extend_lease(*, session: Session, job_id: int, worker_id: str, lease: dt.timedelta) -> bool:
    changed = rows_changed(
        session,
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.state == RUNNING)
        .values(lease_until=utcnow() + lease),
    )
    return bool(changed)


def record_reply(*, session: Session, job_id: int, reply_ts: str, continued_ts: Sequence[str] = ()) -> None:
    """Remembers the messages a job posted (the first, and any that continue a long answer), so a retry of the
    job edits them instead of posting again, and deletes those its answer no longer needs."""
    session.execute(
        update(Job).where(Job.id == job_id).values(reply_ts=reply_ts, continued_ts=list(continued_ts) or None)
    )


def request_stop(*, session: Session, team_id: str, channel_id: str, thread_ts: str, kinds: Collection[str]) -> int:
    """Marks the unfinished jobs of `kinds` in one thread as stopped by their asker (Slack's stop button): the job
    running reads it while it writes (`stop_requested`) and ends its answer there; a queued one ends at once.
    Returns how many were marked. The mark lives in the payload, which the claim hands the runner."""
    rows = session.scalars(
        select(Job)
        .where(
            Job.team_id == team_id,
            Job.channel_id == channel_id,
            Job.thread_ts == thread_ts,
            Job.kind.in_(list(kinds)),
            Job.state.in_(UNFINISHED),
        )
        .with_for_update()
    ).all()
    for job in rows:
        job.payload = {**job.payload, "stop_requested": True}
    return len(rows)


def stop_requested(*, session: Session, job_id: int) -> bool:
    """Whether the job's asker stopped it (`request_stop`) since it was claimed."""
    payload = session.scalar(select(Job.payload).where(Job.id == job_id))
    return bool(payload and payload.get("stop_requested"))


def job_exists(*, session: Session, job_id: int) -> bool:
    """Whether the job's row is still there, locking it until the caller's transaction ends (PostgreSQL), so a
    workspace's uninstall (storage.forgetting.forget_team deletes jobs first) cannot pass in between: what the
    caller stores for the job is either deleted with the workspace or never written."""
    query = select(Job.id).where(Job.id == job_id).with_for_update()
    return session.scalar(query) is not None


def finish_job(*, session: Session, job_id: int, worker_id: str) -> bool:
    changed = rows_changed(
        session,
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id)
        .values(state=DONE, lease_until=None, last_error=None),
    )
    return bool(changed)


def retry_job_later(*, session: Session, job_id: int, worker_id: str, delay: dt.timedelta, error: str) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id)
        .values(state=QUEUED, lease_until=None, locked_by=None, run_after=utcnow() + delay, last_error=error)
    )


def release_jobs(*, session: Session, job_ids: Collection[int], worker_id: str) -> list[int]:
    """Hands jobs a stopping process still runs back to the queue, due now, so another process starts them at
    once instead of after their lease expires. A due job keeps its place in the queue. The attempt stays counted
    although stopping is not the job's fault: an attempt beyond the first is what tells the next one to look for a
    reply this one may have posted (runners' `earlier_replies`) before posting again.

    Only jobs still claimed by `worker_id` are touched; returns the ids released.
    """
    if not job_ids:
        return []
    now = utcnow()
    rows = session.execute(
        update(Job)
        .where(Job.id.in_(list(job_ids)), Job.locked_by == worker_id, Job.state == RUNNING)
        .values(
            state=QUEUED,
            locked_by=None,
            lease_until=None,
            run_after=case((Job.run_after > now, now), else_=Job.run_after),
        )
        .returning(Job.id)
    ).scalars()
    return sorted(rows)


def fail_job(*, session: Session, job_id: int, worker_id: str, error: str) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id)
        .values(state=FAILED, lease_until=None, last_error=error)
    )


def count_jobs(*, session: Session, team_id: str, channel_id: str, state: str | None = None) -> int:
    query = select(func.count()).select_from(Job).where(Job.team_id == team_id, Job.channel_id == channel_id)
    if state is not None:
        query = query.where(Job.state == state)
    return session.scalar(query) or 0


def pending_job_count(*, session: Session) -> int:
    """Queue depth across all teams, for health and metrics only (no job content is read)."""
    return session.scalar(select(func.count()).select_from(Job).where(Job.state.in_([QUEUED, RUNNING]))) or 0
