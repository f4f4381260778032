"""Names and links: user ids → display names (cached users.info), message ts → permalinks.

Skills see people by name, never by raw id, and cite messages by permalink. Permalinks are built from the
workspace URL that auth.test returns, the same shape chat.getPermalink answers, so citing ten messages costs
no API calls. The URL is that of the workspace the current job acts for (bot/slack/teams.py).
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.teams import Teams, current_team

logger = logging.getLogger(__name__)

NAME_TTL_SECONDS = 3600.0


class Directory:
    def __init__(self, client: WebClient, *, teams: Teams) -> None:
        self._client = client
        self._names: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._teams = teams

    def display_name(self, team_id: str, user_id: str | None) -> str:
        if not user_id:
            return "someone"
        key = (team_id, user_id)
        with self._lock:
            cached = self._names.get(key)
        if cached and time.monotonic() - cached[1] < NAME_TTL_SECONDS:
            return cached[0]
        name = self._lookup(user_id)
        with self._lock:
            self._names[key] = (name, time.monotonic())
        return name

    def _lookup(self, user_id: str) -> str:
        try:
            user = self._client.users_info(user=user_id)["user"]
        except SlackApiError as exc:
            logger.info("users.info failed for a user (%s)", exc.response.get("error"))
            return user_id
        profile = user.get("profile") or {}
        return (
            profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
            or user_id
        )

    def workspace_url(self) -> str:
        return self._teams.workspace_url(current_team.get())

    def permalink(self, channel_id: str, ts: str, thread_ts: str | None = None) -> str:
        link = f"{self.workspace_url()}archives/{channel_id}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return link
