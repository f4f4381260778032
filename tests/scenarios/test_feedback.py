"""👍 / 👎 under answers, summaries and translations, through the real app: the buttons as Slack shows them, votes
as signed block_actions requests (HTTP and Socket Mode), one changeable vote per person and answer, the helpful
rates in /parlance and on the App Home tab, and clicks whose value we cannot believe answered politely."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.app import build_parlance
from bot.emulator import SlackEmulator, SlackSender
from bot.settings import Settings, load_settings
from bot.slack.feedback import ACTION_ID, Skill, feedback_block
from bot.slack.serve import start_socket_mode
from storage.tables import AnswerFeedback, Job, utcnow
from tests.support.scripted_model import ScriptedModel
from tests.support.slack import (
    ALICE,
    APP_TOKEN,
    BOB,
    BOT_TOKEN,
    BOT_USER,
    CHANNEL,
    RunningApp,
    finished_reply,
    sender_for,
    serve_app,
    wait_until,
)


@pytest.fixture
def scripted() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def app(settings: Settings, scripted: ScriptedModel) -> Iterator[RunningApp]:
    with serve_app(settings, model=scripted) as running:
        yield running


@pytest.fixture
def slack(app: RunningApp, emulator: SlackEmulator) -> SlackSender:
    return sender_for(app, emulator)


@pytest.fixture
def sessions(app: RunningApp) -> sessionmaker[Session]:
    return app.parlance.sessions


def _votes(sessions: sessionmaker[Session]) -> list[tuple[int, str, str, bool]]:
    with sessions() as session:
        rows = session.execute(
            select(
                AnswerFeedback.job_id, AnswerFeedback.skill, AnswerFeedback.user_id, AnswerFeedback.helpful
            ).order_by(AnswerFeedback.user_id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _vote_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(AnswerFeedback)) or 0


def _has_buttons(message: dict[str, Any]) -> bool:
    return any(b["type"] == "context_actions" for b in message.get("blocks") or [])


def _feedback_element(message: dict[str, Any]) -> dict[str, Any]:
    [block] = [b for b in message.get("blocks") or [] if b["type"] == "context_actions"]
    [element] = block["elements"]
    return element


def _thanks(emulator: SlackEmulator, count: int) -> list[dict[str, Any]]:
    """The ephemeral notes the bot sent with chat.postEphemeral (not through a response_url), once there are
    `count`."""

    def notes() -> list[dict[str, Any]] | None:
        found = [e for e in emulator.ephemeral_messages(CHANNEL) if "via" not in e]
        return found if len(found) >= count else None

    return wait_until(notes, what=f"{count} ephemeral notes")


def _private_answer(emulator: SlackEmulator, says: str = "") -> dict[str, Any]:
    """The first answer with blocks that only its caller sees (through the command's response_url)."""

    def found() -> dict[str, Any] | None:
        return next((e for e in emulator.ephemeral_messages(CHANNEL) if e.get("blocks") and says in e["text"]), None)

    return wait_until(found, what=f"a private answer saying {says!r}")


def _answer(slack: SlackSender, emulator: SlackEmulator, scripted: ScriptedModel, ts: str) -> dict[str, Any]:
    """Alice mentions the bot; its answer (streamed natively), once it shows the feedback buttons."""
    scripted.enqueue("Here is a haiku about Mondays, as you asked.")
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> write a haiku about mondays", ts=ts))
    finished_reply(emulator, ts)

    def with_buttons() -> dict[str, Any] | None:
        replies = [m for m in emulator.messages(CHANNEL, thread_ts=ts) if m.get("user") == BOT_USER]
        return next((m for m in replies if _has_buttons(m)), None)

    return wait_until(with_buttons, what="the answer's feedback buttons")


def _long_answer(steps: int = 330) -> str:
    """About 13,500 characters: more than one message's 12,000 of markdown, so the answer takes two."""
    return " ".join(f"Step {i} covers part {i * 7} with owner {chr(65 + i % 26)}." for i in range(steps))


def test_an_answer_shows_feedback_buttons_as_slack_documents_them(slack, emulator, scripted) -> None:
    answer = _answer(slack, emulator, scripted, "1764360000.000100")
    markdown, actions = answer["blocks"]
    assert markdown == {"type": "markdown", "text": "Here is a haiku about Mondays, as you asked."}
    assert actions["type"] == "context_actions"
    # The buttons came with the stream's stop, not in an edit after it: the final message arrived whole.
    [stop] = emulator.calls("chat.stopStream")
    assert [b["type"] for b in stop.args["blocks"]] == ["context_actions"]
    assert not [c for c in emulator.calls("chat.update") if c.args.get("ts") == answer["ts"]]
    element = _feedback_element(answer)
    assert element["type"] == "feedback_buttons" and element["action_id"] == ACTION_ID
    for name in ("positive_button", "negative_button"):
        button = element[name]
        assert button["text"]["type"] == "plain_text"
        assert set(button) == {"text", "value", "accessibility_label"}
    assert element["positive_button"]["value"] != element["negative_button"]["value"]
    assert answer["metadata"]["event_type"] == "parlance_reply"  # still found by a retry of its job


def test_votes_are_stored_per_person_changeable_and_thanked_privately_in_the_thread(
    slack, emulator, scripted, sessions
) -> None:
    ts = "1764360100.000100"
    answer = _answer(slack, emulator, scripted, ts)
    first = slack.click_feedback(answer, helpful=True, channel_id=CHANNEL, user_id=ALICE)
    assert first.status == 200 and first.elapsed < 1.5
    [thanks] = _thanks(emulator, 1)
    assert (thanks["user"], thanks["thread_ts"], thanks["text"]) == (ALICE, ts, texts.FEEDBACK_THANKS_HELPFUL)
    assert _votes(sessions) == [(1, "answer", ALICE, True)]

    changed = slack.click_feedback(answer, helpful=False, channel_id=CHANNEL, user_id=ALICE)
    assert changed.status == 200
    assert _thanks(emulator, 2)[-1]["text"] == texts.FEEDBACK_CHANGED_NOT_HELPFUL
    assert _votes(sessions) == [(1, "answer", ALICE, False)]  # replaced, not added

    slack.click_feedback(answer, helpful=False, channel_id=CHANNEL, user_id=ALICE)
    assert _thanks(emulator, 3)[-1]["text"] == texts.FEEDBACK_SAME
    slack.click_feedback(answer, helpful=True, channel_id=CHANNEL, user_id=BOB, user_name="bob")
    bobs = _thanks(emulator, 4)[-1]
    assert (bobs["user"], bobs["text"]) == (BOB, texts.FEEDBACK_THANKS_HELPFUL)
    assert _votes(sessions) == [(1, "answer", ALICE, False), (1, "answer", BOB, True)]

    shown = slack.command("/parlance", "feedback", user_id=ALICE, channel_id=CHANNEL).json()["text"]
    rates = "Answers: 1 of 2 helpful (50 %) · Summaries: no votes yet · Translations: no votes yet"
    assert shown == texts.FEEDBACK_RATES.format(rates=rates)
    help_text = slack.command("/parlance", "", user_id=ALICE, channel_id=CHANNEL).json()["text"]
    assert help_text.endswith(shown)


def test_a_summary_and_a_translation_take_votes_and_the_app_home_shows_the_rates(
    slack, emulator, scripted, sessions
) -> None:
    for i, text in enumerate(["We decided to ship on Friday.", "Bob owns the release notes.", "Lunch at noon."]):
        slack.event(slack.message_event(CHANNEL, BOB, text, ts=f"1764360200.00010{i}"))
    slack.command("/summarize", "", user_id=ALICE, channel_id=CHANNEL)
    summary = _private_answer(emulator, "Summary")
    assert [b["type"] for b in summary["blocks"]] == ["markdown", "context_actions"]
    assert summary["blocks"][0]["text"].startswith("**Summary of")
    assert slack.click_feedback(summary, helpful=True, channel_id=CHANNEL, user_id=ALICE).status == 200
    assert _thanks(emulator, 1)[-1]["text"] == texts.FEEDBACK_THANKS_HELPFUL

    scripted.enqueue("Bonjour l'équipe")
    slack.command("/translate", "fr Hello team", user_id=ALICE, channel_id=CHANNEL)
    translation = _private_answer(emulator, "Bonjour")
    slack.click_feedback(translation, helpful=False, channel_id=CHANNEL, user_id=ALICE)
    assert _thanks(emulator, 2)[-1]["text"] == texts.FEEDBACK_THANKS_NOT_HELPFUL
    assert sorted((skill, helpful) for _, skill, _, helpful in _votes(sessions)) == [
        ("summary", True),
        ("translation", False),
    ]

    slack.event(slack.home_opened_event(ALICE))
    view = wait_until(lambda: emulator.home_views.get(ALICE), what="the App Home view")
    said = [b["text"]["text"] for b in view["blocks"] if b["type"] in ("header", "section")]
    rates = "Answers: no votes yet · Summaries: 1 of 1 helpful (100 %) · Translations: 0 of 1 helpful (0 %)"
    assert said[-2:] == [texts.HOME_FEEDBACK_HEADER, texts.HOME_FEEDBACK.format(rates=rates)]


def test_clicks_we_cannot_believe_get_a_polite_answer_and_store_nothing(slack, emulator, scripted, sessions) -> None:
    answer = _answer(slack, emulator, scripted, "1764360300.000100")

    def with_value(value: str, *, ts: str | None = None) -> dict[str, Any]:
        forged = copy.deepcopy(answer)
        _feedback_element(forged)["positive_button"]["value"] = value
        if ts:
            forged["ts"] = ts
        return forged

    unknown = {**copy.deepcopy(answer), "blocks": [feedback_block(999, Skill.ANSWER)]}
    cases = [
        (unknown, texts.FEEDBACK_UNKNOWN),  # no such job here
        (with_value("summary:1:up"), texts.FEEDBACK_NOT_RECORDED),  # the job is an answer, not a summary
        (with_value("answer:1:sideways"), texts.FEEDBACK_NOT_RECORDED),
        (with_value("'; DROP TABLE answer_feedback; --"), texts.FEEDBACK_NOT_RECORDED),
        (with_value("answer:1:up", ts="1764360300.000900"), texts.FEEDBACK_NOT_RECORDED),  # under another message
    ]
    for count, (message, expected) in enumerate(cases, start=1):
        response = slack.click_feedback(message, helpful=True, channel_id=CHANNEL, user_id=ALICE)
        assert response.status == 200
        assert _thanks(emulator, count)[-1]["text"] == expected
    assert _vote_count(sessions) == 0


def test_a_vote_over_socket_mode_is_acked_and_stored(emulator, database_url) -> None:
    settings = load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=emulator.api_url, DATABASE_URL=database_url
    )
    parlance = build_parlance(settings)
    parlance.start()
    close = start_socket_mode(parlance)
    try:
        emulator.wait_socket_connected()
        for i, text in enumerate(["We decided to ship on Friday.", "Bob owns the release notes."]):
            emulator.socket_event(
                {"type": "message", "channel": CHANNEL, "user": BOB, "text": text, "ts": f"1764360400.00010{i}"}
            )
        emulator.wait_socket_ack(emulator.socket_command("/summarize", user_id=ALICE, channel_id=CHANNEL))
        summary = _private_answer(emulator, "Summary")
        envelope = emulator.socket_feedback(summary, helpful=True, channel_id=CHANNEL, user_id=ALICE)
        emulator.wait_socket_ack(envelope)
        assert _thanks(emulator, 1)[-1]["text"] == texts.FEEDBACK_THANKS_HELPFUL
        assert _votes(parlance.sessions) == [(1, "summary", ALICE, True)]
    finally:
        close()
        parlance.close(timeout=5)


