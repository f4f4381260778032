"""SlackSender: sends the app the HTTP requests Slack sends, signed, with Slack's headers and bodies.

Given the emulator (or one of its teams), it first applies the user's action to that emulated workspace (Slack
stores a message before it delivers the event), so the app's history reads agree with the events it receives.
"""

from __future__ import annotations

import http.client
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from bot.emulator.events import DEFAULT_VERIFICATION_TOKEN, EventFactory
from bot.emulator.signing import signed_headers
from bot.emulator.workspace import Identity

if TYPE_CHECKING:
    from bot.emulator.teams import EmulatedTeam

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
FORM = "application/x-www-form-urlencoded"


@dataclass
class SentResponse:
    """What the app answered."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0  # seconds; Slack gives up after 3

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class SlackSender:
    """Posts events, commands and interactions to the app at `app_url`, as Slack does."""

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        team_id: str = "T0001",
        emulator: EmulatedTeam | None = None,
        *,
        bot_user_id: str = "U0BOT",
        api_app_id: str = "A0APP",
        team_domain: str = "parlance",
        verification_token: str = DEFAULT_VERIFICATION_TOKEN,
        timeout: float = 10.0,
    ) -> None:
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.emulator = emulator
        self.timeout = timeout
        if emulator is not None:
            identity, workspace = emulator.identity, emulator.workspace
        else:
            identity = Identity(
                team_id=team_id,
                team_domain=team_domain,
                team_name=team_domain,
                bot_user_id=bot_user_id,
                bot_id="B0BOT",
                bot_name="bot",
                app_id=api_app_id,
            )
            workspace = None
        self.events = EventFactory(identity, workspace, verification_token=verification_token)
        # The builders, spelled as the tests use them: sender.message_event(...).
        self.message_event = self.events.message_event
        self.mention_event = self.events.mention_event
        self.edit_event = self.events.edit_event
        self.delete_event = self.events.delete_event
        self.reaction_event = self.events.reaction_event
        self.home_opened_event = self.events.home_opened_event
        self.app_uninstalled_event = self.events.app_uninstalled_event
        self.agent_thread_started_event = self.events.agent_thread_started_event
        self.agent_session_stopped_event = self.events.agent_session_stopped_event
        self.tokens_revoked_event = self.events.tokens_revoked_event

    # ----- what Slack sends ---------------------------------------------------------------------------

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> SentResponse:
        """Deliver one Events API event. Pass the same event_id with retry_num to send Slack's retry."""
        if self.emulator is not None:
            self.emulator.workspace.ingest_event(event)
        body = json.dumps(self.events.event_callback(event, event_id=event_id)).encode()
        extra = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.raw(body, content_type="application/json", extra_headers=extra)

    def command(
        self, command: str, text: str = "", *, user_id: str = "U1", channel_id: str = "C1", user_name: str = "alice"
    ) -> SentResponse:
        payload = self.events.command(
            command,
            text,
            user_id=user_id,
            channel_id=channel_id,
            user_name=user_name,
            response_url=self._response_url(channel_id, user_id),
        )
        return self.raw(urlencode(payload).encode(), content_type=FORM)

    def message_shortcut(
        self, callback_id: str, *, message: dict[str, Any], channel_id: str, user_id: str, user_name: str = "alice"
    ) -> SentResponse:
        payload = self.events.message_shortcut(
            callback_id,
            message=message,
            channel_id=channel_id,
            user_id=user_id,
            user_name=user_name,
            response_url=self._response_url(channel_id, user_id),
        )
        return self.interactive(payload)

    def block_action(
        self,
        action_id: str,
        *,
        block_id: str,
        value: str,
        label: str,
        channel_id: str,
        user_id: str,
        message_ts: str,
        user_name: str = "alice",
    ) -> SentResponse:
        """A person picks `value` in a select menu of the app's (ephemeral) message `message_ts`."""
        payload = self.events.block_action(
            action_id,
            block_id=block_id,
            value=value,
            label=label,
            channel_id=channel_id,
            user_id=user_id,
            user_name=user_name,
            message_ts=message_ts,
            response_url=self._response_url(channel_id, user_id),
        )
        return self.interactive(payload)

    def click_feedback(
        self, message: dict[str, Any], *, helpful: bool, channel_id: str, user_id: str, user_name: str = "alice"
    ) -> SentResponse:
        """A person clicks 👍 (`helpful`) or 👎 under one of the app's messages: a channel message as
        `emulator.messages()` returns it, or an ephemeral one from `emulator.ephemeral_messages()`."""
        payload = self.events.feedback_action(
            message,
            helpful=helpful,
            channel_id=channel_id,
            user_id=user_id,
            user_name=user_name,
            response_url=self._response_url(channel_id, user_id),
        )
        return self.interactive(payload)

    def interactive(self, payload: dict[str, Any]) -> SentResponse:
        """Any interactivity payload (block_actions, view_submission...), form-encoded as `payload=`."""
        return self.raw(urlencode({"payload": json.dumps(payload)}).encode(), content_type=FORM)

    def url_verification(self, challenge: str) -> SentResponse:
        body = {"token": self.events.verification_token, "challenge": challenge, "type": "url_verification"}
        return self.raw(json.dumps(body).encode(), content_type="application/json")

    def raw(
        self,
        body: bytes,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        sign: bool = True,
        extra_headers: dict[str, str] | None = None,
    ) -> SentResponse:
        """Post exact bytes. `timestamp` signs as of that time (stale requests); `signature` overrides the
        computed one; sign=False sends neither signing header."""
        headers = {"Content-Type": content_type, "User-Agent": USER_AGENT, "Accept": "*/*"}
        if sign:
            headers.update(signed_headers(self.signing_secret, body, timestamp=timestamp))
            if signature is not None:
                headers["X-Slack-Signature"] = signature
        headers.update(extra_headers or {})
        return self._post(body, headers)

    # ----- plumbing -----------------------------------------------------------------------------------

    def _response_url(self, channel_id: str, user_id: str) -> str:
        if self.emulator is not None:
            return self.emulator.response_urls.new(channel_id=channel_id, user_id=user_id)
        me = self.events.identity
        return f"https://hooks.slack.com/commands/{me.team_id}/{secrets.randbelow(10**13)}/{secrets.token_hex(12)}"

    def _post(self, body: bytes, headers: dict[str, str]) -> SentResponse:
        url = urlsplit(self.app_url)
        connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(url.hostname or "127.0.0.1", url.port, timeout=self.timeout)
        path = url.path + (f"?{url.query}" if url.query else "")
        started = time.monotonic()
        try:
            connection.request("POST", path or "/", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            return SentResponse(response.status, data, dict(response.getheaders()), time.monotonic() - started)
        finally:
            connection.close()
