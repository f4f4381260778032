"""What the bot says, with the real default model: history questions answered from what was said (the latest
decision, cited), questions the channel does not answer declined, and the bot's own turns kept out of summaries.

Signed requests in, the real worker (Qwen2.5-Coder-1.5B through llama.cpp) in the middle, answers read where Slack
would show them."""

from __future__ import annotations

import time

import pytest

from bot import texts
from bot.model.client import OpenAICompatibleClient
from tests.support.slack import ALICE, BOB, BOT_USER, CHANNEL, finished_reply, sender_for, serve_app

pytestmark = pytest.mark.model

CAROL = "U0CAROL"
PLANNING = [
    (ALICE, "kicking off the 3.1 planning thread here"),
    (ALICE, "proposal: code freeze on Tuesday, ship on Friday"),
    (BOB, "the search index migration won't be done by Tuesday, it needs two more days"),
    (ALICE, "ok, let's move the code freeze to Thursday then. shipping moves to the following Monday"),
    (BOB, "sounds good. I'll run the migration on Wednesday night"),
    (ALICE, "Bob, can you also own the rollback plan?"),
    (BOB, "yes, the rollback plan is mine, I'll have it ready by Wednesday"),
    (ALICE, "random: the coffee machine on 3 is fixed"),
]
ANSWER_TIMEOUT = 300


@pytest.fixture
def app(settings, emulator, worker_url):
    with OpenAICompatibleClient(worker_url, timeout=300) as model, serve_app(settings, model=model) as running:
        slack = sender_for(running, emulator)
        start = int(time.time()) - 3600
        for offset, (user, text) in enumerate(PLANNING):
            slack.event(slack.message_event(CHANNEL, user, text, ts=f"{start + offset * 60}.000100"))
        yield slack


def _ask(app, emulator, question: str, ts: str) -> str:
    app.event(app.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> {question}", ts=ts))
    return finished_reply(emulator, ts, timeout=ANSWER_TIMEOUT)


def test_history_question_gets_the_latest_decision_cited(app, emulator) -> None:
    answer = _ask(app, emulator, "when is the code freeze?", ts=f"{int(time.time())}.000200")
    first_line = answer.split("\n\n")[0]
    assert "thursday" in first_line.lower()
    assert "tuesday" not in first_line.lower()  # the superseded proposal is not the answer
    assert texts.ANSWER_SOURCES in answer
    assert "[1]" in answer and "/archives/" in answer  # numbered sources, each linked to its message


def test_a_question_the_channel_does_not_answer_is_declined(app, emulator) -> None:
    answer = _ask(app, emulator, "who is writing the release notes?", ts=f"{int(time.time())}.000300")
    assert answer == texts.NOTHING_FOUND


def test_bot_turns_and_requests_stay_out_of_the_summary(app, emulator) -> None:
    own = _ask(app, emulator, "who owns the rollback plan?", ts=f"{int(time.time())}.000400")
    assert "bob" in own.split("\n\n")[0].lower()
    app.command("/summarize", "24h", user_id=ALICE, channel_id=CHANNEL)
    deadline = time.monotonic() + ANSWER_TIMEOUT
    while not emulator.response_url_posts() and time.monotonic() < deadline:
        time.sleep(0.2)
    [summary] = emulator.response_url_posts()
    text = summary["text"]
    assert "rollback" in text.lower()  # the team's own words are summarized
    assert "who owns the rollback plan" not in text.lower()  # the question to the bot is not an open question
    assert own.split("\n\n")[0] not in text  # nor is the bot's answer a point
    assert "owner: Parlance" not in text and "(owner: parlance)" not in text.lower()
