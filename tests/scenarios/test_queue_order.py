"""While an answer is still being written: a follow-up in its thread waits for it and is answered after it, once;
someone else's request is answered although one person has sent a flood of them. The real app through the
emulator, with a model that holds some requests until the test lets them go (nothing is timed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot import texts
from bot.emulator import SlackEmulator, SlackSender
from bot.settings import Settings
from storage import jobs
from storage.tables import Job
from tests.support.held_model import HeldModel
from tests.support.slack import ALICE, BOB, BOT_USER, CHANNEL, RunningApp, sender_for, serve_app, wait_until

SPRING = "Spring haiku: blossoms drift down, the river carries them home."


@pytest.fixture
def model() -> HeldModel:
    return HeldModel()


@pytest.fixture
def app(settings: Settings, model: HeldModel) -> Iterator[RunningApp]:
    with serve_app(settings, model=model) as running:
        yield running


@pytest.fixture
def slack(app: RunningApp, emulator: SlackEmulator) -> SlackSender:
    return sender_for(app, emulator)


def _answers(emulator: SlackEmulator, thread_ts: str) -> list[str]:
    """The bot's finished messages in a thread ("" while one is still a placeholder or being streamed)."""
    replies = [m["text"] for m in emulator.messages(CHANNEL, thread_ts=thread_ts) if m.get("user") == BOT_USER]
    return [] if any(text == "_Thinking…_" or text.endswith(" …") for text in replies) else replies


def _states(app: RunningApp) -> list[tuple[str | None, str]]:
    with app.parlance.sessions() as session:
        return [(job.user_id, job.state) for job in session.scalars(select(Job).order_by(Job.id))]


def _settled(app: RunningApp) -> bool:
    with app.parlance.sessions() as session:
        return jobs.pending_job_count(session=session) == 0


def _notes_to(emulator: SlackEmulator, user: str) -> list[dict[str, Any]]:
    return [
        m for m in emulator.ephemeral_messages(CHANNEL) if m.get("user") == user and "requests waiting" in m["text"]
    ]


def test_a_follow_up_sent_while_the_bot_is_still_writing_is_answered_after_that_answer_once(
    app: RunningApp, slack: SlackSender, emulator: SlackEmulator, model: HeldModel
) -> None:
    model.hold_on = "haiku about spring"
    model.enqueue(SPRING)
    mention = "1764360000.000001"
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> write a haiku about spring", ts=mention))
    wait_until(lambda: model.held == 1, what="the first answer being written")
    follow_up = slack.message_event(
        CHANNEL, BOB, "and one about rain please", ts="1764360001.000001", thread_ts=mention
    )
    slack.event(follow_up, event_id="EvFOLLOW1")
    slack.event(follow_up, event_id="EvFOLLOW1", retry_num=1)  # Slack's retry of it: still one request
    # Taken as a follow-up (a job, though the bot has not said a word yet), and waiting for the answer before it.
    assert _states(app) == [(ALICE, jobs.RUNNING), (BOB, jobs.QUEUED)]
    model.release()
    answers = wait_until(lambda: len(_answers(emulator, mention)) == 2 and _answers(emulator, mention))
    assert answers[0] == SPRING
    assert answers[1] == model.reply
    wait_until(lambda: _settled(app), what="no job queued or running")
    time.sleep(0.3)  # a doubled answer would show up now
    assert len(_answers(emulator, mention)) == 2
    # The follow-up was written with the first answer before it, as a person in the thread reads it.
    follow_up_prompt = "\n".join(message.content for message in model.calls[-1].messages)
    assert SPRING in follow_up_prompt and "and one about rain please" in follow_up_prompt


def test_someone_elses_mention_is_answered_before_a_flooders_backlog_drains(
    app: RunningApp, slack: SlackSender, emulator: SlackEmulator, model: HeldModel
) -> None:
    """Alice sends eight requests at once and the model is slow on hers; Bob's, sent after all of them, is
    answered while hers still wait. With two dispatcher threads and no per-person limit, two of hers would take
    both threads and Bob's would wait for the model to let them go."""
    model.hold_on = "flood item"
    floods = [f"17643601{i:02d}.000001" for i in range(8)]
    for i, ts in enumerate(floods):
        slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> flood item {i}: a limerick", ts=ts))
    wait_until(lambda: model.held >= 1, what="Alice's first request in the model")
    bob = "1764360200.000001"
    slack.event(slack.mention_event(CHANNEL, BOB, f"<@{BOT_USER}> a haiku for Bob", ts=bob))
    assert wait_until(lambda: _answers(emulator, bob)) == [model.reply]
    assert [_answers(emulator, ts) for ts in floods] == [[]] * 8  # none of Alice's answered yet
    assert model.held == 1  # only one of hers ever in the model at a time
    assert [state for user, state in _states(app) if user == ALICE].count(jobs.QUEUED) == 7

    model.release()
    wait_until(lambda: all(_answers(emulator, ts) for ts in floods), what="all of Alice's answers")
    wait_until(lambda: _settled(app), what="no job queued or running")
    time.sleep(0.3)
    assert [len(_answers(emulator, ts)) for ts in floods] == [1] * 8  # each answered once
    # Told once, politely, why hers come one at a time; Bob is told nothing.
    [note] = _notes_to(emulator, ALICE)
    assert note["text"] == texts.QUEUED_BEHIND.format(count=7)
    assert _notes_to(emulator, BOB) == []
