"""What the job runners share: the Slack client, the database, the model, names and links, and the two ways
an answer reaches people (in a thread, or to the caller alone)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.jobs.dispatch import GiveUp, RetryLater
from bot.slack import delivery as slack_io
from bot.slack.directory import Directory
from bot.slack.teams import Teams, current_team
from handlers.text.lines import ChatLine, readable_text
from storage import jobs as job_queries
from storage import messages as message_queries
from storage.jobs import ClaimedJob
from storage.messages import StoredMessage
from storage.retention import slack_ts

logger = logging.getLogger(__name__)

# What a Slack call can fail with once slack_sdk's own retries are spent: Slack's answer, or a broken connection.
SLACK_FAILURES: tuple[type[Exception], ...] = (SlackApiError, OSError, HTTPException)
CONNECTION_RETRY_DELAY = 1.0  # a broken connection is usually brief, and the retry first looks for what was posted
SLACK_CLOCK_SKEW = dt.timedelta(minutes=1)  # our clock and Slack's, when looking for what a job posted
MODEL_WAIT_REASON = "waiting for the model"  # how a job's last_error starts while it waits: the user was told
MODEL_RETRY_MAX_DELAY = 30.0  # seconds between tries while the model is away: someone is waiting for the answer


class SlackRefused(Exception):
    """Slack refused a call for good (not a rate limit or an outage): the message names the method and Slack's
    error, and ends up in the job's last_error."""


