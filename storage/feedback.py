"""Votes on what the bot posted (👍 / 👎 under answers, summaries and translations) and the helpful rates they add
up to.

One vote per person and answer: `record_vote` is one INSERT … ON CONFLICT (team_id, job_id, user_id) DO UPDATE, so
a second click, of either button, never adds a row, and two clicks racing each other leave the later one. Every
query names the workspace and the channel (or the channels) it reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from sqlalchemy import Insert, bindparam, case, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.db import rows_changed
from storage.tables import AnswerFeedback, Job, utcnow

VoteOutcome = Literal["new", "changed", "same"]


@dataclass(frozen=True, slots=True)
class VotedJob:
    """What a vote needs to know about the job whose answer it is on: its kind, and the messages it posted
    (none recorded when the answer went to the caller alone)."""

    job_id: int
    kind: str
    posted: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class HelpfulRate:
    helpful: int
    votes: int


def voted_job(*, session: Session, team_id: str, channel_id: str, job_id: int) -> VotedJob | None:
    """The job behind an answer in this workspace and channel; None when there is no such job (a value that names
    another channel's or workspace's job finds nothing either)."""
    row = session.execute(
        select(Job.kind, Job.reply_ts, Job.continued_ts).where(
            Job.id == job_id, Job.team_id == team_id, Job.channel_id == channel_id
        )
    ).first()
    if row is None:
        return None
    posted = tuple(ts for ts in (row.reply_ts, *(row.continued_ts or ())) if ts)
    return VotedJob(job_id=job_id, kind=row.kind, posted=posted)


def voted_skill(*, session: Session, team_id: str, channel_id: str, job_id: int) -> str | None:
    """The skill earlier votes on this answer were recorded for: a job pruned after a week leaves its votes, and
    a vote on it can still be changed."""
    return session.scalar(
        select(AnswerFeedback.skill)
        .where(
            AnswerFeedback.team_id == team_id, AnswerFeedback.channel_id == channel_id, AnswerFeedback.job_id == job_id
        )
        .limit(1)
    )


def record_vote(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    job_id: int,
    skill: str,
    user_id: str,
    helpful: bool,
    message_ts: str | None,
) -> VoteOutcome:
    """Records (or replaces) the person's vote on one answer: "new", "changed" (the other button before) or "same"
    (the same button again, which changes nothing but its time)."""
    before = session.scalar(
        select(AnswerFeedback.helpful).where(
            AnswerFeedback.team_id == team_id, AnswerFeedback.job_id == job_id, AnswerFeedback.user_id == user_id
        )
    )
    now = utcnow()
    values = {
        "team_id": team_id,
        "channel_id": channel_id,
        "job_id": job_id,
        "message_ts": message_ts,
        "skill": skill,
        "user_id": user_id,
        "helpful": helpful,
        "created_at": now,
        "updated_at": now,
    }
    session.execute(_upsert_vote(session.get_bind().dialect.name), values)
    if before is None:
        return "new"
    return "same" if before == helpful else "changed"


@lru_cache(maxsize=4)
def _upsert_vote(dialect: str) -> Insert:
    """INSERT … ON CONFLICT (team_id, job_id, user_id) DO UPDATE, built once per dialect with bound values (see
    storage.db.insert_absent_statement for why). The first vote's created_at is kept."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(AnswerFeedback)
    return statement.on_conflict_do_update(
        index_elements=["team_id", "job_id", "user_id"],
        set_={
            "helpful": statement.excluded.helpful,
            "message_ts": statement.excluded.message_ts,
            "updated_at": statement.excluded.updated_at,
        },
    )


def user_vote(*, session: Session, team_id: str, job_id: int, user_id: str) -> bool | None:
    """The person's vote on one answer (True: helpful), None when they have not voted."""
    return session.scalar(
        select(AnswerFeedback.helpful).where(
            AnswerFeedback.team_id == team_id, AnswerFeedback.job_id == job_id, AnswerFeedback.user_id == user_id
        )
    )


def helpful_rates(
    *, session: Session, team_id: str, channel_ids: Collection[str], since: dt.datetime
) -> dict[str, HelpfulRate]:
    """Per skill, how many of the votes cast (or changed) since `since` in these channels said helpful. Skills
    without votes are absent."""
    if not channel_ids:
        return {}
    rows = session.execute(
        _RATES,
        {"team_id": team_id, "channel_ids": list(channel_ids), "since": since},
    ).all()
    return {row.skill: HelpfulRate(helpful=int(row.helpful or 0), votes=int(row.votes)) for row in rows}


_RATES = (
    select(
        AnswerFeedback.skill,
        func.sum(case((AnswerFeedback.helpful, 1), else_=0)).label("helpful"),
        func.count().label("votes"),
    )
    .where(
        AnswerFeedback.team_id == bindparam("team_id"),
        AnswerFeedback.channel_id.in_(bindparam("channel_ids", expanding=True)),
        AnswerFeedback.updated_at >= bindparam("since"),
    )
    .group_by(AnswerFeedback.skill)
)


def forget_votes(*, session: Session, team_id: str, user_id: str) -> int:
    """Deletes a person's votes in one workspace (`/parlance forget me`); returns how many went."""
    return rows_changed(
        session,
        delete(AnswerFeedback)
        .where(AnswerFeedback.team_id == team_id, AnswerFeedback.user_id == user_id)
        .execution_options(synchronize_session=False),
    )
