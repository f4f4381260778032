"""SlackEmulator: one object a test or the local mode holds, wiring the workspace to its two transports.

The Web API (HTTP) starts with the emulator; Socket Mode starts on the first apps.connections.open (or at
start with socket_mode=True), so HTTP-only runs never import the websocket library.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.emulator.events import EventFactory
from bot.emulator.response_urls import ResponseUrls
from bot.emulator.web_api import ApiCall, WebApi
from bot.emulator.workspace import Identity, UnknownChannelError, Workspace

if TYPE_CHECKING:
    from bot.emulator.socket_mode import SocketModeServer

POLL_SECONDS = 0.02


def _summary(call: ApiCall) -> str:
    """One readable line per call for assertion messages: method, outcome, the arguments that matter."""
    outcome = "ok" if call.ok else f"error={call.response.get('error', '?')}"
    if call.status == 0:
        outcome = "connection dropped"
    args = ", ".join(
        f"{k}={(repr(v)[:57] + '...') if len(repr(v)) > 60 else repr(v)}" for k, v in call.args.items() if k != "token"
    )
    return f"{call.method} -> {call.status} {outcome} ({args})"


class SlackEmulator:
    """A Slack workspace on 127.0.0.1: Web API, upload URLs, response_urls and Socket Mode."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        team_id: str = "T0001",
        bot_user_id: str = "U0BOT",
        bot_id: str = "B0BOT",
        app_id: str = "A0APP",
        team_domain: str = "parlance",
        team_name: str = "Parlance",
        bot_name: str = "parlance",
        socket_mode: bool = False,
    ) -> None:
        self.identity = Identity(
            team_id=team_id,
            team_domain=team_domain,
            team_name=team_name,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
            app_id=app_id,
        )
        self.bot_token = bot_token
        self.app_token = app_token
        self.workspace = Workspace(self.identity)
        self.response_urls = ResponseUrls(self.workspace)
        self.events = EventFactory(self.identity, self.workspace)
        self._web = WebApi(
            self.workspace,
            bot_token=bot_token,
            app_token=app_token,
            response_urls=self.response_urls,
            socket_url=self.socket_url,
        )
        self._want_socket = socket_mode
        self._socket: SocketModeServer | None = None
        self._socket_lock = threading.Lock()

    # ----- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> SlackEmulator:
        self._web.start()
        if self._want_socket:
            self._socket_server()
        return self

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.stop()
        self._web.stop()

    def __enter__(self) -> SlackEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._web.base_url

    @property
    def api_url(self) -> str:
        """Give this to WebClient(base_url=...) (our SLACK_API_URL)."""
        return self._web.base_url + "api/"

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

    # ----- what happened ------------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Every Web API call so far, in order, including refused and failed ones."""
        return self._web.calls(method)

    def wait_for(
        self, method: str, *, count: int = 1, timeout: float = 10.0, where: Callable[[ApiCall], bool] | None = None
    ) -> list[ApiCall]:
        """Wait until at least `count` successful calls of `method` (matching `where`) arrived; return them.

        Work after the ack happens on other threads, so tests wait for its effect instead of sleeping.
        """
        deadline = time.monotonic() + timeout
        while True:
            matches = [c for c in self.calls(method) if c.ok and (where is None or where(c))]
            if len(matches) >= count:
                return matches
            if time.monotonic() >= deadline:
                lines = [f"  {i:>3}. {_summary(c)}" for i, c in enumerate(self.calls(), 1)] or ["  (none)"]
                raise AssertionError(
                    f"expected {count} successful {method} call(s)"
                    f"{' matching where=' if where else ''} within {timeout}s, got {len(matches)}.\n"
                    "Web API calls received:\n" + "\n".join(lines)
                )
            time.sleep(POLL_SECONDS)

    def fail(self, method: str, *, status: int = 429, retry_after: int = 1, times: int = 1) -> None:
        """Make the next `times` calls of `method` ("*" for any) fail: 429 (ratelimited, with Retry-After),
        a 5xx (fatal_error), or 0 (hang up after reading the request; the call is not carried out)."""
        self._web.fail(method, status=status, retry_after=retry_after, times=times)

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

    # ----- Socket Mode --------------------------------------------------------------------------------

    def _socket_server(self) -> SocketModeServer:
        with self._socket_lock:
            if self._socket is None:
                from bot.emulator.socket_mode import SocketModeServer  # dev dependency: load only when used

                server = SocketModeServer(app_id=self.identity.app_id)
                server.start()
                self._socket = server
            return self._socket

    def socket_url(self) -> str:
        """A fresh single-use ws:// URL (what apps.connections.open returns)."""
        return self._socket_server().new_url()

    def socket_send(
        self, envelope_type: str, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """Push an envelope (events_api, slash_commands, interactive); returns its envelope_id."""
        return self._socket_server().send(
            envelope_type, payload, retry_attempt=retry_attempt, retry_reason=retry_reason
        )

    def socket_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        self.workspace.ingest_event(event)
        payload = self.events.event_callback(event, event_id=event_id)
        return self.socket_send(
            "events_api",
            payload,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason or ("timeout" if retry_attempt else ""),
        )

    def socket_command(
        self, command: str, text: str = "", *, user_id: str = "U1", channel_id: str = "C1", user_name: str = "alice"
    ) -> str:
        url = self.response_urls.new(channel_id=channel_id, user_id=user_id)
        payload = self.events.command(
            command, text, user_id=user_id, channel_id=channel_id, user_name=user_name, response_url=url
        )
        return self.socket_send("slash_commands", payload)

    def socket_message_shortcut(
        self, callback_id: str, *, message: dict[str, Any], channel_id: str, user_id: str, user_name: str = "alice"
    ) -> str:
        url = self.response_urls.new(channel_id=channel_id, user_id=user_id)
        payload = self.events.message_shortcut(
            callback_id, message=message, channel_id=channel_id, user_id=user_id, user_name=user_name, response_url=url
        )
        return self.socket_send("interactive", payload)

    def socket_acks(self) -> list[dict[str, Any]]:
        """Acks from the client, in arrival order; each has envelope_id and, if sent, payload."""
        return self._socket.acks() if self._socket else []

    def wait_socket_connected(self, timeout: float = 10.0, *, connects: int = 1) -> None:
        """Wait for a client to finish the handshake (connects=2: wait for a reconnect too)."""
        self._socket_server().wait_connected(timeout, connects=connects)

    def wait_socket_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        return self._socket_server().wait_ack(envelope_id, timeout)

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's `disconnect` message; a well-behaved client opens a new connection."""
        self._socket_server().disconnect(reason)

    def socket_ping(self, timeout: float = 5.0) -> float:
        """Ping the client; returns the round-trip seconds or raises if no pong comes."""
        return self._socket_server().ping(timeout)
