"""Reading history the bot missed (it joined late, or was down) from Slack, and storing it.

conversations.history is rate limited (Tier 3, about 50 calls a minute); slack_sdk's retry handler waits out
each 429's Retry-After, and a backfill is bounded in pages so one request never drains the quota.
"""

from __future__ import annotations

import logging
from itertools import islice
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.slack.history import as_new_message
from storage import messages as message_queries
from storage.db import read_session

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
MAX_PAGES = 10
MAX_THREADS = 25


def backfill_channel(
    *,
    client: WebClient,
    sessions: sessionmaker[Session],
    team_id: str,
    channel_id: str,
    oldest: str | None = None,
    limit: int = PAGE_SIZE * MAX_PAGES,
    with_threads: bool = True,
) -> int:
    """Stores the channel's messages since `oldest` (newest first, at most `limit`) and, for threads among
    them, their replies. Returns how many messages were new to us; a channel we may not read yields 0."""
    stored = 0
    threads: list[str] = []
    fetched = 0
    kwargs: dict[str, Any] = {"channel": channel_id, "limit": min(PAGE_SIZE, limit)}
    if oldest:
        kwargs["oldest"] = oldest
    try:
        # slack_sdk follows the cursor from page to page (newest first); we stop at `limit` messages
        for response in islice(client.conversations_history(**kwargs), MAX_PAGES):
            page = response.get("messages", [])[: limit - fetched]
            fetched += len(page)
            stored += _store(sessions, team_id, channel_id, page)
            threads += [m["ts"] for m in page if m.get("reply_count") and m.get("ts")]
            if fetched >= limit:
                break
        if with_threads:
            for thread_ts in threads[:MAX_THREADS]:
                stored += backfill_thread(
                    client=client, sessions=sessions, team_id=team_id, channel_id=channel_id, thread_ts=thread_ts
                )
    except SlackApiError as exc:
        logger.info("backfill of a channel stopped: %s", exc.response.get("error"))
    return stored


def backfill_thread(
    *,
    client: WebClient,
    sessions: sessionmaker[Session],
    team_id: str,
    channel_id: str,
    thread_ts: str,
    oldest: str | None = None,
) -> int:
    """Stores a thread's parent and replies; those posted before `oldest` (past the retention) are skipped."""
    stored = 0
    replies = client.conversations_replies(channel=channel_id, ts=thread_ts, limit=PAGE_SIZE)
    for response in islice(replies, MAX_PAGES):  # slack_sdk follows the cursor
        page = [m for m in response.get("messages", []) if oldest is None or m.get("ts", "") >= oldest]
        stored += _store(sessions, team_id, channel_id, page)
    return stored


def _store(sessions: sessionmaker[Session], team_id: str, channel_id: str, page: list[dict[str, Any]]) -> int:
    """Stores the page's messages we do not have, in one statement. Most of a page usually arrived as events
    already: finding that out reads without the write lock, which the acks of the web process need."""
    new = [message for message in map(as_new_message, page) if message is not None]
    with read_session(sessions) as session:
        known = message_queries.stored_ts(
            session=session, team_id=team_id, channel_id=channel_id, ts=[m.ts for m in new]
        )
    new = [message for message in new if message.ts not in known]
    if not new:
        return 0
    with sessions.begin() as session:
        return message_queries.save_messages(session=session, team_id=team_id, channel_id=channel_id, new=new)
