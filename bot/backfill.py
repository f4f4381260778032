"""Reading history the bot missed (it joined late, or was down) from Slack, and storing it.

conversations.history is rate limited (Tier 3, about 50 calls a minute); slack_sdk's retry handler waits out
each 429's Retry-After, and a backfill is bounded in pages so one request never drains the quota.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.history import store_slack_message

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
    cursor: str | None = None
    fetched = 0
    try:
        for _page in range(MAX_PAGES):
            kwargs: dict[str, Any] = {"channel": channel_id, "limit": min(PAGE_SIZE, limit - fetched)}
            if oldest:
                kwargs["oldest"] = oldest
            if cursor:
                kwargs["cursor"] = cursor
            response = client.conversations_history(**kwargs)
            page = response.get("messages", [])
            fetched += len(page)
            stored += _store(sessions, team_id, channel_id, page)
            threads += [m["ts"] for m in page if m.get("reply_count") and m.get("ts")]
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor or fetched >= limit:
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
    cursor: str | None = None
    for _page in range(MAX_PAGES):
        kwargs: dict[str, Any] = {"channel": channel_id, "ts": thread_ts, "limit": PAGE_SIZE}
        if cursor:
            kwargs["cursor"] = cursor
        response = client.conversations_replies(**kwargs)
        page = [m for m in response.get("messages", []) if oldest is None or m.get("ts", "") >= oldest]
        stored += _store(sessions, team_id, channel_id, page)
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return stored


def _store(sessions: sessionmaker[Session], team_id: str, channel_id: str, page: list[dict[str, Any]]) -> int:
    with sessions.begin() as session:
        return sum(
            store_slack_message(session=session, team_id=team_id, channel_id=channel_id, message=message)
            for message in page
        )
