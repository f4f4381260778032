"""Socket Mode: the app connects to the URL apps.connections.open hands out and answers over the websocket,
exactly as with Slack (here the emulator's local websocket server)."""

from __future__ import annotations

import time

import pytest

from bot import texts
from bot.app import build_parlance
from bot.settings import load_settings
from bot.slack.serve import start_socket_mode
from tests.support.slack import ALICE, APP_TOKEN, BOT_TOKEN, BOT_USER, CHANNEL, wait_until


@pytest.fixture
def socket_app(emulator, database_url):
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=emulator.api_url, DATABASE_URL=database_url
    )
    parlance = build_parlance(settings)
    parlance.start()
    close = start_socket_mode(parlance)
    emulator.wait_socket_connected()
    yield parlance
    close()
    parlance.close(timeout=5)


def test_a_mention_over_socket_mode_is_acked_and_answered_once_in_its_thread(emulator, socket_app) -> None:
    mention = {
        "type": "app_mention", "user": ALICE, "text": f"<@{BOT_USER}> help", "ts": "1764341000.000100",
        "channel": CHANNEL, "event_ts": "1764341000.000100",
    }  # fmt: skip
    envelope = emulator.socket_event(mention, event_id="Ev0SOCKET1")
    emulator.wait_socket_ack(envelope)
    retried = emulator.socket_event(mention, event_id="Ev0SOCKET1", retry_attempt=1)
    emulator.wait_socket_ack(retried)
    [reply] = emulator.wait_for("chat.postMessage")
    assert reply.args["thread_ts"] == "1764341000.000100"
    assert reply.args["text"] == texts.HELP
    time.sleep(0.5)
    assert len(emulator.calls("chat.postMessage")) == 1
    wait_until(lambda: any(call.method == "apps.connections.open" for call in emulator.calls()))


def test_a_slash_command_over_socket_mode_is_acked_with_its_answer(emulator, socket_app) -> None:
    envelope = emulator.socket_command("/translate", "to Klingon: hi", user_id=ALICE, channel_id=CHANNEL)
    ack = emulator.wait_socket_ack(envelope)
    assert "I don't know the language `Klingon`" in ack["payload"]["text"]