def test_answers_everyone_sees_carry_the_buttons_under_their_last_message_only(
    slack, emulator, scripted, sessions
) -> None:
    scripted.enqueue(_long_answer())
    ts = "1764360500.000100"
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> write me the whole plan", ts=ts))
    finished_reply(emulator, ts)
    first, last = wait_until(  # ~13,500 characters: two messages
        lambda: (lambda r: r if len(r) == 2 and _has_buttons(r[-1]) else None)(
            [m for m in emulator.messages(CHANNEL, thread_ts=ts) if m.get("user") == BOT_USER]
        ),
        what="a two-message answer with buttons",
    )
    assert [b["type"] for b in first["blocks"]] == ["markdown"]
    assert [b["type"] for b in last["blocks"]] == ["markdown", "context_actions"]

    source = "1764360500.000200"
    slack.event(slack.message_event(CHANNEL, BOB, "Hello team, the release is on Friday.", ts=source))
    scripted.enqueue("Bonjour l'équipe, la sortie est vendredi.")
    slack.event(slack.reaction_event(CHANNEL, source, "flag-fr", user=ALICE))
    translation = wait_until(
        lambda: next(
            (m for m in emulator.messages(CHANNEL, thread_ts=source) if m.get("user") == BOT_USER and _has_buttons(m)),
            None,
        ),
        what="the translation in the thread, with buttons",
    )
    assert "Bonjour" in translation["text"] and "Bonjour" in translation["blocks"][0]["text"]
    assert [b["type"] for b in translation["blocks"]] == ["markdown", "context_actions"]
    slack.click_feedback(translation, helpful=True, channel_id=CHANNEL, user_id=BOB, user_name="bob")
    thanks = _thanks(emulator, 1)[-1]
    assert (thanks["user"], thanks["thread_ts"], thanks["text"]) == (BOB, source, texts.FEEDBACK_THANKS_HELPFUL)
    slack.click_feedback(last, helpful=False, channel_id=CHANNEL, user_id=BOB, user_name="bob")
    assert _thanks(emulator, 2)[-1]["text"] == texts.FEEDBACK_THANKS_NOT_HELPFUL

    slack.command("/summarize", "public", user_id=ALICE, channel_id=CHANNEL)
    summary = wait_until(
        lambda: next((m for m in emulator.messages(CHANNEL) if m.get("user") == BOT_USER and _has_buttons(m)), None),
        what="the public summary, with buttons",
    )
    assert summary["text"].startswith("*Summary of") and summary["blocks"][0]["text"].startswith("**Summary of")
    slack.click_feedback(summary, helpful=True, channel_id=CHANNEL, user_id=BOB, user_name="bob")
    assert _thanks(emulator, 3)[-1]["text"] == texts.FEEDBACK_THANKS_HELPFUL
    assert sorted((skill, helpful) for _, skill, _, helpful in _votes(sessions)) == [
        ("answer", False),
        ("summary", True),
        ("translation", True),
    ]


def test_a_retried_answer_that_grows_longer_moves_the_buttons_to_its_new_last_message(
    app, slack, emulator, scripted, sessions
) -> None:
    ts = "1764360600.000100"
    first = _answer(slack, emulator, scripted, ts)
    # The process dies after the buttons went on and before the job was marked done: the job runs again.
    scripted.enqueue(_long_answer())
    with sessions.begin() as session:
        session.execute(update(Job).where(Job.id == 1).values(state="queued", run_after=utcnow(), locked_by=None))
    app.parlance.dispatcher.notify()

    def two_messages() -> list[dict[str, Any]] | None:
        replies = [m for m in emulator.messages(CHANNEL, thread_ts=ts) if m.get("user") == BOT_USER]
        return replies if len(replies) == 2 and _has_buttons(replies[-1]) else None

    edited, last = wait_until(two_messages, what="the longer answer in two messages, buttons under the second")
    assert edited["ts"] == first["ts"] and edited["text"].startswith("Step 0")
    assert not _has_buttons(edited)  # the first attempt's buttons, and its old text with them, are gone
    assert _feedback_element(last)["positive_button"]["value"] == _feedback_element(first)["positive_button"]["value"]
