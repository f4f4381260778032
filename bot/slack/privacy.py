"""`/parlance`: what Parlance keeps about people, and forgetting it when they ask; a channel's standing
instructions (bot/slack/instructions.py); how helpful people found its answers in the channel (the 👍 / 👎 votes
of the last week).

Each answer is a few indexed reads and writes, so it is given in the ack itself (Bolt runs with
process_before_response) rather than queued as a job. Every command is idempotent: a retried or repeated
`forget me` finds nothing more to delete and the opt-out already recorded, so it changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_bolt import Ack, BoltContext
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.slack.feedback import RATE_DAYS, rates_line
from bot.slack.instructions import answer_instructions, describe_instructions
from bot.slack.team_id import team_id_of
from handlers.commands import UsageError, parse_parlance
from storage import feedback as feedback_queries
from storage import forgetting, opt_outs
from storage.db import read_session
from storage.tables import utcnow

logger = logging.getLogger(__name__)

COMMAND = "/parlance"


def count_messages(count: int) -> str:
    return "1 message" if count == 1 else f"{count:,} messages"


class PrivacyListeners:
    def __init__(self, *, sessions: sessionmaker[Session], retention_days: int | None) -> None:
        self._sessions = sessions
        self._retention_days = retention_days

    def on_parlance(self, ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
        parsed = parse_parlance(command.get("text", ""))
        if isinstance(parsed, UsageError):
            ack(response_type="ephemeral", text=parsed.text)
            return
        team_id, user_id, channel_id = team_id_of(context), command["user_id"], command["channel_id"]
        if parsed.action == "help":
            here = describe_instructions(sessions=self._sessions, team_id=team_id, channel_id=channel_id)
            rates = self.rates_text(team_id, channel_id)
            ack(response_type="ephemeral", text=f"{self.help_text()}\n{here}\n{rates}")
            return
        if parsed.action == "feedback":
            ack(response_type="ephemeral", text=self.rates_text(team_id, channel_id))
            return
        if parsed.action in {"instructions", "instructions_off", "show_instructions"}:
            answer = answer_instructions(
                parsed, sessions=self._sessions, team_id=team_id, channel_id=channel_id, user_id=user_id
            )
            ack(response_type="ephemeral", text=answer)
            return
        if parsed.action == "forget_me":
            with self._sessions.begin() as session:
                opt_outs.opt_user_out(session=session, team_id=team_id, user_id=user_id)
                count = forgetting.forget_user(session=session, team_id=team_id, user_id=user_id)
            logger.info("forgot %d stored messages of a user in %s and opted them out", count, team_id)
            ack(response_type="ephemeral", text=texts.FORGOT_YOU.format(messages=count_messages(count)))
            return
        with self._sessions.begin() as session:
            was_out = opt_outs.opt_user_back_in(session=session, team_id=team_id, user_id=user_id)
        ack(response_type="ephemeral", text=texts.REMEMBER_YOU if was_out else texts.NOT_FORGOTTEN)

    def rates_text(self, team_id: str, channel_id: str) -> str:
        """The channel's helpful rates per skill over the last RATE_DAYS: one indexed read, fine in the ack."""
        since = utcnow() - dt.timedelta(days=RATE_DAYS)
        with read_session(self._sessions) as session:
            rates = feedback_queries.helpful_rates(
                session=session, team_id=team_id, channel_ids=[channel_id], since=since
            )
        return texts.FEEDBACK_RATES.format(rates=rates_line(rates))

    def help_text(self) -> str:
        days = self._retention_days
        retention = texts.RETENTION_DAYS.format(days=days) if days else texts.RETENTION_FOREVER
        return texts.PARLANCE_HELP.format(retention=retention)
