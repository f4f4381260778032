"""Replies in threads stream through Slack's own chat.startStream / appendStream / stopStream, with the agent's
loading status until the answer starts; where Slack will not stream, the answer is posted and edited instead and
nothing of it is lost; retries still leave exactly one reply."""

from __future__ import annotations

import time

import pytest
from slack_sdk import WebClient

from bot import texts
from bot.app import build_parlance
from bot.settings import load_settings
from bot.slack import delivery as slack_io
from bot.slack.feedback import Skill, feedback_block
from bot.slack.native_stream import NativeStream, stable_prefix
from bot.slack.serve import start_socket_mode
from storage import jobs
from tests.support.scripted_model import ScriptedModel
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

ANSWER = "Sure. " + " ".join(f"point {i} is worth making;" for i in range(60)) + " done."
MARKDOWN = {"type": "markdown", "text": ANSWER}
BUTTONS = feedback_block(1, Skill.ANSWER)  # 👍 / 👎 under the answer's last message, however it was delivered


@pytest.fixture
def scripted() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def streaming_app(settings, scripted):
    with serve_app(settings, model=scripted) as app:
        yield app


@pytest.fixture
def slack_with_model(streaming_app, emulator):
    return sender_for(streaming_app, emulator)


def _ours(emulator, thread_ts: str) -> list[dict]:
    return [m for m in emulator.messages(CHANNEL, thread_ts=thread_ts) if m.get("user") == BOT_USER]


def _stopped(emulator, thread_ts: str, count: int = 1) -> list[dict]:
    emulator.wait_for("chat.stopStream", count=count, timeout=20)
    return _ours(emulator, thread_ts)


def _methods(emulator) -> list[str]:
    return [call.method for call in emulator.calls() if call.ok and call.method.startswith(("chat.", "assistant."))]


