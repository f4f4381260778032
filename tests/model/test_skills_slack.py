"""/summarize, the message shortcuts and flag reactions end to end: signed requests in, the real worker and
bundled models in the middle, answers checked where Slack would show them."""

from __future__ import annotations

import time

import pytest

from bot import texts
from bot.model.client import OpenAICompatibleClient
from tests.support.slack import ALICE, BOB, BOT_USER, CHANNEL, sender_for, serve_app

pytestmark = pytest.mark.model

RELEASE_TALK = [
    (BOB, "Morning! Where are we on the 2.0 release?"),
    (ALICE, "QA found two blockers in the payment flow."),
    (BOB, "Can we still ship on Friday?"),
    (ALICE, "We decided to move the release to Monday so QA can finish."),
    (BOB, "Agreed, Monday it is."),
    (ALICE, "I'll update the changelog by Thursday."),
    (BOB, "Who is writing the announcement for customers?"),
    (ALICE, "Lunch anyone? The pizza place is open."),
]


@pytest.fixture
def app(settings, emulator, worker_url):
    with OpenAICompatibleClient(worker_url) as model, serve_app(settings, model=model) as running:
        yield sender_for(running, emulator)


def _answers(emulator, count: int = 1, timeout: float = 240) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        posts = emulator.response_url_posts()
        if len(posts) >= count:
            return posts
        time.sleep(0.1)
    raise AssertionError(f"expected {count} response_url answers, got {emulator.response_url_posts()}")


def _say(app, lines, *, start: int = 1764360000, thread_ts: str | None = None) -> list[str]:
    stamps = []
    for offset, (user, text) in enumerate(lines):
        ts = f"{start + offset}.000100"
        app.event(app.message_event(CHANNEL, user, text, ts=ts, thread_ts=thread_ts))
        stamps.append(ts)
    return stamps


def test_summarize_answers_privately_with_decisions_questions_actions_and_links(app, emulator) -> None:
    now = int(time.time())
    stamps = _say(app, RELEASE_TALK, start=now - 3600)
    response = app.command("/summarize", "24h", user_id=ALICE, channel_id=CHANNEL)
    assert response.status == 200
    [answer] = _answers(emulator)
    text = answer["text"]
    assert answer["response_type"] == "ephemeral"
    assert text.startswith(f"*Summary of the last 24h* · {len(RELEASE_TALK)} messages")
    assert texts.SUMMARY_DECISIONS in text and "Monday" in text
    assert texts.SUMMARY_ACTIONS in text and "changelog" in text
    decision_link = f"https://parlance.slack.com/archives/{CHANNEL}/p{stamps[3].replace('.', '')}"
    assert decision_link in text
    assert "<!" not in text
    assert emulator.calls("chat.postMessage") == []  # nothing public


def test_summarize_public_posts_in_the_channel(app, emulator) -> None:
    _say(app, RELEASE_TALK, start=int(time.time()) - 600)
    app.command("/summarize", "public", user_id=ALICE, channel_id=CHANNEL)
    [post] = emulator.wait_for("chat.postMessage", timeout=240)
    assert post.args["channel"] == CHANNEL and "thread_ts" not in post.args
    assert post.args["text"].startswith("*Summary of the recent conversation*")


def test_summarize_backfills_history_the_bot_missed(app, emulator, running_sessions=None) -> None:
    base = int(time.time()) - 7200
    for offset, (user, text) in enumerate(RELEASE_TALK):  # said before the bot joined: no events were sent
        emulator.add_message(CHANNEL, user=user, text=text, ts=f"{base + offset}.000200")
    app.command("/summarize", "200", user_id=BOB, channel_id=CHANNEL)
    [answer] = _answers(emulator)
    assert "*Summary of the last 8 messages*" in answer["text"] and "Monday" in answer["text"]
    assert emulator.calls("conversations.history")


def test_summarize_a_thread_by_link_and_by_shortcut(app, emulator) -> None:
    parent_ts = "1764361000.000100"
    app.event(app.message_event(CHANNEL, BOB, "Thread: should we ship 2.0 on Friday?", ts=parent_ts))
    _say(app, RELEASE_TALK[1:6], start=1764361001, thread_ts=parent_ts)
    _say(app, [(ALICE, "unrelated: the office is closed tomorrow")], start=1764361100)
    link = f"https://parlance.slack.com/archives/{CHANNEL}/p{parent_ts.replace('.', '')}"
    app.command("/summarize", link, user_id=ALICE, channel_id=CHANNEL)
    message = {"type": "message", "user": BOB, "ts": parent_ts, "text": "Thread: should we ship 2.0 on Friday?"}
    app.message_shortcut("summarize_thread", message=message, channel_id=CHANNEL, user_id=BOB)
    by_link, by_shortcut = _answers(emulator, count=2)
    for answer in (by_link, by_shortcut):
        assert answer["text"].startswith("*Summary of the thread* · 6 messages")
        assert "office" not in answer["text"]


def test_summarize_a_thread_of_another_channel_is_refused_politely(app, emulator) -> None:
    link = "https://parlance.slack.com/archives/C0OTHER/p1764361000000100"
    response = app.command("/summarize", link, user_id=ALICE, channel_id=CHANNEL)
    assert response.json()["text"] == texts.THREAD_IN_OTHER_CHANNEL


def test_summarize_an_empty_span_says_so(app, emulator) -> None:
    app.command("/summarize", "1h", user_id=ALICE, channel_id=CHANNEL)
    [answer] = _answers(emulator)
    assert answer["text"] == texts.NOTHING_TO_SUMMARIZE.format(span="last 1h")


def test_translate_shortcut_offers_a_language_picker_to_an_english_speaker(app, emulator) -> None:
    message_ts = _say(app, [(BOB, "Good morning team, the release moved to Monday.")], start=1764362000)[0]
    message = {"type": "message", "user": BOB, "ts": message_ts, "text": "Good morning team"}
    app.message_shortcut("translate_message", message=message, channel_id=CHANNEL, user_id=ALICE)
    [picker] = _answers(emulator)
    select = picker["blocks"][0]["accessory"]
    assert picker["text"] == texts.PICK_LANGUAGE and select["action_id"] == "translate_pick"
    assert {"fr", "de", "es", "ja"} <= {option["value"] for option in select["options"]}
    assert picker["blocks"][0]["block_id"] == f"{CHANNEL}:{message_ts}"


def test_a_mention_help_lists_the_skills(app, emulator) -> None:
    app.event(app.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts="1764363000.000100"))
    [reply] = emulator.wait_for("chat.postMessage")
    assert "/summarize" in reply.args["text"] and "/translate" in reply.args["text"]
