"""Payloads exactly as Slack sends them: Events API events and envelopes, slash commands, shortcuts.

One factory serves both transports: SlackSender posts these over HTTP, SlackEmulator pushes them over
Socket Mode. When it knows the emulated workspace it takes message timestamps from it and fills in what
Slack would (the previous text of an edited message, the author of a reacted-to message).
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
import uuid
from decimal import Decimal
from typing import Any

from bot.emulator.workspace import Identity, Workspace, new_id

DEFAULT_VERIFICATION_TOKEN = "emulator-verification-token"


def _channel_type(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def _rich_text(text: str) -> list[dict[str, Any]]:
    """The blocks Slack's clients attach to a typed message (one rich_text section with the text)."""
    return [
        {
            "type": "rich_text",
            "block_id": secrets.token_hex(3),
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
        }
    ]


class EventFactory:
    """Builds Slack payloads for one app in one workspace."""

    def __init__(
        self,
        identity: Identity,
        workspace: Workspace | None = None,
        *,
        verification_token: str = DEFAULT_VERIFICATION_TOKEN,
    ) -> None:
        self.identity = identity
        self.workspace = workspace
        self.verification_token = verification_token
        self._lock = threading.Lock()
        self._last_ts = Decimal(0)

    def next_ts(self) -> str:
        if self.workspace is not None:
            return self.workspace.next_ts()
        with self._lock:
            self._last_ts = max(Decimal(f"{time.time():.6f}"), self._last_ts + Decimal("0.000001"))
            return f"{self._last_ts:.6f}"

    def _stored(self, channel: str, ts: str) -> dict[str, Any] | None:
        if self.workspace is None:
            return None
        with self.workspace.lock:
            found = self.workspace.find(channel, ts)
            return copy.deepcopy(found) if found else None

    # ----- Events API events --------------------------------------------------------------------------

    def message_event(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        channel_type: str | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A person's message; with `files` (from EmulatedTeam.share_file) the `file_share` message Slack sends
        when files are shared with it."""
        ts = ts or self.next_ts()
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": channel_type or _channel_type(channel),
            "team": self.identity.team_id,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": _rich_text(text),
        }
        if files:
            event.update({"subtype": "file_share", "files": copy.deepcopy(files), "upload": False,
                          "display_as_bot": False})  # fmt: skip
        if thread_ts:
            event["thread_ts"] = thread_ts
            parent = self._stored(channel, thread_ts)
            if parent and parent.get("user"):
                event["parent_user_id"] = parent["user"]
        return event

    def mention_event(
        self, channel: str, user: str, text: str, *, ts: str | None = None, thread_ts: str | None = None
    ) -> dict[str, Any]:
        mention = f"<@{self.identity.bot_user_id}>"
        text = text if mention in text else f"{mention} {text}"
        event = self.message_event(channel, user, text, ts=ts, thread_ts=thread_ts)
        event["type"] = "app_mention"
        for key in ("channel_type", "parent_user_id"):
            event.pop(key, None)
        return event

    def edit_event(self, channel: str, ts: str, new_text: str, *, user: str) -> dict[str, Any]:
        now = self.next_ts()
        previous = self._stored(channel, ts) or {
            "type": "message",
            "user": user,
            "text": "",
            "ts": ts,
            "team": self.identity.team_id,
        }
        message = {**previous, "text": new_text, "blocks": _rich_text(new_text), "edited": {"user": user, "ts": now}}
        for key in ("reactions",):
            message.pop(key, None)
        return {
            "type": "message",
            "subtype": "message_changed",
            "message": message,
            "previous_message": previous,
            "channel": channel,
            "hidden": True,
            "ts": now,
            "event_ts": now,
            "channel_type": _channel_type(channel),
        }

    def delete_event(self, channel: str, ts: str) -> dict[str, Any]:
        now = self.next_ts()
        event: dict[str, Any] = {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "deleted_ts": ts,
            "channel": channel,
            "ts": now,
            "event_ts": now,
            "channel_type": _channel_type(channel),
        }
        previous = self._stored(channel, ts)
        if previous:
            event["previous_message"] = previous
        return event

    def reaction_event(self, channel: str, ts: str, reaction: str, *, user: str) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": "reaction_added",
            "user": user,
            "reaction": reaction,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": self.next_ts(),
        }
        stored = self._stored(channel, ts)
        if stored and stored.get("user"):
            event["item_user"] = stored["user"]
        return event

    def home_opened_event(self, user: str, *, channel: str | None = None) -> dict[str, Any]:
        """The person opened the app's Home tab (`channel` is their DM with the app)."""
        return {
            "type": "app_home_opened",
            "user": user,
            "channel": channel or f"D{user[1:]}",
            "tab": "home",
            "event_ts": self.next_ts(),
        }

    def agent_thread_started_event(self, user: str, *, channel: str | None = None) -> dict[str, Any]:
        """The person opened a new thread with the app in its Messages tab (the agent view): Slack starts the thread
        in their DM with the app (`channel`) and tells the app which thread it is."""
        ws = self.workspace
        if ws is None:
            raise ValueError("an agent thread is started in the emulated workspace: build the factory with one")
        channel = channel or f"D{user[1:]}"
        if ws.channel(channel) is None:
            ws.add_channel(channel, name=user, user=user)
        me = self.identity
        root = ws.add(
            channel, {"type": "message", "user": me.bot_user_id, "bot_id": me.bot_id, "text": "", "ts": ws.next_ts()}
        )
        return {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": user,
                "context": {"channel_id": None, "team_id": me.team_id, "enterprise_id": None},
                "channel_id": channel,
                "thread_ts": root["ts"],
            },
            "event_ts": self.next_ts(),
        }

    def agent_session_stopped_event(self, channel: str, thread_ts: str, *, user: str) -> dict[str, Any]:
        """The person pressed the stop button of the agent's session in a thread: Slack ends the bot's open streams
        there (listed in `streaming_message_ts`) and tells the app, which must stop its work."""
        stopped = self.workspace.stop_streams(channel, thread_ts) if self.workspace is not None else []
        return {
            "type": "agent_session_stopped",
            "channel": channel,
            "thread_ts": thread_ts,
            "streaming_message_ts": stopped,
            "user": user,
            "event_ts": self.next_ts(),
        }

    def app_uninstalled_event(self) -> dict[str, Any]:
        """Sent once the app was removed from the workspace (its tokens are already revoked)."""
        return {"type": "app_uninstalled", "event_ts": self.next_ts()}

    def tokens_revoked_event(self, *, bot: list[str] | None = None, oauth: list[str] | None = None) -> dict[str, Any]:
        """Sent when tokens are revoked: `bot` lists bot user ids, `oauth` the users whose user tokens went."""
        tokens: dict[str, list[str]] = {}
        if oauth:
            tokens["oauth"] = list(oauth)
        if bot is None and not oauth:
            bot = [self.identity.bot_user_id]
        if bot:
            tokens["bot"] = list(bot)
        return {"type": "tokens_revoked", "tokens": tokens, "event_ts": self.next_ts()}

    # ----- envelopes and other payloads ---------------------------------------------------------------

    def event_callback(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        me = self.identity
        return {
            "token": self.verification_token,
            "team_id": me.team_id,
            "context_team_id": me.team_id,
            "context_enterprise_id": None,
            "api_app_id": me.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or new_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": me.team_id,
                    "user_id": me.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(24),
        }

    def channel_name(self, channel_id: str) -> str:
        if self.workspace is not None:
            channel = self.workspace.channel(channel_id)
            if channel is not None:
                return "directmessage" if channel.get("is_im") else channel.get("name", channel_id)
        return "directmessage" if channel_id.startswith("D") else channel_id.lower()

    def trigger_id(self) -> str:
        return f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"

    def command(
        self, command: str, text: str, *, user_id: str, channel_id: str, user_name: str, response_url: str
    ) -> dict[str, str]:
        me = self.identity
        return {
            "token": self.verification_token,
            "team_id": me.team_id,
            "team_domain": me.team_domain,
            "channel_id": channel_id,
            "channel_name": self.channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": me.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": self.trigger_id(),
        }

    def message_shortcut(
        self,
        callback_id: str,
        *,
        message: dict[str, Any],
        channel_id: str,
        user_id: str,
        user_name: str,
        response_url: str,
    ) -> dict[str, Any]:
        me = self.identity
        return {
            "type": "message_action",
            "token": self.verification_token,
            "action_ts": self.next_ts(),
            "team": {"id": me.team_id, "domain": me.team_domain},
            "user": {"id": user_id, "username": user_name, "team_id": me.team_id, "name": user_name},
            "channel": {"id": channel_id, "name": self.channel_name(channel_id)},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.trigger_id(),
            "response_url": response_url,
            "message_ts": message.get("ts"),
            "message": message,
        }

    def block_action(
        self,
        action_id: str,
        *,
        block_id: str,
        value: str,
        label: str,
        channel_id: str,
        user_id: str,
        user_name: str,
        message_ts: str,
        response_url: str,
        ephemeral: bool = True,
    ) -> dict[str, Any]:
        """A choice in a `static_select` of a message the app posted (`block_actions`, as Slack sends it)."""
        action = {
            "type": "static_select",
            "action_id": action_id,
            "block_id": block_id,
            "selected_option": {"text": {"type": "plain_text", "text": label}, "value": value},
            "action_ts": self.next_ts(),
        }
        container = {"type": "message", "message_ts": message_ts, "channel_id": channel_id, "is_ephemeral": ephemeral}
        return self._block_actions(
            action, container=container, user_id=user_id, user_name=user_name, response_url=response_url
        )

    def feedback_action(
        self,
        message: dict[str, Any],
        *,
        helpful: bool,
        channel_id: str,
        user_id: str,
        user_name: str,
        response_url: str,
    ) -> dict[str, Any]:
        """A click on the 👍 (`helpful`) or 👎 of the feedback buttons a message shows, as Slack sends it: the
        clicked button's value and text, the block's and element's ids as the message has them, and the message
        itself unless it is ephemeral. `message` is a channel message (it has `ts`) or an ephemeral one as the
        emulator keeps it (`message_ts`). ValueError when the message shows no feedback buttons."""
        block, element = _feedback_buttons(message)
        button = element["positive_button" if helpful else "negative_button"]
        action = {
            "type": "feedback_buttons",
            "action_id": element.get("action_id") or secrets.token_hex(3),
            "block_id": block.get("block_id") or secrets.token_hex(3),
            "value": button["value"],
            "text": copy.deepcopy(button["text"]),
            "action_ts": self.next_ts(),
        }
        ephemeral = "ts" not in message
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": message["message_ts"] if ephemeral else message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        }
        if message.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"]
        payload = self._block_actions(
            action, container=container, user_id=user_id, user_name=user_name, response_url=response_url
        )
        if not ephemeral:
            payload["message"] = copy.deepcopy(message)
        return payload

    def _block_actions(
        self,
        action: dict[str, Any],
        *,
        container: dict[str, Any],
        user_id: str,
        user_name: str,
        response_url: str,
    ) -> dict[str, Any]:
        me = self.identity
        channel_id = container["channel_id"]
        return {
            "type": "block_actions",
            "token": self.verification_token,
            "api_app_id": me.app_id,
            "team": {"id": me.team_id, "domain": me.team_domain},
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": me.team_id},
            "container": container,
            "channel": {"id": channel_id, "name": self.channel_name(channel_id)},
            "trigger_id": self.trigger_id(),
            "response_url": response_url,
            "is_enterprise_install": False,
            "state": {"values": {}},
            "actions": [action],
        }


def _feedback_buttons(message: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The first context_actions block of a message that holds feedback buttons, and that element."""
    for block in message.get("blocks") or []:
        if block.get("type") != "context_actions":
            continue
        for element in block.get("elements") or []:
            if element.get("type") == "feedback_buttons":
                return block, element
    raise ValueError("the message shows no feedback buttons")
