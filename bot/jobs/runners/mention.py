"""Mentions, direct messages and follow-ups in the bot's threads: a streamed reply, or an answer from history."""

from __future__ import annotations

import re

from bot import texts
from bot.jobs.runners.context import SLACK_FAILURES, RunnerContext, classify_slack_error, shorten
from bot.model.client import ModelBusy, ModelUnavailable, PromptTooLong
from bot.slack.mrkdwn import escape
from bot.slack.streaming import SlackStream
from handlers.conversation.reply import converse
from handlers.qa import answers as qa
from handlers.text.guards import is_degenerate, trim_loop
from handlers.text.lines import ChatLine, readable_text
from storage import messages as message_queries
from storage.jobs import ClaimedJob
from storage.message_search import search_messages

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
                # Every question is looked up in the channel first. What the messages do not answer is declined
                # when it is about the team (people, dates, decisions: never invented), and otherwise gets a
                # general answer.
                answer = self._answer_from_history(job, request) if qa.is_question(request) else None
                if answer is not None:
                    stream.finish(answer, mrkdwn=True)
                elif qa.is_history_question(request):
                    stream.finish(texts.NOTHING_FOUND, mrkdwn=True)
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

    def _answer_from_history(self, job: ClaimedJob, question: str) -> str | None:
        """Retrieve (full-text search plus the recent past), answer only from what was found, cite it; None when
        the channel's messages do not answer the question.

        Sources are what the team said: never the bot's own replies, nor requests people made of the bot (a
        question to the bot is not an answer to the next one)."""
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
        pool = {
            m.ts: m
            for m in [*found, *recent]
            if not m.is_bot and m.ts != job.payload["ts"] and self.ctx.is_about_the_team(m)
        }
        lines = [self.ctx.line(job.team_id, job.channel_id, m) for m in pool.values()]
        answer = qa.answer_question(question, lines, self.ctx.model)
        if not answer.found:
            return None
        return render_answer(answer)

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
            # In a thread the bot's own turns are the conversation; in the channel only what the team said.
            in_thread = bool(thread_ts and thread_ts != payload["ts"])
        return [
            self.ctx.line(job.team_id, job.channel_id, row)
            for row in rows
            if row.ts != payload["ts"] and row.text.strip() and (in_thread or self.ctx.is_about_the_team(row))
        ]


def render_answer(answer: qa.Answer) -> str:
    """Slack mrkdwn: the answer, its [n] markers linked to the messages, then the numbered sources quoted."""
    text = escape(answer.text)
    if answer.generated:
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
