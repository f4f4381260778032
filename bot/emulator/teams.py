"""Workspaces the emulated app is installed in, each with its own bot token and its own state.

A distributed Slack app lives in many workspaces at once, and Slack keeps them apart by token: a call made with
one workspace's bot token sees that workspace only. `EmulatedTeam` is one such workspace with the calls tests use
to seed and inspect it; `TeamRegistry` is how the Web API finds the workspace a token belongs to, and which
tokens Slack no longer accepts.
"""

from __future__ import annotations

import copy
import secrets
import threading
from typing import Any

from bot.emulator.events import EventFactory
from bot.emulator.methods.files import share_file
from bot.emulator.response_urls import ResponseUrls
from bot.emulator.workspace import Identity, UnknownChannelError, Workspace


class EmulatedTeam:
    """One workspace: who the app is there (its identity and bot token) and what its people see."""

    def __init__(self, identity: Identity, *, bot_token: str) -> None:
        self.identity = identity
        self.bot_token = bot_token
        self.workspace = Workspace(identity)
        self.response_urls = ResponseUrls(self.workspace)
        self.events = EventFactory(identity, self.workspace)

    @property
    def team_id(self) -> str:
        return self.identity.team_id

    # ----- seeding the workspace ----------------------------------------------------------------------

    def add_user(
        self, user_id: str, *, name: str, real_name: str | None = None, tz: str = "Europe/Paris", is_bot: bool = False
    ) -> dict[str, Any]:
        return self.workspace.add_user(user_id, name=name, real_name=real_name, tz=tz, is_bot=is_bot)

    def add_channel(
        self, channel_id: str, *, name: str, is_private: bool = False, is_member: bool = True, user: str | None = None
    ) -> dict[str, Any]:
        """A conversation the bot can see. is_member=False: the bot has not joined (not_in_channel).
        `D…` ids are DMs with `user`."""
        return self.workspace.add_channel(channel_id, name=name, is_private=is_private, is_member=is_member, user=user)

    def add_message(
        self, channel: str, *, user: str, text: str, ts: str | None = None, thread_ts: str | None = None, **fields: Any
    ) -> str:
        """Seed history that conversations.history/replies return. Extra fields (metadata, subtype...) are
        stored as given. Returns the message ts."""
        ws = self.workspace
        with ws.lock:
            if channel not in ws.channels:
                raise UnknownChannelError(channel)
            if thread_ts and ws.find(channel, thread_ts) is None:
                raise ValueError(f"no message {thread_ts} in {channel} to reply to: add the parent first")
            message: dict[str, Any] = {
                "type": "message",
                "user": user,
                "text": text,
                "ts": ts or ws.next_ts(),
                "team": self.identity.team_id,
            }
            if user == self.identity.bot_user_id:
                message.update({"bot_id": self.identity.bot_id, "app_id": self.identity.app_id})
            if thread_ts:
                message["thread_ts"] = thread_ts
            message.update(copy.deepcopy(fields))
            return ws.add(channel, message)["ts"]

    def share_file(
        self, *, user: str, name: str, content: bytes, mimetype: str | None = None, title: str | None = None
    ) -> dict[str, Any]:
        """A file someone uploads to Slack, as the file object Slack puts in the message that shares it (pass it
        to message_event(files=[...])). Its url_private serves `content` to requests with this team's bot token."""
        return share_file(self.workspace, user=user, name=name, content=content, mimetype=mimetype, title=title)

    # ----- what people see ----------------------------------------------------------------------------

    def messages(
        self, channel: str, *, thread_ts: str | None = None, include_replies: bool = False
    ) -> list[dict[str, Any]]:
        """The channel as users see it now, oldest first: top-level messages, or one thread (parent first).
        include_replies=True lists every message of the channel, thread replies included."""
        ws = self.workspace
        with ws.lock:
            if channel not in ws.channels:
                raise UnknownChannelError(channel)
            if thread_ts:
                found = ws.replies(channel, thread_ts)
            elif include_replies:
                found = ws.history[channel]
            else:
                found = ws.top_level(channel)
            return copy.deepcopy(found)

    def ephemeral_messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (chat.postEphemeral and ephemeral response_url answers)."""
        return [
            m for m in self.workspace.snapshot(self.workspace.ephemerals) if channel is None or m["channel"] == channel
        ]

    def response_url_posts(self) -> list[dict[str, Any]]:
        """The JSON bodies the app POSTed to response_urls, in order."""
        return self.response_urls.snapshot()

    @property
    def uploaded_files(self) -> list[dict[str, Any]]:
        """Completed v2 uploads: file_id, filename, title, channel_id, thread_ts, initial_comment, length,
        content (bytes), message_ts."""
        return self.workspace.snapshot(self.workspace.uploaded_files)

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """The App Home view last published for each user."""
        return self.workspace.snapshot(self.workspace.home_views)


class TeamRegistry:
    """Which workspace a bot token opens, and which tokens were revoked (Slack answers `token_revoked`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._teams: dict[str, EmulatedTeam] = {}
        self._revoked: set[str] = set()

    def add(self, team: EmulatedTeam) -> EmulatedTeam:
        with self._lock:
            if team.team_id in self._teams:
                raise ValueError(f"the emulator already has a team {team.team_id!r}")
            if any(other.bot_token == team.bot_token for other in self._teams.values()):
                raise ValueError("each team needs a bot token of its own")
            self._teams[team.team_id] = team
        return team

    def get(self, team_id: str) -> EmulatedTeam | None:
        with self._lock:
            return self._teams.get(team_id)

    def all(self) -> list[EmulatedTeam]:
        with self._lock:
            return list(self._teams.values())

    def owner(self, token: str) -> EmulatedTeam | None:
        """The team whose live bot token this is; None for unknown and revoked tokens."""
        with self._lock:
            if token in self._revoked:
                return None
            return next((team for team in self._teams.values() if team.bot_token == token), None)

    def is_revoked(self, token: str) -> bool:
        with self._lock:
            return token in self._revoked

    def revoke(self, team: EmulatedTeam) -> None:
        with self._lock:
            self._revoked.add(team.bot_token)

    def fresh_token_if_revoked(self, team: EmulatedTeam) -> str:
        """A reinstall after the token was revoked gets a new token, as it does on Slack."""
        with self._lock:
            if team.bot_token in self._revoked:
                team.bot_token = f"xoxb-{team.team_id.lower()}-{secrets.token_hex(12)}"
            return team.bot_token
