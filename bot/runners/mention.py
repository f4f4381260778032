"""Mentions, direct messages and follow-ups in the bot's threads: a streamed reply, or an answer from history."""

from __future__ import annotations

from bot import texts
from bot.model_client import ModelBusy, ModelUnavailable, PromptTooLong
from bot.mrkdwn import escape
from bot.runners.context import SLACK_FAILURES, RunnerContext, classify_slack_error, shorten
from bot.streaming import SlackStream
from handlers import qa
from handlers.chat import ChatLine, readable_text
from handlers.conversation import converse
from handlers.guards import is_degenerate, trim_loop
from storage import messages as message_queries
from storage.jobs import ClaimedJob
from storage.search import search_messages

CONTEXT_MESSAGES = 60
QA_RECENT_MESSAGES = 300
QA_SEARCH_HITS = 40


class MentionRunner:
    def __init__(self, ctx: RunnerContext) -> None:
        self.ctx = ctx

    def help(self, job: ClaimedJob) -> None:
        self.ctx.reply_in_thread(job, texts.HELP)

    def __call__(self, job: ClaimedJob) -> None:
        if self.ctx.model is None:
            self.ctx.reply_in_thread(job, texts.MODEL_NOT_READY)
            return
        payload = job.payload
        try:
            # The placeholder is posted first and the answer streamed into it, so a retry (after a crash, or while
            # the model was away) finds that one message and edits it: the thread ends with exactly one reply.
            earlier = self.ctx.earlier_replies(job, thread_ts=payload.get("thread_ts"))
            stream = SlackStream(
                client=self.ctx.client,
                channel=job.channel_id,
                thread_ts=payload.get("thread_ts"),
                job_id=job.id,
                existing=earlier,
            )
            waiting = self.ctx.told_model_busy(job)
            stream.start(showing=texts.MODEL_BUSY if waiting else None)
            if not earlier:
                self.ctx.record_first_reply(job, stream.posted[0])
            request = readable_text(payload["text"], lambda user: self.ctx.name(job.team_id, user))
            try:
                if qa.is_history_question(request):
                    stream.finish(self._answer_from_history(job, request), mrkdwn=True)
                else:
                    self._converse(job, request, stream)
            except (ModelUnavailable, ModelBusy) as exc:
                raise self.ctx.wait_for_model(job, exc, tell=stream.show_note, idempotent_tell=True) from exc
            except PromptTooLong:
                stream.finish(texts.REQUEST_TOO_LONG_FOR_MODEL, mrkdwn=True)
        except SLACK_FAILURES as exc:
            raise classify_slack_error(exc) from exc
        self.ctx.remember(job, stream.posted, stream.text, thread_ts=payload.get("thread_ts"))

    def _converse(self, job: ClaimedJob, request: str, stream: SlackStream) -> None:
        asker = self.ctx.name(job.team_id, job.payload["user"])
        pieces = converse(request, asker, self._context(job), model=self.ctx.model, place=f"#{job.channel_id}")
        for piece in pieces:
            stream.feed(piece)
        answer = stream.text
        if is_degenerate(answer):
            answer = trim_loop(answer)
        stream.finish(texts.COULD_NOT_ANSWER if is_degenerate(answer) else answer)

    def _answer_from_history(self, job: ClaimedJob, question: str) -> str:
        """Retrieve (full-text search plus the recent past), rank, answer only from what was found, cite it."""
        with self.ctx.sessions() as session:
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
        pool = {m.ts: m for m in [*found, *recent] if not m.is_bot and m.ts != job.payload["ts"] and m.text.strip()}
        lines = [self.ctx.line(job.team_id, job.channel_id, m) for m in pool.values()]
        answer = qa.answer_question(question, lines, self.ctx.model)
        if not answer.found:
            return texts.NOTHING_FOUND
        sources = "\n".join(
            f"• <{line.url}|{escape(line.speaker)}>: “{escape(shorten(line.text, 200))}”" for line in answer.sources
        )
        return f"{escape(answer.text)}\n\n{texts.ANSWER_SOURCES}\n{sources}"

    def _context(self, job: ClaimedJob) -> list[ChatLine]:
        """The thread for a reply inside one; the channel's recent messages for a new thread."""
        payload = job.payload
        thread_ts = payload.get("thread_ts")
        with self.ctx.sessions() as session:
            if thread_ts and thread_ts != payload["ts"]:
                rows = message_queries.thread_messages(
                    session=session, team_id=job.team_id, channel_id=job.channel_id, thread_ts=thread_ts
                )
            else:
                rows = message_queries.recent_messages(
                    session=session, team_id=job.team_id, channel_id=job.channel_id, limit=CONTEXT_MESSAGES
                )
        return [
            self.ctx.line(job.team_id, job.channel_id, row)
            for row in rows
            if row.ts != payload["ts"] and row.text.strip()
        ]
