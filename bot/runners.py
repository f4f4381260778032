"""What each kind of job does once claimed: read what it needs, call the skill in handlers/, post the reply.

Runners are the bridge between plain-data skills and Slack; they hold no logic of their own beyond choosing
where an answer goes (the thread, the caller only, or the channel).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot import slack_io, texts
from bot.dispatch import RetryLater, Runner
from storage import jobs as job_queries
from storage import messages as message_queries
from storage.jobs import ClaimedJob

logger = logging.getLogger(__name__)


@dataclass
class RunnerContext:
    client: WebClient
    sessions: sessionmaker[Session]
    bot_user_id: str | None
    model: Any = None  # bot.model_client.ModelClient once configured


class Runners:
    """One method per job kind; `as_mapping()` hands them to the dispatcher."""

    def __init__(self, ctx: RunnerContext) -> None:
        self.ctx = ctx

    def as_mapping(self) -> dict[str, Runner]:
        return {"help": self.help, "mention": self.mention, "summarize": self.summarize, "translate": self.translate}

    # -- kinds -----------------------------------------------------------------------------------------------
    def help(self, job: ClaimedJob) -> None:
        self._reply_in_thread(job, texts.HELP)

    def mention(self, job: ClaimedJob) -> None:
        self._reply_in_thread(job, texts.MODEL_NOT_READY)

    def summarize(self, job: ClaimedJob) -> None:
        self._reply_to_caller(job, texts.SKILL_NOT_READY.format(skill="summarizing"))

    def translate(self, job: ClaimedJob) -> None:
        self._reply_to_caller(job, texts.SKILL_NOT_READY.format(skill="translation"))

    def tell_user_it_failed(self, job: ClaimedJob, reason: str) -> None:
        """Called by the dispatcher when a job gives up: the user hears it where they are already looking."""
        if job.kind in {"summarize", "translate"}:
            self._reply_to_caller(job, texts.SOMETHING_WENT_WRONG)
        else:
            self._reply_in_thread(job, texts.SOMETHING_WENT_WRONG)

    # -- posting ---------------------------------------------------------------------------------------------
    def _reply_in_thread(self, job: ClaimedJob, text: str) -> None:
        """Posts once per job: a retried job edits the reply it already posted instead of posting again."""
        payload = job.payload
        text = slack_io.neutralize_mentions(text, allowed_users=frozenset({payload.get("user", "")}))
        try:
            if job.reply_ts:
                slack_io.update_message(client=self.ctx.client, channel=job.channel_id, ts=job.reply_ts, text=text)
                return
            posted = slack_io.post_in_thread(
                client=self.ctx.client,
                channel=job.channel_id,
                thread_ts=payload.get("thread_ts"),
                text=text,
                job_id=job.id,
            )
        except SlackApiError as exc:
            raise _classify(exc) from exc
        with self.ctx.sessions.begin() as session:
            job_queries.record_reply(session=session, job_id=job.id, reply_ts=posted[0])
            for ts in posted:
                message_queries.save_message(
                    session=session,
                    team_id=job.team_id,
                    channel_id=job.channel_id,
                    ts=ts,
                    user_id=self.ctx.bot_user_id,
                    text=text,
                    thread_ts=payload.get("thread_ts"),
                    is_bot=True,
                )

    def _reply_to_caller(self, job: ClaimedJob, text: str) -> None:
        payload = job.payload
        try:
            if payload.get("public"):
                slack_io.post_in_thread(
                    client=self.ctx.client, channel=job.channel_id, thread_ts=None, text=text, job_id=job.id
                )
                return
            slack_io.respond_ephemeral(
                client=self.ctx.client,
                response_url=payload.get("response_url"),
                channel=job.channel_id,
                user=payload["user"],
                text=text,
            )
        except SlackApiError as exc:
            raise _classify(exc) from exc


def _classify(exc: SlackApiError) -> Exception:
    """Slack errors worth retrying (rate limits and server trouble left after slack_sdk's own retries)."""
    status = exc.response.status_code if exc.response is not None else 0
    if status == 429 or status >= 500:
        return RetryLater(f"Slack answered HTTP {status}")
    return exc
