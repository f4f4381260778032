"""The job queue: rows recorded before Slack is acked, claimed with a lease by exactly one dispatcher."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from storage.db import insert_if_absent, rows_changed
from storage.tables import Job, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


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


def enqueue_job(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    kind: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
) -> int | None:
    """Adds a job in the caller's transaction; returns None when a job with the same dedupe key exists."""
    values = {"team_id": team_id, "channel_id": channel_id, "kind": kind, "payload": payload, "dedupe_key": dedupe_key}
    return insert_if_absent(session, Job, values, keys=["dedupe_key"])


def claim_next_job(
    *, session: Session, worker_id: str, lease: dt.timedelta, kinds: list[str] | None = None
) -> ClaimedJob | None:
    """Takes the oldest runnable job: queued and due, or running with an expired lease (its owner died).

    One UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) makes the claim atomic: SQLite serialises
    writers, PostgreSQL skips rows another claimer holds.
    """
    now = utcnow()
    candidate = (
        select(Job.id)
        .where(
            or_(
                (Job.state == QUEUED) & (Job.run_after <= now),
                (Job.state == RUNNING) & (Job.lease_until < now),
            )
        )
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
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
        )
    ).first()
    return ClaimedJob(*row) if row is not None else None


def extend_lease(*, session: Session, job_id: int, worker_id: str, lease: dt.timedelta) -> bool:
    changed = rows_changed(
        session,
        update(Job)
        .where(Job.id == job_id, Job.locked_by == worker_id, Job.state == RUNNING)
        .values(lease_until=utcnow() + lease),
    )
    return bool(changed)


def record_reply(*, session: Session, job_id: int, reply_ts: str) -> None:
    """Remembers the message a job posted, so a retry of the job edits it instead of posting again."""
    session.execute(update(Job).where(Job.id == job_id).values(reply_ts=reply_ts))


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
    from sqlalchemy import func

    query = select(func.count()).select_from(Job).where(Job.team_id == team_id, Job.channel_id == channel_id)
    if state is not None:
        query = query.where(Job.state == state)
    return session.scalar(query) or 0


def pending_job_count(*, session: Session) -> int:
    """Queue depth across all teams, for health and metrics only (no job content is read)."""
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(Job).where(Job.state.in_([QUEUED, RUNNING]))) or 0
