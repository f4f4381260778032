"""Sentiment scores on stored messages: what still needs scoring, saving scores, forgetting them, reading them back.

A message needs scoring when it is live, not from a bot, in a channel that has not opted out, and its
`sentiment_scored_for` differs from its `updated_at` (never scored, or edited since). Saving a score is guarded by
the `updated_at` that was read, so an edit that lands while the model is busy leaves the message pending instead
of pinning the old text's score on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Exists, and_, exists, or_, select, update
from sqlalchemy.orm import Session

from storage.db import rows_changed
from storage.tables import ChannelSettings, Message


@dataclass(frozen=True, slots=True)
class PendingMessage:
    id: int
    text: str
    version: dt.datetime  # the updated_at the text was read at


@dataclass(frozen=True, slots=True)
class Score:
    id: int
    version: dt.datetime
    label: str
    score: float


@dataclass(frozen=True, slots=True)
class ScoredMessage:
    ts: str
    thread_ts: str | None
    user_id: str | None
    text: str
    label: str
    score: float


def _opted_out(team_id: object, channel_id: object) -> Exists:
    return exists().where(
        ChannelSettings.team_id == team_id,
        ChannelSettings.channel_id == channel_id,
        ChannelSettings.sentiment_opt_out.is_(True),
    )


def _pending() -> ColumnElement[bool]:
    return and_(
        Message.deleted.is_(False),
        Message.is_bot.is_(False),
        or_(Message.sentiment_scored_for.is_(None), Message.sentiment_scored_for != Message.updated_at),
        ~_opted_out(Message.team_id, Message.channel_id),
    )


def channels_with_unscored(*, session: Session, limit: int = 100) -> list[tuple[str, str]]:
    """(team, channel) pairs that have messages waiting, for the background scorer's round over channels.

    The one read across teams: it returns ids only, and each channel is then read on its own.
    """
    rows = session.execute(select(Message.team_id, Message.channel_id).where(_pending()).distinct().limit(limit))
    return [(team, channel) for team, channel in rows]


def unscored_messages(*, session: Session, team_id: str, channel_id: str, limit: int) -> list[PendingMessage]:
    """The channel's oldest messages that need a (new) score."""
    rows = session.execute(
        select(Message.id, Message.text, Message.updated_at)
        .where(Message.team_id == team_id, Message.channel_id == channel_id, _pending())
        .order_by(Message.id)
        .limit(limit)
    )
    return [PendingMessage(id_, text, version) for id_, text, version in rows]


def count_unscored(*, session: Session, team_id: str, channel_id: str) -> int:
    from sqlalchemy import func

    query = select(func.count()).where(Message.team_id == team_id, Message.channel_id == channel_id, _pending())
    return session.scalar(query) or 0


def save_scores(*, session: Session, team_id: str, channel_id: str, scores: Sequence[Score]) -> int:
    """Stores scores for texts read at `version`; returns how many were stored (edited meanwhile: not stored)."""
    stored = 0
    for item in scores:
        stored += rows_changed(
            session,
            update(Message)
            .where(
                Message.id == item.id,
                Message.team_id == team_id,
                Message.channel_id == channel_id,
                Message.updated_at == item.version,
            )
            .values(
                sentiment_label=item.label,
                sentiment_score=item.score,
                sentiment_scored_for=item.version,
                updated_at=item.version,  # keep it: onupdate would otherwise make the row look edited
            )
            .execution_options(synchronize_session=False),
        )
    return stored


def forget_scores(*, session: Session, team_id: str, channel_id: str) -> int:
    """Deletes every stored score of a channel (`/sentiment forget`)."""
    return rows_changed(
        session,
        update(Message)
        .where(Message.team_id == team_id, Message.channel_id == channel_id, Message.sentiment_label.is_not(None))
        .values(sentiment_label=None, sentiment_score=None, sentiment_scored_for=None, updated_at=Message.updated_at)
        .execution_options(synchronize_session=False),
    )


def scored_messages(
    *, session: Session, team_id: str, channel_id: str, since: dt.datetime, until: dt.datetime, limit: int = 50_000
) -> list[ScoredMessage]:
    """Scored live messages of one channel posted in [since, until), oldest first (by Slack ts)."""
    rows = session.execute(
        select(
            Message.ts,
            Message.thread_ts,
            Message.user_id,
            Message.text,
            Message.sentiment_label,
            Message.sentiment_score,
        )
        .where(
            Message.team_id == team_id,
            Message.channel_id == channel_id,
            Message.deleted.is_(False),
            Message.is_bot.is_(False),
            Message.sentiment_label.is_not(None),
            Message.sentiment_scored_for == Message.updated_at,
            Message.ts >= _ts(since),
            Message.ts < _ts(until),
        )
        .order_by(Message.ts)
        .limit(limit)
    )
    # The query already leaves unscored rows out; the check says so to the type checker (the columns are nullable).
    return [
        ScoredMessage(ts, thread_ts, user_id, text, label, score)
        for ts, thread_ts, user_id, text, label, score in rows
        if label is not None and score is not None
    ]


def _ts(moment: dt.datetime) -> str:
    """A Slack ts for a moment; ts strings compare correctly as text (ten-digit seconds until 2286)."""
    return f"{moment.timestamp():.6f}"


def interactive_jobs_waiting(*, session: Session, excluding: Sequence[str]) -> bool:
    """Whether jobs other than `excluding` kinds are queued and due: the background scorer then steps aside.

    Reads across teams, as the dispatcher's claim does; it returns one flag and reads no content.
    """
    from storage.tables import Job, utcnow

    query = (
        select(Job.id)
        .where(Job.state == "queued", Job.run_after <= utcnow(), Job.kind.not_in(list(excluding)))
        .limit(1)
    )
    return session.scalar(query) is not None
