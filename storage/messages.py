"""Queries over stored channel history. Every function takes team and channel; none reads across them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from storage.db import insert_all_absent, rows_changed
from storage.opt_outs import opted_out_among
from storage.tables import Message


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file shared with a message, as Slack named it; its contents are read from Slack when needed
    (bot/slack/files.py), never stored."""

    id: str
    name: str
    mimetype: str | None = None
    filetype: str | None = None
    size: int | None = None

    @classmethod
    def of(cls, value: dict[str, Any]) -> FileRef:
        size = value.get("size")
        return cls(
            id=str(value["id"]),
            name=str(value.get("name") or value.get("title") or value["id"]),
            mimetype=value.get("mimetype"),
            filetype=value.get("filetype"),
            size=int(size) if isinstance(size, int | float) else None,
        )


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
    files: tuple[FileRef, ...] = ()  # the files shared with it (migration 0009); read as Slack's JSON, kept as refs

    def __post_init__(self) -> None:
        raw: Any = self.files
        if not isinstance(raw, tuple):  # the JSON column: a list of Slack's file fields, or None
            refs = tuple(FileRef.of(f) for f in raw or () if isinstance(f, dict) and f.get("id"))
            object.__setattr__(self, "files", refs)


# The columns of a StoredMessage, in its field order. History reads select these instead of whole ORM rows: building
# 200 tracked Message objects cost 7 ms of the 9 ms a channel's last 200 messages took (bench/history.py).
_STORED = (
    Message.team_id,
    Message.channel_id,
    Message.ts,
    Message.thread_ts,
    Message.user_id,
    Message.text,
    Message.is_bot,
    Message.edited,
    Message.files,
)


def _live(team_id: str, channel_id: str) -> tuple[ColumnElement[bool], ...]:
    """Where one channel's messages that were not deleted are."""
    return Message.team_id == team_id, Message.channel_id == channel_id, Message.deleted.is_(False)


def slack_ts(moment: dt.datetime) -> str:
    """The Slack ts of a moment; ts strings compare correctly as text (ten-digit seconds until 2286)."""
    return f"{moment.timestamp():.6f}"


def storable_text(text: str) -> str:
    """PostgreSQL text cannot hold NUL characters; both databases store U+FFFD instead, so they agree."""
    return text.replace("\x00", "\ufffd")


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to store, as an event or a page of conversations.history describes it."""

    ts: str
    user_id: str | None
    text: str
    thread_ts: str | None = None
    is_bot: bool = False
    files: list[dict[str, Any]] | None = None  # the files shared with it: ids and names (storage/shared_files.py)


# Message ids per IN (…) list: far below SQLite's and PostgreSQL's bound-parameter limits. (INSERTs need no such
# bound: SQLAlchemy splits an executemany into statements that fit.)
_TS_PER_QUERY = 500


def save_messages(*, session: Session, team_id: str, channel_id: str, new: Sequence[NewMessage]) -> int:
    """Stores messages once each; those stored already (Slack retry, mention + message event, a second backfill)
    are skipped. Returns how many rows were new.

    Nothing is written for someone who asked `/parlance forget me`: every way a message arrives (events, edits of
    unseen messages, backfill from Slack) comes through here. A page of history is one opt-out query and one
    INSERT: row by row, a backfill held the web process's GIL and SQLite's write lock long enough to delay acks
    past 2 s (bench/ack_latency.py).
    """
    people = {m.user_id for m in new if not m.is_bot and m.user_id is not None}
    opted_out = opted_out_among(session=session, team_id=team_id, user_ids=people) if people else set()
    rows = [
        {
            "team_id": team_id,
            "channel_id": channel_id,
            "ts": m.ts,
            "thread_ts": m.thread_ts if m.thread_ts != m.ts else None,
            "user_id": m.user_id,
            "text": storable_text(m.text),
            "is_bot": m.is_bot,
            "files": m.files,
        }
        for m in new
        if m.is_bot or m.user_id not in opted_out
    ]
    return len(insert_all_absent(session, Message, rows, keys=["team_id", "channel_id", "ts"]))


def stored_ts(*, session: Session, team_id: str, channel_id: str, ts: Sequence[str]) -> set[str]:
    """Which of these message ids the channel's history holds already (deleted ones included: they were seen)."""
    found: set[str] = set()
    for i in range(0, len(ts), _TS_PER_QUERY):
        query = select(Message.ts).where(
            Message.team_id == team_id, Message.channel_id == channel_id, Message.ts.in_(ts[i : i + _TS_PER_QUERY])
        )
        found.update(session.scalars(query))
    return found


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
    """Stores one message (see `save_messages`); returns whether a new row was written."""
    one = NewMessage(ts=ts, user_id=user_id, text=text, thread_ts=thread_ts, is_bot=is_bot)
    return save_messages(session=session, team_id=team_id, channel_id=channel_id, new=[one]) == 1


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
        .values(text="", deleted=True, files=None),
    )
    return bool(changed)


def get_message(*, session: Session, team_id: str, channel_id: str, ts: str) -> StoredMessage | None:
    row = session.execute(select(*_STORED).where(*_live(team_id, channel_id)).where(Message.ts == ts)).first()
    return StoredMessage(*row) if row is not None else None


def recent_messages(
    *, session: Session, team_id: str, channel_id: str, limit: int, since_ts: str | None = None
) -> list[StoredMessage]:
    """The last `limit` live messages of a channel (top level and thread replies), oldest first."""
    query = select(*_STORED).where(*_live(team_id, channel_id)).order_by(Message.ts.desc()).limit(limit)
    if since_ts is not None:
        query = query.where(Message.ts >= since_ts)
    rows = session.execute(query).all()
    return [StoredMessage(*row) for row in reversed(rows)]


def thread_messages(
    *, session: Session, team_id: str, channel_id: str, thread_ts: str, limit: int = 1000
) -> list[StoredMessage]:
    """A thread's parent and replies, oldest first."""
    parent = get_message(session=session, team_id=team_id, channel_id=channel_id, ts=thread_ts)
    replies = session.execute(
        select(*_STORED)
        .where(*_live(team_id, channel_id))
        .where(Message.thread_ts == thread_ts)
        .order_by(Message.ts)
        .limit(limit)
    ).all()
    return ([parent] if parent is not None else []) + [StoredMessage(*row) for row in replies]


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
