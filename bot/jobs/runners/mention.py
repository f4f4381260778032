"""Mentions, direct messages and follow-ups in the bot's threads: an answer from the channel's history, or a
streamed reply.

How one travels, top to bottom:
1. event: Slack sends `app_mention` or `message`; bot/slack/listeners.py stores the message, records a `mention`
   job (`help` for "help") and acks.
2. job: the dispatcher (bot/jobs/dispatch.py) claims it and hands it to `MentionRunner`; a failure it marks as
   passing (RetryLater) brings the job back later, and the retry edits what this attempt posted.
3. runner: `MentionRunner.__call__` opens the reply, then reads what the skill needs from storage.
4. handler: handlers/qa answers a question from the channel's messages, citing them; anything else goes to
   handlers/conversation, whose reply is streamed as the model writes it.
5. delivery: the answer fills the reply (bot/jobs/delivery.py, bot/slack/streaming.py) and is kept as history.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

from bot import texts
from bot.jobs.delivery import Delivery
from bot.jobs.kinds import MentionPayload
from bot.jobs.model_wait import ModelAway, Waiting, told_model_busy
from bot.jobs.runners.attachments import SharedFiles, shared_files
from bot.jobs.runners.deps import RunnerDeps
from bot.jobs.runners.instructions import with_channel_instructions
from bot.jobs.runners.lines import chat_line, is_about_the_team, shorten
from bot.jobs.slack_errors import slack_call
from bot.model.client import ModelBusy, ModelClient, ModelUnavailable, PromptTooLong
from bot.slack.feedback import Skill
from bot.slack.mrkdwn import escape
from bot.slack.native_stream import ReplyStream
from handlers.conversation.reply import converse
from handlers.qa import answers as qa
from handlers.text.guards import is_degenerate, trim_loop
from handlers.text.lines import ChatLine, readable_text
from storage import jobs as job_queries
from storage import messages as message_queries
from storage.db import read_session
from storage.jobs import ClaimedJob
from storage.message_search import search_messages
from storage.messages import StoredMessage

logger = logging.getLogger(__name__)

CONTEXT_MESSAGES = 60
STOP_CHECK_SECONDS = 0.3
QA_RECENT_MESSAGES = 300
QA_SEARCH_HITS = 40


class MentionRunner:
    def __init__(self, deps: RunnerDeps, delivery: Delivery) -> None:
        self.deps = deps
        self.delivery = delivery

    def help(self, job: ClaimedJob) -> None:
        self.delivery.reply_in_thread(job, texts.HELP)

    def waiting(self, job: ClaimedJob) -> Waiting:
        """Where a note about the model goes before the reply exists: the reply itself, in the thread. Once the
        reply is open its stream carries the notes (`ModelAway` in `__call__`)."""
        return Waiting(tell=lambda text: self.delivery.reply_in_thread(job, text, note=True), idempotent=True)

    def __call__(self, job: ClaimedJob) -> None:
        model = self.deps.model
        if self._stop_requested(job):  # stopped while it waited: nothing was written, nothing is
            logger.info("job %d was stopped before it started", job.id)
            return
        if model is None:
            self.delivery.reply_in_thread(job, texts.MODEL_NOT_READY)
            return
        model = with_channel_instructions(self.deps, job, model)  # `/parlance instructions`, after the rules
        payload = MentionPayload.of(job)
        thread_ts = payload.thread_ts
        # The reply exists before the model is asked, so a retry (after a crash, or while the model was away)
        # edits this one message instead of adding another.
        stream = self.delivery.stream_reply(
            job, thread_ts=thread_ts, showing=texts.MODEL_BUSY if told_model_busy(job) else None
        )
        with slack_call():
            request = readable_text(payload.text, lambda user: self.deps.directory.display_name(job.team_id, user))
            try:
                self._answer(job, request, stream, model)
            except (ModelUnavailable, ModelBusy) as exc:  # the notes go into the reply this attempt opened
                raise ModelAway(exc, Waiting(tell=stream.show_note, idempotent=True)) from exc
            except PromptTooLong:
                stream.finish(texts.REQUEST_TOO_LONG_FOR_MODEL, mrkdwn=True)
        self.delivery.remember(job, stream.posted, stream.text, thread_ts=thread_ts)

    def _answer(self, job: ClaimedJob, request: str, stream: ReplyStream, model: ModelClient) -> None:
        """Every question is looked up in the channel first. What the messages do not answer is declined when it
        is about the team (people, dates, decisions: never invented), and otherwise gets a general answer. Each
        of these answers ends with 👍 / 👎 under its last message (`feedback`); notes of ours do not."""
        files = self._shared_files(job)
        answer = self._answer_from_history(job, request, model, files) if qa.is_question(request) else None
        note = files.note()
        if answer is not None:
            stream.finish(_with_note(answer, note), mrkdwn=True, feedback=Skill.ANSWER)
        elif qa.is_history_question(request):
            stream.finish(_with_note(texts.NOTHING_FOUND, note), mrkdwn=True, feedback=Skill.ANSWER)
        else:
            self._converse(job, request, stream, model, files)

    def _converse(
        self, job: ClaimedJob, request: str, stream: ReplyStream, model: ModelClient, files: SharedFiles
    ) -> None:
        """The model's reply, streamed as it comes. Slack's stop button ends it where it is: the model's request
        is closed (the worker stops generating) and the reply says it was stopped."""
        asker = self.deps.directory.display_name(job.team_id, MentionPayload.of(job).user)
        context = sorted([*self._context(job), *files.lines], key=lambda line: float(line.ts))  # files in place
        pieces = converse(request, asker, context, model=model, place=f"#{job.channel_id}")
        stop = StopCheck(lambda: self._stop_requested(job))
        try:
            for piece in pieces:
                stream.feed(piece)
                if stop():
                    logger.info("job %d was stopped by its asker; ending the answer", job.id)
                    stream.finish(stopped(stream.text), feedback=Skill.ANSWER)
                    return
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # a generator left early: closes the model's streamed response, so generation stops
        answer = stream.text
        if is_degenerate(answer):
            answer = trim_loop(answer)
        reply = texts.COULD_NOT_ANSWER if is_degenerate(answer) else answer
        stream.finish(_with_note(reply, files.note()), feedback=Skill.ANSWER)

    def _shared_files(self, job: ClaimedJob) -> SharedFiles:
        """The files shared in the thread (or, for a new thread, with the channel's recent messages, the mention
        included), read for this answer."""
        payload = MentionPayload.of(job)
        with read_session(self.deps.sessions) as session:
            if payload.thread_ts and payload.thread_ts != payload.ts:
                rows = message_queries.thread_messages(
                    session=session, team_id=job.team_id, channel_id=job.channel_id, thread_ts=payload.thread_ts
                )
            else:
                rows = message_queries.recent_messages(
                    session=session, team_id=job.team_id, channel_id=job.channel_id, limit=CONTEXT_MESSAGES
                )
        return shared_files(self.deps, team_id=job.team_id, channel_id=job.channel_id, messages=rows)

    def _answer_from_history(
        self, job: ClaimedJob, question: str, model: ModelClient, files: SharedFiles | None = None
    ) -> str | None:
        """Retrieve (full-text search plus the recent past), answer only from what was found, cite it; None when
        the channel's messages do not answer the question.

        Sources are what the team said: never the bot's own replies, nor requests people made of the bot (a
        question to the bot is not an answer to the next one)."""
        with read_session(self.deps.sessions) as session:
            found = search_messages(
                session=session,
                team_id=job.team_id,
                channel_id=job.channel_id,
                terms=qa.content_words(question),
                limit=QA_SEARCH_HITS,
            )
            recent = message_queries.recent_messages(
                session=session, team_id=job.team_id, channel_id=job.channel_id, limit=QA_RECENT_MESSAGES
            )
        pool = {
            m.ts: m
            for m in [*found, *recent]
            if not m.is_bot and m.ts != MentionPayload.of(job).ts and self._is_about_the_team(m)
        }
        lines = [self._line(m) for m in pool.values()] + (files.lines if files else [])
        answer = qa.answer_question(question, lines, model)
        if not answer.found:
            return None
        return render_answer(answer)

    def _context(self, job: ClaimedJob) -> list[ChatLine]:
        """The thread for a reply inside one; the channel's recent messages for a new thread."""
        payload = MentionPayload.of(job)
        thread_ts = payload.thread_ts
        with read_session(self.deps.sessions) as session:
            if thread_ts and thread_ts != payload.ts:
                rows = message_queries.thread_messages(
                    session=session, team_id=job.team_id, channel_id=job.channel_id, thread_ts=thread_ts
                )
            else:
                rows = message_queries.recent_messages(
                    session=session, team_id=job.team_id, channel_id=job.channel_id, limit=CONTEXT_MESSAGES
                )
            # In a thread the bot's own turns are the conversation; in the channel only what the team said.
            in_thread = bool(thread_ts and thread_ts != payload.ts)
        return [
            self._line(row)
            for row in rows
            if row.ts != payload.ts and row.text.strip() and (in_thread or self._is_about_the_team(row))
        ]

    def _stop_requested(self, job: ClaimedJob) -> bool:
        with read_session(self.deps.sessions) as session:
            return job_queries.stop_requested(session=session, job_id=job.id)

    def _line(self, message: StoredMessage) -> ChatLine:
        return chat_line(message, directory=self.deps.directory, bot_user_id=self.deps.bot_user_id)

    def _is_about_the_team(self, message: StoredMessage) -> bool:
        return is_about_the_team(message, bot_user_id=self.deps.bot_user_id)


