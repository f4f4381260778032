"""How a job's answer reaches people: in a thread, or to the caller alone, posted once however often it is tried.

A job can be tried several times (the model was away, Slack or the process failed halfway). Each try edits what
an earlier one posted instead of posting again: the messages' ts are recorded as soon as they exist (the first,
and those that continue a long answer), a retry that has none recorded looks in Slack for messages carrying the
job's metadata, and messages a shorter answer no longer needs are deleted. Slack I/O itself (posting, splitting,
mention-safety) is bot/slack/delivery.py; this module adds what needs the job and the database.

Two more things happen where an answer is delivered: what the bot said is stored as history, unless the job's
workspace uninstalled the app meanwhile; and someone whose requests queue up behind each other is told so, once.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.jobs.slack_errors import SlackRefused, slack_call
from bot.slack import agent_status
from bot.slack import delivery as slack_io
from bot.slack.answer_blocks import closing_blocks
from bot.slack.feedback import Skill
from bot.slack.native_stream import NativeStream, ReplyStream
from bot.slack.streaming import SlackStream
from bot.slack.teams import Teams, current_team
from storage import jobs as job_queries
from storage import messages as message_queries
from storage.jobs import ClaimedJob
from storage.messages import slack_ts

logger = logging.getLogger(__name__)

SLACK_CLOCK_SKEW = dt.timedelta(minutes=1)  # our clock and Slack's, when looking for what a job posted
# Someone with this many requests waiting behind the one being answered hears why theirs come one at a time. A
# person asks two or three things in a row; more than this is a flood, and the wait is then theirs to expect.
QUEUED_NOTE_AT = 5


def oldest_post_of(job: ClaimedJob) -> str:
    """The Slack ts before which nothing the job posted can be: where a retry starts looking for its posts."""
    return slack_ts(job.created_at - SLACK_CLOCK_SKEW)


class Delivery:
    def __init__(
        self, *, client: WebClient, sessions: sessionmaker[Session], teams: Teams, native_streaming: bool = True
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._teams = teams
        self._native_streaming = native_streaming  # NATIVE_STREAMING

    def reply_in_thread(
        self,
        job: ClaimedJob,
        text: str,
        *,
        thread_ts: str | None = None,
        note: bool = False,
        feedback: Skill | None = None,
    ) -> None:
        """Posts once per job: a retried job edits the reply it already posted instead of posting again. A `note`
        (the model is busy) is edited into the answer later, so it is not kept as history. `feedback`: the
        answer gets 👍 / 👎 under its last message."""
        payload = job.payload
        thread_ts = thread_ts or payload.get("thread_ts")
        text = slack_io.neutralize_mentions(text, allowed_users=frozenset({payload.get("user") or ""}))
        posted = self._post_once(job, text, thread_ts=thread_ts, feedback=None if note else feedback)
        if not note:
            self.remember(job, posted, text, thread_ts=thread_ts)

    def reply_to_caller(
        self,
        job: ClaimedJob,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        feedback: Skill | None = None,
    ) -> None:
        """Only the caller sees it (through the command's response_url when there is one), unless they asked for
        `public`, in which case it goes to the channel. `feedback`: 👍 / 👎 under its last message."""
        payload = job.payload
        text = slack_io.neutralize_mentions(text)
        if payload.get("public"):
            self._post_once(job, text, thread_ts=None, feedback=feedback)
        else:
            if feedback is not None:
                last = slack_io.split_for_slack(text)[-1]
                blocks = [*slack_io.as_markdown_blocks(last), *closing_blocks(job.id, feedback)]
            with slack_call():
                slack_io.respond_ephemeral(
                    client=self._client,
                    response_url=payload.get("response_url"),
                    channel=job.channel_id,
                    user=payload["user"],
                    text=text,
                    blocks=blocks,
                    as_markdown=blocks is None,
                )
        self.tell_if_queued(job, thread_ts=None)

    def tell_privately(self, job: ClaimedJob, text: str, *, thread_ts: str | None = None) -> None:
        """An ephemeral note to the person who asked, in `thread_ts` (the job's thread unless given): the way
        left to reach them when the answer would have been public, or when posting in the thread is what fails."""
        user = job.payload.get("user")
        if not user:
            return
        with slack_call():
            slack_io.respond_ephemeral(
                client=self._client,
                response_url=None,
                channel=job.channel_id,
                user=user,
                text=slack_io.neutralize_mentions(text),
                thread_ts=thread_ts or job.payload.get("thread_ts"),
            )

    def stream_reply(self, job: ClaimedJob, *, thread_ts: str | None, showing: str | None) -> ReplyStream:
        """A reply the model's answer is streamed into, written once however often the job is tried.

        In a thread, on a first attempt and with NATIVE_STREAMING on, Slack's own streaming carries it: the agent's
        loading status shows until the answer starts, the streamed message is recorded as soon as it exists and
        its stop carries the job's metadata. Otherwise (and whenever Slack will not stream, bot/slack/native_stream)
        a placeholder is posted (and recorded) first and edited as the model writes. A retry edits what the
        earlier attempt left (a stream it started is stopped first), so the thread ends with exactly one reply.
        `showing`: what the earlier attempt's message already says (the busy note), left in place until the
        answer comes."""
        user = job.payload.get("user")
        with slack_call():
            earlier = self.earlier_replies(job, thread_ts=thread_ts)
            if self._native_streaming and thread_ts and not earlier:
                return self._native(job, thread_ts=thread_ts, user=user if isinstance(user, str) else None)
            for ts in earlier:
                self._end_stream(job, ts)
            stream = SlackStream(
                client=self._client,
                channel=job.channel_id,
                thread_ts=thread_ts,
                job_id=job.id,
                existing=earlier,
                on_posted=lambda posted: self.record_replies(job, posted),
                tag_edits=bool(earlier),
            )
            stream.start(showing=showing)
        return stream

    def _native(self, job: ClaimedJob, *, thread_ts: str, user: str | None) -> NativeStream:
        """The agent's session is `processing` (Slack's stop button shows) and its loading status on until the
        answer starts; once the reply is finished the session is `active` again."""
        client, channel = self._client, job.channel_id
        agent_status.start_session(client=client, channel=channel, thread_ts=thread_ts, user=user)
        agent_status.show_loading(client=client, channel=channel, thread_ts=thread_ts)
        return NativeStream(
            client=self._client,
            channel=job.channel_id,
            thread_ts=thread_ts,
            job_id=job.id,
            recipient_team_id=job.team_id,
            recipient_user_id=user,
            on_posted=lambda posted: self.record_replies(job, posted),
            on_first_text=lambda: agent_status.clear_loading(client=client, channel=channel, thread_ts=thread_ts),
            on_done=lambda: agent_status.end_session(client=client, channel=channel, thread_ts=thread_ts),
        )

    def _end_stream(self, job: ClaimedJob, ts: str) -> None:
        """An earlier attempt's reply may still be streaming (the process died mid-answer): stop it so it can be
        edited. A reply that is not streaming (posted, stopped, or expired) answers with an error, which is fine."""
        try:
            self._client.chat_stopStream(channel=job.channel_id, ts=ts)
        except SlackApiError:
            return
        logger.info("job %d stopped the stream an earlier attempt left open", job.id)

    def earlier_replies(self, job: ClaimedJob, *, thread_ts: str | None) -> list[str]:
        """The messages this job already posted, first one first, for a retry to edit instead of posting again.

        The recorded ones when there are any. Otherwise, on a retry only (the first attempt costs no extra call),
        whatever Slack holds with this job's metadata: a process can die, or lose its connection, after Slack
        created the message and before we recorded it. In a thread, a native stream cut off before its stop has
        no metadata yet (chat.startStream takes none): the bot's untagged messages there are taken as this job's
        (`untagged_replies` says why that is safe). What is found is recorded.
        """
        if job.reply_ts:
            return [job.reply_ts, *job.continued_ts]
        if job.attempts <= 1:
            return []
        try:
            with slack_call():
                found = slack_io.find_job_replies(
                    client=self._client,
                    channel=job.channel_id,
                    thread_ts=thread_ts,
                    job_id=job.id,
                    oldest=oldest_post_of(job),
                    bot_user_id=self._teams.bot_user_id(current_team.get()),
                )
        except SlackRefused as problem:
            logger.warning("job %d could not look for an earlier reply (%s); posting a new one", job.id, problem)
            return []
        if found:
            logger.info("job %d found %d message(s) an earlier attempt posted; editing them", job.id, len(found))
            self.record_replies(job, found)
        return found

    def record_replies(self, job: ClaimedJob, posted: list[str]) -> None:
        """Remembers the job's messages as soon as each exists, so a retry edits them instead of posting again."""
        if not posted:
            return
        with self._sessions.begin() as session:
            job_queries.record_reply(session=session, job_id=job.id, reply_ts=posted[0], continued_ts=posted[1:])

    def remember(self, job: ClaimedJob, posted: list[str], text: str, *, thread_ts: str | None) -> None:
        """Our replies become history too, so follow-ups in the thread see what we said. Not when the job's row
        is gone: its workspace uninstalled the app while the answer was being written, and everything stored
        about the workspace was deleted; the row's lock keeps that deletion from passing in between."""
        with self._sessions.begin() as session:
            if not job_queries.job_exists(session=session, job_id=job.id):
                logger.info("job %d is gone (its workspace uninstalled the app); its reply is not stored", job.id)
                return
            for ts in posted:
                message_queries.save_message(
                    session=session,
                    team_id=job.team_id,
                    channel_id=job.channel_id,
                    ts=ts,
                    user_id=self._teams.bot_user_id(current_team.get()),
                    text=text,
                    thread_ts=thread_ts,
                    is_bot=True,
                )
        self.tell_if_queued(job, thread_ts=thread_ts)

    def tell_if_queued(self, job: ClaimedJob, *, thread_ts: str | None) -> None:
        """Once someone has QUEUED_NOTE_AT or more requests waiting behind this answer, tells them, privately and
        once for the lot, that theirs come one at a time so others are not kept waiting (storage.jobs'
        per-person limit), rather than leaving them to wonder why the answers trickle in."""
        user = job.payload.get("user")
        if not isinstance(user, str):
            return
        with self._sessions.begin() as session:
            waiting = job_queries.tell_queued_once(
                session=session, job_id=job.id, team_id=job.team_id, user_id=user, at_least=QUEUED_NOTE_AT
            )
        if waiting is None:
            return
        try:
            self.tell_privately(job, texts.QUEUED_BEHIND.format(count=waiting), thread_ts=thread_ts)
        except SlackRefused as problem:  # a courtesy: the answers themselves are what matters
            logger.warning("job %d could not tell its asker they are queued (%s)", job.id, problem)

    def _post_once(self, job: ClaimedJob, text: str, *, thread_ts: str | None, feedback: Skill | None) -> list[str]:
        """Edits what an earlier attempt posted, posts the rest and deletes what a longer earlier text needed
        beyond this one, recording the messages as soon as each exists. Returns the ts of every message that now
        holds the text. `feedback`: the last message carries the 👍 / 👎 buttons (closing_blocks); every edit
        names its blocks, so buttons an earlier attempt's last message showed come off it."""
        existing = self.earlier_replies(job, thread_ts=thread_ts)
        posted: list[str] = []
        chunks = slack_io.split_for_slack(text)
        with slack_call():
            for index, chunk in enumerate(chunks):
                blocks = slack_io.as_markdown_blocks(chunk)
                if blocks and index == len(chunks) - 1:
                    blocks += closing_blocks(job.id, feedback)
                if index < len(existing):
                    slack_io.update_message(
                        client=self._client, channel=job.channel_id, ts=existing[index], text=chunk, blocks=blocks
                    )
                    posted.append(existing[index])
                    continue
                posted.extend(
                    slack_io.post_in_thread(
                        client=self._client,
                        channel=job.channel_id,
                        thread_ts=thread_ts,
                        text=chunk,
                        job_id=job.id,
                        blocks=blocks,
                    )
                )
                self.record_replies(job, posted)
            for extra in reversed(existing[len(posted) :]):  # what a longer earlier answer needed, and this not
                slack_io.delete_message(client=self._client, channel=job.channel_id, ts=extra)
        if len(existing) > len(posted):
            self.record_replies(job, posted)
        return posted
