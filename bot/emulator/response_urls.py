"""Slash-command and shortcut `response_url`s, served by the emulator.

Slack gives each command a URL the app may POST JSON to (five times at most). `in_channel` answers become
channel messages that everyone sees, ephemeral ones are shown to the user only; both are recorded so tests
can assert what the user was told.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.limits import check_message
from bot.emulator.workspace import Workspace

RESPONSE_PATH = "response/"
MAX_USES = 5


@dataclass
class _Target:
    channel_id: str
    user_id: str
    uses: int = 0


@dataclass
class ResponseUrls:
    workspace: Workspace
    base_url: str = ""
    posts: list[dict[str, Any]] = field(default_factory=list)
    _targets: dict[str, _Target] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def new(self, *, channel_id: str, user_id: str) -> str:
        """A fresh response_url for a command run by `user_id` in `channel_id`."""
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._targets[key] = _Target(channel_id, user_id)
        return f"{self.base_url}{RESPONSE_PATH}{key}"

    def issued(self, key: str) -> bool:
        """Whether this workspace handed out `key` (each workspace has its own response_urls)."""
        with self._lock:
            return key in self._targets

    def receive(self, key: str, body: bytes) -> tuple[int, str]:
        """Handle a POST to a response_url; returns (HTTP status, plain-text body) as Slack's hooks do."""
        with self._lock:
            target = self._targets.get(key)
            if target is None:
                return 404, "no_service"
            if target.uses >= MAX_USES:
                return 404, "used_url"
            try:
                payload = json.loads(body.decode("utf-8"))
            except ValueError:
                return 400, "invalid_payload"
            if not isinstance(payload, dict):
                return 400, "invalid_payload"
            problem = None if payload.get("delete_original") else check_message(payload)
            if problem:
                return 400, problem["error"]
            target.uses += 1
            self.posts.append(copy.deepcopy(payload))
        self._show(target, payload)
        return 200, "ok"

    def _show(self, target: _Target, payload: dict[str, Any]) -> None:
        ws = self.workspace
        with ws.lock:
            if payload.get("response_type") == "in_channel" and target.channel_id in ws.channels:
                me = ws.identity
                message = {
                    "type": "message",
                    "subtype": "bot_message",
                    "text": payload.get("text", ""),
                    "bot_id": me.bot_id,
                    "app_id": me.app_id,
                    "ts": ws.next_ts(),
                    "team": me.team_id,
                }
                for key in ("blocks", "attachments", "thread_ts"):
                    if payload.get(key):
                        message[key] = copy.deepcopy(payload[key])
                ws.add(target.channel_id, message)
            elif not payload.get("delete_original"):
                ws.ephemerals.append(
                    {
                        "channel": target.channel_id,
                        "user": target.user_id,
                        "message_ts": ws.next_ts(),
                        "via": "response_url",
                        **{k: copy.deepcopy(payload[k]) for k in ("text", "blocks") if k in payload},
                    }
                )

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self.posts)
