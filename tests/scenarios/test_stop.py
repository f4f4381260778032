"""Slack's stop button (agent_session_stopped): the answer being written stops where it is, the model's request is
closed so the worker stops generating, and the reply says honestly that it was stopped; over HTTP and Socket
Mode."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import pytest

from bot import texts
from bot.app import build_parlance
from bot.model.client import ChatMessage, ChatOptions
from bot.settings import load_settings
from bot.slack.serve import start_socket_mode
from storage import jobs
from tests.support.scripted_model import ScriptedCall, ScriptedModel
from tests.support.slack import (
    ALICE,
    APP_TOKEN,
    BOT_TOKEN,
    BOT_USER,
    CHANNEL,
    TEAM,
    sender_for,
    serve_app,
    wait_until,
)

WORDS = 400


class LongStory(ScriptedModel):
    """Writes a long answer: 60 words at once, then (once `go` is set) a word every 20 ms. Records how many words
    it gave and whether its stream was closed before the end."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.given = 0
        self.closed_early = False

    def stream(
        self, messages: Sequence[ChatMessage], *, options: ChatOptions | None = None, role: str = "chat"
    ) -> Iterator[str]:
        self.calls.append(ScriptedCall("stream", list(messages), options, role))
        try:
            for i in range(WORDS):
                if i == 60:
                    self.go.wait(20)
                if i >= 60:
                    time.sleep(0.02)
                self.given += 1
                yield f" word{i}"
        finally:
            self.closed_early = self.given < WORDS


@pytest.fixture
def model() -> LongStory:
    return LongStory()


def _ours(emulator, thread_ts: str) -> list[dict]:
    return [m for m in emulator.messages(CHANNEL, thread_ts=thread_ts) if m.get("user") == BOT_USER]


def _stopped_reply(emulator, ts: str) -> dict:
    def ended() -> dict | None:
        replies = _ours(emulator, ts)
        return replies[0] if len(replies) == 1 and replies[0]["text"].endswith(texts.STOPPED) else None

    return wait_until(ended, timeout=20, what="the answer ended as stopped")


def test_the_stop_button_ends_the_answer_and_the_model_request(settings, emulator, model) -> None:
    with serve_app(settings, model=model) as app:
        slack = sender_for(app, emulator)
        ts = "1764380000.000001"
        slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me a long story", ts=ts))
        emulator.wait_for("chat.startStream", timeout=20)
        stop = slack.agent_session_stopped_event(CHANNEL, ts, user=ALICE)
        assert stop["streaming_message_ts"]  # Slack ended the stream itself
        assert slack.event(stop, event_id="EvSTOP1").status == 200
        assert slack.event(stop, event_id="EvSTOP1", retry_num=1).status == 200
        model.go.set()
        reply = _stopped_reply(emulator, ts)
        wait_until(lambda: model.closed_early, what="the model's stream closed")

        def done() -> bool:
            with app.parlance.sessions() as session:
                return jobs.count_jobs(session=session, team_id=TEAM, channel_id=CHANNEL, state=jobs.DONE) == 1

        wait_until(done, what="the job done, not retried")
    assert model.given < WORDS - 50  # generation stopped soon after the press
    assert reply["text"].startswith(" word0 word1") or reply["text"].startswith("word0 word1")
    assert reply["blocks"][0]["type"] == "markdown" and reply["blocks"][0]["text"].endswith(texts.STOPPED)
    assert reply["metadata"]["event_payload"] == {"job_id": "1"}
    sessions = [c.args["status"] for c in emulator.calls("agents.sessions.setStatus")]
    assert sessions == ["processing", "active"]  # the stop button showed while it wrote, and went after
    assert len(model.calls) == 1


def test_the_stop_button_over_socket_mode(emulator, database_url, model) -> None:
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=emulator.api_url, DATABASE_URL=database_url
    )
    parlance = build_parlance(settings, model=model)
    parlance.start()
    close = start_socket_mode(parlance)
    try:
        emulator.wait_socket_connected()
        ts = "1764380100.000001"
        mention = {
            "type": "app_mention", "user": ALICE, "text": f"<@{BOT_USER}> tell me a long story", "ts": ts,
            "channel": CHANNEL, "event_ts": ts,
        }  # fmt: skip
        emulator.wait_socket_ack(emulator.socket_event(mention, event_id="Ev0SOCKSTORY"))
        emulator.wait_for("chat.startStream", timeout=20)
        stop = emulator.events.agent_session_stopped_event(CHANNEL, ts, user=ALICE)
        emulator.wait_socket_ack(emulator.socket_event(stop, event_id="Ev0SOCKSTOP"))
        model.go.set()
        _stopped_reply(emulator, ts)
        wait_until(lambda: model.closed_early, what="the model's stream closed")
    finally:
        close()
        parlance.close(timeout=5)
