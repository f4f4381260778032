"""Queries over stored channel history. Every function takes team and channel; none reads across them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.db import insert_if_absent, rows_changed
from storage.opt_outs import is_opted_out
from storage.tables import Message


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message as the rest of the app sees it: plain data, no session attached."""

    team_id: str
    channel_id: str
    ts: str
    thread_ts: str | None
    user_id: str | None
    text: str
    is_bot: bool
    edited: bool

    @classmethod
    def from_row(cls, row: Message) -> StoredMessage:
        return cls(row.team_id, row.channel_id, row.ts, row.thread_ts, row.user_id, row.text, row.is_bot, row.edited)


def slack_ts(moment: dt.datetime) -> str:
    """The Slack ts of a moment; ts strings compare correctly as text (ten-digit seconds until 2286)."""
    return f"{moment.timestamp():.6f}"


def storable_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL characters; both databases store U+FFFD instead, so they agree."""
    return text.replace("\x00", "\ufffd")


def _find(session: Session, team_id: str, channel_id: str, ts: str) -> Message | None:
    return session.scalar(
        select(Message).where(Message.team_id == team_id, Message.channel_id == channel_id, Message.ts == ts)
    )


def save_message(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    ts: str,
    user_id: str | None,
    text: str,
    thread_ts: str | None = None,
    is_bot: bool = False,
) -> bool:
    """Stores a message once; a second delivery of the same ts (Slack retry, mention + message event) is a no-op.

    Returns whether a new row was written. Nothing is written for someone who asked `/parlance forget me`: every
    way a message arrives (events, edits of unseen messages, backfill from Slack) comes through here.
    """
    if not is_bot and user_id is not None and is_opted_out(session=session, team_id=team_id, user_id=user_id):
        return False
    values = {
        "team_id": team_id,
        "channel_id": channel_id,
        "ts": ts,
        "thread_ts": thread_ts if thread_ts != ts else None,
        "user_id": user_id,
        "text": storable_text(text),
        "is_bot": is_bot,
    }
    return insert_if_absent(session, Message, values, keys=["team_id", "channel_id", "ts"]) is not None


def edit_message(*, session: Session, team_id: str, channel_id: str, ts: str, text: str) -> bool:
    """Applies an edit; an edit of a message we never saw is stored, since the edit is the newest truth."""
    changed = rows_changed(
        session,
        update(Message)
        .where(Message.team_id == team_id, Message.channel_id == channel_id, Message.ts == ts)
        .values(text=storable_text(text), edited=True),
    )
    return bool(changed)


def delete_message(*, session: Session, team_id: str, channel_id: str, ts: str) -> bool:
    """Marks a message deleted and drops its text, so it can never be quoted or summarized again."""
    changed = rows_changed(
        session,
        update(Message)
        .where(Message.team_id == team_id, Message.channel_id == channel_id, Message.ts == ts)
        .values(text="", deleted=True),
    )
    return bool(changed)


def get_message(*, session: Session, team_id: str, channel_id: str, ts: str) -> StoredMessage | None:
    row = _find(session, team_id, channel_id, ts)
    return StoredMessage.from_row(row) if row is not None and not row.deleted else None


def recent_messages(
    *, session: Session, team_id: str, channel_id: str, limit: int, since_ts: str | None = None
) -> list[StoredMessage]:
    """The last `limit` live messages of a channel (top level and thread replies), oldest first."""
    query = (
        select(Message)
        .where(Message.team_id == team_id, Message.channel_id == channel_id, Message.deleted.is_(False))
        .order_by(Message.ts.desc())
        .limit(limit)
    )
    if since_ts is not None:
        query = query.where(Message.ts >= since_ts)
    rows = session.scalars(query).all()
    return [StoredMessage.from_row(row) for row in reversed(rows)]


def thread_messages(
    *, session: Session, team_id: str, channel_id: str, thread_ts: str, limit: int = 1000
) -> list[StoredMessage]:
    """A thread's parent and replies, oldest first."""
    parent = _find(session, team_id, channel_id, thread_ts)
    replies = session.scalars(
        select(Message)
        .where(
            Message.team_id == team_id,
            Message.channel_id == channel_id,
            Message.thread_ts == thread_ts,
            Message.deleted.is_(False),
        )
        .order_by(Message.ts)
        .limit(limit)
    ).all()
    rows = ([parent] if parent is not None and not parent.deleted else []) + list(replies)
    return [StoredMessage.from_row(row) for row in rows]


def has_posted_in_thread(*, session: Session, team_id: str, channel_id: str, thread_ts: str, user_id: str) -> bool:
    """Whether `user_id` (the bot) took part in a thread, so later replies there are meant for it too."""
    query = (
        select(Message.id)
        .where(
            Message.team_id == team_id,
            Message.channel_id == channel_id,
            Message.thread_ts == thread_ts,
            Message.user_id == user_id,
        )
        .limit(1)
    )
    return session.scalar(query) is not None
