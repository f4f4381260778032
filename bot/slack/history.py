"""Slack's message shape → stored history, in one place for the Events API and for backfill alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage import messages as message_queries

# Message subtypes that are something someone said; joins, topic changes and the like are not history.
STORED_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message", "bot_message"}


def is_from_bot(message: dict[str, Any]) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def as_new_message(message: dict[str, Any]) -> message_queries.NewMessage | None:
    """A Slack message (an event or a conversations.history item) as history to store; None when it is not
    history (a join, a topic change, no ts)."""
    if message.get("subtype") not in STORED_SUBTYPES or not message.get("ts"):
        return None
    return message_queries.NewMessage(
        ts=message["ts"],
        user_id=message.get("user") or message.get("bot_id"),
        text=message.get("text", ""),
        thread_ts=message.get("thread_ts"),
        is_bot=is_from_bot(message),
        files=file_refs(message) or None,
    )


_FILE_FIELDS = ("id", "name", "title", "mimetype", "filetype", "size")


def file_refs(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The files shared with a message, as ids and names: what an answer needs to read them from Slack later.
    Files Slack hides from the app (`file_access: check_file_info`) keep their id only."""
    return [
        {key: shared[key] for key in _FILE_FIELDS if key in shared}
        for shared in message.get("files") or []
        if isinstance(shared, dict) and shared.get("id")
    ]


def store_slack_message(*, session: Session, team_id: str, channel_id: str, message: dict[str, Any]) -> bool:
    """Stores one message as Slack describes it; False when it is not history or was stored already."""
    new = as_new_message(message)
    return (
        new is not None
        and message_queries.save_messages(session=session, team_id=team_id, channel_id=channel_id, new=[new]) == 1
    )
