"""Mentions answered by the real bundled model through the real app, and the guards that need one exact model
output (a scripted model) to check."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient

from bot import texts
from bot.model.client import ChatMessage, OpenAICompatibleClient
from bot.slack.streaming import SlackStream
from handlers.conversation.reply import build_messages, fit_context
from handlers.text.lines import ChatLine
from tests.support.scripted_model import ScriptedModel
from tests.support.slack import (
    ALICE,
    BOB,
    BOT_TOKEN,
    BOT_USER,
    CHANNEL,
    finished_reply,
    sender_for,
    serve_app,
    wait_until,
)


@pytest.fixture
def scripted() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def scripted_slack(settings, emulator, scripted):
    with serve_app(settings, model=scripted) as app:
        yield sender_for(app, emulator)


@pytest.fixture
def model(worker_url):
    with OpenAICompatibleClient(worker_url) as client:
        yield client


@pytest.fixture
def model_slack(settings, emulator, model):
    with serve_app(settings, model=model) as app:
        yield sender_for(app, emulator)


@pytest.mark.model
def test_a_follow_up_in_the_bots_thread_is_answered_without_a_mention(model_slack, emulator) -> None:
    ts = "1764350100.000001"
    model_slack.event(model_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> hi there", ts=ts))
    finished_reply(emulator, ts, timeout=180)
    model_slack.event(
        model_slack.message_event(CHANNEL, ALICE, "and one more thing: thanks!", ts="1764350105.000001", thread_ts=ts)
    )
    # Streamed or posted, each answer is one message of the bot's in the thread.
    wait_until(lambda: len(_bot_replies(emulator, ts)) >= 2, timeout=120, what="the follow-up's answer")
    assert len(_bot_replies(emulator, ts)) == 2


def _bot_replies(emulator, thread_ts: str) -> list[dict]:
    return [m for m in emulator.messages(CHANNEL, thread_ts=thread_ts) if m.get("user") == BOT_USER]


@pytest.mark.model
def test_a_history_question_is_answered_from_the_channel_with_a_permalink(model_slack, emulator) -> None:
    said = "1764350200.000001"
    model_slack.event(model_slack.message_event(CHANNEL, BOB, "We decided the release date is March 3rd.", ts=said))
    model_slack.event(model_slack.message_event(CHANNEL, ALICE, "Great, I'll book the room.", ts="1764350201.000001"))
    model_slack.event(model_slack.message_event(CHANNEL, BOB, "Lunch is pizza today.", ts="1764350202.000001"))
    ts = "1764350210.000001"
    model_slack.event(
        model_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> what did we decide about the release date?", ts=ts)
    )
    answer = finished_reply(emulator, ts, timeout=180)
    assert "March 3rd" in answer
    assert f"https://parlance.slack.com/archives/{CHANNEL}/p1764350200000001" in answer


@pytest.mark.model
def test_a_history_question_with_no_answer_in_the_channel_says_so(model_slack, emulator) -> None:
    model_slack.event(model_slack.message_event(CHANNEL, BOB, "Lunch is pizza today.", ts="1764350300.000001"))
    ts = "1764350310.000001"
    model_slack.event(
        model_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> what did we decide about the parking permits?", ts=ts)
    )
    assert finished_reply(emulator, ts, timeout=180) == texts.NOTHING_FOUND


@pytest.mark.model
def test_history_is_fitted_to_the_real_models_window_by_token_count(model) -> None:
    context = [
        ChatLine(ts=f"{i}", speaker="Alice", text=f"status update number {i}: " + "all good " * 30) for i in range(300)
    ]
    kept = fit_context("summarize the updates", "Bob", context, model=model, place="#general", reply_tokens=400)
    assert 0 < len(kept) < len(context)
    assert kept[-1] == context[-1]  # the newest are kept, the oldest dropped
    window = model.context_window()
    assert model.count_tokens(build_messages("summarize the updates", "Bob", kept, place="#general")) <= window - 400
    longer = context[-len(kept) - 1 :]
    assert model.count_tokens(build_messages("summarize the updates", "Bob", longer, place="#general")) > window - 400


# -- guards, with one exact model output --------------------------------------------------------------------
def test_the_model_cannot_ping_channel_here_everyone_or_other_users(scripted_slack, scripted, emulator) -> None:
    scripted.enqueue("Sure! <!channel> <!here> @everyone please welcome <@U0BOB> and **ship** it")
    ts = "1764350400.000001"
    scripted_slack.event(scripted_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> greet the team", ts=ts))
    answer = finished_reply(emulator, ts, timeout=20)
    assert "<!" not in answer and "<@U0BOB>" not in answer
    assert "*ship*" in answer


def test_a_looping_answer_is_replaced_by_an_honest_one(scripted_slack, scripted, emulator) -> None:
    scripted.enqueue("I think that " + "the team is great and " * 40)
    ts = "1764350500.000001"
    scripted_slack.event(scripted_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me about us", ts=ts))
    answer = finished_reply(emulator, ts, timeout=20)
    assert answer.count("the team is great") <= 1


def test_model_down_leaves_a_busy_note_then_answers_when_it_is_back(scripted_slack, scripted, emulator) -> None:
    from bot.model.client import ModelUnavailable

    scripted.enqueue(ModelUnavailable("connection refused"), "Back now: hello!")
    ts = "1764350600.000001"
    scripted_slack.event(scripted_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> hello", ts=ts))

    def busy_note_shown() -> bool:  # posted (native streaming writes nothing before) or edited into the placeholder
        writes = [c for c in emulator.calls() if c.ok and c.method in ("chat.postMessage", "chat.update")]
        return any("busy" in c.args.get("text", "") for c in writes)

    wait_until(busy_note_shown, timeout=20, what="the busy note")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "Back now" not in finished_reply(emulator, ts, timeout=20):
        time.sleep(0.2)
    assert finished_reply(emulator, ts, timeout=180).startswith("Back now: hello!")
    assert len(emulator.calls("chat.postMessage")) == 1  # the retry edited the same message


def test_a_long_answer_continues_in_the_thread_instead_of_failing(emulator) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    parent = emulator.add_message(CHANNEL, user=ALICE, text="write a lot")
    stream = SlackStream(client=client, channel=CHANNEL, thread_ts=parent, job_id=1, interval=0)
    stream.start()
    paragraphs = [f"Paragraph {i}. " + "words " * 150 for i in range(25)]
    for paragraph in paragraphs:
        stream.feed(paragraph + "\n\n")
    posted = stream.finish()
    assert len(posted) == 2  # 22,700 characters: two markdown blocks of at most 12,000
    thread = [m for m in emulator.messages(CHANNEL, thread_ts=parent) if m["ts"] in posted]
    assert [[block["type"] for block in m["blocks"]] for m in thread] == [["markdown"], ["markdown"]]
    assert all(len(m["blocks"][0]["text"]) <= 12_000 for m in thread)
    assert "Paragraph 0." in thread[0]["blocks"][0]["text"] and "Paragraph 24." in thread[-1]["blocks"][0]["text"]
    assert "".join(m["blocks"][0]["text"] for m in thread).count("Paragraph") == 25
    assert not [c for c in emulator.calls() if not c.ok]


def test_build_messages_names_the_speakers() -> None:
    messages = build_messages("what now?", "Alice", [ChatLine(ts="1", speaker="Bob", text="hi")], place="#general")
    assert messages[-1] == ChatMessage(role="user", content="Alice: what now?")
    assert "Bob: hi" in messages[1].content


def test_a_direct_message_is_answered_in_the_conversation(scripted_slack, scripted, emulator) -> None:
    emulator.add_channel("D0ALICE", name="alice-dm", user=ALICE)
    scripted.enqueue("Hello Alice, happy to help.")
    ts = "1764350700.000001"
    scripted_slack.event(scripted_slack.message_event("D0ALICE", ALICE, "hi, can you help me?", ts=ts))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        replies = [m for m in emulator.messages("D0ALICE") if m.get("user") == BOT_USER]
        if replies and replies[-1]["text"] == "Hello Alice, happy to help.":
            break
        time.sleep(0.1)
    assert [m["text"] for m in emulator.messages("D0ALICE") if m.get("user") == BOT_USER] == [
        "Hello Alice, happy to help."
    ]
    [post] = [c for c in emulator.calls("chat.postMessage") if c.ok]
    assert "thread_ts" not in post.args  # a DM is answered in the conversation itself


def test_who_owns_a_task_is_answered_from_the_request_it_took_when_the_model_finds_nothing(
    scripted_slack, scripted, emulator
) -> None:
    """The model misses it (NOT FOUND over the channel, then over the best matches); the request and its "sure"
    still say who took the work, and the reply links both."""
    asked = "1764350400.000001"
    scripted_slack.event(
        scripted_slack.message_event(CHANNEL, BOB, f"<@{ALICE}> can you own the offsite planning?", ts=asked)
    )
    scripted_slack.event(scripted_slack.message_event(CHANNEL, ALICE, "sure", ts="1764350401.000001"))
    scripted.enqueue("NOT FOUND", "NOT FOUND")
    ts = "1764350410.000001"
    scripted_slack.event(
        scripted_slack.mention_event(CHANNEL, BOB, f"<@{BOT_USER}> who's planning the offsite?", ts=ts)
    )
    answer = finished_reply(emulator, ts, timeout=60)
    first_line = answer.split("\n")[0]
    assert first_line.startswith("alice")  # the one who said "sure", not bob who asked
    assert f"<https://parlance.slack.com/archives/{CHANNEL}/p1764350400000001|[1]>" in first_line
