"""Which workspace a job acts for, and who the bot is there.

Listeners get a client that already holds the right workspace's token from Bolt. Jobs run later, on dispatcher
threads, so the dispatcher marks the team a job belongs to (`acting_for`) and what a runner touches reads it from
there: `TeamWebClient` sends each call with that team's bot token, and `Teams` answers the bot's user id and the
workspace URL (for permalinks). With one workspace (SLACK_BOT_TOKEN) the answers are fixed; with installs through
OAuth they come from the installation store, so a job never answers one workspace with another's token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot, InstallationStore
from slack_sdk.web import SlackResponse

logger = logging.getLogger(__name__)

FALLBACK_WORKSPACE_URL = "https://slack.com/"
# How long a team's bot token is trusted without asking the store again. Uninstalls handled by this process drop it
# at once; one handled by another process reaches this one within this time (the token is dead by then anyway).
CACHE_SECONDS = 60.0
# Slack's answers to a token that no longer works: the team was reinstalled (new token) or removed.
DEAD_TOKEN_ERRORS = frozenset({"token_revoked", "invalid_auth", "account_inactive", "token_expired"})

current_team: ContextVar[str | None] = ContextVar("parlance_current_team", default=None)


@contextmanager
def acting_for(team_id: str) -> Iterator[None]:
    """Marks the workspace the work inside the block is for (the dispatcher wraps each job in it)."""
    token = current_team.set(team_id)
    try:
        yield
    finally:
        current_team.reset(token)


class Teams(Protocol):
    """Who the bot is in a workspace; runners ask about the team they act for (`current_team`)."""

    def bot_user_id(self, team_id: str | None) -> str | None: ...

    def workspace_url(self, team_id: str | None) -> str: ...


class OneTeam:
    """SLACK_BOT_TOKEN: one workspace, whichever team id a job names. The start-up auth.test gives both answers;
    when it failed, the URL is asked once more on first use and slack.com stands in after that."""

    def __init__(self, client: WebClient, *, bot_user_id: str | None, workspace_url: str | None) -> None:
        self._client = client
        self._bot_user_id = bot_user_id
        self._workspace_url = _with_slash(workspace_url) if workspace_url else None

    def bot_user_id(self, team_id: str | None = None) -> str | None:
        return self._bot_user_id

    def workspace_url(self, team_id: str | None = None) -> str:
        if self._workspace_url is None:
            url = FALLBACK_WORKSPACE_URL
            try:
                url = self._client.auth_test().get("url") or url
            except SlackApiError:
                logger.warning("auth.test failed; permalinks fall back to slack.com")
            self._workspace_url = _with_slash(url)
        return self._workspace_url


class InstalledTeams:
    """Installs through OAuth: each team's bot (token, user id) from the installation store, cached for a minute so
    a job's dozen Slack calls cost one lookup; its workspace URL from one auth.test with its own token."""

    def __init__(self, store: InstallationStore, client: WebClient, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self._client = client  # a plain client: every call here passes the team's token explicitly
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._bots: dict[str, tuple[Bot, float]] = {}
        self._urls: dict[str, str] = {}

    def bot(self, team_id: str | None) -> Bot | None:
        """The team's latest bot install, or None when the app is not (or no longer) installed there."""
        if not team_id:
            return None
        with self._lock:
            cached = self._bots.get(team_id)
        if cached is not None and time.monotonic() - cached[1] < self._cache_seconds:
            return cached[0]
        bot = self.store.find_bot(enterprise_id=None, team_id=team_id)
        with self._lock:
            if bot is not None and bot.bot_token:
                self._bots[team_id] = (bot, time.monotonic())
            else:
                self._bots.pop(team_id, None)
        return bot if bot is not None and bot.bot_token else None

    def is_installed(self, team_id: str | None) -> bool:
        return self.bot(team_id) is not None

    def bot_token(self, team_id: str | None) -> str | None:
        bot = self.bot(team_id)
        return bot.bot_token if bot is not None else None

    def bot_user_id(self, team_id: str | None) -> str | None:
        bot = self.bot(team_id)
        return bot.bot_user_id if bot is not None else None

    def workspace_url(self, team_id: str | None) -> str:
        with self._lock:
            known = self._urls.get(team_id or "")
        if known is not None:
            return known
        token = self.bot_token(team_id)
        if token is None:
            return FALLBACK_WORKSPACE_URL
        try:
            url = self._client.auth_test(token=token).get("url")
        except SlackApiError:
            logger.warning("auth.test failed for team %s; its permalinks fall back to slack.com", team_id)
            return FALLBACK_WORKSPACE_URL
        if not url:
            return FALLBACK_WORKSPACE_URL
        with self._lock:
            self._urls[team_id or ""] = _with_slash(url)
        return _with_slash(url)

    def forget(self, team_id: str) -> None:
        """Drops what is cached about the team (its tokens were revoked or the app was removed)."""
        with self._lock:
            self._bots.pop(team_id, None)
            self._urls.pop(team_id, None)


class TeamWebClient(WebClient):
    """The jobs' Web API client with installs through OAuth: each call carries the bot token of the team the current
    job acts for (`acting_for`), read when the call is made, so one client serves every workspace."""

    def __init__(self, teams: InstalledTeams, **kwargs: Any) -> None:
        self._teams = teams
        super().__init__(**kwargs)

    @property
    def token(self) -> str | None:
        team_id = current_team.get()
        return self._teams.bot_token(team_id) if team_id else None

    @token.setter
    def token(self, value: str | None) -> None:
        if value is not None:
            raise ValueError("TeamWebClient's token comes from the installation of the team a job acts for")

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        """A token Slack refuses may be one another process replaced (a reinstall) within the cache's minute: look
        the team up again and, if its token changed, make the call once more (a refused call did nothing)."""
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            team_id = current_team.get()
            if team_id is None or exc.response.get("error") not in DEAD_TOKEN_ERRORS or kwargs.get("files"):
                raise
            stale = self.token
            self._teams.forget(team_id)
            if self.token in (None, stale):
                raise
            logger.info("team %s has a new bot token; calling %s again with it", team_id, api_method)
            return super().api_call(api_method, **kwargs)


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"
