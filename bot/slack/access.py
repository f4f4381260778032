"""ALLOWED_CHANNELS: where Parlance works. Everywhere else it stores nothing and says, politely, that it is not
enabled there.

One global Bolt middleware sees every request before any listener, so no listener needs to know: a request from a
conversation that is not allowed never reaches them, and so stores no message, scores no sentiment and records no
job. What still passes: `/parlance` about a person's own data (help, forget me, remember me: privacy works
everywhere), deletions (they erase copies stored before the channel was left out), and events that belong to no
conversation (the App Home tab, uninstalls).

Who asked hears why, once per channel in public: the first mention (or flag reaction, or direct message) in a
channel gets the notice in its thread, for everyone there; later ones get it privately (chat.postEphemeral), so the
channel is not told again and again. Slash commands answer in their ack, privately, every time. The notice is
posted off the ack path, by a short-lived thread, so acking stays fast.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from slack_bolt import BoltContext, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.settings import ALLOW_DIRECT_MESSAGES, channel_allowed
from bot.slack.team_id import team_id_of
from handlers.commands import ParlanceRequest, parse_parlance
from handlers.translate.languages import language_for_reaction
from storage import channel_notices
from storage import seen_events as event_queries

logger = logging.getLogger(__name__)

# Events that are not a conversation's: they pass whatever ALLOWED_CHANNELS says.
_NO_CONVERSATION = {"app_home_opened", "tokens_revoked", "app_uninstalled"}
_PRIVACY_ACTIONS = {"help", "forget_me", "remember_me"}
_INTERACTIONS = {"message_action", "block_actions", "shortcut"}
_NAMED = 5  # at most this many allowed channels are named in the notice


class ChannelAccess:
    def __init__(self, *, allowed: frozenset[str] | None, sessions: sessionmaker[Session]) -> None:
        self._allowed = allowed
        self._sessions = sessions

    def allows(self, channel_id: str) -> bool:
        return channel_allowed(self._allowed, channel_id)

    def notice(self) -> str:
        channels = sorted(c for c in self._allowed or () if c != ALLOW_DIRECT_MESSAGES)
        named = ", ".join(f"<#{c}>" for c in channels[:_NAMED])
        where = texts.ENABLED_IN.format(channels=named) if named else ""
        return texts.NOT_ENABLED_HERE.format(where=where)

    # -- the middleware --------------------------------------------------------------------------------------
    def middleware(self, body: dict[str, Any], context: BoltContext, client: WebClient, next: Any) -> Any:
        """Bolt runs this before every listener; it returns a response of its own for what it keeps out."""
        channel = context.channel_id
        if self._allowed is None or not channel or self.allows(channel) or self._passes(body):
            return next()
        if "command" in body:  # answered in the ack, privately: the caller is waiting for an answer
            return BoltResponse(status=200, body={"response_type": "ephemeral", "text": self.notice()})
        asker = self._asker(body)
        if asker is not None:
            self._tell_later(body, context, client, channel, *asker)
        logger.debug("kept out a %s from %s (not in ALLOWED_CHANNELS)", body.get("type"), channel)
        return BoltResponse(status=200, body="")

    @staticmethod
    def _passes(body: dict[str, Any]) -> bool:
        if "command" in body:
            if body.get("command") != "/parlance":
                return False
            parsed = parse_parlance(body.get("text", ""))
            return isinstance(parsed, ParlanceRequest) and parsed.action in _PRIVACY_ACTIONS
        event = body.get("event") or {}
        if event.get("type") in _NO_CONVERSATION:
            return True
        return event.get("type") == "message" and event.get("subtype") == "message_deleted"

    @staticmethod
    def _asker(body: dict[str, Any]) -> tuple[str, str | None, bool] | None:
        """Who asked something of the bot, the thread to answer in, and whether the channel may be told in public;
        None for what asks nothing (messages in the channel, other reactions, other bots)."""
        if body.get("type") in _INTERACTIONS:
            user = (body.get("user") or {}).get("id")
            return (user, None, False) if user else None
        event = body.get("event") or {}
        kind, user = event.get("type"), event.get("user")
        if not user or event.get("bot_id"):
            return None
        if kind == "app_mention":
            return user, event.get("thread_ts") or event.get("ts"), True
        if kind == "message" and event.get("channel_type") == "im" and not event.get("subtype"):
            return user, event.get("thread_ts"), True  # a direct message is answered in the conversation itself
        if kind == "reaction_added" and language_for_reaction(event.get("reaction", "")) is not None:
            return user, (event.get("item") or {}).get("ts"), True
        return None

    # -- telling them ----------------------------------------------------------------------------------------
    def _tell_later(
        self,
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        channel: str,
        user: str,
        thread_ts: str | None,
        public: bool,
    ) -> None:
        """Decides in the ack (one claim each: the channel's public notice, Slack's retries of the event) and posts
        after it, on a thread of its own."""
        team_id = team_id_of(context)
        with self._sessions.begin() as session:
            event_id = body.get("event_id")
            if event_id and not event_queries.claim_event(session=session, team_id=team_id, event_id=event_id):
                return  # a retry: already told
            first = public and channel_notices.claim_notice(
                session=session, team_id=team_id, channel_id=channel, notice=channel_notices.NOT_ENABLED
            )
        text = self.notice()

        def post() -> None:
            try:
                if first:
                    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
                else:
                    client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
            except Exception as exc:  # the bot may not be in the channel (shortcuts): nothing else to tell them with
                logger.warning("could not say that %s is not enabled (%s)", channel, type(exc).__name__)

        threading.Thread(target=post, name="not-enabled-notice", daemon=True).start()