class StopCheck:
    """Whether the asker stopped the answer, read from the database at most every STOP_CHECK_SECONDS (a stop can
    be pressed in any process's thread; the model writes many pieces a second)."""

    def __init__(self, read: Callable[[], bool]) -> None:
        self._read = read
        self._next = 0.0

    def __call__(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + STOP_CHECK_SECONDS
        return self._read()


def stopped(text: str) -> str:
    """What a stopped answer says: what was written so far, then that it stopped there."""
    return f"{text.rstrip()}\n\n{texts.STOPPED}" if text.strip() else texts.STOPPED


def render_answer(answer: qa.Answer) -> str:
    """Slack mrkdwn: the answer, its [n] markers linked to the messages, then the numbered sources quoted."""
    text = escape(answer.text)
    if answer.generated or answer.cites:
        urls = {i: line.url for i, line in enumerate(answer.sources, start=1) if line.url}
        text = re.sub(
            r"\[(\d+)\]",
            lambda m: f"<{urls[int(m.group(1))]}|[{m.group(1)}]>" if int(m.group(1)) in urls else m.group(0),
            text,
        )
    sources = "\n".join(
        f"{i}. <{line.url}|{escape(line.speaker)}>: “{escape(shorten(line.text, 200))}”"
        if line.url
        else f"{i}. {escape(line.speaker)}: “{escape(shorten(line.text, 200))}”"
        for i, line in enumerate(answer.sources, start=1)
    )
    return f"{text}\n\n{texts.ANSWER_SOURCES}\n{sources}"


def _with_note(answer: str, note: str) -> str:
    """The answer, then the line about shared files it could not read (never silence about them)."""
    return f"{answer}\n{note}" if note else answer
