"""Where Slack events enter. `register_listeners` shows the whole Slack surface on one screen.

Every listener does only fast work before it returns (Bolt runs with process_before_response, so returning is
the ack): it drops Slack's retries, stores the message, records a job in the same transaction, and wakes the
dispatcher. Anything slow (the model, history reads, posting) happens in bot/jobs/dispatch.py after the ack.

So this module, and what it imports, loads only what acking needs: parsing, storage and the job queue, never the
runners, the clock, the scorer or the model client (tests/unit/test_ack_path.py keeps it that way).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.jobs.enqueue import (
    enqueue_agent_thread,
    enqueue_for_command,
    enqueue_for_interaction,
    enqueue_reaction_translation,
    enqueue_reply,
)
from bot.jobs.kinds import AgentThreadPayload, JobKind, SummarizePayload, TranslatePayload
from bot.slack.access import ChannelAccess
from bot.slack.feedback import ACTION_ID as FEEDBACK_ACTION
from bot.slack.feedback_listeners import FeedbackListeners
from bot.slack.history import STORED_SUBTYPES, is_from_bot, store_slack_message
from bot.slack.installs import INSTALL_EVENTS, OAuthInstalls, register_install_listeners
from bot.slack.privacy import COMMAND as PARLANCE_COMMAND
from bot.slack.privacy import PrivacyListeners
from bot.slack.sentiment_listeners import COMMAND as SENTIMENT_COMMAND
from bot.slack.sentiment_listeners import SentimentListeners
from bot.slack.team_id import team_id_of
from handlers.commands import MAX_COMMAND_TEXT, UsageError, parse_summarize, parse_translate
from handlers.translate.languages import language_for_reaction, resolve_language
from storage import jobs as job_queries
from storage import messages as message_queries
from storage import seen_events as event_queries
from storage.group_commit import GroupCommit

logger = logging.getLogger(__name__)

# What Slack must send us; manifest.yml declares the same (tests/unit/test_manifest.py keeps them in step).
EVENTS = (
    "app_mention", "message", "reaction_added", "app_home_opened", "assistant_thread_started",
    "agent_session_stopped", *INSTALL_EVENTS,
)  # fmt: skip
COMMANDS = ("/summarize", "/translate", SENTIMENT_COMMAND, PARLANCE_COMMAND)
SHORTCUTS = ("summarize_thread", "translate_message")
REPLY_KINDS = (JobKind.MENTION.value, JobKind.HELP.value)  # what Slack's stop button stops
ACTIONS = ("translate_pick", FEEDBACK_ACTION)


def register_listeners(
    app: App,
    *,
    sessions: sessionmaker[Session],
    wake_dispatcher: Callable[[], None],
    retention_days: int | None = None,
    installs: OAuthInstalls | None = None,
    allowed_channels: frozenset[str] | None = None,
) -> None:
    """`allowed_channels` (ALLOWED_CHANNELS): where the bot works; None, everywhere. Requests from anywhere else
    are kept from every listener below by one middleware (bot/slack/access.py)."""
    if allowed_channels is not None:
        app.use(ChannelAccess(allowed=allowed_channels, sessions=sessions).middleware)
    listeners = Listeners(sessions=sessions, wake_dispatcher=wake_dispatcher)
    privacy = PrivacyListeners(sessions=sessions, retention_days=retention_days)
    sentiment = SentimentListeners(sessions=sessions, wake_dispatcher=wake_dispatcher)
    feedback = FeedbackListeners(sessions=sessions)
    events: dict[str, Callable[..., None]] = {  # Bolt passes each listener the arguments it names
        "app_mention": listeners.on_app_mention,
        "message": listeners.on_message,
        "reaction_added": listeners.on_reaction_added,
        "app_home_opened": sentiment.on_home_opened,
        "assistant_thread_started": listeners.on_agent_thread_started,  # the bot's Messages tab, as an agent
        "agent_session_stopped": listeners.on_agent_session_stopped,  # its stop button: answered in the ack
    }
    commands = {
        "/summarize": listeners.on_summarize,
        "/translate": listeners.on_translate,
        SENTIMENT_COMMAND: sentiment.on_sentiment,  # off, forget and now are answered in the ack
        PARLANCE_COMMAND: privacy.on_parlance,  # answered in the ack: fast, idempotent DB work
    }
    shortcuts = {"summarize_thread": listeners.on_summarize_thread, "translate_message": listeners.on_translate_message}
    actions = {"translate_pick": listeners.on_translate_pick, FEEDBACK_ACTION: feedback.on_vote}  # votes: in the ack
    after_ack = {FEEDBACK_ACTION: [feedback.thank_voter]}  # Bolt's lazy listeners: run once the ack is sent
    # The install listeners register their own events (tokens_revoked, app_uninstalled), below.
    assert set(events) == set(EVENTS) - set(INSTALL_EVENTS)
    assert (set(commands), set(shortcuts), set(actions)) == (set(COMMANDS), set(SHORTCUTS), set(ACTIONS))
    for name, on_event in events.items():
        app.event(name)(on_event)
    for name, on_command in commands.items():
        app.command(name)(on_command)
    for name, on_shortcut in shortcuts.items():
        app.message_shortcut(name)(on_shortcut)
    for name, on_action in actions.items():
        app.action(name)(ack=on_action, lazy=after_ack.get(name, []))
    register_install_listeners(app, sessions=sessions, installs=installs)  # tokens_revoked, app_uninstalled
    app.error(listeners.on_error)


def strip_bot_mention(text: str, bot_user_id: str | None) -> str:
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    return " ".join(text.split())


class Listeners:
    def __init__(self, *, sessions: sessionmaker[Session], wake_dispatcher: Callable[[], None]) -> None:
        self._wake = wake_dispatcher
        self._writes = GroupCommit(sessions)  # the acks' writes, committed together when requests overlap

    # -- events ----------------------------------------------------------------------------------------------
    def on_app_mention(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        team_id = team_id_of(context)
        if event.get("bot_id") or not event.get("user"):
            return  # other bots mentioning us would start reply loops
        channel, ts = event["channel"], event["ts"]
        thread_ts = event.get("thread_ts") or ts
        request = strip_bot_mention(event.get("text", ""), context.bot_user_id)

        def write(session: Session) -> bool:
            if not event_queries.claim_event(session=session, team_id=team_id, event_id=body.get("event_id", ts)):
                return False
            store_slack_message(session=session, team_id=team_id, channel_id=channel, message=event)
            enqueue_reply(
                session=session,
                team_id=team_id,
                channel_id=channel,
                ts=ts,
                thread_ts=thread_ts,
                user=event["user"],
                request=request,
            )
            return True

        if not self._writes.run(write):
            logger.info("dropped a retried app_mention %s", body.get("event_id"))
            return
        self._wake()

    def on_message(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        """History capture: new messages, thread replies, edits and deletions. Direct messages get answers."""
        team_id = team_id_of(context)
        channel = event.get("channel")
        subtype = event.get("subtype")
        if not channel:
            return

        def write(session: Session) -> bool:
            """Whether a job was recorded (a follow-up or a DM): only then is the dispatcher woken."""
            if not event_queries.claim_event(
                session=session, team_id=team_id, event_id=body.get("event_id", f"{channel}:{event.get('ts')}")
            ):
                return False
            if subtype == "message_changed":
                self._store_edit(session, team_id, channel, event)
            elif subtype == "message_deleted":
                message_queries.delete_message(
                    session=session, team_id=team_id, channel_id=channel, ts=event.get("deleted_ts", "")
                )
            elif subtype in STORED_SUBTYPES and event.get("ts"):
                return self._store_new(session, team_id, channel, event, context)
            return False

        if self._writes.run(write):
            self._wake()

    def _store_new(
        self, session: Session, team_id: str, channel: str, event: dict[str, Any], context: BoltContext
    ) -> bool:
        """Stores a new message, and records a reply job when it is meant for the bot; says whether it did."""
        store_slack_message(session=session, team_id=team_id, channel_id=channel, message=event)
        if is_from_bot(event) or not event.get("user"):
            return False
        follow_up = self._follows_up_on_us(session, team_id, channel, event, context)
        if not (follow_up or event.get("channel_type") == "im"):
            return False
        request = strip_bot_mention(event.get("text", ""), context.bot_user_id)
        enqueue_reply(
            session=session,
            team_id=team_id,
            channel_id=channel,
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            user=event["user"],
            request=request,
        )
        return True

    @staticmethod
    def _follows_up_on_us(
        session: Session, team_id: str, channel: str, event: dict[str, Any], context: BoltContext
    ) -> bool:
        """A reply in a thread the bot took part in is meant for the bot, mention or not (people talk that way).
        Replies that do mention the bot are left to the app_mention event.

        The bot takes part from the moment a reply job is recorded for the thread (bot/jobs/enqueue.py), not only
        once its answer is stored: a follow-up sent while it is still writing is one too."""
        thread_ts, bot = event.get("thread_ts"), context.bot_user_id
        if not thread_ts or thread_ts == event.get("ts") or not bot or f"<@{bot}" in event.get("text", ""):
            return False
        return job_queries.has_reply_job_in_thread(
            session=session, team_id=team_id, channel_id=channel, thread_ts=thread_ts
        ) or message_queries.has_posted_in_thread(
            session=session, team_id=team_id, channel_id=channel, thread_ts=thread_ts, user_id=bot
        )

    @staticmethod
    def _store_edit(session: Session, team_id: str, channel: str, event: dict[str, Any]) -> None:
        message = event.get("message") or {}
        ts, text = message.get("ts"), message.get("text", "")
        if not ts:
            return
        if not message_queries.edit_message(session=session, team_id=team_id, channel_id=channel, ts=ts, text=text):
            store_slack_message(session=session, team_id=team_id, channel_id=channel, message=message)

    def on_reaction_added(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        """A flag reaction on a message asks for its translation, posted in the message's thread."""
        language = language_for_reaction(event.get("reaction", ""))
        item = event.get("item") or {}
        if language is None or item.get("type") != "message" or not item.get("channel") or not item.get("ts"):
            return
        if not event.get("user"):
            return  # nobody to name as the one who asked
        team_id = team_id_of(context)
        channel, ts = item["channel"], item["ts"]
        payload = TranslatePayload(user=event["user"], language=language[0], source_ts=ts, deliver="thread")
        event_id = body.get("event_id") or f"reaction:{channel}:{ts}:{event.get('reaction')}:{event['user']}"

        def write(session: Session) -> bool:
            if not event_queries.claim_event(session=session, team_id=team_id, event_id=event_id):
                return False
            enqueue_reaction_translation(session=session, team_id=team_id, channel_id=channel, payload=payload)
            return True

        if self._writes.run(write):
            self._wake()

    def on_agent_thread_started(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        """Someone opened a thread with the bot in its Messages tab: the suggested prompts are set after the ack.
        What they then write in the thread is a DM message, answered like a mention (`_store_new`)."""
        thread = event.get("assistant_thread") or {}
        channel, thread_ts, user = thread.get("channel_id"), thread.get("thread_ts"), thread.get("user_id")
        if not channel or not thread_ts or not user:
            return
        team_id, payload = team_id_of(context), AgentThreadPayload(user=user, thread_ts=thread_ts)
        self._writes.run(
            lambda session: enqueue_agent_thread(
                session=session, team_id=team_id, channel_id=channel, event_id=body.get("event_id"), payload=payload
            )
        )
        self._wake()

    def on_agent_session_stopped(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        """Someone pressed the stop button of the bot's session in a thread: the answer being written there (or
        waiting to be) is marked stopped, and its job ends it honestly. One fast write, done in the ack; Slack
        has already ended the streams it lists."""
        channel, thread_ts = event.get("channel"), event.get("thread_ts")
        if not channel or not thread_ts:
            return
        team_id = team_id_of(context)
        event_id = body.get("event_id") or f"stop:{channel}:{thread_ts}:{event.get('event_ts')}"

        def write(session: Session) -> int | None:
            if not event_queries.claim_event(session=session, team_id=team_id, event_id=event_id):
                return None
            return job_queries.request_stop(
                session=session, team_id=team_id, channel_id=channel, thread_ts=thread_ts, kinds=REPLY_KINDS
            )

        stopped = self._writes.run(write)
        if stopped is None:
            return
        logger.info("stop pressed in a thread of %s: %d answer(s) marked stopped", channel, stopped)

    # -- shortcuts and actions ---------------------------------------------------------------------------------
    def on_summarize_thread(self, ack: Ack, shortcut: dict[str, Any], context: BoltContext) -> None:
        message, channel = shortcut.get("message") or {}, (shortcut.get("channel") or {}).get("id")
        ack()
        if not channel or not message.get("ts"):
            return
        payload = SummarizePayload(
            user=shortcut["user"]["id"],
            response_url=shortcut.get("response_url"),
            thread_ts=message.get("thread_ts") or message["ts"],
            span="thread",
        )
        self._enqueue_interaction(shortcut, context, channel, payload)

    def on_translate_message(self, ack: Ack, shortcut: dict[str, Any], context: BoltContext) -> None:
        message, channel = shortcut.get("message") or {}, (shortcut.get("channel") or {}).get("id")
        ack()
        if not channel or not message.get("ts"):
            return
        payload = TranslatePayload(
            user=shortcut["user"]["id"],
            response_url=shortcut.get("response_url"),
            source_ts=message["ts"],
            source_thread_ts=message.get("thread_ts"),
            language=None,  # the caller's own language, or a picker when we cannot tell
        )
        self._enqueue_interaction(shortcut, context, channel, payload)

    def on_translate_pick(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        ack()
        channel, _, ts = (action.get("block_id") or "").partition(":")
        language = resolve_language((action.get("selected_option") or {}).get("value", ""))
        if not channel or not ts or language is None:
            return
        payload = TranslatePayload(
            user=body["user"]["id"], response_url=body.get("response_url"), source_ts=ts, language=language[0]
        )
        self._enqueue_interaction(body, context, channel, payload)

    def _enqueue_interaction(
        self, body: dict[str, Any], context: BoltContext, channel: str, payload: SummarizePayload | TranslatePayload
    ) -> None:
        trigger = body.get("trigger_id") or (body.get("container") or {}).get("message_ts")
        team_id = team_id_of(context)
        self._writes.run(
            lambda session: enqueue_for_interaction(
                session=session, team_id=team_id, channel_id=channel, trigger=trigger, payload=payload
            )
        )
        self._wake()

    # -- slash commands --------------------------------------------------------------------------------------
    def on_summarize(self, ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        parsed = parse_summarize(command.get("text", ""))
        if isinstance(parsed, UsageError):
            ack(response_type="ephemeral", text=parsed.text)
            return
        if parsed.thread_channel and parsed.thread_channel != command.get("channel_id"):
            ack(response_type="ephemeral", text=texts.THREAD_IN_OTHER_CHANNEL)
            return
        payload = SummarizePayload(
            user=command["user_id"],
            response_url=command.get("response_url"),
            public=parsed.public,
            limit=parsed.limit,
            since=parsed.since,
            thread_ts=parsed.thread_ts,
            span=parsed.span_label,
        )
        self._enqueue_command(command, context, payload)
        ack(response_type="ephemeral", text=texts.ACK_SUMMARIZE.format(span=texts.span_phrase(parsed.span_label)))

    def on_translate(self, ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        text = command.get("text", "")
        if len(text) > MAX_COMMAND_TEXT:
            ack(response_type="ephemeral", text=texts.TEXT_TOO_LONG.format(length=len(text), limit=MAX_COMMAND_TEXT))
            return
        parsed = parse_translate(text)
        if isinstance(parsed, UsageError):
            ack(response_type="ephemeral", text=parsed.text)
            return
        payload = TranslatePayload(
            user=command["user_id"],
            response_url=command.get("response_url"),
            language=parsed.language_code,
            text=parsed.text,
        )
        self._enqueue_command(command, context, payload)
        ack(response_type="ephemeral", text=texts.ACK_TRANSLATE.format(language=parsed.language_name))

    def _enqueue_command(
        self, command: dict[str, Any], context: BoltContext, payload: SummarizePayload | TranslatePayload
    ) -> None:
        team_id = team_id_of(context)
        self._writes.run(
            lambda session: enqueue_for_command(
                session=session,
                team_id=team_id,
                channel_id=command["channel_id"],
                trigger_id=command.get("trigger_id"),
                payload=payload,
            )
        )
        self._wake()

    # -- errors ----------------------------------------------------------------------------------------------
    @staticmethod
    def on_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
        """What slipped through: logged with its traceback here, never shown to the user as one."""
        logger.exception("unhandled error in a listener (type=%s)", body.get("type"), exc_info=error)
