"""The sentiment jobs: `/sentiment daily|weekly|status` answered once the caller's time zone is known, digests
posted with their chart, and the App Home tab. Their listeners are in bot/slack/sentiment_listeners.py.

Only a digest asks the model (to score what is still pending); like every kind it waits for it
(bot/jobs/model_wait.py): `digest_waiting` says who hears about the wait.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot import texts
from bot.background.scorer import drain_channel
from bot.jobs.delivery import Delivery, oldest_post_of
from bot.jobs.kinds import SentimentCommandPayload, SentimentDigestPayload, SentimentHomePayload
from bot.jobs.model_wait import NOBODY_WAITING, Waiting
from bot.jobs.runners.deps import RunnerDeps
from bot.jobs.slack_errors import slack_call
from bot.slack import delivery as slack_io
from bot.slack import sentiment_views as slack_out
from bot.slack.feedback import RATE_DAYS, rates_line
from handlers.sentiment.digest import MIN_MESSAGES, ScoredLine, build_digest, days_of
from handlers.sentiment.schedule import Period, SentimentCommand, describe, parse_spec, to_spec, zone
from storage import channel_settings as digest_queries
from storage import feedback as feedback_queries
from storage import sentiment_scores as sentiment_queries
from storage.db import read_session
from storage.jobs import ClaimedJob
from storage.tables import utcnow

logger = logging.getLogger(__name__)

TREND_DAYS = 30


class SentimentRunners:
    def __init__(self, deps: RunnerDeps, delivery: Delivery) -> None:
        self.deps = deps
        self.delivery = delivery

    # -- who hears about a wait for the model ----------------------------------------------------------------
    def command_waiting(self, job: ClaimedJob) -> Waiting:
        """The caller, privately (the commands do not ask the model today; were one to, it would say so there)."""
        return Waiting(tell=lambda text: self.delivery.reply_to_caller(job, text))

    def digest_waiting(self, job: ClaimedJob) -> Waiting:
        """Whoever asked with `/sentiment now`, privately; nobody for a scheduled digest, which waits silently
        and, past MODEL_WAIT_SECONDS, posts nothing and keeps the reason in the job's last_error."""
        if SentimentDigestPayload.of(job).user is None:
            return NOBODY_WAITING
        return Waiting(
            tell=lambda text: self.delivery.reply_to_caller(job, text),
            busy=texts.MODEL_BUSY_DIGEST,
            gave_up=texts.MODEL_GAVE_UP_DIGEST,
        )

    @staticmethod
    def home_waiting(job: ClaimedJob) -> Waiting:
        """The tab has no place for a note, and the home view never asks the model."""
        return NOBODY_WAITING

    # -- /sentiment daily | weekly | status ------------------------------------------------------------------
    def command(self, job: ClaimedJob) -> None:
        payload = SentimentCommandPayload.of(job)
        with slack_call():
            timezone = self.deps.directory.user(job.team_id, payload.user).tz
        if payload.action in ("daily", "weekly"):
            command = SentimentCommand(payload.action, weekday=payload.weekday, at=payload.at)
            spec = to_spec(command, timezone)
            with self.deps.sessions.begin() as session:
                digest_queries.set_schedule(
                    session=session,
                    team_id=job.team_id,
                    channel_id=job.channel_id,
                    schedule=str(spec),
                    timezone=timezone or "UTC",
                )
            text = texts.SENTIMENT_SCHEDULED.format(when=describe(spec, timezone))
        else:
            text = self._status(job, timezone)
        with slack_call():
            slack_io.respond_ephemeral(
                client=self.deps.client,
                response_url=payload.response_url,
                channel=job.channel_id,
                user=payload.user,
                text=text,
            )

    def _status(self, job: ClaimedJob, timezone: str | None) -> str:
        now = utcnow()
        with read_session(self.deps.sessions) as session:
            current = digest_queries.channel_sentiment(session=session, team_id=job.team_id, channel_id=job.channel_id)
            if current.opted_out:
                return texts.SENTIMENT_STATUS_OPTED_OUT
            scored = sentiment_queries.scored_messages(
                session=session,
                team_id=job.team_id,
                channel_id=job.channel_id,
                since=now - dt.timedelta(days=TREND_DAYS),
                until=now,
            )
            pending = sentiment_queries.count_unscored(session=session, team_id=job.team_id, channel_id=job.channel_id)
        spec = parse_spec(current.schedule or "")
        schedule = describe(spec, current.timezone or timezone) if spec is not None else texts.SENTIMENT_STATUS_NONE
        return texts.SENTIMENT_STATUS.format(schedule=schedule, scored=len(scored), pending=pending)

    # -- digests ---------------------------------------------------------------------------------------------
    def digest(self, job: ClaimedJob) -> None:
        """Scores what is still pending in the channel, builds the digest, posts it with its chart (v2 upload)."""
        team_id, channel_id, digest_id = job.team_id, job.channel_id, SentimentDigestPayload.of(job).digest_id
        with read_session(self.deps.sessions) as session:
            record = digest_queries.get_digest(
                session=session, team_id=team_id, channel_id=channel_id, digest_id=digest_id
            )
            settings = digest_queries.channel_sentiment(session=session, team_id=team_id, channel_id=channel_id)
        if record is None or record.posted:
            return  # a retry after the post went out: never post twice
        if self._posted_before(job, record.id):
            # An earlier attempt posted it, then died or lost its connection before recording that.
            with self.deps.sessions.begin() as session:
                digest_queries.mark_digest_posted(
                    session=session, team_id=team_id, channel_id=channel_id, digest_id=record.id
                )
            logger.info("digest %d was already in %s/%s; marked it posted", record.id, team_id, channel_id)
            return
        if self.deps.model is not None and not settings.opted_out:
            drain_channel(self.deps.sessions, self.deps.model, team_id=team_id, channel_id=channel_id)
        period = Period(record.cadence, record.period_start, record.period_end)
        tz = zone(settings.timezone)
        current, previous = (
            self._lines(team_id, channel_id, period),
            self._lines(team_id, channel_id, period.previous()),
        )
        digest = build_digest(current, start=period.start, end=period.end, previous=previous, tz=tz)
        threads = [t for t in (digest.most_positive, digest.most_negative) if t is not None]
        links = {t.thread_ts: self.deps.directory.permalink(channel_id, t.thread_ts) for t in threads}
        span = slack_out.span_label(period.start, period.end, tz)
        text = slack_out.digest_text(digest, span=span, links=links, minimum=MIN_MESSAGES)
        if digest.enough:
            from bot.background.chart import render_chart

            png = render_chart(digest.days, title=texts.DIGEST_TITLE.format(span=span))
            with slack_call():
                slack_out.upload_chart(
                    client=self.deps.client,
                    channel=channel_id,
                    png=png,
                    title=texts.DIGEST_TITLE.format(span=span),
                    comment=text,
                    filename=slack_out.chart_filename(record.id),
                )
        else:
            with slack_call():
                slack_io.post_in_thread(
                    client=self.deps.client,
                    channel=channel_id,
                    thread_ts=None,
                    text=text,
                    job_id=job.id,
                    as_markdown=True,
                )
        with self.deps.sessions.begin() as session:
            digest_queries.mark_digest_posted(
                session=session, team_id=team_id, channel_id=channel_id, digest_id=record.id
            )
        logger.info("digest %d posted to %s/%s (%d messages)", record.id, team_id, channel_id, digest.count)

    def _posted_before(self, job: ClaimedJob, digest_id: int) -> bool:
        """On a retry only: whether the channel already shows this digest, as its chart (named after the digest)
        or as a message carrying the job's metadata."""
        if job.attempts <= 1:
            return False
        with slack_call():
            recent = slack_io.recent_messages(
                client=self.deps.client, channel=job.channel_id, thread_ts=None, oldest=oldest_post_of(job)
            )
        return any(slack_io.is_reply_of(m, job.id) or slack_out.shows_chart(m, digest_id) for m in recent)

    def _lines(self, team_id: str, channel_id: str, period: Period) -> list[ScoredLine]:
        with read_session(self.deps.sessions) as session:
            rows = sentiment_queries.scored_messages(
                session=session, team_id=team_id, channel_id=channel_id, since=period.start, until=period.end
            )
        return [ScoredLine(r.ts, r.thread_ts, r.text, r.label, r.score) for r in rows]

    # -- App Home --------------------------------------------------------------------------------------------
    def home(self, job: ClaimedJob) -> None:
        now = utcnow()
        since = now - dt.timedelta(days=TREND_DAYS)
        with read_session(self.deps.sessions) as session:
            channels = digest_queries.team_channels(session=session, team_id=job.team_id)
        entries = []
        for channel in channels:
            if channel.channel_id.startswith("D") or channel.opted_out:
                continue
            with slack_call():
                name = slack_out.public_channel_name(client=self.deps.client, channel=channel.channel_id)
            if name is None:
                continue  # private channels stay off a tab that anyone in the workspace can open
            lines = self._lines(job.team_id, channel.channel_id, Period("trend", since, now))
            days = days_of(lines, start=since, end=now, tz=zone(channel.timezone))
            spec = parse_spec(channel.schedule or "")
            mean = sum(line.score for line in lines) / len(lines) if lines else None
            entries.append(
                {
                    "channel": channel.channel_id,
                    "schedule": describe(spec, channel.timezone) if spec else "no digest scheduled",
                    "trend": slack_out.sparkline(days),
                    "mean": f"{mean:+.2f}" if mean is not None else "n/a",
                    "count": len(lines),
                }
            )
        view = slack_out.home_view(entries, feedback=self._helpful_rates(job, [str(e["channel"]) for e in entries]))
        with slack_call():
            self.deps.client.views_publish(user_id=SentimentHomePayload.of(job).user, view=view)

    def _helpful_rates(self, job: ClaimedJob, channel_ids: list[str]) -> str:
        """The 👍 / 👎 votes of the last week in the channels the tab shows (public ones only), per skill."""
        since = utcnow() - dt.timedelta(days=RATE_DAYS)
        with read_session(self.deps.sessions) as session:
            rates = feedback_queries.helpful_rates(
                session=session, team_id=job.team_id, channel_ids=channel_ids, since=since
            )
        return rates_line(rates)
