"""Scoring with the real worker (MiniLM embeddings + the shipped head): messages that arrive through Slack are
scored in the background, and an edit is scored again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.emulator import SlackEmulator, SlackSender
from bot.model.client import OpenAICompatibleClient
from bot.settings import Settings
from handlers.sentiment.scoring import score_texts
from storage import sentiment_scores as scores
from tests.support.slack import ALICE, BOB, CHANNEL, SIGNING_SECRET, TEAM, RunningApp, serve_app
from tests.support.workers import worker_url  # noqa: F401

pytestmark = pytest.mark.model

GOOD = "Great news: the release went out smoothly, thank you all! :tada:"
BAD = "The build is broken again and I'm really frustrated :angry:"
FIXED = "Fixed it, everything works now. Thanks for the help, this is awesome!"


@pytest.fixture
def model(worker_url: str) -> Iterator[OpenAICompatibleClient]:  # noqa: F811
    with OpenAICompatibleClient(worker_url) as client:
        yield client


@pytest.fixture
def scoring_app(settings: Settings, model: OpenAICompatibleClient) -> Iterator[RunningApp]:
    with serve_app(settings, model=model) as app:  # with a model, the app scores in the background itself
        yield app


def _scored(sessions: sessionmaker[Session]) -> dict[str, tuple[str, float]]:
    import datetime as dt

    with sessions() as session:
        rows = scores.scored_messages(
            session=session,
            team_id=TEAM,
            channel_id=CHANNEL,
            since=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            until=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        )
    return {row.text: (row.label, row.score) for row in rows}


def _wait_for(sessions: sessionmaker[Session], text: str, timeout: float = 30.0) -> tuple[str, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _scored(sessions).get(text)
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{text!r} was not scored in {timeout}s")


def test_stored_messages_are_scored_and_an_edit_is_scored_again(
    scoring_app: RunningApp, emulator: SlackEmulator
) -> None:
    slack = SlackSender(app_url=f"{scoring_app.url}/slack/events", signing_secret=SIGNING_SECRET, team_id=TEAM,
                        emulator=emulator)  # fmt: skip
    sessions = scoring_app.parlance.sessions
    slack.event(slack.message_event(CHANNEL, ALICE, GOOD, ts="1764340000.000100"))
    slack.event(slack.message_event(CHANNEL, BOB, BAD, ts="1764340001.000100"))
    good, bad = _wait_for(sessions, GOOD), _wait_for(sessions, BAD)
    assert good[0] == "positive" and good[1] > 0.1
    assert bad[0] == "negative" and bad[1] < -0.1

    slack.event(slack.edit_event(CHANNEL, "1764340001.000100", FIXED, user=BOB))
    fixed = _wait_for(sessions, FIXED)
    assert fixed[0] == "positive" and fixed[1] > 0
    assert BAD not in _scored(sessions)  # the old text's score is gone with the old text


def test_markup_and_emoji_reach_the_model_as_words(model: OpenAICompatibleClient) -> None:
    happy, sad = score_texts(["<@U1> :tada: :tada: :heart:", "<@U1> :cry: :broken_heart:"], model)
    assert happy.score > sad.score
