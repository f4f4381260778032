"""Wiring: settings → database → Slack client → Bolt app, listeners, dispatcher. Every way of running
(HTTP, Socket Mode, local mode, tests) builds the same `Parlance` here and differs only in how requests reach it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.handler import RetryHandler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.background.scorer import BackgroundScorer
from bot.jobs.dispatch import Dispatcher
from bot.jobs.kinds import payload_for
from bot.jobs.runners import RunnerDeps, Runners
from bot.model.client import ModelClient
from bot.settings import Settings
from bot.slack.delivery import RepeatableCallsRetryHandler
from bot.slack.directory import Directory
from bot.slack.installs import OAuthInstalls
from bot.slack.listeners import register_listeners
from bot.slack.log_hygiene import tidy_third_party_logs
from bot.slack.metrics import Metrics
from bot.slack.teams import InstalledTeams, OneTeam, Teams, TeamWebClient
from storage.db import make_engine, make_session_factory, migrate
from storage.jobs import pending_job_count

logger = logging.getLogger(__name__)


def slack_retry_handlers() -> list[RetryHandler]:
    """429s wait for Retry-After; 5xx and dropped connections are retried with backoff, except a dropped post,
    which may have been posted: its job retries and looks for it first (slack_io.RepeatableCallsRetryHandler)."""
    return [
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
        RepeatableCallsRetryHandler(max_retry_count=2),
    ]


def make_web_client(settings: Settings, *, teams: InstalledTeams | None = None) -> WebClient:
    """With `teams` (installs through OAuth), the client's token is that of the team the current job acts for."""
    if teams is not None:
        return TeamWebClient(teams, base_url=settings.slack_api_url, retry_handlers=slack_retry_handlers(), timeout=30)
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(token=token, base_url=settings.slack_api_url, retry_handlers=slack_retry_handlers(), timeout=30)


@dataclass
class Parlance:
    """The running application: what each adapter needs to serve requests and shut down cleanly."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    bolt: App
    dispatcher: Dispatcher
    runners: Runners
    metrics: Metrics
    scorer: BackgroundScorer | None = None
    closed: bool = field(default=False)

    def start(self, *, jobs: bool = True) -> None:
        """`jobs`: run the dispatcher and the sentiment scorer here (false: `python -m bot jobs` runs them)."""
        if not jobs:
            return
        self.dispatcher.start()
        if self.scorer is not None:
            self.scorer.start()

    def close(self, timeout: float = 30.0) -> None:
        """Stops claiming jobs and lets running ones finish for up to `timeout` seconds, then hands the ones still
        running back to the queue: another process starts them at once instead of after their lease (minutes)."""
        if self.closed:
            return
        self.closed = True
        if self.scorer is not None:  # starts no new batch, and is not waited for: a batch the exit cuts short is
            self.scorer.stop(timeout=0)  # scored again by whichever process runs next
        self.dispatcher.stop(timeout=timeout)
        self.dispatcher.release_running()
        self.engine.dispose()


def build_parlance(settings: Settings, *, model: ModelClient | None = None, run_migrations: bool = True) -> Parlance:
    settings.require_slack()
    bolt_logger = logging.getLogger("bot.bolt")
    tidy_third_party_logs(bolt_logger)
    engine = make_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    sessions = make_session_factory(engine)
    client = make_web_client(settings)
    installs = (
        OAuthInstalls.create(settings, engine=engine, client=client, bolt_logger=bolt_logger)
        if settings.oauth_install
        else None
    )
    bolt = App(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None,
        request_verification_enabled=not settings.socket_mode,
        process_before_response=True,
        logger=bolt_logger,
        oauth_settings=installs.oauth_settings if installs else None,
        # Bolt takes an Authorize object as well as a function; its hint names only the function
        authorize=installs.authorize if installs else None,  # type: ignore[arg-type]
        before_authorize=installs.ignore_removed_teams if installs else None,
    )
    teams: Teams
    if installs is not None:  # every workspace has its own bot: jobs look theirs up by team
        teams, client = installs.teams, make_web_client(settings, teams=installs.teams)
    else:
        bot_user_id, workspace_url = _whoami(client)
        teams = OneTeam(client, bot_user_id=bot_user_id, workspace_url=workspace_url)
    deps = RunnerDeps(
        client=client,
        sessions=sessions,
        teams=teams,
        directory=Directory(client, teams=teams),
        model=model,
        summary_model_writes=settings.summary_model_writes,
        retention_days=settings.retention_days,
        model_wait=dt.timedelta(seconds=settings.model_wait_seconds),
        native_streaming=settings.native_streaming,
    )
    runners = Runners(deps)
    metrics = Metrics()
    metrics.watch_queue(lambda: _queue_depth(sessions))

    def record(kind: str, outcome: str, seconds: float) -> None:
        metrics.jobs.labels(kind, outcome).inc()
        metrics.job_seconds.labels(kind).observe(seconds)

    dispatcher = Dispatcher(
        sessions=sessions,
        runners=runners.as_mapping(),
        check_payload=payload_for,
        on_give_up=runners.tell_user_it_failed,
        threads=settings.job_threads,
        lease=dt.timedelta(seconds=settings.job_lease_seconds),
        poll_interval=settings.job_poll_seconds,
        on_finished=record,
    )
    register_listeners(
        bolt,
        sessions=sessions,
        wake_dispatcher=dispatcher.notify,
        retention_days=settings.retention_days,
        installs=installs,
        allowed_channels=settings.allowed_channel_ids,
    )
    return Parlance(
        settings=settings,
        engine=engine,
        sessions=sessions,
        bolt=bolt,
        dispatcher=dispatcher,
        runners=runners,
        metrics=metrics,
        scorer=BackgroundScorer(sessions=sessions, model=model) if model is not None else None,
    )


def _queue_depth(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return pending_job_count(session=session)


def _whoami(client: WebClient) -> tuple[str | None, str | None]:
    """Our own user id (replies we store are attributed to us) and the workspace URL (for permalinks), from one
    auth.test call."""
    try:
        identity = client.auth_test()
    except Exception:
        logger.warning("auth.test failed; the bot's own user id and workspace URL are unknown")
        return None, None
    return identity.get("user_id"), identity.get("url")