@dataclass
class RunnerContext:
    client: WebClient
    sessions: sessionmaker[Session]
    teams: Teams  # who the bot is in each workspace; `bot_user_id` is its id in the one the job acts for
    directory: Directory
    model: Any = None  # a bot.model.client.ModelClient, or None when no model is configured
    summary_model_writes: bool = False  # SUMMARY_MODEL_WRITES: worth it with a capable model only
    retention_days: int | None = None  # RETENTION_DAYS: nothing older is read back from Slack either
    model_wait: dt.timedelta = dt.timedelta(seconds=600)  # MODEL_WAIT_SECONDS: how long a request waits for the model

    @property
    def bot_user_id(self) -> str | None:
        return self.teams.bot_user_id(current_team.get())

    def oldest_kept_ts(self) -> str | None:
        """The Slack ts before which messages are purged (None: kept forever), so reading history from Slack
        never brings back what retention deleted."""
        if self.retention_days is None:
            return None
        return slack_ts(dt.datetime.now(dt.UTC) - dt.timedelta(days=self.retention_days))

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

    def is_about_the_team(self, message: StoredMessage) -> bool:
        """Whether a stored message is something the team said, and so may be a source, a summary point, an open
        question or an action item: not the bot's own replies, and not requests people made of the bot (a
        question to the bot is not a fact about the team, and "@parlance who owns X?" is not an open question)."""
        if self.is_own(message) or not message.text.strip():
            return False
        bot = self.bot_user_id
        return not (bot and f"<@{bot}" in message.text)

    # -- answers ---------------------------------------------------------------------------------------------
    def reply_in_thread(self, job: ClaimedJob, text: str, *, thread_ts: str | None = None, note: bool = False) -> None:
        """Posts once per job: a retried job edits the reply it already posted instead of posting again. A `note`
        (the model is busy) is edited into the answer later, so it is not kept as history."""
        payload = job.payload
        thread_ts = thread_ts or payload.get("thread_ts")
        text = slack_io.neutralize_mentions(text, allowed_users=frozenset({payload.get("user") or ""}))
        posted = self._post_once(job, text, thread_ts=thread_ts)
        if not note:
            self.remember(job, posted, text, thread_ts=thread_ts)

    def tell_privately(self, job: ClaimedJob, text: str) -> None:
        """An ephemeral note to the person who asked, in the job's thread: the way left to reach them when
        posting in the thread is what fails."""
        user = job.payload.get("user")
        if not user:
            return
        try:
            slack_io.respond_ephemeral(
                client=self.client,
                response_url=None,
                channel=job.channel_id,
                user=user,
                text=slack_io.neutralize_mentions(text),
                thread_ts=job.payload.get("thread_ts"),
            )
        except SLACK_FAILURES as exc:
            raise classify_slack_error(exc) from exc

    def earlier_replies(self, job: ClaimedJob, *, thread_ts: str | None) -> list[str]:
        """The messages this job already posted, first one first, for a retry to edit instead of posting again.

        The recorded reply when there is one. Otherwise, on a retry only (the first attempt costs no extra call),
        whatever Slack holds with this job's metadata: a process can die, or lose its connection, after Slack
        created the message and before we recorded it. What is found is recorded.
        """
        if job.reply_ts:
            return [job.reply_ts]
        if job.attempts <= 1:
            return []
        oldest = slack_ts(job.created_at - SLACK_CLOCK_SKEW)
        try:
            found = slack_io.find_job_replies(
                client=self.client, channel=job.channel_id, thread_ts=thread_ts, job_id=job.id, oldest=oldest
            )
        except SLACK_FAILURES as exc:
            problem = classify_slack_error(exc)
            if isinstance(problem, RetryLater):
                raise problem from exc
            logger.warning("job %d could not look for an earlier reply (%s); posting a new one", job.id, problem)
            return []
        if found:
            logger.info("job %d found %d message(s) an earlier attempt posted; editing them", job.id, len(found))
            self.record_first_reply(job, found[0])
        return found

    def record_first_reply(self, job: ClaimedJob, ts: str) -> None:
        """Remembers the job's first message as soon as it exists, so a retry edits it instead of posting again."""
        with self.sessions.begin() as session:
            job_queries.record_reply(session=session, job_id=job.id, reply_ts=ts)

    def _post_once(self, job: ClaimedJob, text: str, *, thread_ts: str | None) -> list[str]:
        """Edits what an earlier attempt posted and posts the rest, recording the first message as soon as it
        exists. Returns the ts of every message that now holds the text."""
        try:
            existing = self.earlier_replies(job, thread_ts=thread_ts)
            posted: list[str] = []
            for index, chunk in enumerate(slack_io.split_for_slack(text)):
                if index < len(existing):
                    slack_io.update_message(client=self.client, channel=job.channel_id, ts=existing[index], text=chunk)
                    posted.append(existing[index])
                    continue
                posted.extend(
                    slack_io.post_in_thread(
                        client=self.client, channel=job.channel_id, thread_ts=thread_ts, text=chunk, job_id=job.id
                    )
                )
                if index == 0:
                    self.record_first_reply(job, posted[0])
        except SLACK_FAILURES as exc:
            raise classify_slack_error(exc) from exc
        return posted

    def reply_to_caller(self, job: ClaimedJob, text: str, *, blocks: list[dict[str, Any]] | None = None) -> None:
        """Only the caller sees it (through the command's response_url when there is one), unless they asked for
        `public`, in which case it goes to the channel."""
        payload = job.payload
        text = slack_io.neutralize_mentions(text)
        if payload.get("public"):
            self._post_once(job, text, thread_ts=None)
            return
        try:
            slack_io.respond_ephemeral(
                client=self.client,
                response_url=payload.get("response_url"),
                channel=job.channel_id,
                user=payload["user"],
                text=text,
                thread_ts=payload.get("reply_thread_ts"),
                blocks=blocks,
            )
        except SLACK_FAILURES as exc:
            raise classify_slack_error(exc) from exc

    # -- waiting for the model -------------------------------------------------------------------------------
    def wait_for_model(
        self, job: ClaimedJob, exc: Exception, *, tell: Callable[[str], None], idempotent_tell: bool = False
    ) -> Exception:
        """What a runner raises when the model is busy or unreachable.

        The user hears once that the answer is coming (`tell`, which a later answer replaces where it can), and
        the job waits with backoff, past the attempt limit, until MODEL_WAIT_SECONDS after the request. Then
        `tell` gives the bad news instead and the job fails. `idempotent_tell`: telling again what the message
        already says changes nothing (an edit of the reply), so the note is always restored, e.g. over a half
        answer cut short by a second outage.
        """
        now = dt.datetime.now(dt.UTC)
        deadline = job.created_at + self.model_wait
        remaining = (deadline - now).total_seconds()
        if remaining <= 1.0:
            waited = _duration(now - job.created_at)
            tell(texts.MODEL_GAVE_UP.format(waited=waited))
            return GiveUp(f"gave up waiting for the model after {waited}: {type(exc).__name__}: {exc}")
        if idempotent_tell or not self.told_model_busy(job):
            tell(texts.MODEL_BUSY)
        delay = min(MODEL_RETRY_MAX_DELAY, 2.0 * 2 ** max(0, job.attempts - 1), remaining)
        return RetryLater(f"{MODEL_WAIT_REASON}: {type(exc).__name__}: {exc}", delay=delay, until=deadline)

    @staticmethod
    def told_model_busy(job: ClaimedJob) -> bool:
        """Whether the previous attempt stopped to wait for the model, so the busy note is already there."""
        return (job.last_error or "").startswith(MODEL_WAIT_REASON)

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


def classify_slack_error(exc: Exception) -> Exception:
    """What to raise for a failed Slack call: RetryLater for what may pass (rate limits and server trouble left
    after slack_sdk's own retries, a broken connection), SlackRefused with Slack's reason for the rest."""
    if not isinstance(exc, SlackApiError):
        return RetryLater(f"lost the connection to Slack ({type(exc).__name__}: {exc})", delay=CONNECTION_RETRY_DELAY)
    response = exc.response
    status = response.status_code if response is not None else 0
    method = (getattr(response, "api_url", "") or "").rstrip("/").rsplit("/", 1)[-1] or "a Slack call"
    if status == 429 or status >= 500:
        retry_after = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
        delay = float(retry_after) if str(retry_after or "").isdigit() else None
        return RetryLater(f"Slack answered HTTP {status} to {method}", delay=delay)
    error = response.get("error") if response is not None else None
    return SlackRefused(f"Slack refused {method}: {error or exc}")


def _duration(span: dt.timedelta) -> str:
    seconds = round(span.total_seconds())
    return f"{seconds} seconds" if seconds < 120 else f"{round(seconds / 60)} minutes"