def test_a_mention_streams_natively_in_its_thread_after_a_loading_status(
    slack_with_model, scripted, emulator, streaming_app
) -> None:
    scripted.enqueue(ANSWER)
    ts = "1764370000.000001"
    slack_with_model.event(slack_with_model.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me things", ts=ts))
    [reply] = _stopped(emulator, ts)
    assert reply["text"] == ANSWER
    assert reply["blocks"] == [MARKDOWN, BUTTONS]
    [start] = emulator.calls("chat.startStream")
    assert (start.args["thread_ts"], start.args["recipient_team_id"], start.args["recipient_user_id"]) == (
        ts,
        TEAM,
        ALICE,
    )
    assert len(emulator.calls("chat.appendStream")) >= 2  # the answer arrived in pieces, not at the end
    [stop] = emulator.calls("chat.stopStream")
    assert stop.args["metadata"] == slack_io.reply_metadata(1)
    assert stop.args["blocks"] == [BUTTONS]  # the buttons come with the stop: no edit after it
    methods = _methods(emulator)
    assert methods[:2] == ["assistant.threads.setStatus", "assistant.threads.setStatus"]  # shown, then cleared
    assert methods[2] == "chat.startStream" and "chat.postMessage" not in methods  # no "Thinking…" placeholder
    [shown, cleared] = emulator.calls("assistant.threads.setStatus")
    assert (shown.args["status"], shown.args["loading_messages"]) == (
        texts.LOADING_STATUS,
        list(texts.LOADING_MESSAGES),
    )
    assert (cleared.args["status"], cleared.args["thread_ts"]) == ("", ts)
    # a retry finds the reply by the metadata its stop carried
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    assert slack_io.find_job_replies(client=client, channel=CHANNEL, thread_ts=ts, job_id=1, oldest="0") == [
        reply["ts"]
    ]

    def done() -> bool:
        with streaming_app.parlance.sessions() as session:
            return jobs.count_jobs(session=session, team_id=TEAM, channel_id=CHANNEL, state=jobs.DONE) == 1

    wait_until(done, what="the job done")


def test_a_workspace_that_refuses_streaming_gets_the_answer_posted_and_edited(
    slack_with_model, scripted, emulator
) -> None:
    emulator.workspace.streaming_refusal = "not_allowed"
    scripted.enqueue(ANSWER)
    ts = "1764370100.000001"
    slack_with_model.event(slack_with_model.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me things", ts=ts))
    wait_until(lambda: [m["text"] for m in _ours(emulator, ts)] == [ANSWER], timeout=20, what="the posted answer")
    [refused] = emulator.calls("chat.startStream")
    assert refused.response["error"] == "not_allowed"
    [post] = [c for c in emulator.calls("chat.postMessage") if c.ok]
    assert post.args["metadata"] == slack_io.reply_metadata(1)
    assert _ours(emulator, ts)[0]["blocks"] == [MARKDOWN, BUTTONS]


def test_native_streaming_off_posts_and_edits(settings, emulator, scripted) -> None:
    scripted.enqueue(ANSWER)
    with serve_app(settings.model_copy(update={"native_streaming": False}), model=scripted) as app:
        sender = sender_for(app, emulator)
        ts = "1764370200.000001"
        sender.event(sender.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me things", ts=ts))
        wait_until(lambda: [m["text"] for m in _ours(emulator, ts)] == [ANSWER], timeout=20)
    assert _ours(emulator, ts)[0]["blocks"] == [MARKDOWN, BUTTONS]  # the final edit carries the buttons
    assert [c.args["text"] for c in emulator.calls("chat.postMessage")] == ["_Thinking…_"]
    assert not [c for c in emulator.calls() if c.method.startswith(("chat.startStream", "assistant."))]


def test_a_stream_that_fails_mid_answer_is_retried_and_leaves_one_reply(slack_with_model, scripted, emulator) -> None:
    """Slack's outage outlasts slack_sdk's retries during the stream: the job retries, stops the stream its first
    attempt left open, and edits that one message into the whole answer (tagged with the job)."""
    emulator.fail("chat.appendStream", status=500, times=3)
    scripted.enqueue(ANSWER, ANSWER)
    ts = "1764370300.000001"
    slack_with_model.event(slack_with_model.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me things", ts=ts))
    wait_until(
        lambda: [m["text"] for m in _ours(emulator, ts)] == [ANSWER] and len(scripted.calls) == 2,
        timeout=30,
        what="the retried answer",
    )
    time.sleep(0.5)
    [reply] = _ours(emulator, ts)
    assert reply["metadata"] == slack_io.reply_metadata(1)
    assert reply["blocks"] == [MARKDOWN, BUTTONS]  # one set of buttons, on the one reply
    assert len([c for c in emulator.calls("chat.startStream") if c.ok]) == 1
    assert [c.args["ts"] for c in emulator.calls("chat.stopStream") if c.ok] == [reply["ts"]]


def test_a_connection_dropped_as_the_stream_starts_never_doubles_the_reply(
    slack_with_model, scripted, emulator
) -> None:
    """Slack started the stream but the answer never arrived: chat.startStream is not repeated blindly, the job
    retries, takes the untagged stream in its thread as its own, stops it and edits it into the answer."""
    emulator.fail("chat.startStream", status=0, carried_out=True)
    scripted.enqueue(ANSWER, ANSWER)
    ts = "1764370600.000001"
    slack_with_model.event(slack_with_model.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me things", ts=ts))
    wait_until(
        lambda: [m["text"] for m in _ours(emulator, ts)] == [ANSWER] and len(scripted.calls) == 2,
        timeout=30,
        what="the retried answer",
    )
    time.sleep(0.5)
    [reply] = _ours(emulator, ts)
    [start] = emulator.calls("chat.startStream")  # never started again
    assert start.status == 0 and reply["ts"] == start.response["ts"]
    assert reply["metadata"] == slack_io.reply_metadata(1)
    assert reply["blocks"] == [MARKDOWN, BUTTONS]


def test_a_stream_that_expires_is_finished_by_editing_it(emulator) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    parent = emulator.add_message(CHANNEL, user=ALICE, text="write a lot")
    recorded: list[list[str]] = []
    stream = NativeStream(
        client=client,
        channel=CHANNEL,
        thread_ts=parent,
        job_id=7,
        recipient_team_id=TEAM,
        recipient_user_id=ALICE,
        on_posted=recorded.append,
    )
    stream.feed("word " * 100)
    assert emulator.calls("chat.startStream")
    emulator.workspace.expire_streams()
    stream.feed("and then some more words " * 20)
    posted = stream.finish()
    [reply] = _ours(emulator, parent)
    assert posted == [reply["ts"]] == recorded[-1]
    assert reply["text"].startswith("word word") and reply["text"].rstrip().endswith("some more words")
    assert reply["metadata"] == slack_io.reply_metadata(7)
    assert [c.response["error"] for c in emulator.calls() if not c.ok] == ["message_not_in_streaming_state"]


def test_a_closing_note_is_streamed_with_the_answer_never_shown_without_it(emulator) -> None:
    """An answer that ends with a note (a file it could not read, "(stopped)") goes on streaming: the message is
    never finished without the note and then edited to add it."""
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    parent = emulator.add_message(CHANNEL, user=ALICE, text="thoughts on this?")
    stream = NativeStream(
        client=client, channel=CHANNEL, thread_ts=parent, job_id=10, recipient_team_id=TEAM, recipient_user_id=ALICE
    )
    stream.feed("Happy to help with the diagram.")
    stream.finish("Happy to help with the diagram.\n_I couldn't read diagram.png (I can't read images yet)._")
    [reply] = _ours(emulator, parent)
    assert reply["text"].endswith("_I couldn't read diagram.png (I can't read images yet)._")
    assert emulator.calls("chat.update") == [] and len(emulator.calls("chat.stopStream")) == 1


def test_a_mention_split_across_tokens_is_never_streamed_as_a_ping(emulator) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    parent = emulator.add_message(CHANNEL, user=ALICE, text="greet bob")
    stream = NativeStream(
        client=client, channel=CHANNEL, thread_ts=parent, job_id=8, recipient_team_id=TEAM, recipient_user_id=ALICE
    )
    for piece in ["Hello ", "<@U0", "BOB", "> and ", "<!ch", "annel> and @ever", "yone ", "x" * 300]:
        stream.feed(piece)
    stream.finish()
    [reply] = _ours(emulator, parent)
    sent = "".join(c.args.get("markdown_text", "") for c in emulator.calls() if c.method.endswith("Stream"))
    sent += "".join(ch.get("text", "") for c in emulator.calls() for ch in c.args.get("chunks") or [])
    for ping in ("<@U0BOB>", "<!channel>", "@everyone"):
        assert ping not in reply["text"] and ping not in sent
    assert (
        stable_prefix("ok <@U0B") == "ok "
        and stable_prefix("hi @her") == "hi "
        and stable_prefix("a <b> c") == "a <b> c"
    )
    assert stable_prefix("x <!subteam^S1|@devs> y") == "x <!subteam^S1|@devs> y"
    assert stable_prefix("x <!subteam^S1|@devs") == "x " and stable_prefix("a < b") == "a < b"


def test_the_emulator_keeps_slacks_stream_rules(emulator) -> None:
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    parent = emulator.add_message(CHANNEL, user=ALICE, text="q")

    def error_of(call) -> str:
        with pytest.raises(SlackApiError) as refused:
            call()
        return refused.value.response["error"]

    assert error_of(lambda: client.chat_startStream(channel=CHANNEL, thread_ts="")) == "invalid_arguments"
    assert error_of(lambda: client.chat_startStream(channel=CHANNEL, thread_ts=parent)) == "invalid_arguments"
    too_long = {"recipient_team_id": TEAM, "recipient_user_id": ALICE, "markdown_text": "a" * 12_001}
    assert error_of(lambda: client.chat_startStream(channel=CHANNEL, thread_ts=parent, **too_long)) == (
        "invalid_arguments"
    )
    started = client.chat_startStream(
        channel=CHANNEL, thread_ts=parent, recipient_team_id=TEAM, recipient_user_id=ALICE, markdown_text="hi"
    )
    client.chat_appendStream(channel=CHANNEL, ts=started["ts"], markdown_text=" there")
    client.chat_stopStream(channel=CHANNEL, ts=started["ts"])
    after_stop = lambda: client.chat_appendStream(channel=CHANNEL, ts=started["ts"], markdown_text="!")  # noqa: E731
    assert error_of(after_stop) == "message_not_in_streaming_state"
    assert _ours(emulator, parent)[0]["text"] == "hi there"
    status = {"channel_id": CHANNEL, "thread_ts": parent, "status": "is thinking…"}
    assert error_of(lambda: client.assistant_threads_setStatus(**status, loading_messages=["x"] * 11)) == (
        "invalid_arguments"
    )
    assert error_of(lambda: client.assistant_threads_setStatus(**{**status, "thread_ts": "1.2"})) == (
        "invalid_thread_ts"
    )


def test_a_mention_over_socket_mode_streams_natively(emulator, database_url, scripted) -> None:
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=emulator.api_url, DATABASE_URL=database_url
    )
    scripted.enqueue(ANSWER)
    parlance = build_parlance(settings, model=scripted)
    parlance.start()
    close = start_socket_mode(parlance)
    try:
        emulator.wait_socket_connected()
        ts = "1764370400.000001"
        mention = {
            "type": "app_mention", "user": ALICE, "text": f"<@{BOT_USER}> tell me things", "ts": ts,
            "channel": CHANNEL, "event_ts": ts,
        }  # fmt: skip
        emulator.wait_socket_ack(emulator.socket_event(mention, event_id="Ev0SOCKSTREAM"))
        [reply] = _stopped(emulator, ts)
        assert reply["text"] == ANSWER and reply["blocks"] == [MARKDOWN, BUTTONS]
        assert emulator.calls("chat.postMessage") == []
        statuses = [c.args["status"] for c in emulator.calls("assistant.threads.setStatus")]
        assert statuses == [texts.LOADING_STATUS, ""]

        # The session goes back to `active` in its own call after the stop: wait for it, then check the order.
        def sessions() -> list[str]:
            return [c.args["status"] for c in emulator.calls("agents.sessions.setStatus")]

        wait_until(lambda: len(sessions()) >= 2, timeout=10, what="the session to end")
        assert sessions() == ["processing", "active"]
    finally:
        close()
        parlance.close(timeout=5)


def test_an_answer_we_format_ourselves_is_posted_once_not_streamed(slack_with_model, emulator) -> None:
    """A history question nothing answers: the reply is ours, written at once, never a stream or a placeholder."""
    ts = "1764370500.000001"
    question = f"<@{BOT_USER}> what did we decide about the parking permits?"
    slack_with_model.event(slack_with_model.mention_event(CHANNEL, ALICE, question, ts=ts))
    wait_until(lambda: [m["text"] for m in _ours(emulator, ts)] == [texts.NOTHING_FOUND], timeout=20)
    assert [c.args["text"] for c in emulator.calls("chat.postMessage")] == [texts.NOTHING_FOUND]
    assert emulator.calls("chat.startStream") == []


def test_a_long_stream_continues_in_new_messages_of_one_markdown_block_each(emulator) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    parent = emulator.add_message(CHANNEL, user=ALICE, text="write a lot")
    recorded: list[list[str]] = []
    stream = NativeStream(
        client=client,
        channel=CHANNEL,
        thread_ts=parent,
        job_id=9,
        recipient_team_id=TEAM,
        recipient_user_id=ALICE,
        on_posted=recorded.append,
    )
    for i in range(250):
        stream.feed(f"Paragraph {i}. " + "words " * 15 + "\n\n")
    posted = stream.finish()
    thread = _ours(emulator, parent)
    assert [m["ts"] for m in thread] == posted == recorded[-1] and len(posted) == 3  # 25,500 characters
    assert all(len(m["blocks"][0]["text"]) <= 12_000 for m in thread)
    assert all(m["metadata"] == slack_io.reply_metadata(9) for m in thread)  # each stop tags its message
    assert "".join(m["text"] for m in thread).count("Paragraph") == 250
    assert not [c for c in emulator.calls() if not c.ok]
