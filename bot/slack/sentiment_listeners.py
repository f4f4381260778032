"""Where `/sentiment` and the App Home tab enter; `register_listeners` (bot/slack/listeners.py) registers them.

They ack fast: bad input, `help`, `off` and `forget` are answered in the ack, and `now` claims its digest there.
What needs Slack or the model (the caller's time zone, posting a digest, the home view) becomes a job, run by
bot/jobs/runners/sentiment.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.jobs.enqueue import enqueue_digest_job, enqueue_for_command, enqueue_home_view
from bot.jobs.kinds import SentimentCommandPayload, SentimentHomePayload
from bot.slack.team_id import team_id_of
from handlers.commands import UsageError
from handlers.sentiment.schedule import parse_sentiment, parse_spec
from storage import channel_settings as digest_queries
from storage import sentiment_scores as sentiment_queries
from storage.tables import utcnow

logger = logging.getLogger(__name__)

COMMAND = "/sentiment"


class SentimentListeners:
    def __init__(self, *, sessions: sessionmaker[Session], wake_dispatcher: Callable[[], None]) -> None:
        self._sessions = sessions
        self._wake = wake_dispatcher

    def on_sentiment(self, ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        parsed = parse_sentiment(command.get("text", ""))
        if isinstance(parsed, UsageError):
            ack(response_type="ephemeral", text=parsed.text)
            return
        team_id, channel_id = team_id_of(context), command["channel_id"]
        if parsed.action == "help":
            ack(response_type="ephemeral", text=texts.SENTIMENT_HELP)
            return
        if channel_id.startswith("D"):
            ack(response_type="ephemeral", text=texts.SENTIMENT_NOT_IN_CHANNEL)
            return
        if parsed.action == "off":
            with self._sessions.begin() as session:
                digest_queries.clear_schedule(session=session, team_id=team_id, channel_id=channel_id)
            ack(response_type="ephemeral", text=texts.SENTIMENT_OFF)
            return
        if parsed.action == "forget":
            with self._sessions.begin() as session:
                digest_queries.clear_schedule(session=session, team_id=team_id, channel_id=channel_id, opt_out=True)
                count = sentiment_queries.forget_scores(session=session, team_id=team_id, channel_id=channel_id)
            logger.info("forgot %d sentiment scores in %s/%s", count, team_id, channel_id)
            ack(response_type="ephemeral", text=texts.SENTIMENT_FORGOTTEN.format(count=count))
            return
        if parsed.action == "now":
            span = self._queue_now(team_id, channel_id, command)
            ack(response_type="ephemeral", text=texts.SENTIMENT_NOW.format(span=span))
            self._wake()
            return
        # daily, weekly, status: they need the caller's time zone (users.info), so a job answers them.
        payload = SentimentCommandPayload(
            user=command["user_id"],
            response_url=command.get("response_url"),
            action=parsed.action,
            weekday=parsed.weekday,
            at=parsed.at,
        )
        with self._sessions.begin() as session:
            enqueue_for_command(
                session=session,
                team_id=team_id,
                channel_id=channel_id,
                trigger_id=command.get("trigger_id"),
                payload=payload,
            )
        ack()
        self._wake()

    def _queue_now(self, team_id: str, channel_id: str, command: dict[str, Any]) -> str:
        """`/sentiment now`: a digest of the last day (or week, when the channel's schedule is weekly), for the
        caller to hear about privately should it have to wait for the model."""
        end = utcnow()
        trigger = command.get("trigger_id") or str(end.timestamp())
        with self._sessions.begin() as session:
            # Write first (asking for a digest opts the channel back in): see bot.background.clock.queue_digest on
            # SQLite.
            digest_queries.opt_in(session=session, team_id=team_id, channel_id=channel_id)
            current = digest_queries.channel_sentiment(session=session, team_id=team_id, channel_id=channel_id)
            spec = parse_spec(current.schedule or "")
            days = 7 if spec is not None and spec.cadence == "weekly" else 1
            digest_id = digest_queries.claim_digest(
                session=session,
                team_id=team_id,
                channel_id=channel_id,
                period_key=f"now:{trigger}"[:80],
                cadence="now",
                period_start=end - dt.timedelta(days=days),
                period_end=end,
            )
            if digest_id is not None:
                enqueue_digest_job(
                    session=session,
                    team_id=team_id,
                    channel_id=channel_id,
                    digest_id=digest_id,
                    user=command.get("user_id"),
                    response_url=command.get("response_url"),
                )
        return "the last 7 days" if days == 7 else "the last 24 hours"

    def on_home_opened(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        team_id = team_id_of(context)
        with self._sessions.begin() as session:
            enqueue_home_view(
                session=session,
                team_id=team_id,
                channel_id=event.get("channel") or "home",
                event_id=body.get("event_id"),
                payload=SentimentHomePayload(user=event["user"]),
            )
        self._wake()
