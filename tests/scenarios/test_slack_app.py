"""The real app, served by the real HTTP server, driven by signed requests exactly as Slack sends them.
Assertions are on what reached the emulated Slack Web API and what was stored."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from storage import jobs, messages
from tests.support.slack import ALICE, BOT_USER, CHANNEL, TEAM, wait_until

pytestmark = pytest.mark.usefixtures("running_app")


def _history(sessions: sessionmaker[Session]) -> list[messages.StoredMessage]:
    with sessions() as session:
        return messages.recent_messages(session=session, team_id=TEAM, channel_id=CHANNEL, limit=100)


@pytest.fixture
def app_sessions(running_app) -> sessionmaker[Session]:
    return running_app.parlance.sessions


def test_a_mention_in_a_channel_is_stored_and_answered_once_in_its_thread_despite_retries(
    slack, emulator, app_sessions
) -> None:
    event = slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts="1764340000.000100")
    first = slack.event(event, event_id="Ev0MENTION1")
    retry = slack.event(event, event_id="Ev0MENTION1", retry_num=1, retry_reason="http_timeout")
    second_retry = slack.event(event, event_id="Ev0MENTION1", retry_num=2)
    assert (first.status, retry.status, second_retry.status) == (200, 200, 200)
    [reply] = emulator.wait_for("chat.postMessage")
    assert reply.args["channel"] == CHANNEL
    assert reply.args["thread_ts"] == "1764340000.000100"
    assert reply.args["text"] == texts.HELP
    time.sleep(0.5)  # give a wrongly duplicated job time to show itself
    assert len([c for c in emulator.calls("chat.postMessage") if c.response.get("ok")]) == 1
    stored = _history(app_sessions)
    assert [m.ts for m in stored if not m.is_bot] == ["1764340000.000100"]


def test_the_message_event_and_the_mention_of_one_message_give_one_reply(slack, emulator, app_sessions) -> None:
    text = f"<@{BOT_USER}> help"
    slack.event(slack.message_event(CHANNEL, ALICE, text, ts="1764340001.000100"), event_id="Ev0MSG")
    slack.event(slack.mention_event(CHANNEL, ALICE, text, ts="1764340001.000100"), event_id="Ev0MENTION")
    emulator.wait_for("chat.postMessage")
    time.sleep(0.5)
    assert len(emulator.calls("chat.postMessage")) == 1
    assert len([m for m in _history(app_sessions) if not m.is_bot]) == 1


def test_a_mention_inside_a_thread_is_answered_in_that_thread(slack, emulator) -> None:
    parent = "1764340000.000001"
    slack.event(slack.message_event(CHANNEL, ALICE, "release plan?", ts=parent))
    mention = slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts="1764340009.000002", thread_ts=parent)
    slack.event(mention)
    [reply] = emulator.wait_for("chat.postMessage")
    assert reply.args["thread_ts"] == parent


def test_a_question_is_acknowledged_in_its_thread_even_before_the_model_is_ready(slack, emulator) -> None:
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> what did we decide?", ts="1764340002.000100"))
    [reply] = emulator.wait_for("chat.postMessage")
    assert reply.args["thread_ts"] == "1764340002.000100"
    assert reply.args["text"] == texts.MODEL_NOT_READY


def test_the_reply_is_recorded_and_tagged_with_its_job(slack, emulator, app_sessions) -> None:
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts="1764340003.000100"))
    [reply] = emulator.wait_for("chat.postMessage")
    assert reply.args["metadata"]["event_type"] == "parlance_reply"
    wait_until(lambda: any(m.is_bot for m in _history(app_sessions)))  # our reply is part of the history

    def done_jobs() -> int:  # the job is marked done just after its reply is stored
        with app_sessions() as session:
            return jobs.count_jobs(session=session, team_id=TEAM, channel_id=CHANNEL, state=jobs.DONE)

    wait_until(lambda: done_jobs() == 1)
    assert reply.args["metadata"]["event_payload"]["job_id"] == "1"


def test_history_capture_follows_thread_replies_edits_and_deletions(slack, app_sessions) -> None:
    slack.event(slack.message_event(CHANNEL, ALICE, "ship on friday", ts="1764340010.000001"))
    slack.event(slack.message_event(CHANNEL, ALICE, "agreed", ts="1764340011.000001", thread_ts="1764340010.000001"))
    slack.event(slack.message_event(CHANNEL, ALICE, "oops typo", ts="1764340012.000001"))
    slack.event(slack.edit_event(CHANNEL, "1764340010.000001", "ship on monday", user=ALICE))
    slack.event(slack.delete_event(CHANNEL, "1764340012.000001"))
    stored = _history(app_sessions)
    assert [(m.text, m.thread_ts, m.edited) for m in stored] == [
        ("ship on monday", None, True),
        ("agreed", "1764340010.000001", False),
    ]


def test_messages_from_bots_are_stored_but_never_answered(slack, emulator, app_sessions) -> None:
    event = slack.message_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts="1764340020.000001")
    event.update({"bot_id": "B0OTHER", "subtype": "bot_message"})
    event.pop("user")
    slack.event(event)
    mention = slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts="1764340020.000001")
    mention["bot_id"] = "B0OTHER"
    slack.event(mention)
    time.sleep(0.5)
    assert emulator.calls("chat.postMessage") == []
    assert [m.is_bot for m in _history(app_sessions)] == [True]


def test_summarize_acks_fast_and_answers_the_caller(slack, emulator) -> None:
    response = slack.command("/summarize", "24h", user_id=ALICE, channel_id=CHANNEL)
    assert response.status == 200
    assert response.elapsed < 1.5
    assert response.json()["text"] == texts.ACK_SUMMARIZE.format(span="the last 24h")
    wait_until(lambda: emulator.response_url_posts())
    [answer] = emulator.response_url_posts()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == texts.NOTHING_TO_SUMMARIZE.format(span="last 24h")


def test_translate_acks_fast_and_answers_the_caller(slack, emulator) -> None:
    response = slack.command("/translate", "fr Hello team", user_id=ALICE, channel_id=CHANNEL)
    assert response.status == 200
    assert response.elapsed < 1.5
    assert response.json()["text"] == texts.ACK_TRANSLATE.format(language="French")
    wait_until(lambda: emulator.response_url_posts())
    assert emulator.response_url_posts()[0]["text"] == texts.MODEL_NOT_READY


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("/summarize", "yesterday-ish", "I don't understand `yesterday-ish`"),
        ("/summarize", "help", "*Usage:* `/summarize`"),
        ("/translate", "", "*Usage:* `/translate fr Hello team`"),
        ("/translate", "xx hello", "I don't know the language `xx`"),
        ("/translate", "fr " + "a" * 40_000, "That message is 40,003 characters long"),
    ],
)
def test_bad_command_arguments_get_a_clear_private_answer_and_no_job(
    slack, emulator, app_sessions, command: str, text: str, expected: str
) -> None:
    response = slack.command(command, text, user_id=ALICE, channel_id=CHANNEL)
    assert response.status == 200
    assert response.json()["text"].startswith(expected)
    with app_sessions() as session:
        assert jobs.count_jobs(session=session, team_id=TEAM, channel_id=CHANNEL) == 0


def test_a_bad_signature_gets_401_and_nothing_is_stored(slack, app_sessions) -> None:
    body = json.dumps(
        {"type": "event_callback", "team_id": TEAM, "event_id": "Ev0FORGED",
         "event": slack.message_event(CHANNEL, ALICE, "forged", ts="1764340030.000001")}
    ).encode()  # fmt: skip
    response = slack.raw(body, content_type="application/json", signature="v0=" + "0" * 64)
    assert response.status == 401
    assert _history(app_sessions) == []


def test_a_stale_request_gets_401(slack, app_sessions) -> None:
    event = slack.message_event(CHANNEL, ALICE, "old", ts="1764340031.000001")
    body = json.dumps({"type": "event_callback", "team_id": TEAM, "event_id": "Ev0STALE", "event": event}).encode()
    response = slack.raw(body, content_type="application/json", timestamp=int(time.time()) - 6 * 60)
    assert response.status == 401
    assert _history(app_sessions) == []


def test_invalid_utf8_in_a_form_body_gets_a_json_400(slack) -> None:
    response = slack.raw(b"command=%2Fsummarize&text=\xff\xfe", content_type="application/x-www-form-urlencoded")
    assert response.status == 400
    assert response.json() == {"ok": False, "error": "invalid_utf8"}


def test_an_oversized_body_gets_a_json_413(slack) -> None:
    response = slack.raw(b"x" * 2_000_000, content_type="application/json")
    assert response.status == 413
    assert response.json()["error"] == "payload_too_large"


def test_url_verification_is_answered(slack) -> None:
    response = slack.url_verification("challenge-token-123")
    assert response.status == 200
    assert response.json()["challenge"] == "challenge-token-123"


def test_healthz_checks_the_database(running_app) -> None:
    response = httpx.get(f"{running_app.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    running_app.parlance.engine.dispose()
    assert httpx.get(f"{running_app.url}/nowhere").json() == {"ok": False, "error": "not_found"}
    assert httpx.get(f"{running_app.url}/slack/events").status_code == 405


def test_metrics_count_requests_and_jobs(slack, emulator, running_app) -> None:
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts="1764340040.000001"))
    emulator.wait_for("chat.postMessage")
    wait_until(
        lambda: 'parlance_jobs_total{kind="help",outcome="done"} 1.0' in httpx.get(f"{running_app.url}/metrics").text
    )
    metrics = httpx.get(f"{running_app.url}/metrics").text
    assert 'parlance_http_requests_total{path="/slack/events",status="200"} 1.0' in metrics
    assert "parlance_job_queue_depth 0.0" in metrics
