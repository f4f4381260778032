"""Which files were shared with which stored messages: Slack's ids and names only (messages.files, migration 0009).

Their contents are never stored: an answer that needs them reads them from Slack (bot/slack/files.py), so a file
deleted in Slack is gone for Parlance too, and forgetting a message forgets its files with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.tables import Message

_TS_PER_QUERY = 500


def files_of(*, session: Session, team_id: str, channel_id: str, ts: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """The files shared with each of these messages that had any, by message ts."""
    found: dict[str, list[dict[str, Any]]] = {}
    for i in range(0, len(ts), _TS_PER_QUERY):
        query = select(Message.ts, Message.files).where(
            Message.team_id == team_id,
            Message.channel_id == channel_id,
            Message.ts.in_(ts[i : i + _TS_PER_QUERY]),
            Message.deleted.is_(False),
            Message.files.is_not(None),
        )
        for message_ts, files in session.execute(query):
            if files:
                found[message_ts] = list(files)
    return found
