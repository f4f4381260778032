"""`/summarize` and the `Summarize thread` shortcut: backfill what we missed, summarize, link every point."""

from __future__ import annotations

import datetime as dt

from bot import texts
from bot.backfill import backfill_channel, backfill_thread
from bot.model_client import ModelBusy, ModelUnavailable
from bot.mrkdwn import escape
from bot.runners.context import RunnerContext, shorten
from handlers.summarize import Summary, SummaryPoint, summarize
from storage import messages as message_queries
from storage.jobs import ClaimedJob
from storage.messages import StoredMessage

MAX_MESSAGES = 5000
POINT_CHARS = 300


class SummarizeRunner:
    def __init__(self, ctx: RunnerContext) -> None:
        self.ctx = ctx

    def __call__(self, job: ClaimedJob) -> None:
        payload = job.payload
        rows = [row for row in self._messages(job) if not self.ctx.is_own(row) and row.text.strip()]
        span = payload.get("span") or "recent conversation"
        if not rows:
            self.ctx.reply_to_caller(job, texts.NOTHING_TO_SUMMARIZE.format(span=span))
            return
        lines = [self.ctx.line(job.team_id, job.channel_id, row) for row in rows]
        try:
            writes = self.ctx.summary_model_writes
            summary = summarize(lines, self.ctx.model, abstract=writes, rephrase=writes)
        except (ModelUnavailable, ModelBusy) as exc:  # the skill falls back by itself; this is a last resort
            raise self.ctx.wait_for_model(job, exc, tell=lambda text: self.ctx.reply_to_caller(job, text)) from exc
        self.ctx.reply_to_caller(job, render_summary(summary, span=span, count=len(lines)))

    def _messages(self, job: ClaimedJob) -> list[StoredMessage]:
        """The messages asked for, after reading from Slack whatever of them we have not stored."""
        payload, team, channel = job.payload, job.team_id, job.channel_id
        common = {"client": self.ctx.client, "sessions": self.ctx.sessions, "team_id": team, "channel_id": channel}
        kept = self.ctx.oldest_kept_ts()  # never summarize (or read back from Slack) what retention purged
        if payload.get("thread_ts"):
            backfill_thread(**common, thread_ts=payload["thread_ts"], oldest=kept)
            with self.ctx.sessions() as session:
                rows = message_queries.thread_messages(
                    session=session, team_id=team, channel_id=channel, thread_ts=payload["thread_ts"]
                )
            return [row for row in rows if kept is None or row.ts >= kept]
        since = dt.datetime.fromisoformat(payload["since"]) if payload.get("since") else None
        oldest = f"{since.timestamp():.6f}" if since else None
        if kept is not None and (oldest is None or oldest < kept):
            oldest = kept
        limit = payload.get("limit") or MAX_MESSAGES
        backfill_channel(**common, oldest=oldest, limit=min(limit, MAX_MESSAGES), with_threads=False)
        with self.ctx.sessions() as session:
            return message_queries.recent_messages(
                session=session, team_id=team, channel_id=channel, limit=min(limit, MAX_MESSAGES), since_ts=oldest
            )


def render_summary(summary: Summary, *, span: str, count: int) -> str:
    """Slack mrkdwn: a header, the overview, then decisions, questions and action items, each linked to its
    source message. Everything quoted is escaped; the only links are the ones we build."""
    out = [texts.SUMMARY_HEADER.format(span=escape(span), count=count)]
    if summary.overview:
        out.append(" ".join(_point(point, bullet=False) for point in summary.overview))
    for title, points in (
        (texts.SUMMARY_DECISIONS, summary.decisions),
        (texts.SUMMARY_QUESTIONS, summary.questions),
        (texts.SUMMARY_ACTIONS, summary.actions),
    ):
        if points:
            out.append(title)
            out.extend(_point(point) for point in points)
    if summary.degraded:
        out.append(texts.SUMMARY_DEGRADED.format(reason=escape(summary.degraded)))
    return "\n".join(out)


def _point(point: SummaryPoint, *, bullet: bool = True) -> str:
    text = escape(shorten(point.render(), POINT_CHARS))
    if point.owner:
        text += f" (owner: {escape(point.owner)})"
    links = " ".join(f"<{source.url}|[{i + 1}]>" for i, source in enumerate(point.sources[:3]) if source.url)
    return f"{'• ' if bullet else ''}{text} {links}".rstrip()
