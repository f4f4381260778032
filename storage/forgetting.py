"""Forgetting: the retention purge, `/parlance forget me`, and a workspace that uninstalls Parlance.

Everything derived from a message lives on its row or follows it: sentiment scores are columns of `messages`, the
SQLite full-text index is kept in step by the delete trigger of migration 0003, and PostgreSQL's full-text index is
an index on `messages` itself. Deleting the row therefore deletes its scores and its search entry. Copies of text
elsewhere are job payloads (a mention's text, text sent to /translate), which is why finished jobs go too.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, column, delete, select, table, tuple_
from sqlalchemy.orm import Session

from storage.db import rows_changed
from storage.feedback import forget_votes
from storage.messages import slack_ts
from storage.tables import Base, Job, Message, SlackEvent, utcnow

logger = logging.getLogger(__name__)

BATCH = 1000
# Slack retries an event for about an hour; a day of event ids is plenty to drop every retry.
EVENT_IDS_KEPT = dt.timedelta(days=1)
# Finished jobs hold copies of what people typed and are only read while they run (and by their retries).
FINISHED_JOBS_KEPT = dt.timedelta(days=7)
FINISHED_STATES = ("done", "failed")
# The clock's APScheduler job ids start with this, then "<team>:<channel>" (bot.background.clock.job_id builds them).
SCHEDULED_DIGEST_PREFIX = "sentiment-digest:"
_SCHEDULER_JOBS = table("apscheduler_jobs", column("id", String))


@dataclass(frozen=True, slots=True)
class Pruned:
    """How many bookkeeping rows went: counts only, so they can be logged."""

    event_ids: int
    jobs: int


def purge_older_than(*, session: Session, cutoff: dt.datetime, batch: int = BATCH) -> int:
    """Deletes every stored message posted (by its Slack ts) before `cutoff`, in every workspace: retention is an
    operator's setting for the whole install, not a per-team query. Returns how many messages went.

    Also drops finished jobs recorded before `cutoff` (their payloads can hold the text of those messages) and
    event ids older than EVENT_IDS_KEPT. Works in batches of `batch` rows and commits after each, so a first purge
    of a large history never holds a long lock; pass a session with nothing else pending.
    """
    messages = _delete_by_id(session, Message, Message.ts < slack_ts(cutoff), batch)
    pruned = prune_bookkeeping(session=session, jobs_before=cutoff, batch=batch)
    logger.info(
        "retention: purged %d messages, %d finished jobs, %d event ids", messages, pruned.jobs, pruned.event_ids
    )
    return messages


def prune_bookkeeping(*, session: Session, jobs_before: dt.datetime | None = None, batch: int = BATCH) -> Pruned:
    """Drops rows that would otherwise grow forever whatever the retention: event ids older than EVENT_IDS_KEPT
    and finished jobs recorded before `jobs_before` (default: FINISHED_JOBS_KEPT ago). Across all workspaces, in
    committed batches like `purge_older_than`."""
    now = utcnow()
    jobs_before = jobs_before or now - FINISHED_JOBS_KEPT
    finished = Job.state.in_(FINISHED_STATES) & (Job.created_at < jobs_before)
    jobs = _delete_by_id(session, Job, finished, batch)
    return Pruned(event_ids=_delete_event_ids(session, now - EVENT_IDS_KEPT, batch), jobs=jobs)


def forget_user(*, session: Session, team_id: str, user_id: str) -> int:
    """Deletes everything a person wrote that we stored in one workspace (`/parlance forget me`): their messages in
    every channel (with their scores and search entries), the finished jobs that carried their text, and their
    votes on answers. Jobs still queued or running are left to finish, so a request they just made is still
    answered. Runs in the caller's transaction; returns how many messages went."""
    forgotten = rows_changed(
        session,
        delete(Message)
        .where(Message.team_id == team_id, Message.user_id == user_id)
        .execution_options(synchronize_session=False),
    )
    session.execute(
        delete(Job)
        .where(
            Job.team_id == team_id,
            Job.state.in_(FINISHED_STATES),
            Job.payload["user"].as_string() == user_id,
        )
        .execution_options(synchronize_session=False)
    )
    forget_votes(session=session, team_id=team_id, user_id=user_id)
    return forgotten


def forget_team(*, session: Session, team_id: str) -> int:
    """Deletes every row of one workspace in every table (Slack's app_uninstalled): messages and what derives
    from them, jobs, event ids, channel settings and digest schedules, digests, opt-outs, and the clock's
    scheduled digest jobs. Any of our tables with a team_id column is included, so a table added later is not
    missed (slack_sdk's install tables are bot/installs' to delete). Runs in the caller's transaction, so an
    uninstall deletes all of it or nothing; returns how many messages went.

    Jobs go first. A job still running may be about to store its reply (bot.jobs.delivery.Delivery.remember): it
    locks its row before writing, so on PostgreSQL this deletion waits for that write to commit and the messages
    deleted after it include the reply, or the job finds its row gone and writes nothing. SQLite serialises the
    two transactions whole."""
    messages = 0
    tables = [each for each in reversed(Base.metadata.sorted_tables) if each is not Job.__table__]
    for each in [Job.__table__, *tables]:
        if "team_id" not in each.c:
            continue
        deleted = rows_changed(session, delete(each).where(each.c.team_id == team_id))
        if each.name == Message.__tablename__:
            messages = deleted
    prefix = f"{SCHEDULED_DIGEST_PREFIX}{team_id}:"
    session.execute(delete(_SCHEDULER_JOBS).where(_SCHEDULER_JOBS.c.id.startswith(prefix, autoescape=True)))
    session.expire_all()  # ORM objects of that team loaded earlier in this session no longer exist
    return messages


def _delete_by_id(session: Session, model: Any, condition: ColumnElement[bool], batch: int) -> int:
    """Deletes matching rows a batch at a time, walking the primary key so each batch starts where the last
    stopped: the whole purge reads the table once, however many batches it takes."""
    deleted, after = 0, None
    while True:
        query = select(model.id).where(condition).order_by(model.id).limit(batch)
        if after is not None:
            query = query.where(model.id > after)
        ids = list(session.scalars(query))
        if ids:
            deleted += rows_changed(
                session, delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
            )
        session.commit()
        if len(ids) < batch:
            return deleted
        after = ids[-1]


def _delete_event_ids(session: Session, before: dt.datetime, batch: int) -> int:
    deleted = 0
    while True:
        keys = session.execute(
            select(SlackEvent.team_id, SlackEvent.event_id).where(SlackEvent.received_at < before).limit(batch)
        ).all()
        if keys:
            deleted += rows_changed(
                session,
                delete(SlackEvent)
                .where(tuple_(SlackEvent.team_id, SlackEvent.event_id).in_([tuple(key) for key in keys]))
                .execution_options(synchronize_session=False),
            )
        session.commit()
        if len(keys) < batch:
            return deleted
