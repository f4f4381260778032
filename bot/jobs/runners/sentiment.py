"""The Slack side of sentiment: the `/sentiment` command, the App Home tab, and the jobs behind them.

`register_sentiment_listeners` is called from `register_listeners`; `sentiment_runners` is merged into the
dispatcher's runners. Listeners ack fast: bad input and `off`/`forget` are answered in the ack; everything that
needs Slack or the model (the caller's time zone, a digest, the home view) becomes a job.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack, App, BoltContext
from sqlalchemy.orm import Session, sessionmaker

from bot import sentiment_texts as texts
from bot.background.clock import DIGEST_JOB_KIND, enqueue_digest_job
from bot.background.scorer import drain_channel
from bot.jobs.dispatch import Runner
from bot.jobs.runners import RunnerContext
from bot.jobs.runners.context import SLACK_CLOCK_SKEW, SLACK_FAILURES, classify_slack_error
from bot.slack import delivery as slack_io
from bot.slack import sentiment_views as slack_out
from handlers.commands import UsageError
from handlers.sentiment.digest import MIN_MESSAGES, ScoredLine, build_digest, days_of
from handlers.sentiment.schedule import Period, SentimentCommand, describe, parse_sentiment, parse_spec, to_spec, zone
from storage import channel_settings as digest_queries
from storage import jobs as job_queries
from storage import sentiment_scores as sentiment_queries
from storage.jobs import ClaimedJob
from storage.retention import slack_ts
from storage.tables import utcnow

logger = logging.getLogger(__name__)

COMMAND = "/sentiment"
EVENTS = ("app_home_opened",)
COMMAND_JOB_KIND = "sentiment_command"
HOME_JOB_KIND = "sentiment_home"
TREND_DAYS = 30
T = TypeVar("T")


def register_sentiment_listeners(
    app: App, *, sessions: sessionmaker[Session], wake_dispatcher: Callable[[], None]
) -> None:
    listeners = SentimentListeners(sessions=sessions, wake_dispatcher=wake_dispatcher)
    app.command(COMMAND)(listeners.on_sentiment)
    app.event("app_home_opened")(listeners.on_home_opened)


def sentiment_runners(ctx: RunnerContext) -> dict[str, Runner]:
    runners = SentimentRunners(ctx)
    return {DIGEST_JOB_KIND: runners.digest, COMMAND_JOB_KIND: runners.command, HOME_JOB_KIND: runners.home}


class SentimentListeners:
    def __init__(self, *, sessions: sessionmaker[Session], wake_dispatcher: Callable[[], None]) -> None:
        self._sessions = sessions
        self._wake = wake_dispatcher

    def on_sentiment(self, ack: Ack, command: dict[str, Any]) -> None:
        parsed = parse_sentiment(command.get("text", ""))
        if isinstance(parsed, UsageError):
            ack(response_type="ephemeral", text=parsed.text)
            return
        team_id, channel_id = command.get("team_id") or "unknown", command["channel_id"]
        if parsed.action == "help":
            ack(response_type="ephemeral", text=texts.HELP)
            return
        if channel_id.startswith("D"):
            ack(response_type="ephemeral", text=texts.NOT_IN_CHANNEL)
            return
        if parsed.action == "off":
            with self._sessions.begin() as session:
                digest_queries.clear_schedule(session=session, team_id=team_id, channel_id=channel_id)
            ack(response_type="ephemeral", text=texts.OFF)
            return
        if parsed.action == "forget":
            with self._sessions.begin() as session:
                digest_queries.clear_schedule(session=session, team_id=team_id, channel_id=channel_id, opt_out=True)
                count = sentiment_queries.forget_scores(session=session, team_id=team_id, channel_id=channel_id)
            logger.info("forgot %d sentiment scores in %s/%s", count, team_id, channel_id)
            ack(response_type="ephemeral", text=texts.FORGOTTEN.format(count=count))
            return
        if parsed.action == "now":
            span = self._queue_now(team_id, channel_id, command.get("trigger_id") or str(utcnow().timestamp()))
            ack(response_type="ephemeral", text=texts.NOW.format(span=span))
            self._wake()
            return
        # daily, weekly, status: they need the caller's time zone (users.info), so a job answers them.
        payload = {
            "user": command["user_id"],
            "response_url": command.get("response_url"),
            "action": parsed.action,
            "weekday": parsed.weekday,
            "at": parsed.at.strftime("%H:%M") if parsed.at else None,
        }
        trigger = command.get("trigger_id")
        with self._sessions.begin() as session:
            job_queries.enqueue_job(
                session=session,
                team_id=team_id,
                channel_id=channel_id,
                kind=COMMAND_JOB_KIND,
                payload=payload,
                dedupe_key=f"command:{team_id}:{trigger}" if trigger else None,
            )
        ack()
        self._wake()

    def _queue_now(self, team_id: str, channel_id: str, trigger: str) -> str:
        """`/sentiment now`: a digest of the last day (or week, when the channel's schedule is weekly)."""
        end = utcnow()
        with self._sessions.begin() as session:
            # Write first (asking for a digest opts the channel back in): see bot.background.clock.queue_digest on
            # SQLite.
            digest_queries.opt_in(session=session, team_id=team_id, channel_id=channel_id)
            current = digest_queries.channel_sentiment(session=session, team_id=team_id, channel_id=channel_id)
            spec = parse_spec(current.schedule or "")
            days = 7 if spec is not None and spec.cadence == "weekly" else 1
            digest_id = digest_queries.claim_digest(
                session=session,
                team_id=team_id,
                channel_id=channel_id,
                period_key=f"now:{trigger}"[:80],
                cadence="now",
                period_start=end - dt.timedelta(days=days),
                period_end=end,
            )
            if digest_id is not None:
                enqueue_digest_job(session=session, team_id=team_id, channel_id=channel_id, digest_id=digest_id)
        return "the last 7 days" if days == 7 else "the last 24 hours"

    def on_home_opened(self, body: dict[str, Any], event: dict[str, Any], context: BoltContext) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        team_id = body.get("team_id") or context.team_id or "unknown"
        with self._sessions.begin() as session:
            job_queries.enqueue_job(
                session=session,
                team_id=team_id,
                channel_id=event.get("channel") or "home",
                kind=HOME_JOB_KIND,
                payload={"user": event["user"]},
                dedupe_key=f"home:{team_id}:{body['event_id']}" if body.get("event_id") else None,
            )
        self._wake()


class SentimentRunners:
    def __init__(self, ctx: RunnerContext) -> None:
        self.ctx = ctx

    # -- /sentiment daily | weekly | status ------------------------------------------------------------------
    def command(self, job: ClaimedJob) -> None:
        payload = job.payload
        timezone = _slack(lambda: slack_out.user_timezone(client=self.ctx.client, user=payload["user"]))
        if payload["action"] in ("daily", "weekly"):
            at = dt.time.fromisoformat(payload["at"]) if payload.get("at") else None
            command = SentimentCommand(payload["action"], weekday=payload.get("weekday"), at=at)
            spec = to_spec(command, timezone)
            with self.ctx.sessions.begin() as session:
                digest_queries.set_schedule(
                    session=session,
                    team_id=job.team_id,
                    channel_id=job.channel_id,
                    schedule=str(spec),
                    timezone=timezone or "UTC",
                )
            text = texts.SCHEDULED.format(when=describe(spec, timezone))
        else:
            text = self._status(job, timezone)
        _slack(
            lambda: slack_io.respond_ephemeral(
                client=self.ctx.client,
                response_url=payload.get("response_url"),
                channel=job.channel_id,
                user=payload["user"],
                text=text,
            )
        )

    def _status(self, job: ClaimedJob, timezone: str | None) -> str:
        now = utcnow()
        with self.ctx.sessions() as session:
            current = digest_queries.channel_sentiment(session=session, team_id=job.team_id, channel_id=job.channel_id)
            if current.opted_out:
                return texts.STATUS_OPTED_OUT
            scored = sentiment_queries.scored_messages(
                session=session,
                team_id=job.team_id,
                channel_id=job.channel_id,
                since=now - dt.timedelta(days=TREND_DAYS),
                until=now,
            )
            pending = sentiment_queries.count_unscored(session=session, team_id=job.team_id, channel_id=job.channel_id)
        spec = parse_spec(current.schedule or "")
        schedule = describe(spec, current.timezone or timezone) if spec is not None else texts.STATUS_NONE
        return texts.STATUS.format(schedule=schedule, scored=len(scored), pending=pending)

    # -- digests ---------------------------------------------------------------------------------------------
    def digest(self, job: ClaimedJob) -> None:
        """Scores what is still pending in the channel, builds the digest, posts it with its chart (v2 upload)."""
        team_id, channel_id = job.team_id, job.channel_id
        with self.ctx.sessions() as session:
            record = digest_queries.get_digest(
                session=session, team_id=team_id, channel_id=channel_id, digest_id=job.payload["digest_id"]
            )
            settings = digest_queries.channel_sentiment(session=session, team_id=team_id, channel_id=channel_id)
        if record is None or record.posted:
            return  # a retry after the post went out: never post twice
        if self._posted_before(job, record.id):
            # An earlier attempt posted it, then died or lost its connection before recording that.
            with self.ctx.sessions.begin() as session:
                digest_queries.mark_digest_posted(
                    session=session, team_id=team_id, channel_id=channel_id, digest_id=record.id
                )
            logger.info("digest %d was already in %s/%s; marked it posted", record.id, team_id, channel_id)
            return
        if self.ctx.model is not None and not settings.opted_out:
            drain_channel(self.ctx.sessions, self.ctx.model, team_id=team_id, channel_id=channel_id)
        period = Period(record.cadence, record.period_start, record.period_end)
        tz = zone(settings.timezone)
        current, previous = (
            self._lines(team_id, channel_id, period),
            self._lines(team_id, channel_id, period.previous()),
        )
        digest = build_digest(current, start=period.start, end=period.end, previous=previous, tz=tz)
        threads = [t for t in (digest.most_positive, digest.most_negative) if t is not None]
        links = {
            t.thread_ts: _slack(
                lambda t=t: slack_out.permalink(client=self.ctx.client, channel=channel_id, ts=t.thread_ts)
            )
            for t in threads
        }
        span = slack_out.span_label(period.start, period.end, tz)
        text = slack_out.digest_text(digest, span=span, links=links, minimum=MIN_MESSAGES)
        if digest.enough:
            from bot.background.chart import render_chart

            png = render_chart(digest.days, title=texts.DIGEST_TITLE.format(span=span))
            _slack(
                lambda: slack_out.upload_chart(
                    client=self.ctx.client, channel=channel_id, png=png, title=texts.DIGEST_TITLE.format(span=span),
                    comment=text, filename=slack_out.chart_filename(record.id),
                )
            )  # fmt: skip
        else:
            _slack(lambda: slack_io.post_in_thread(client=self.ctx.client, channel=channel_id, thread_ts=None,
                                                   text=text, job_id=job.id))  # fmt: skip
        with self.ctx.sessions.begin() as session:
            digest_queries.mark_digest_posted(
                session=session, team_id=team_id, channel_id=channel_id, digest_id=record.id
            )
        logger.info("digest %d posted to %s/%s (%d messages)", record.id, team_id, channel_id, digest.count)

    def _posted_before(self, job: ClaimedJob, digest_id: int) -> bool:
        """On a retry only: whether the channel already shows this digest, as its chart (named after the digest)
        or as a message carrying the job's metadata."""
        if job.attempts <= 1:
            return False
        client, channel, oldest = self.ctx.client, job.channel_id, slack_ts(job.created_at - SLACK_CLOCK_SKEW)
        recent = _slack(lambda: slack_io.recent_messages(client=client, channel=channel, thread_ts=None, oldest=oldest))
        return any(slack_io.is_reply_of(m, job.id) or slack_out.shows_chart(m, digest_id) for m in recent)

    def _lines(self, team_id: str, channel_id: str, period: Period) -> list[ScoredLine]:
        with self.ctx.sessions() as session:
            rows = sentiment_queries.scored_messages(
                session=session, team_id=team_id, channel_id=channel_id, since=period.start, until=period.end
            )
        return [ScoredLine(r.ts, r.thread_ts, r.text, r.label, r.score) for r in rows]

    # -- App Home --------------------------------------------------------------------------------------------
    def home(self, job: ClaimedJob) -> None:
        now = utcnow()
        since = now - dt.timedelta(days=TREND_DAYS)
        with self.ctx.sessions() as session:
            channels = digest_queries.team_channels(session=session, team_id=job.team_id)
        entries = []
        for channel in channels:
            if channel.channel_id.startswith("D") or channel.opted_out:
                continue
            name = _slack(lambda c=channel: slack_out.public_channel_name(client=self.ctx.client, channel=c.channel_id))
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
        view = slack_out.home_view(entries)
        _slack(lambda: self.ctx.client.views_publish(user_id=job.payload["user"], view=view))


def _slack(call: Callable[[], T]) -> T:
    """Runs a Slack call; rate limits, server errors and broken connections that outlived slack_sdk's own retries
    retry the job, and anything else Slack refused fails it with Slack's reason."""
    try:
        return call()
    except SLACK_FAILURES as exc:
        raise classify_slack_error(exc) from exc
