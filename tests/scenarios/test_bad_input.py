"""A corpus of hostile and broken requests: each gets a 2xx or 4xx, nothing is stored wrongly, nothing crashes,
and the app still answers a normal mention afterwards."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from bot import texts
from storage import messages
from tests.support.slack import ALICE, BOT_USER, CHANNEL, TEAM

RTL_OVERRIDE = "\u202e"
ZWJ = "\u200d"


def _event_body(event: dict, event_id: str) -> bytes:
    return json.dumps({"type": "event_callback", "team_id": TEAM, "api_app_id": "A0APP", "event_id": event_id,
                       "event_time": int(time.time()), "event": event}).encode()  # fmt: skip


CORPUS_TEXTS = [
    "<!channel> everyone look <!here> <!everyone>",
    "'; DROP TABLE messages; --",
    "control \x00\x01\x07 characters",
    f"right-to-left {RTL_OVERRIDE}override{RTL_OVERRIDE}",
    "👍" * 10_000,
    f"family 👨{ZWJ}👩{ZWJ}👧{ZWJ}👦 and zero{ZWJ}width",
    "```\n```nested```\n```` fences ``` ```",
    "a" * 40_000,
]


@pytest.mark.parametrize("text", CORPUS_TEXTS, ids=range(len(CORPUS_TEXTS)))
def test_hostile_message_text_is_stored_verbatim_and_harmless(slack, running_app, text: str) -> None:
    ts = f"17643900{CORPUS_TEXTS.index(text):02d}.000100"
    response = slack.event(slack.message_event(CHANNEL, ALICE, text, ts=ts))
    assert response.status == 200
    with running_app.parlance.sessions() as session:
        stored = messages.get_message(session=session, team_id=TEAM, channel_id=CHANNEL, ts=ts)
    assert stored is not None and stored.text == text.replace("\x00", "\ufffd")  # NUL cannot live in PostgreSQL


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{not json", "application/json", {400}),
        (b"", "application/json", {400}),
        (b"payload=%7Bbroken", "application/x-www-form-urlencoded", {400}),
        (b'{"type": "event_callback"}', "text/plain", {200, 400, 401, 404}),
        (_event_body({"type": "message"}, "Ev0MISSING"), "application/json", {200}),
        (_event_body({"type": "no_such_event", "x": 1}, "Ev0UNKNOWN"), "application/json", {200, 404}),
        (_event_body({"type": "message", "channel": CHANNEL, "user": ALICE, "text": "hi", "ts": "not-a-ts"}, "Ev0TS"),
         "application/json", {200}),
        (_event_body({"type": "reaction_added", "reaction": "flag-fr", "item": {}}, "Ev0REACT"),
         "application/json", {200}),
        (_event_body({"type": "app_mention", "channel": CHANNEL, "text": "<@U0BOT>"}, "Ev0NOUSER"),
         "application/json", {200}),
    ],
    ids=["bad-json", "empty", "bad-form", "wrong-type", "missing-fields", "unknown-event", "invalid-ts", "empty-item",
         "mention-without-user"],
)  # fmt: skip
def test_broken_requests_get_a_4xx_or_are_acked_and_ignored(
    slack, emulator, running_app, body: bytes, content_type: str, expected: set[int]
) -> None:
    response = slack.raw(body, content_type=content_type)
    assert response.status in expected
    assert response.status < 500
    time.sleep(0.3)
    assert [c for c in emulator.calls("chat.postMessage") if c.ok] == []


def test_unsigned_requests_are_refused_and_the_app_keeps_working(slack, emulator, running_app) -> None:
    unsigned = slack.raw(_event_body({"type": "message"}, "Ev0UNSIGNED"), content_type="application/json", sign=False)
    assert unsigned.status == 401
    assert httpx.post(f"{running_app.url}/slack/events", content=b"x" * 10, timeout=5).status_code == 401
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts="1764391000.000100"))
    [reply] = emulator.wait_for("chat.postMessage")
    assert reply.args["text"] == texts.HELP


COMMAND_CORPUS = [
    ("/summarize", "'; DROP TABLE messages; --"),
    ("/summarize", "last 99999999999999999999 days"),
    ("/translate", "to fr " + "👍" * 10_000),
    ("/translate", f"to {RTL_OVERRIDE}fr <!channel> \x00\x07"),
    ("/translate", "to ```fr``` ```\n```"),
    ("/sentiment", "daily at 25:99 in Mars/Olympus"),
]


@pytest.mark.parametrize(("command", "text"), COMMAND_CORPUS, ids=range(len(COMMAND_CORPUS)))
def test_hostile_slash_commands_get_a_polite_answer_and_nothing_breaks(
    slack, emulator, running_app, command: str, text: str
) -> None:
    response = slack.command(command, text, user_id=ALICE, channel_id=CHANNEL)
    assert response.status == 200
    with running_app.parlance.sessions() as session:  # the tables are still there and still answer
        assert messages.recent_messages(session=session, team_id=TEAM, channel_id=CHANNEL, limit=1) is not None
    assert "<!channel>" not in response.body.decode("utf-8", "replace")


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": ALICE}, "actions": []},
        {"type": "block_actions", "team": {"id": TEAM}, "user": {"id": ALICE},
         "actions": [{"action_id": "translate_pick", "type": "static_select"}]},
        {"type": "message_action", "team": {"id": TEAM}, "user": {"id": ALICE}, "callback_id": "translate_message",
         "channel": {"id": CHANNEL}, "message": {}},
        {"type": "message_action", "team": {"id": TEAM}, "user": {"id": ALICE}, "callback_id": "summarize_thread"},
        {"type": "view_submission", "team": {"id": TEAM}, "user": {"id": ALICE}, "view": {"callback_id": "nope"}},
    ],
    ids=["no-actions", "pick-without-value", "shortcut-empty-message", "shortcut-no-channel", "unknown-view"],
)  # fmt: skip
def test_broken_interactivity_payloads_are_refused_or_ignored(slack, emulator, running_app, payload: dict) -> None:
    response = slack.interactive(payload)
    assert 200 <= response.status < 500
    time.sleep(0.3)
    assert [c for c in emulator.calls("chat.postMessage") if c.ok] == []
