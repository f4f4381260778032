"""The bot as a Slack agent: opening its Messages tab (assistant_thread_started) shows suggested prompts, and a
message in that DM thread is answered like a mention, streamed into the thread; over HTTP and Socket Mode."""

from __future__ import annotations

import pytest

from bot import texts
from bot.app import build_parlance
from bot.settings import load_settings
from bot.slack.serve import start_socket_mode
from tests.support.scripted_model import ScriptedModel
from tests.support.slack import ALICE, APP_TOKEN, BOT_TOKEN, BOT_USER, sender_for, serve_app, wait_until

DM = "D0ALICE"
PROMPTS = [{"title": title, "message": message} for title, message in texts.SUGGESTED_PROMPTS]


@pytest.fixture
def scripted() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def agent_slack(settings, emulator, scripted):
    with serve_app(settings, model=scripted) as app:
        yield sender_for(app, emulator)


def test_opening_the_messages_tab_suggests_prompts_once(agent_slack, emulator) -> None:
    event = agent_slack.agent_thread_started_event(ALICE, channel=DM)
    assert agent_slack.event(event, event_id="EvAGENT1").status == 200
    assert agent_slack.event(event, event_id="EvAGENT1", retry_num=1).status == 200  # Slack's retry: once
    [call] = emulator.wait_for("assistant.threads.setSuggestedPrompts", timeout=20)
    assert call.args["channel_id"] == DM and "thread_ts" not in call.args  # an agent app names no thread
    assert call.args["prompts"] == PROMPTS
    assert emulator.workspace.suggested_prompts[DM] == {"title": texts.SUGGESTED_PROMPTS_TITLE, "prompts": PROMPTS}
    assert len(emulator.calls("assistant.threads.setSuggestedPrompts")) == 1


def test_a_message_in_the_agent_thread_is_answered_like_a_mention_streamed_in_the_thread(
    agent_slack, scripted, emulator
) -> None:
    thread = agent_slack.agent_thread_started_event(ALICE, channel=DM)
    agent_slack.event(thread)
    root = thread["assistant_thread"]["thread_ts"]
    scripted.enqueue("Happy to help: a release candidate is a build that could ship.")
    message = agent_slack.message_event(DM, ALICE, "tell me about release candidates", ts=None, thread_ts=root)
    agent_slack.event(message)
    [stop] = emulator.wait_for("chat.stopStream", timeout=20)
    [start] = emulator.calls("chat.startStream")
    assert (start.args["channel"], start.args["thread_ts"]) == (DM, root)
    replies = [m for m in emulator.messages(DM, thread_ts=root) if m.get("user") == BOT_USER and m["ts"] != root]
    assert [m["text"] for m in replies] == ["Happy to help: a release candidate is a build that could ship."]
    assert stop.args["ts"] == replies[0]["ts"]
    statuses = emulator.calls("assistant.threads.setStatus")
    assert [(c.args["thread_ts"], c.args["status"]) for c in statuses] == [(root, texts.LOADING_STATUS), (root, "")]


def test_opening_the_messages_tab_over_socket_mode_suggests_prompts(emulator, database_url) -> None:
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=emulator.api_url, DATABASE_URL=database_url
    )
    parlance = build_parlance(settings)
    parlance.start()
    close = start_socket_mode(parlance)
    try:
        emulator.wait_socket_connected()
        event = emulator.events.agent_thread_started_event(ALICE, channel=DM)
        emulator.wait_socket_ack(emulator.socket_event(event, event_id="EvAGENTSOCK"))
        [call] = emulator.wait_for("assistant.threads.setSuggestedPrompts", timeout=20)
        assert call.args["prompts"] == PROMPTS
        wait_until(lambda: DM in emulator.workspace.suggested_prompts)
    finally:
        close()
        parlance.close(timeout=5)
