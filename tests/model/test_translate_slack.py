"""/translate, flag reactions and the language picker end to end, with the real worker serving the bundled
Gemma 3 270M translate model."""

from __future__ import annotations

import time

import pytest

from bot import texts
from bot.model.client import OpenAICompatibleClient
from tests.support.slack import ALICE, BOB, CHANNEL, sender_for, serve_app, wait_until

pytestmark = pytest.mark.model
MODEL_TIMEOUT = 300  # Gemma translation on 2 busy CPU cores


@pytest.fixture
def app(settings, emulator, translate_url):
    with OpenAICompatibleClient(translate_url, timeout=300) as model, serve_app(settings, model=model) as running:
        yield sender_for(running, emulator)


def test_a_flag_reaction_translates_the_message_in_its_thread_without_pinging(app, emulator) -> None:
    ts = "1764380000.000100"
    app.event(app.message_event(CHANNEL, BOB, f"Good morning, <@{ALICE}>!", ts=ts))
    app.event(app.reaction_event(CHANNEL, ts, "flag-fr", user=ALICE))
    app.event(app.reaction_event(CHANNEL, ts, "fr", user=BOB))  # the same language again: one translation
    [post] = wait_until(lambda: [c for c in emulator.calls("chat.postMessage") if c.ok], MODEL_TIMEOUT)
    assert post.args["thread_ts"] == ts
    assert post.args["text"].startswith("*French* (asked for by alice): ")
    assert "Bonjour" in post.args["text"]
    assert f"<@{ALICE}>" not in post.args["text"] and "@alice" in post.args["text"]
    time.sleep(1)
    assert len([c for c in emulator.calls("chat.postMessage") if c.ok]) == 1


def test_translate_command_answers_privately_and_the_picker_translates_a_message(app, emulator) -> None:
    app.command("/translate", "fr Good morning, team!", user_id=ALICE, channel_id=CHANNEL)
    [answer] = wait_until(emulator.response_url_posts, MODEL_TIMEOUT)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("*French:* ") and "Bonjour" in answer["text"]

    ts = "1764380100.000100"
    app.event(app.message_event(CHANNEL, BOB, "Good morning!", ts=ts))
    pick = {
        "type": "block_actions", "user": {"id": ALICE}, "team": {"id": "T0001"}, "trigger_id": "trig-1",
        "channel": {"id": CHANNEL}, "container": {"type": "message", "message_ts": "1764380101.000100"},
        "actions": [{"action_id": "translate_pick", "block_id": f"{CHANNEL}:{ts}", "type": "static_select",
                     "selected_option": {"text": {"type": "plain_text", "text": "French"}, "value": "fr"}}],
    }  # fmt: skip
    assert app.interactive(pick).status == 200
    picked = wait_until(lambda: [c for c in emulator.calls("chat.postEphemeral") if c.ok], MODEL_TIMEOUT)
    assert picked[0].args["user"] == ALICE and picked[0].args["text"].startswith("*French:* ")


def test_an_unknown_flag_or_an_untranslatable_message_gets_no_public_post(app, emulator) -> None:
    ts = "1764380200.000100"
    app.event(app.message_event(CHANNEL, BOB, "```print('hi')```", ts=ts))
    app.event(app.reaction_event(CHANNEL, ts, "tada", user=ALICE))  # not a flag: ignored
    app.event(app.reaction_event(CHANNEL, ts, "flag-de", user=ALICE))  # only code: nothing to translate
    [told] = wait_until(lambda: [c for c in emulator.calls("chat.postEphemeral") if c.ok], MODEL_TIMEOUT)
    assert told.args["user"] == ALICE and told.args["thread_ts"] == ts
    assert emulator.calls("chat.postMessage") == []
    assert texts.MESSAGE_GONE not in told.args["text"]
