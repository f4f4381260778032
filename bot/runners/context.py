"""What the job runners share: the Slack client, the database, the model, names and links, and the two ways
an answer reaches people (in a thread, or to the caller alone)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot import slack_io, texts
from bot.directory import Directory
from bot.dispatch import RetryLater
from handlers.chat import ChatLine, readable_text
from storage import jobs as job_queries
from storage import messages as message_queries
from storage.jobs import ClaimedJob
from storage.messages import StoredMessage

logger = logging.getLogger(__name__)


@dataclass
class RunnerContext:
    client: WebClient
    sessions: sessionmaker[Session]
    bot_user_id: str | None
    directory: Directory
    model: Any = None  # a bot.model_client.ModelClient, or None when no model is configured
    summary_model_writes: bool = False  # SUMMARY_MODEL_WRITES: worth it with a capable model only

    def name(self, team_id: str, user_id: str | None) -> str:
        return self.directory.display_name(team_id, user_id)

    def line(self, team_id: str, channel_id: str, message: StoredMessage) -> ChatLine:
        """A stored message as skills read it: the speaker's name, readable text, and its permalink."""
        own = message.is_bot and message.user_id == self.bot_user_id
        return ChatLine(
            ts=message.ts,
            speaker=texts.BOT_SPEAKER if own else self.name(team_id, message.user_id),
            text=readable_text(message.text, lambda user: self.name(team_id, user)),
            url=self.directory.permalink(channel_id, message.ts, message.thread_ts),
            thread_ts=message.thread_ts,
        )

    def is_own(self, message: StoredMessage) -> bool:
        return message.is_bot and message.user_id == self.bot_user_id

    # -- answers ---------------------------------------------------------------------------------------------
    def reply_in_thread(self, job: ClaimedJob, text: str, *, thread_ts: str | None = None) -> None:
        """Posts once per job: a retried job edits the reply it already posted instead of posting again."""
        payload = job.payload
        thread_ts = thread_ts or payload.get("thread_ts")
        text = slack_io.neutralize_mentions(text, allowed_users=frozenset({payload.get("user") or ""}))
        try:
            if job.reply_ts:
                slack_io.update_message(client=self.client, channel=job.channel_id, ts=job.reply_ts, text=text)
                return
            posted = slack_io.post_in_thread(
                client=self.client, channel=job.channel_id, thread_ts=thread_ts, text=text, job_id=job.id
            )
        except SlackApiError as exc:
            raise classify_slack_error(exc) from exc
        with self.sessions.begin() as session:
            job_queries.record_reply(session=session, job_id=job.id, reply_ts=posted[0])
        self.remember(job, posted, text, thread_ts=thread_ts)

    def reply_to_caller(self, job: ClaimedJob, text: str, *, blocks: list[dict[str, Any]] | None = None) -> None:
        """Only the caller sees it (through the command's response_url when there is one), unless they asked for
        `public`, in which case it goes to the channel."""
        payload = job.payload
        text = slack_io.neutralize_mentions(text)
        try:
            if payload.get("public"):
                slack_io.post_in_thread(
                    client=self.client, channel=job.channel_id, thread_ts=None, text=text, job_id=job.id
                )
                return
            slack_io.respond_ephemeral(
                client=self.client,
                response_url=payload.get("response_url"),
                channel=job.channel_id,
                user=payload["user"],
                text=text,
                thread_ts=payload.get("reply_thread_ts"),
                blocks=blocks,
            )
        except SlackApiError as exc:
            raise classify_slack_error(exc) from exc

    def remember(self, job: ClaimedJob, posted: list[str], text: str, *, thread_ts: str | None) -> None:
        """Our replies become history too, so follow-ups in the thread see what we said."""
        with self.sessions.begin() as session:
            for ts in posted:
                message_queries.save_message(
                    session=session,
                    team_id=job.team_id,
                    channel_id=job.channel_id,
                    ts=ts,
                    user_id=self.bot_user_id,
                    text=text,
                    thread_ts=thread_ts,
                    is_bot=True,
                )


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def classify_slack_error(exc: SlackApiError) -> Exception:
    """Slack errors worth retrying (rate limits and server trouble left after slack_sdk's own retries)."""
    status = exc.response.status_code if exc.response is not None else 0
    if status == 429 or status >= 500:
        return RetryLater(f"Slack answered HTTP {status}")
    return exc
