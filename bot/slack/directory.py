"""People and links: user ids → what we use of a user (one cached users.info), message ts → permalinks.

Skills see people by name, never by raw id, and cite messages by permalink; /translate reads the caller's
language and /sentiment their time zone from the same cached user. Permalinks are built from the workspace URL
that auth.test returns, the same shape chat.getPermalink answers, so citing ten messages (or linking a digest's
threads) costs no API calls. The URL is that of the workspace the current job acts for (bot/slack/teams.py).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.teams import Teams, current_team

logger = logging.getLogger(__name__)

USER_TTL_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class SlackUser:
    """What we use of a Slack user. When Slack would not say (users.info failed), the name is the id and the
    rest is None: callers fall back (UTC, a language picker) rather than fail."""

    id: str
    name: str  # display name, else real name, else handle
    tz: str | None  # IANA zone, e.g. "Europe/Paris"
    locale: str | None  # e.g. "fr-FR"


class Directory:
    def __init__(self, client: WebClient, *, teams: Teams) -> None:
        self._client = client
        self._users: dict[tuple[str, str], tuple[SlackUser, float]] = {}
        self._lock = threading.Lock()
        self._teams = teams

    def user(self, team_id: str, user_id: str) -> SlackUser:
        """The user, from users.info at most once an hour per workspace and user."""
        key = (team_id, user_id)
        with self._lock:
            cached = self._users.get(key)
        if cached and time.monotonic() - cached[1] < USER_TTL_SECONDS:
            return cached[0]
        user = self._lookup(user_id)
        with self._lock:
            self._users[key] = (user, time.monotonic())
        return user

    def display_name(self, team_id: str, user_id: str | None) -> str:
        return self.user(team_id, user_id).name if user_id else "someone"

    def _lookup(self, user_id: str) -> SlackUser:
        try:
            user = self._client.users_info(user=user_id, include_locale=True)["user"]
        except SlackApiError as exc:
            logger.info("users.info failed for a user (%s)", exc.response.get("error"))
            return SlackUser(id=user_id, name=user_id, tz=None, locale=None)
        profile = user.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or user.get("real_name")
            or user.get("name")
            or user_id
        )
        return SlackUser(id=user_id, name=name, tz=user.get("tz") or None, locale=user.get("locale") or None)

    def workspace_url(self) -> str:
        return self._teams.workspace_url(current_team.get())

    def permalink(self, channel_id: str, ts: str, thread_ts: str | None = None) -> str:
        link = f"{self.workspace_url()}archives/{channel_id}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return link
