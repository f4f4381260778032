"""Requests sent while the model worker is still loading (the first minute after `make run`) are each answered
once it is up: every person waiting saw one busy note, then exactly one answer, where they are looking.

The app starts against a MODEL_URL where nothing listens yet; one request of every job kind goes in through the
emulator; then the real worker (chat, translate, embed) starts on that port.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot import texts
from bot.emulator import SlackEmulator
from bot.model.access import free_port
from bot.model.client import OpenAICompatibleClient
from bot.settings import load_settings
from bot.slack.streaming import PLACEHOLDER
from storage import jobs
from storage.tables import Job
from tests.support.every_kind import (
    CAROL,
    DAVE,
    EveryKind,
    bot_posts,
    bot_replies,
    home_publishes,
    send_every_kind,
    shown,
    told_privately,
)
from tests.support.slack import (
    ALICE,
    BOB,
    BOT_TOKEN,
    SIGNING_SECRET,
    RunningApp,
    sender_for,
    serve_app,
    wait_until,
)
from tests.support.workers import running_worker

pytestmark = pytest.mark.model
WAIT_SECONDS = 1200  # MODEL_WAIT_SECONDS: longer than the worker's start and all the answers on two busy cores


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def app(emulator: SlackEmulator, database_url: str, port: int) -> Iterator[RunningApp]:
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        PORT=0,
        JOB_THREADS=4,
        MODEL_WAIT_SECONDS=WAIT_SECONDS,
    )
    with (
        OpenAICompatibleClient(f"http://127.0.0.1:{port}/v1", timeout=300) as model,
        serve_app(settings, model=model) as running,
    ):
        yield running


def _everyone_told_to_wait(emulator: SlackEmulator, sent: EveryKind) -> bool:
    in_threads = [bot_replies(emulator, thread) for thread in (sent.mention, sent.flagged)]
    return (
        all(replies and texts.MODEL_BUSY in shown(emulator, replies[0]["ts"]) for replies in in_threads)
        and told_privately(emulator, ALICE) == [texts.MODEL_BUSY]
        and told_privately(emulator, CAROL) == [texts.PICK_LANGUAGE, texts.MODEL_BUSY]
        and told_privately(emulator, DAVE) == [texts.MODEL_BUSY_DIGEST]
    )


def _settled(app: RunningApp) -> bool:
    with app.parlance.sessions() as session:
        return jobs.pending_job_count(session=session) == 0


def test_every_kind_sent_before_the_worker_is_up_is_answered_once_after_one_busy_note(
    app: RunningApp, emulator: SlackEmulator, port: int
) -> None:
    sent = send_every_kind(sender_for(app, emulator), emulator)
    wait_until(lambda: _everyone_told_to_wait(emulator, sent), timeout=120, what="everyone waiting told so")
    # What needs no model was answered already: the summary (extractive, said so), the picker, the home view.
    [summary] = told_privately(emulator, BOB)
    assert summary.startswith("*Summary of")
    # Alice's home view waits only while her translation's attempt runs (one running job per person), never for
    # the model.
    wait_until(lambda: home_publishes(emulator, ALICE) == 1, timeout=60, what="the home view published")

    with running_worker("chat,translate,embed", max_batch=16, kv_cache_tokens=16384, timeout=300, port=port):
        wait_until(lambda: _settled(app), timeout=WAIT_SECONDS, what="every job done")
        time.sleep(1.0)  # a duplicate would have had time to show itself

    gave_up = texts.MODEL_GAVE_UP.split("{")[0]
    [answer] = bot_replies(emulator, sent.mention)
    assert answer["text"] not in (texts.MODEL_BUSY, PLACEHOLDER) and not answer["text"].startswith(gave_up)
    assert not answer["text"].endswith(" …")
    assert shown(emulator, answer["ts"]).count(texts.MODEL_BUSY) == 1
    [flag] = bot_replies(emulator, sent.flagged)
    assert flag["text"].startswith("*French* (asked for by erin): ")
    assert shown(emulator, flag["ts"]).count(texts.MODEL_BUSY) == 1
    [busy, translated] = told_privately(emulator, ALICE)
    assert busy == texts.MODEL_BUSY and translated.startswith("*French:* ")
    [picker, busy, translated] = told_privately(emulator, CAROL)
    assert (picker, busy) == (texts.PICK_LANGUAGE, texts.MODEL_BUSY) and translated.startswith("*French:* ")
    assert told_privately(emulator, DAVE) == [texts.MODEL_BUSY_DIGEST]
    [digest] = bot_posts(emulator)  # posted once, in the channel (three messages: too few for a chart)
    assert "Sentiment digest for" in digest["text"]
    assert told_privately(emulator, BOB) == [summary] and home_publishes(emulator, ALICE) == 1
    with app.parlance.sessions() as session:
        states = list(session.scalars(select(Job.state)))
    assert states == [jobs.DONE] * 8  # one job per request, each done
