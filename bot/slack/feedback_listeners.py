"""Where a click on 👍 / 👎 under an answer enters (a `block_actions` interaction); `register_listeners`
(bot/slack/listeners.py) registers it.

The vote is stored in the ack: one indexed read of the job and one upsert, like `/parlance`'s answers. The thanks
is a Web API call, which could wait seconds behind a rate limit, so it goes out after the ack, as a Bolt lazy
listener: the ack hands it what to say in the request's context. Losing a thanks to a crash loses nothing.

A value is believed only as far as the database agrees with it: the job must exist in this workspace and channel,
be of the skill the value names, and (for a message everyone sees) have posted the message the click came from.
Anything else is answered politely and stores nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.jobs.kinds import JobKind
from bot.slack.feedback import Skill, Vote, parse_vote
from bot.slack.team_id import team_id_of
from storage import feedback as feedback_queries
from storage.feedback import VoteOutcome

logger = logging.getLogger(__name__)

SKILL_OF_KIND: dict[str, Skill] = {
    JobKind.MENTION: Skill.ANSWER,
    JobKind.SUMMARIZE: Skill.SUMMARY,
    JobKind.TRANSLATE: Skill.TRANSLATION,
}
_REPLY = "parlance_feedback_reply"  # the context key the ack leaves the thanks (or the apology) under


def thanks(outcome: VoteOutcome, *, helpful: bool) -> str:
    if outcome == "same":
        return texts.FEEDBACK_SAME
    if outcome == "changed":
        return texts.FEEDBACK_CHANGED_HELPFUL if helpful else texts.FEEDBACK_CHANGED_NOT_HELPFUL
    return texts.FEEDBACK_THANKS_HELPFUL if helpful else texts.FEEDBACK_THANKS_NOT_HELPFUL


class FeedbackListeners:
    def __init__(self, *, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def on_vote(self, ack: Ack, body: dict[str, Any], action: dict[str, Any], context: BoltContext) -> None:
        ack()
        context[_REPLY] = self._record(body, action, team_id_of(context))

    def thank_voter(self, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """After the ack: the voter alone sees what became of their vote, where they clicked (the thread too)."""
        container = body.get("container") or {}
        channel, user = _channel_of(body), (body.get("user") or {}).get("id")
        reply = context.get(_REPLY)
        if not channel or not user or not isinstance(reply, str):
            return
        thread_ts = container.get("thread_ts") or (body.get("message") or {}).get("thread_ts")
        where: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=reply, **where)
        except SlackApiError as exc:  # a courtesy: the vote itself is stored
            logger.warning("could not thank a voter in %s (%s)", channel, exc.response.get("error"))

    def _record(self, body: dict[str, Any], action: dict[str, Any], team_id: str) -> str:
        vote = parse_vote(action.get("value"))
        container = body.get("container") or {}
        channel, user = _channel_of(body), (body.get("user") or {}).get("id")
        if vote is None or not channel or not isinstance(user, str):
            logger.info("a feedback click in %s carried a value we never set; nothing stored", team_id)
            return texts.FEEDBACK_NOT_RECORDED
        message_ts = container.get("message_ts")
        with self._sessions.begin() as session:
            ephemeral = bool(container.get("is_ephemeral"))
            problem = self._doubt(session, team_id, channel, vote, message_ts, ephemeral=ephemeral)
            if problem is not None:
                logger.info("a feedback click on job %d in %s/%s was not recorded", vote.job_id, team_id, channel)
                return problem
            outcome = feedback_queries.record_vote(
                session=session,
                team_id=team_id,
                channel_id=channel,
                job_id=vote.job_id,
                skill=vote.skill.value,
                user_id=user,
                helpful=vote.helpful,
                message_ts=message_ts if isinstance(message_ts, str) else None,
            )
        logger.info("feedback on job %d in %s/%s: %s vote", vote.job_id, team_id, channel, outcome)
        return thanks(outcome, helpful=vote.helpful)

    @staticmethod
    def _doubt(
        session: Session, team_id: str, channel: str, vote: Vote, message_ts: Any, *, ephemeral: bool
    ) -> str | None:
        """Why the vote cannot be believed, as the words for the voter; None when it can."""
        job = feedback_queries.voted_job(session=session, team_id=team_id, channel_id=channel, job_id=vote.job_id)
        if job is None:  # pruned after a week, or never ours: an answer with votes already may still be re-voted
            earlier = feedback_queries.voted_skill(
                session=session, team_id=team_id, channel_id=channel, job_id=vote.job_id
            )
            if earlier is None:
                return texts.FEEDBACK_UNKNOWN
            return None if earlier == vote.skill else texts.FEEDBACK_NOT_RECORDED
        if SKILL_OF_KIND.get(job.kind) != vote.skill:  # JobKind is a StrEnum: the stored kind finds its entry
            return texts.FEEDBACK_NOT_RECORDED
        if not ephemeral and job.posted and message_ts not in job.posted:
            return texts.FEEDBACK_NOT_RECORDED  # the value of one answer under another message
        return None


def _channel_of(body: dict[str, Any]) -> str | None:
    channel = (body.get("container") or {}).get("channel_id") or (body.get("channel") or {}).get("id")
    return channel if isinstance(channel, str) and channel else None
