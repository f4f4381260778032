"""Per-channel choices and shared files over Socket Mode: the same app as test_channels.py and test_attachments.py
show over HTTP, here connected to the emulator's websocket, so a team without a public URL gets the same behaviour
(`/parlance instructions`, ALLOWED_CHANNELS, answers from a shared file).

The model is scripted only to see the requests it receives; everything else is the real app over the real Socket
Mode client, talking to the emulated Slack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.app import Parlance, build_parlance
from bot.emulator import SlackEmulator
from bot.settings import load_settings
from bot.slack.serve import start_socket_mode
from handlers.conversation.reply import SYSTEM_PROMPT
from handlers.qa.answers import QA_SYSTEM_PROMPT
from storage.tables import Job, Message
from tests.support.held_model import HeldModel
from tests.support.slack import ALICE, APP_TOKEN, BOB, BOT_TOKEN, BOT_USER, CHANNEL, finished_reply, wait_until

OTHER = "C0RANDOM"
PIRATE = "Answer as a friendly pirate, in French. Keep it short."
PLAN = b"# Launch plan\n\nThe launch moves to April 9, after the security review.\n"

Connect = Callable[..., Parlance]


@pytest.fixture
def scripted() -> HeldModel:
    return HeldModel(reply="Ahoy, voilà.")


@pytest.fixture
def connect(emulator: SlackEmulator, database_url: str, scripted: HeldModel) -> Iterator[Connect]:
    """Starts the real app over Socket Mode (with extra settings, as an operator would set them) and disconnects
    it after the test."""
    running: list[tuple[Parlance, Callable[[], None]]] = []
    emulator.add_channel(OTHER, name="random")

    def start(**extra: str) -> Parlance:
        settings = load_settings(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_APP_TOKEN=APP_TOKEN,
            SLACK_API_URL=emulator.api_url,
            DATABASE_URL=database_url,
            JOB_THREADS=2,
            **extra,
        )
        parlance = build_parlance(settings, model=scripted)
        parlance.start()
        running.append((parlance, start_socket_mode(parlance)))
        emulator.wait_socket_connected()
        return parlance

    yield start
    for parlance, close in running:
        close()
        parlance.close(timeout=5)


def _command(emulator: SlackEmulator, text: str, *, user: str = ALICE, channel: str = CHANNEL) -> str:
    """`/parlance text` over the websocket; the private answer the app acks it with."""
    ack = emulator.wait_socket_ack(emulator.socket_command("/parlance", text, user_id=user, channel_id=channel))
    payload = ack["payload"]
    assert payload["response_type"] == "ephemeral", payload
    return payload["text"]


def _mention(emulator: SlackEmulator, channel: str, text: str, ts: str, **fields: Any) -> None:
    event = emulator.events.mention_event(channel, ALICE, f"<@{BOT_USER}> {text}", ts=ts, **fields)
    emulator.wait_socket_ack(emulator.socket_event(event))


def _system_prompts(model: HeldModel) -> list[str]:
    return [call.messages[0].content for call in model.calls if call.messages and call.messages[0].role == "system"]


def _counts(parlance: Parlance, channel: str) -> tuple[int, int]:
    with parlance.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Message).where(Message.channel_id == channel))
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.channel_id == channel))
    return stored or 0, jobs or 0


def test_instructions_set_over_socket_mode_are_shown_and_reach_the_reply_prompt(emulator, connect, scripted) -> None:
    connect()
    assert texts.INSTRUCTIONS_NONE in _command(emulator, "")
    assert _command(emulator, f"instructions {PIRATE}") == texts.INSTRUCTIONS_SET.format(quoted=f"> {PIRATE}")
    shown = _command(emulator, "", user=BOB)
    assert f"(set by <@{ALICE}>)" in shown and f"> {PIRATE}" in shown

    _mention(emulator, CHANNEL, "greet the team", ts="1764380000.000001")
    assert finished_reply(emulator, "1764380000.000001") == "Ahoy, voilà."
    [prompt] = _system_prompts(scripted)
    assert prompt.startswith(SYSTEM_PROMPT)  # the rules first, the channel's instructions after them
    assert prompt.index(PIRATE) > len(SYSTEM_PROMPT)


def test_outside_allowed_channels_over_socket_mode_it_says_so_and_stores_nothing(emulator, connect, scripted) -> None:
    parlance = connect(ALLOWED_CHANNELS=OTHER)
    message = emulator.events.message_event(CHANNEL, BOB, "Our budget is 40k.", ts="1764380100.000001")
    emulator.wait_socket_ack(emulator.socket_event(message))
    _mention(emulator, CHANNEL, "what is our budget?", ts="1764380101.000001")
    [notice] = emulator.wait_for("chat.postMessage", where=lambda call: call.args.get("channel") == CHANNEL)
    assert notice.args["thread_ts"] == "1764380101.000001"
    assert notice.args["text"] == texts.NOT_ENABLED_HERE.format(where=texts.ENABLED_IN.format(channels=f"<#{OTHER}>"))
    assert "not enabled" in _command(emulator, f"instructions {PIRATE}", user=BOB)
    assert _counts(parlance, CHANNEL) == (0, 0)  # no history, no jobs from there
    assert scripted.calls == []


def test_a_question_over_socket_mode_is_answered_from_a_shared_file(emulator, connect, scripted) -> None:
    connect()
    shared = emulator.share_file(user=BOB, name="plan.md", content=PLAN)
    message = emulator.events.message_event(CHANNEL, BOB, "here you go", ts="1764380200.000001", files=[shared])
    emulator.wait_socket_ack(emulator.socket_event(message))
    scripted.enqueue("The launch moves to April 9 [2].").enqueue_labels({"yes": -0.1, "no": -2.5})  # confirmed
    _mention(emulator, CHANNEL, "when is the launch?", ts="1764380201.000001")
    answer = finished_reply(emulator, "1764380201.000001")
    assert "April 9" in answer and "(file plan.md)" in answer  # the source quoted is the file
    [asked] = [call for call in scripted.calls if call.messages[0].content.startswith(QA_SYSTEM_PROMPT)]
    assert "[2] bob (file plan.md): # Launch plan The launch moves to April 9" in asked.messages[1].content
    assert wait_until(lambda: [call for call in emulator.calls("files.info") if call.ok], what="the download")
