"""The tables Parlance keeps. Every row belongs to one workspace (team_id), and most to one channel."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC and always hands back aware datetimes, because SQLite keeps no time zone of its own."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON}


# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere keeps room for a busy install.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


class Message(Base):
    """One Slack message as last seen: edits overwrite the text, deletions keep the row but blank the text."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("uq_messages_team_channel_ts", "team_id", "channel_id", "ts", unique=True),
        Index("ix_messages_thread", "team_id", "channel_id", "thread_ts", "ts"),
        Index("ix_messages_team_user", "team_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    ts: Mapped[str] = mapped_column(String(32), comment="Slack's message id: seconds.micros, sortable as text")
    thread_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    user_id: Mapped[str | None] = mapped_column(String(32), default=None)
    text: Mapped[str] = mapped_column(Text, default="")
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    edited: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Sentiment (migration 0002). The scorer finds work by comparing sentiment_scored_for with updated_at: an edit
    # bumps updated_at (onupdate), so an edited message is pending again without the edit path knowing about it.
    sentiment_label: Mapped[str | None] = mapped_column(String(8), default=None)
    sentiment_score: Mapped[float | None] = mapped_column(Float, default=None)
    sentiment_scored_for: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Migration 0009. The files shared with the message, as Slack describes them (id, name, mimetype, filetype,
    # size): what they hold is read from Slack when an answer needs it (bot/slack/files.py), never stored.
    files: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)


class SlackEvent(Base):
    """Event ids already handled, so Slack's retries of the same event are acked and dropped."""

    __tablename__ = "slack_events"
    __table_args__ = (Index("ix_slack_events_received_at", "received_at"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Job(Base):
    """Slow work recorded before Slack is acked; a dispatcher claims it with a lease and posts the answer."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_claim", "state", "run_after", "id"),
        Index("ix_jobs_team_channel", "team_id", "channel_id"),
        # The claim's look-ups (migration 0007): a person's running and waiting jobs, and a thread's earlier ones.
        Index("ix_jobs_team_user", "team_id", "user_id", "state"),
        Index("ix_jobs_thread", "team_id", "channel_id", "thread_ts", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, default=None)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    run_after: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    reply_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Migration 0007. Who asked (the payload's `user`; None for the clock's digests): the claim runs few of one
    # person's jobs at a time and everyone's first waiting job before anyone's second (storage/jobs.py).
    user_id: Mapped[str | None] = mapped_column(String(32), default=None)
    # The thread a reply job answers in (mentions, DMs in a thread, follow-ups; None for everything else): jobs of
    # one thread run one after another, in the order they were recorded, and the bot knows the thread is its own
    # from the moment the first one is recorded.
    thread_ts: Mapped[str | None] = mapped_column(String(32), default=None)
    # The messages after reply_ts that the job posted for an answer too long for one, in order, so a retry edits
    # each of them and deletes those its answer no longer needs.
    continued_ts: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    # Whether the person was told that this job waits behind their earlier ones (said once per backlog).
    told_queued: Mapped[bool] = mapped_column(Boolean, default=False)


class ChannelSettings(Base):
    """Per-channel choices: opt-out of sentiment scoring, digest schedule, standing instructions for answers."""

    __tablename__ = "channel_settings"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sentiment_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_schedule: Mapped[str | None] = mapped_column(String(64), default=None)
    digest_timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Migration 0009. `/parlance instructions <text>`: persona, language, tone for every answer here, appended to
    # the system prompt after the grounding rules; who set them, so `/parlance` can say.
    instructions: Mapped[str | None] = mapped_column(Text, default=None)
    instructions_by: Mapped[str | None] = mapped_column(String(32), default=None)


class ChannelNotice(Base):
    """Things said once per channel (migration 0009): e.g. that Parlance is not enabled there (ALLOWED_CHANNELS).
    Ids only, never text; the primary key is what makes "once" hold across retries and processes."""

    __tablename__ = "channel_notices"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    notice: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UserOptOut(Base):
    """People who asked `/parlance forget me`: their messages are not stored again until they ask to be remembered.
    A row per workspace, because a Slack user id means a person only inside one workspace's settings."""

    __tablename__ = "user_opt_outs"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """One digest per channel and period. The unique key is what makes a digest go out once, whichever clock (or
    how many) fires it, and however many periods an outage made it miss."""

    __tablename__ = "sentiment_digests"
    __table_args__ = (UniqueConstraint("team_id", "channel_id", "period_key", name="uq_sentiment_digests_period"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    # "<cadence>:<end of the period, UTC>", e.g. "daily:2026-11-28T08:00Z"; "now:<trigger>" for /sentiment now
    period_key: Mapped[str] = mapped_column(String(80))
    cadence: Mapped[str] = mapped_column(String(8))  # daily, weekly or now
    period_start: Mapped[dt.datetime] = mapped_column()
    period_end: Mapped[dt.datetime] = mapped_column()
    posted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AnswerFeedback(Base):
    """One person's 👍 or 👎 on one answer, summary or translation the bot posted (migration 0008).

    A vote is keyed by the job that produced the answer, not by a message: an answer can span several messages,
    and an ephemeral one has no message anyone else can name. Clicking the other button replaces the vote
    (updated_at moves with it), so each person counts once per answer. No foreign key to jobs: finished jobs are
    pruned after a week (storage/forgetting.py), and the votes outlive them."""

    __tablename__ = "answer_feedback"
    __table_args__ = (
        UniqueConstraint("team_id", "job_id", "user_id", name="uq_answer_feedback_vote"),
        Index("ix_answer_feedback_recent", "team_id", "channel_id", "updated_at"),
        Index("ix_answer_feedback_team_user", "team_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[int] = mapped_column(BigInteger)
    message_ts: Mapped[str | None] = mapped_column(String(32), default=None, comment="the message the vote was on")
    skill: Mapped[str] = mapped_column(String(16), comment="answer, summary or translation")
    user_id: Mapped[str] = mapped_column(String(32))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
