"""The emulated workspace: users, channels and the messages in them.

The Web API methods, the event sender and the test assertions all read and write this one object, so a
message the app posts is the same message a later `conversations.replies` returns and a test inspects.
One lock guards everything because the HTTP and websocket servers call in from their own threads.
"""

from __future__ import annotations

import copy
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.emulator.users import user_object

_ID_ALPHABET = string.ascii_uppercase + string.digits
# Top-level messages that show up in a channel's history even though they belong to a thread.
_IN_HISTORY_SUBTYPES = {"thread_broadcast"}
# Message subtypes that are new messages (the others, like message_changed, describe a change).
_NEW_MESSAGE_SUBTYPES = {None, "thread_broadcast", "file_share", "me_message", "bot_message"}


def new_id(prefix: str, length: int = 10) -> str:
    """A Slack-looking id such as `F0A1B2C3D4E` (prefix plus upper-case letters and digits)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def ts_key(ts: str) -> Decimal:
    """Slack timestamps are decimal strings; compare them exactly, not as floats."""
    return Decimal(ts)


def parse_ts(value: Any) -> Decimal | None:
    """A `ts`-like argument as a Decimal, or None if it is not a number."""
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


class UnknownChannelError(ValueError):
    """Raised when test code refers to a channel the emulator was never told about."""

    def __init__(self, channel: str) -> None:
        super().__init__(
            f"channel {channel!r} is unknown to the Slack emulator: call emu.add_channel({channel!r}, name=...)"
        )


@dataclass
class Identity:
    """Who the emulated app is: the ids Slack would hand it at install time."""

    team_id: str
    team_domain: str
    team_name: str
    bot_user_id: str
    bot_id: str
    bot_name: str
    app_id: str


@dataclass
class PendingUpload:
    """A file between files.getUploadURLExternal and files.completeUploadExternal."""

    file_id: str
    filename: str
    length: int
    content: bytes | None = None


@dataclass
class Workspace:
    """All emulated Slack state. Every method takes the lock, so callers need no locking of their own."""

    identity: Identity
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    # channel id -> every message in it (top level and replies), kept in ts order.
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ephemerals: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, PendingUpload] = field(default_factory=dict)
    upload_tokens: dict[str, str] = field(default_factory=dict)
    uploaded_files: list[dict[str, Any]] = field(default_factory=list)
    home_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Files people shared (EmulatedTeam.share_file): file id -> Slack's file object, and -> its bytes, downloaded
    # from url_private with the bot token (bot/emulator/methods/files.py). files_base_url: where the emulator
    # listens, set when it starts.
    shared_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    file_contents: dict[str, bytes] = field(default_factory=dict)
    files_base_url: str = ""
    # (channel, ts) of each message started with chat.startStream -> "streaming", "stopped" or "expired"
    streams: dict[tuple[str, str], str] = field(default_factory=dict)
    streaming_refusal: str | None = None  # the error every chat.startStream gets, e.g. "not_allowed"
    # (channel, thread_ts) -> the loading status assistant.threads.setStatus shows there
    thread_status: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    suggested_prompts: dict[str, dict[str, Any]] = field(default_factory=dict)  # channel -> title and prompts
    # (channel, thread_ts) -> the agent session there: its status ("processing" shows the stop button) and title
    agent_sessions: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _last_ts: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        me = self.identity
        self.add_user(me.bot_user_id, name=me.bot_name, real_name=me.team_name, is_bot=True)

    # ----- ids and time -------------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A fresh message ts. Strictly increasing, so two posts in the same microsecond still sort."""
        with self.lock:
            now = Decimal(f"{time.time():.6f}")
            self._last_ts = max(now, self._last_ts + Decimal("0.000001"))
            return f"{self._last_ts:.6f}"

    # ----- users and channels -------------------------------------------------------------------------

    def add_user(
        self, user_id: str, *, name: str, real_name: str | None = None, tz: str = "Europe/Paris", is_bot: bool = False
    ) -> dict[str, Any]:
        with self.lock:
            me = self.identity
            bot = (me.bot_id, me.app_id) if user_id == me.bot_user_id else None
            user = user_object(
                user_id, team_id=me.team_id, name=name, real_name=real_name, tz=tz, is_bot=is_bot, bot=bot
            )
            self.users[user_id] = user
            return copy.deepcopy(user)

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        is_member: bool = True,
        user: str | None = None,
    ) -> dict[str, Any]:
        """Register a conversation. `D…` ids are direct messages (then `user` is the other person)."""
        with self.lock:
            is_im = channel_id.startswith("D")
            channel: dict[str, Any] = {
                "id": channel_id,
                "created": int(time.time()),
                "is_archived": False,
                "is_im": is_im,
                "is_org_shared": False,
                "context_team_id": self.identity.team_id,
                "updated": int(time.time() * 1000),
            }
            if is_im:
                channel.update({"user": user or "", "is_user_deleted": False, "priority": 0, "is_open": True})
            else:
                channel.update(
                    {
                        "name": name,
                        "name_normalized": name,
                        "is_channel": not is_private,
                        "is_group": is_private,
                        "is_private": is_private,
                        "is_mpim": False,
                        "is_general": name == "general",
                        "is_shared": False,
                        "is_ext_shared": False,
                        "creator": "",
                        "is_member": is_member,
                        "topic": {"value": "", "creator": "", "last_set": 0},
                        "purpose": {"value": "", "creator": "", "last_set": 0},
                        "previous_names": [],
                    }
                )
            self.channels[channel_id] = channel
            self.history.setdefault(channel_id, [])
            return copy.deepcopy(channel)

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        with self.lock:
            return self.channels.get(channel_id)

    def is_member(self, channel_id: str) -> bool:
        """The bot is always in its DMs; elsewhere it is where add_channel or conversations.join put it."""
        channel = self.channels[channel_id]
        return bool(channel.get("is_im") or channel.get("is_member"))

    # ----- messages -----------------------------------------------------------------------------------

    def find(self, channel_id: str, ts: str) -> dict[str, Any] | None:
        """The stored message (live object: callers hold the lock while they change it)."""
        for message in self.history.get(channel_id, []):
            if message["ts"] == ts:
                return message
        return None

    def add(self, channel_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Store a new message and keep thread bookkeeping (reply_count, latest_reply...) like Slack does.

        A `thread_ts` naming a reply is moved to that reply's parent; one naming no message at all is dropped,
        so the message lands at the top of the channel. That is what Slack does with a bad `thread_ts`.
        """
        with self.lock:
            if channel_id not in self.channels:
                raise UnknownChannelError(channel_id)
            message = dict(message)
            thread_ts = message.get("thread_ts")
            if thread_ts and thread_ts != message["ts"]:
                parent = self._thread_parent(channel_id, thread_ts)
                if parent is None:
                    message.pop("thread_ts", None)
                    message.pop("parent_user_id", None)
                    if message.get("subtype") == "thread_broadcast":
                        message.pop("subtype")
                else:
                    message["thread_ts"] = parent["ts"]
                    message.setdefault("parent_user_id", parent.get("user"))
            messages = self.history[channel_id]
            messages.append(message)
            messages.sort(key=lambda m: ts_key(m["ts"]))
            if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
                self._refresh_thread(channel_id, message["thread_ts"])
            return message

    def _thread_parent(self, channel_id: str, thread_ts: str) -> dict[str, Any] | None:
        found = self.find(channel_id, thread_ts)
        if found is None:
            return None
        root = found.get("thread_ts")
        if root and root != found["ts"]:
            return self.find(channel_id, root)
        return found

    def _refresh_thread(self, channel_id: str, thread_ts: str) -> None:
        parent = self.find(channel_id, thread_ts)
        if parent is None:
            return
        replies = self.replies(channel_id, thread_ts)[1:]
        if not replies and parent.get("subtype") == "tombstone":
            self.history[channel_id].remove(parent)
            return
        if not replies:
            for key in ("reply_count", "reply_users", "reply_users_count", "latest_reply", "thread_ts"):
                parent.pop(key, None)
            return
        users = list(dict.fromkeys(r.get("user") for r in replies if r.get("user")))
        parent.update(
            {
                "thread_ts": parent["ts"],
                "reply_count": len(replies),
                "reply_users": users,
                "reply_users_count": len(users),
                "latest_reply": replies[-1]["ts"],
            }
        )

    def top_level(self, channel_id: str) -> list[dict[str, Any]]:
        """What a channel shows: thread parents, plain messages and replies also sent to the channel."""
        return [
            m
            for m in self.history.get(channel_id, [])
            if not m.get("thread_ts") or m["thread_ts"] == m["ts"] or m.get("subtype") in _IN_HISTORY_SUBTYPES
        ]

    def replies(self, channel_id: str, thread_ts: str) -> list[dict[str, Any]]:
        """The thread parent followed by its replies, oldest first (empty if there is no such message)."""
        parent = self._thread_parent(channel_id, thread_ts)
        if parent is None:
            return []
        rest = [
            m
            for m in self.history.get(channel_id, [])
            if m.get("thread_ts") == parent["ts"] and m["ts"] != parent["ts"]
        ]
        return [parent, *rest]

    def delete(self, channel_id: str, ts: str) -> bool:
        """Remove a message. A parent with replies becomes Slack's "This message was deleted." tombstone."""
        with self.lock:
            message = self.find(channel_id, ts)
            if message is None:
                return False
            thread_ts = message.get("thread_ts")
            if thread_ts == ts and message.get("reply_count"):
                keep: dict[str, Any] = {
                    k: message[k]
                    for k in ("ts", "thread_ts", "reply_count", "reply_users", "reply_users_count", "latest_reply")
                    if k in message
                }
                message.clear()
                message.update(
                    {
                        "type": "message",
                        "subtype": "tombstone",
                        "text": "This message was deleted.",
                        "user": "USLACKBOT",
                        "hidden": True,
                        **keep,
                    }
                )
                return True
            self.history[channel_id].remove(message)
            if thread_ts and thread_ts != ts:
                self._refresh_thread(channel_id, thread_ts)
            return True

    def react(self, channel_id: str, ts: str, name: str, user: str, *, add: bool = True) -> str | None:
        """Add or remove a reaction; returns a Slack error code or None."""
        with self.lock:
            message = self.find(channel_id, ts)
            if message is None:
                return "message_not_found"
            reactions = message.setdefault("reactions", [])
            entry = next((r for r in reactions if r["name"] == name), None)
            if add:
                if entry is None:
                    entry = {"name": name, "users": [], "count": 0}
                    reactions.append(entry)
                if user in entry["users"]:
                    return "already_reacted"
                entry["users"].append(user)
            else:
                if entry is None or user not in entry["users"]:
                    return "no_reaction"
                entry["users"].remove(user)
            entry["count"] = len(entry["users"])
            message["reactions"] = [r for r in reactions if r["count"]]
            if not message["reactions"]:
                del message["reactions"]
            return None

    def ingest_event(self, event: dict[str, Any]) -> None:
        """Apply a user's action (carried by an Events API event) to the channel, as Slack does before it
        delivers the event, so the app's later history reads see it. Re-delivered events change nothing."""
        with self.lock:
            kind, subtype = event.get("type"), event.get("subtype")
            if kind in ("reaction_added", "reaction_removed"):
                item = event.get("item", {})
                if item.get("type") == "message" and item.get("channel") in self.channels:
                    self.react(
                        item["channel"], item["ts"], event["reaction"], event["user"], add=kind == "reaction_added"
                    )
                return
            if kind not in ("message", "app_mention"):
                return
            channel_id = event.get("channel", "")
            if channel_id not in self.channels:
                raise UnknownChannelError(channel_id)
            if subtype == "message_changed":
                stored = self.find(channel_id, event["message"]["ts"])
                if stored is not None:
                    for key in ("text", "blocks", "edited", "attachments"):
                        if key in event["message"]:
                            stored[key] = copy.deepcopy(event["message"][key])
            elif subtype == "message_deleted":
                self.delete(channel_id, event["deleted_ts"])
            elif subtype in _NEW_MESSAGE_SUBTYPES and self.find(channel_id, event["ts"]) is None:
                drop = {"channel", "event_ts", "channel_type"}
                message = {k: copy.deepcopy(v) for k, v in event.items() if k not in drop}
                message["type"] = "message"
                self.add(channel_id, message)

    def is_streaming(self, channel_id: str, ts: str) -> bool:
        with self.lock:
            return self.streams.get((channel_id, ts)) == "streaming"

    def stop_streams(self, channel_id: str, thread_ts: str) -> list[str]:
        """What Slack does when someone presses the stop button: the thread's open streams of the bot end now.
        Returns their ts (the agent_session_stopped event lists them)."""
        with self.lock:
            stopped = [
                ts
                for (channel, ts), state in self.streams.items()
                if channel == channel_id
                and state == "streaming"
                and (self.find(channel, ts) or {}).get("thread_ts") == thread_ts
            ]
            for ts in stopped:
                self.streams[(channel_id, ts)] = "stopped"
            return stopped

    def expire_streams(self) -> None:
        """Slack ends streams it has not heard from in a while: every stream still open now takes no more text."""
        with self.lock:
            for key, state in self.streams.items():
                if state == "streaming":
                    self.streams[key] = "expired"

    def snapshot(self, value: Any) -> Any:
        """A deep copy taken under the lock, so callers never see (or cause) half-made changes."""
        with self.lock:
            return copy.deepcopy(value)
