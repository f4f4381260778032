"""SlackEmulator: one object a test or the local mode holds, wiring the workspaces to the two transports.

The emulator is also its first workspace (an `EmulatedTeam`), so single-workspace tests seed and inspect it
directly; `add_team` adds more workspaces for an app installed in several, each with its own bot token, and
`oauth` is Slack's side of installing the app in one of them.

The Web API (HTTP) starts with the emulator; Socket Mode starts on the first apps.connections.open (or at
start with socket_mode=True), so HTTP-only runs never import the websocket library.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.emulator.oauth import OAuthApp
from bot.emulator.teams import EmulatedTeam, TeamRegistry
from bot.emulator.web_api import ApiCall, WebApi
from bot.emulator.workspace import Identity

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


class SlackEmulator(EmulatedTeam):
    """Slack on 127.0.0.1: Web API, upload URLs, response_urls and Socket Mode, for one app in one or more
    workspaces (this object is the first)."""

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
        client_id: str = "1111111111.2222222222",
        client_secret: str = "emulator-client-secret",
    ) -> None:
        identity = Identity(
            team_id=team_id,
            team_domain=team_domain,
            team_name=team_name,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=bot_name,
            app_id=app_id,
        )
        super().__init__(identity, bot_token=bot_token)
        self.app_token = app_token
        self.teams = TeamRegistry()
        self.teams.add(self)
        self.oauth = OAuthApp(client_id=client_id, client_secret=client_secret, app_id=app_id, teams=self.teams)
        self._web = WebApi(self.teams, home=self, app_token=app_token, oauth=self.oauth, socket_url=self.socket_url)
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

    # ----- workspaces ---------------------------------------------------------------------------------

    def add_team(
        self,
        team_id: str,
        *,
        team_domain: str,
        team_name: str | None = None,
        bot_user_id: str,
        bot_id: str,
        bot_token: str | None = None,
    ) -> EmulatedTeam:
        """Another workspace the same app can be installed in, with a bot user and a bot token of its own.
        Seed and inspect it through the returned team; give it to SlackSender(emulator=...) to send its events."""
        identity = Identity(
            team_id=team_id,
            team_domain=team_domain,
            team_name=team_name or team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_name=self.identity.bot_name,
            app_id=self.identity.app_id,
        )
        team = self.teams.add(
            EmulatedTeam(identity, bot_token=bot_token or f"xoxb-{team_id.lower()}-{secrets.token_hex(12)}")
        )
        team.response_urls.base_url = self._web.base_url
        team.workspace.files_base_url = self._web.base_url
        return team

    def revoke(self, team: EmulatedTeam) -> None:
        """Slack stops accepting the team's bot token (`token_revoked`), as when the app is removed from the
        workspace or its token is revoked. Send the app_uninstalled / tokens_revoked events with SlackSender."""
        self.teams.revoke(team)

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

    def fail(
        self, method: str, *, status: int = 429, retry_after: int = 1, times: int = 1, carried_out: bool = False
    ) -> None:
        """Make the next `times` calls of `method` ("*" for any) fail: 429 (ratelimited, with Retry-After),
        a 5xx (fatal_error), or 0 (hang up after reading the request; the call is not carried out).

        carried_out=True (with status 0): do the call, then hang up before answering, as when a connection breaks
        after Slack posted the message. The call is recorded with status 0 and the answer the client never got.
        """
        self._web.fail(method, status=status, retry_after=retry_after, times=times, carried_out=carried_out)

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

    def socket_feedback(
        self, message: dict[str, Any], *, helpful: bool, channel_id: str, user_id: str, user_name: str = "alice"
    ) -> str:
        """A click on a message's 👍 or 👎, pushed as an `interactive` envelope (see SlackSender.click_feedback)."""
        url = self.response_urls.new(channel_id=channel_id, user_id=user_id)
        payload = self.events.feedback_action(
            message, helpful=helpful, channel_id=channel_id, user_id=user_id, user_name=user_name, response_url=url
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

    def socket_ping(self, timeout: float = 5.0) -> float:
        """Ping the client; returns the round-trip seconds or raises if no pong comes."""
        return self._socket_server().ping(timeout)
