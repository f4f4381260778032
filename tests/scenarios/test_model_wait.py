"""Every job kind waits for the model the same way: while it is away the person waiting hears once that the
answer is coming, and MODEL_WAIT_SECONDS after the request they hear, where they are looking, that the bot stopped
waiting and why. Nobody waits for a scheduled digest: it posts nothing and keeps the reason.

The real app through the emulator, with a MODEL_URL where nothing ever listens (tests/model/test_model_warmup.py
starts the real worker late instead). MODEL_WAIT_SECONDS is the settings' minimum, 10 seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.background.clock import queue_digest
from bot.background.scorer import BackgroundScorer, Pause
from bot.emulator import SlackEmulator
from bot.model.access import free_port
from bot.model.client import OpenAICompatibleClient
from bot.settings import Settings, load_settings
from handlers.sentiment.schedule import latest_period, parse_spec
from storage import channel_settings as digests
from storage import jobs
from storage import sentiment_scores as scores
from storage.messages import save_message
from storage.tables import Job
from tests.support.every_kind import (
    CAROL,
    DAVE,
    ERIN,
    bot_posts,
    bot_replies,
    gave_up_prefix,
    home_publishes,
    send_every_kind,
    shown,
    told_privately,
)
from tests.support.model_server import ModelServer
from tests.support.slack import (
    ALICE,
    BOB,
    BOT_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    TEAM,
    RunningApp,
    sender_for,
    serve_app,
    wait_until,
)

SCHEDULE = "daily 00:00"


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        PORT=0,
        JOB_THREADS=4,
        MODEL_WAIT_SECONDS=10,  # the least it can be
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[RunningApp]:
    """The app with a model client whose server never comes (connections refused, as while a worker loads)."""
    with (
        OpenAICompatibleClient(f"http://127.0.0.1:{free_port()}/v1", retries=1, backoff=0.1) as model,
        serve_app(settings, model=model) as running,
    ):
        yield running


def _jobs(app: RunningApp) -> list[Job]:
    with app.parlance.sessions() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def _queue_scheduled_digest(app: RunningApp) -> None:
    """What the clock does when the channel's daily digest is due."""
    sessions = app.parlance.sessions
    with sessions.begin() as session:
        digests.set_schedule(session=session, team_id=TEAM, channel_id=CHANNEL, schedule=SCHEDULE, timezone="UTC")
    spec = parse_spec(SCHEDULE)
    assert spec is not None
    period = latest_period(spec, dt.datetime.now(dt.UTC))
    assert queue_digest(
        sessions,
        team_id=TEAM,
        channel_id=CHANNEL,
        spec_text=SCHEDULE,
        period=period,
        wake=app.parlance.dispatcher.notify,
    )


def test_with_no_model_every_kind_tells_its_person_once_then_gives_up_honestly(
    app: RunningApp, emulator: SlackEmulator
) -> None:
    sent = send_every_kind(sender_for(app, emulator), emulator)
    # After the channel's messages are stored: a digest with nothing left to score posts at once, model or not.
    _queue_scheduled_digest(app)

    def settled() -> bool:
        with app.parlance.sessions() as session:
            return jobs.pending_job_count(session=session) == 0

    wait_until(settled, timeout=90, what="every job done or given up")
    gave_up = gave_up_prefix()

    # In the threads, for everyone: one message each, the busy note edited into the give-up.
    for thread in (sent.mention, sent.flagged):
        [reply] = bot_replies(emulator, thread)
        assert reply["text"].startswith(gave_up), reply["text"]
        assert shown(emulator, reply["ts"]).count(texts.MODEL_BUSY) == 1
    # Privately, to each caller: the busy note, then the give-up; the picker came at once (it needs no model).
    [busy, given_up] = told_privately(emulator, ALICE)
    assert busy == texts.MODEL_BUSY and given_up.startswith(gave_up)
    [picker, busy, given_up] = told_privately(emulator, CAROL)
    assert picker == texts.PICK_LANGUAGE and busy == texts.MODEL_BUSY and given_up.startswith(gave_up)
    [busy, given_up] = told_privately(emulator, DAVE)
    assert busy == texts.MODEL_BUSY_DIGEST and given_up.startswith(gave_up_prefix(texts.MODEL_GAVE_UP_DIGEST))
    # /summarize does not wait: its skill falls back to an extractive summary, and says so.
    [summary] = told_privately(emulator, BOB)
    assert summary.startswith("*Summary of") and texts.SUMMARY_DEGRADED.split("{")[0] in summary
    assert home_publishes(emulator, ALICE) == 1  # the App Home tab never needs the model

    assert bot_posts(emulator) == [] and emulator.uploaded_files == []  # neither digest was posted
    outcomes = sorted((job.state, job.kind, job.payload.get("user") or "the clock") for job in _jobs(app))
    assert outcomes == sorted(
        [
            (jobs.FAILED, "mention", ALICE),
            (jobs.FAILED, "translate", ALICE),
            (jobs.FAILED, "translate", CAROL),  # the language she picked
            (jobs.FAILED, "translate", ERIN),
            (jobs.FAILED, "sentiment_digest", DAVE),
            (jobs.FAILED, "sentiment_digest", "the clock"),
            (jobs.DONE, "translate", CAROL),  # the shortcut: the picker
            (jobs.DONE, "summarize", BOB),
            (jobs.DONE, "sentiment_home", ALICE),
        ]
    )
    for job in _jobs(app):
        if job.state == jobs.FAILED:
            assert job.last_error.startswith("gave up waiting for the model after"), job.last_error
            assert "ModelUnavailable: cannot reach the model server" in job.last_error
            assert job.attempts >= 2


def test_the_background_scorer_keeps_the_messages_and_backs_off_until_the_model_comes(
    sessions: sessionmaker[Session],
) -> None:
    """While nothing answers at MODEL_URL each round fails and the pause doubles, up to its ceiling, and new
    messages do not cut it short; nothing is dropped. Once the model answers, the pending messages are scored and
    the pause is back to normal."""
    port = free_port()
    with sessions.begin() as session:
        for i, text in enumerate(("great release", "the deploy failed", "lunch?")):
            save_message(session=session, team_id=TEAM, channel_id=CHANNEL, ts=f"1764380000.00010{i}", user_id=ALICE,
                         text=text)  # fmt: skip
    with OpenAICompatibleClient(f"http://127.0.0.1:{port}/v1", retries=0) as model:
        scorer = BackgroundScorer(
            sessions=sessions,
            model=model,
            idle_seconds=2.0,
            error_backoff_seconds=8.0,
            interactive_waiting=lambda: False,
        )
        assert [scorer.step() for _ in range(5)] == [Pause(seconds, wakeable=False) for seconds in (1, 2, 4, 8, 8)]
        assert _unscored(sessions) == 3
        with ModelServer(port=port):
            assert scorer.step() == Pause(0.0)  # a batch scored: the next round starts at once
            assert scorer.step() == Pause(2.0)  # nothing left: the idle pause, which new messages cut short
    assert _unscored(sessions) == 0 and scorer.scored == 3


def _unscored(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return scores.count_unscored(session=session, team_id=TEAM, channel_id=CHANNEL)
