"""Per-channel choices through the real app: standing instructions (`/parlance instructions`) that reach every
answer's system prompt after the grounding rules, and ALLOWED_CHANNELS, outside of which the bot stores nothing and
says once that it is not enabled.

The model is scripted only to see the requests it receives (what the prompt holds is the behaviour under test);
everything else is the real app behind the real HTTP server, talking to the emulated Slack.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.emulator import SentResponse, SlackEmulator, SlackSender
from bot.settings import Settings, SettingsError, load_settings
from handlers.commands import MAX_INSTRUCTIONS
from handlers.conversation.reply import SYSTEM_PROMPT
from handlers.qa.answers import QA_SYSTEM_PROMPT
from storage import messages as message_queries
from storage.tables import Job, Message
from tests.support.held_model import HeldModel
from tests.support.scripted_model import ScriptedModel
from tests.support.slack import (
    ALICE,
    BOB,
    BOT_TOKEN,
    BOT_USER,
    CHANNEL,
    SIGNING_SECRET,
    TEAM,
    RunningApp,
    finished_reply,
    sender_for,
    serve_app,
    wait_until,
)

OTHER = "C0RANDOM"
PIRATE = "Answer as a friendly pirate, in French. Keep it short."


def _private(response: SentResponse) -> str:
    assert response.status == 200, response.text
    body = response.json()
    assert body["response_type"] == "ephemeral"
    return body["text"]


@pytest.fixture
def scripted() -> HeldModel:
    return HeldModel(reply="Ahoy, voilà.")


@pytest.fixture
def app(settings: Settings, emulator: SlackEmulator, scripted: HeldModel) -> Iterator[RunningApp]:
    emulator.add_channel(OTHER, name="random")
    with serve_app(settings, model=scripted) as running:
        yield running


@pytest.fixture
def slack(app: RunningApp, emulator: SlackEmulator) -> SlackSender:
    return sender_for(app, emulator)


def _mention(slack: SlackSender, emulator: SlackEmulator, channel: str, text: str, ts: str) -> None:
    slack.event(slack.mention_event(channel, ALICE, f"<@{BOT_USER}> {text}", ts=ts))


def _system_prompts(model: ScriptedModel) -> list[str]:
    return [call.messages[0].content for call in model.calls if call.messages and call.messages[0].role == "system"]


# -- standing instructions ----------------------------------------------------------------------------------------
def test_instructions_are_shown_applied_after_the_rules_and_removed(slack, emulator, scripted) -> None:
    assert texts.INSTRUCTIONS_NONE in _private(slack.command("/parlance", "", user_id=ALICE, channel_id=CHANNEL))

    answer = _private(slack.command("/parlance", f"instructions {PIRATE}", user_id=ALICE, channel_id=CHANNEL))
    assert answer == texts.INSTRUCTIONS_SET.format(quoted=f"> {PIRATE}")
    shown = _private(slack.command("/parlance", "", user_id=BOB, channel_id=CHANNEL))
    assert f"(set by <@{ALICE}>)" in shown and f"> {PIRATE}" in shown
    assert _private(slack.command("/parlance", "instructions", user_id=BOB, channel_id=CHANNEL)) == (
        texts.INSTRUCTIONS_SHOWN.format(who=f"<@{ALICE}>", quoted=f"> {PIRATE}")
    )
    assert texts.INSTRUCTIONS_NONE in _private(slack.command("/parlance", "help", user_id=BOB, channel_id=OTHER))

    _mention(slack, emulator, CHANNEL, "greet the team", ts="1764360000.000001")
    assert finished_reply(emulator, "1764360000.000001") == "Ahoy, voilà."
    [prompt] = _system_prompts(scripted)
    assert prompt.startswith(SYSTEM_PROMPT)  # the rules first, the channel's instructions after them
    assert prompt.index(PIRATE) > len(SYSTEM_PROMPT) and "never override the rules above" in prompt

    _mention(slack, emulator, OTHER, "greet the team", ts="1764360001.000001")
    finished_reply_in(emulator, OTHER, "1764360001.000001")
    assert _system_prompts(scripted)[-1] == SYSTEM_PROMPT  # another channel: its own (no) instructions

    assert _private(slack.command("/parlance", "instructions off", user_id=BOB, channel_id=CHANNEL)) == (
        texts.INSTRUCTIONS_REMOVED
    )
    assert _private(slack.command("/parlance", "instructions OFF", user_id=BOB, channel_id=CHANNEL)) == (
        texts.INSTRUCTIONS_WERE_NONE
    )
    _mention(slack, emulator, CHANNEL, "greet the team again", ts="1764360002.000001")
    finished_reply(emulator, "1764360002.000001")
    assert _system_prompts(scripted)[-1] == SYSTEM_PROMPT


def finished_reply_in(emulator: SlackEmulator, channel: str, thread_ts: str) -> str:
    def finished() -> str:
        replies = [m for m in emulator.messages(channel, thread_ts=thread_ts) if m.get("user") == BOT_USER]
        done = replies and not any(r["text"].endswith(" …") or r["text"] == "_Thinking…_" for r in replies)
        return replies[-1]["text"] if done else ""

    return wait_until(finished, 30, f"a finished reply in {channel}")


def test_a_history_answer_keeps_its_grounding_rules_first_and_gets_the_instructions(slack, emulator, scripted) -> None:
    slack.event(slack.message_event(CHANNEL, BOB, "We decided the release date is March 3rd.", ts="1764360100.000001"))
    slack.command("/parlance", f"instructions {PIRATE}", user_id=ALICE, channel_id=CHANNEL)
    scripted.enqueue("The release date is March 3rd [1].").enqueue_labels({"yes": -0.1, "no": -2.5})  # confirmed
    _mention(slack, emulator, CHANNEL, "what did we decide about the release date?", ts="1764360101.000001")
    answer = finished_reply(emulator, "1764360101.000001")
    assert "March 3rd" in answer
    qa_prompts = [p for p in _system_prompts(scripted) if p.startswith(QA_SYSTEM_PROMPT)]
    assert qa_prompts and all(PIRATE in p[len(QA_SYSTEM_PROMPT) :] for p in qa_prompts)


def test_summaries_the_model_writes_get_the_instructions(
    settings: Settings, emulator: SlackEmulator, scripted: HeldModel
) -> None:
    writing = settings.model_copy(update={"summary_model_writes": True})
    with serve_app(writing, model=scripted) as running:
        slack = sender_for(running, emulator)
        for n, text in enumerate(["We ship on Friday.", "Bob owns the release notes.", "Is QA done?"], start=1):
            slack.event(slack.message_event(CHANNEL, BOB, text, ts=f"176436020{n}.000001"))
        slack.command("/parlance", f"instructions {PIRATE}", user_id=ALICE, channel_id=CHANNEL)
        slack.command("/summarize", "", user_id=ALICE, channel_id=CHANNEL)
        wait_until(lambda: emulator.response_url_posts(), what="the summary")
    written = [call for call in scripted.calls if call.method == "complete"]
    assert written, "the model was never asked to write"
    assert all(PIRATE in call.messages[0].content for call in written)


def test_instructions_that_are_too_long_are_refused_politely_and_not_kept(slack) -> None:
    long = "Be nice. " * (MAX_INSTRUCTIONS // 9 + 1)
    answer = _private(slack.command("/parlance", f"instructions {long}", user_id=ALICE, channel_id=CHANNEL))
    assert f"up to {MAX_INSTRUCTIONS:,}" in answer and "shorten" in answer
    assert texts.INSTRUCTIONS_NONE in _private(slack.command("/parlance", "", user_id=ALICE, channel_id=CHANNEL))


# -- ALLOWED_CHANNELS -------------------------------------------------------------------------------------------
@pytest.fixture
def limited(settings: Settings, emulator: SlackEmulator, scripted: HeldModel) -> Iterator[RunningApp]:
    emulator.add_channel(OTHER, name="random")
    with serve_app(_allowing(settings, OTHER), model=scripted) as running:
        yield running


def _allowing(settings: Settings, allowed: str) -> Settings:
    """The test settings with ALLOWED_CHANNELS as an operator would set it (validated, as at start-up)."""
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=settings.slack_api_url,
        DATABASE_URL=settings.database_url,
        PORT=0,
        JOB_THREADS=2,
        ALLOWED_CHANNELS=allowed,
    )


def _counts(app: RunningApp, channel: str) -> tuple[int, int]:
    with app.parlance.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Message).where(Message.channel_id == channel))
        jobs = session.scalar(select(func.count()).select_from(Job).where(Job.channel_id == channel))
    return stored or 0, jobs or 0


def test_outside_allowed_channels_it_stores_nothing_and_says_so_once(limited, emulator, scripted) -> None:
    slack = sender_for(limited, emulator)
    slack.event(slack.message_event(CHANNEL, BOB, "Our budget is 40k.", ts="1764360300.000001"))
    _mention(slack, emulator, CHANNEL, "what is our budget?", ts="1764360301.000001")
    [notice] = emulator.wait_for("chat.postMessage", where=lambda call: call.args.get("channel") == CHANNEL)
    assert notice.args["thread_ts"] == "1764360301.000001"
    assert notice.args["text"] == texts.NOT_ENABLED_HERE.format(where=texts.ENABLED_IN.format(channels=f"<#{OTHER}>"))

    _mention(slack, emulator, CHANNEL, "hello?", ts="1764360302.000001")  # said once: now privately, to Alice
    [private] = emulator.wait_for("chat.postEphemeral")
    assert private.args["user"] == ALICE and "not enabled" in private.args["text"]
    assert len(emulator.calls("chat.postMessage")) == 1

    summarize = _private(slack.command("/summarize", "", user_id=BOB, channel_id=CHANNEL))
    assert "not enabled" in summarize and "ALLOWED_CHANNELS" in summarize
    refused = _private(slack.command("/parlance", f"instructions {PIRATE}", user_id=BOB, channel_id=CHANNEL))
    assert "not enabled" in refused
    slack.event(slack.reaction_event(CHANNEL, "1764360300.000001", "flag-fr", user=BOB))
    emulator.wait_for("chat.postEphemeral", count=2)
    assert _counts(limited, CHANNEL) == (0, 0)  # no history, no jobs (and so no sentiment) from there
    assert scripted.calls == []

    # privacy works everywhere: `/parlance forget me` and its help are answered in any channel
    assert _private(slack.command("/parlance", "forget me", user_id=BOB, channel_id=CHANNEL)) == (
        texts.FORGOT_YOU.format(messages="0 messages")
    )
    # and the allowed channel works as usual
    slack.event(slack.message_event(OTHER, ALICE, "Our budget is 40k.", ts="1764360310.000001"))
    _mention(slack, emulator, OTHER, "greet the team", ts="1764360311.000001")
    assert finished_reply_in(emulator, OTHER, "1764360311.000001") == "Ahoy, voilà."
    with limited.parlance.sessions() as session:
        kept = message_queries.recent_messages(session=session, team_id=TEAM, channel_id=OTHER, limit=10)
    assert "Our budget is 40k." in [m.text for m in kept]


def test_a_direct_message_is_refused_unless_dm_is_allowed(settings, emulator, scripted) -> None:
    emulator.add_channel("D0ALICE", name="alice-dm", user=ALICE)
    with serve_app(_allowing(settings, OTHER), model=scripted) as running:
        slack = sender_for(running, emulator)
        slack.event(slack.message_event("D0ALICE", ALICE, "hello there", ts="1764360400.000001"))
        [notice] = emulator.wait_for("chat.postMessage")
        assert notice.args["channel"] == "D0ALICE" and "not enabled" in notice.args["text"]
        assert "thread_ts" not in notice.args  # said in the conversation itself, as DMs are answered
        assert _counts(running, "D0ALICE") == (0, 0)
    with serve_app(_allowing(settings, f"{OTHER}, dm"), model=scripted) as running:
        slack = sender_for(running, emulator)
        slack.event(slack.message_event("D0ALICE", ALICE, "hello again", ts="1764360401.000001"))
        wait_until(lambda: [m for m in emulator.messages("D0ALICE") if m.get("text") == "Ahoy, voilà."], what="answer")
        # the message and the answer (stored once Slack has taken it, so a moment after it shows); its job
        wait_until(lambda: _counts(running, "D0ALICE") == (2, 1), what="the answer stored")


# -- the setting ------------------------------------------------------------------------------------------------
def test_allowed_channels_takes_ids_and_dm_and_names_a_mistake() -> None:
    base = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    assert load_settings(**base).allowed_channel_ids is None
    assert load_settings(**base, ALLOWED_CHANNELS=" ").allowed_channel_ids is None
    assert load_settings(**base, ALLOWED_CHANNELS="C0AAA, G0BBB,dm").allowed_channel_ids == {"C0AAA", "G0BBB", "DM"}
    with pytest.raises(SettingsError, match=r"^ALLOWED_CHANNELS must list channel ids .* `#general` is not one"):
        load_settings(**base, ALLOWED_CHANNELS="C0AAA,#general")


def test_the_clock_runs_no_digest_of_a_channel_left_out(engine, sessions) -> None:
    from bot.background.clock import DigestClock
    from storage import channel_settings as digests

    with sessions.begin() as session:
        for channel in (CHANNEL, OTHER):
            digests.set_schedule(session=session, team_id=TEAM, channel_id=channel, schedule="daily 07:00",
                                 timezone="UTC")  # fmt: skip
    clock = DigestClock(engine=engine, sessions=sessions, run_jobs=False, allowed_channels=frozenset({OTHER}))
    clock.start()
    try:
        clock.sync()
        assert clock.next_run(TEAM, CHANNEL) is None
        assert clock.next_run(TEAM, OTHER) is not None
    finally:
        clock.stop()


def test_instructions_join_a_prompt_without_a_system_message_and_leave_labels_alone() -> None:
    from bot.jobs.runners.instructions import WithInstructions
    from bot.model.client import ChatMessage

    model = ScriptedModel().enqueue("ok")
    wrapped = WithInstructions(model, "Be brief.")
    wrapped.complete([ChatMessage(role="user", content="hi")])
    [call] = model.calls
    assert [m.role for m in call.messages] == ["system", "user"] and "Be brief." in call.messages[0].content
    model.enqueue_labels({"positive": -0.1})
    wrapped.label_logprobs([ChatMessage(role="user", content="great")], ["positive"])
    assert model.calls[-1].messages == [ChatMessage(role="user", content="great")]  # scores are not answers
    assert wrapped.count_tokens([ChatMessage(role="user", content="hi")]) > model.count_tokens(
        [ChatMessage(role="user", content="hi")]
    )  # the window is fitted to the prompt as sent


def test_people_named_in_instructions_reach_the_model_by_name(slack, emulator, scripted) -> None:
    slack.command("/parlance", f"instructions Call <@{BOB}> captain.", user_id=ALICE, channel_id=CHANNEL)
    _mention(slack, emulator, CHANNEL, "greet bob", ts="1764360500.000001")
    finished_reply(emulator, "1764360500.000001")
    [prompt] = _system_prompts(scripted)
    assert "Call @bob captain." in prompt
    assert f"<@{BOB}>" not in prompt
