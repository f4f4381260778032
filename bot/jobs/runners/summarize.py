"""`/summarize` and the `Summarize thread` shortcut: backfill what we missed, summarize, link every point."""

from __future__ import annotations

import re

from bot import texts
from bot.jobs.delivery import Delivery
from bot.jobs.kinds import SummarizePayload
from bot.jobs.model_wait import Waiting
from bot.jobs.runners.attachments import shared_files
from bot.jobs.runners.deps import RunnerDeps
from bot.jobs.runners.instructions import with_channel_instructions
from bot.jobs.runners.lines import chat_line, is_about_the_team, shorten
from bot.slack.backfill import backfill_channel, backfill_thread
from bot.slack.feedback import Skill
from bot.slack.mrkdwn import escape
from bot.texts import span_phrase
from handlers.summarize.summary import Summary, SummaryPoint, summarize
from storage import messages as message_queries
from storage.db import read_session
from storage.jobs import ClaimedJob
from storage.messages import StoredMessage

MAX_MESSAGES = 5000
POINT_CHARS = 300


class SummarizeRunner:
    def __init__(self, deps: RunnerDeps, delivery: Delivery) -> None:
        self.deps = deps
        self.delivery = delivery

    def waiting(self, job: ClaimedJob) -> Waiting:
        """The caller waits for the summary where it will come: privately (or in the channel, when `public`)."""
        return Waiting(tell=lambda text: self.delivery.reply_to_caller(job, text))

    def __call__(self, job: ClaimedJob) -> None:
        """The skill falls back to an extractive summary by itself when the model is away; what still escapes
        (ModelUnavailable, ModelBusy) is waited for like every kind's (bot/jobs/model_wait.py)."""
        payload = SummarizePayload.of(job)
        read = self._messages(job)
        bot = self.deps.bot_user_id
        # The bot's replies and what people asked of it ("@parlance who owns X?") are not what the team said.
        rows = [row for row in read if is_about_the_team(row, bot_user_id=bot)]
        label = payload.span
        if not rows:
            self.delivery.reply_to_caller(job, texts.NOTHING_TO_SUMMARIZE.format(span=span_after_the(label)))
            return
        lines = [chat_line(row, directory=self.deps.directory, bot_user_id=bot) for row in rows]
        files = shared_files(self.deps, team_id=job.team_id, channel_id=job.channel_id, messages=rows, split=False)
        lines = sorted([*lines, *files.lines], key=lambda line: float(line.ts))  # each file after its message
        bot_names = (texts.BOT_SPEAKER, *([self.deps.directory.display_name(job.team_id, bot)] if bot else []))
        writes = self.deps.summary_model_writes
        model = self.deps.model
        if model is not None:  # where the model writes, it follows the channel's `/parlance instructions`
            model = with_channel_instructions(self.deps, job, model)
        summary = summarize(lines, model, abstract=writes, rephrase=writes, bot_names=bot_names)
        rendered = render_summary(summary, span=label, count=len(read), files=files.count)
        note = files.note()
        self.delivery.reply_to_caller(job, f"{rendered}\n{note}" if note else rendered, feedback=Skill.SUMMARY)

    def _messages(self, job: ClaimedJob) -> list[StoredMessage]:
        """The messages asked for, after reading from Slack whatever of them we have not stored."""
        payload, team, channel = SummarizePayload.of(job), job.team_id, job.channel_id
        client, sessions = self.deps.client, self.deps.sessions
        kept = self.deps.oldest_kept_ts()  # never summarize (or read back from Slack) what retention purged
        if payload.thread_ts:
            backfill_thread(
                client=client,
                sessions=sessions,
                team_id=team,
                channel_id=channel,
                thread_ts=payload.thread_ts,
                oldest=kept,
            )
            with read_session(sessions) as session:
                rows = message_queries.thread_messages(
                    session=session, team_id=team, channel_id=channel, thread_ts=payload.thread_ts
                )
            return [row for row in rows if kept is None or row.ts >= kept]
        oldest = f"{payload.since.timestamp():.6f}" if payload.since else None
        if kept is not None and (oldest is None or oldest < kept):
            oldest = kept
        limit = min(payload.limit or MAX_MESSAGES, MAX_MESSAGES)
        backfill_channel(
            client=client,
            sessions=sessions,
            team_id=team,
            channel_id=channel,
            oldest=oldest,
            limit=limit,
            with_threads=False,
        )
        with read_session(sessions) as session:
            return message_queries.recent_messages(
                session=session, team_id=team, channel_id=channel, limit=limit, since_ts=oldest
            )


def render_summary(summary: Summary, *, span: str, count: int, files: int = 0) -> str:
    """Slack mrkdwn: a header, the overview, then decisions, action items and open questions, each linked to its
    source messages. Everything quoted is escaped; the only links are the ones we build.

    `span` is the request's label ("today (UTC)", "last 24h", "last 10 messages", "thread") and `count` how many
    messages the span held; the header counts the messages summarized (not the `files` read beside them), unless
    the span itself says how many.
    Citations are numbered once per summary, in reading order: [1], [2], [3]… each stand for one message, and a
    message cited again keeps its number.
    """
    numbers: dict[str, int] = {}
    out = [_header(span, count=count, summarized=max(summary.message_count - files, 0))]
    if summary.overview:
        out.append(" ".join(_point(point, numbers, bullet=False) for point in summary.overview))
    for title, points in (
        (texts.SUMMARY_DECISIONS, summary.decisions),
        (texts.SUMMARY_ACTIONS, summary.actions),
        (texts.SUMMARY_QUESTIONS, summary.questions),
    ):
        if points:
            out.append(title)
            out.extend(_point(point, numbers) for point in points)
    if summary.degraded:
        out.append(texts.SUMMARY_DEGRADED.format(reason=escape(summary.degraded)))
    return "\n".join(out)


_LAST_MESSAGES = re.compile(r"last ([\d,]+) messages?", re.IGNORECASE)


def span_after_the(label: str) -> str:
    """The span as it reads after "the": "last 24h", "thread", "day so far (UTC)" (for texts that say "the")."""
    phrase = span_phrase(label)
    if phrase.lower().startswith("today"):
        return "day so far" + phrase[len("today") :]
    return phrase.removeprefix("the ")


def _header(span: str, *, count: int, summarized: int) -> str:
    """ "*Summary of today (UTC)* · 7 messages"; "*Summary of the last 10 messages*" (the span gives the count, and
    says fewer when the channel held fewer)."""
    last = _LAST_MESSAGES.fullmatch(" ".join(span.split()))
    if last:
        asked = int(last.group(1).replace(",", ""))
        held = min(asked, count) if count else asked
        phrase = "the last message" if held == 1 else f"the last {held:,} messages"
        return texts.SUMMARY_HEADER_COUNTED_BY_SPAN.format(span=escape(phrase))
    return texts.SUMMARY_HEADER.format(span=escape(span_phrase(span)), count=_messages(summarized))


def _messages(n: int) -> str:
    return f"{n:,} message" if n == 1 else f"{n:,} messages"


def _point(point: SummaryPoint, numbers: dict[str, int], *, bullet: bool = True) -> str:
    text = escape(shorten(point.render(), POINT_CHARS))
    if point.owner:
        text += f" (owner: {escape(point.owner)})"
    cited = [source.url for source in point.cited()[:4] if source.url]
    links = "".join(f"<{url}|[{numbers.setdefault(url, len(numbers) + 1)}]>" for url in dict.fromkeys(cited))
    return f"{'• ' if bullet else ''}{text} {links}".rstrip()
