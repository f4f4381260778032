"""Job payloads are typed: what a listener records is what its runner reads, rows queued by an older version still
run, and a payload that is not its kind's is refused without its text ending up in a log."""

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.enqueue import enqueue_digest_job, enqueue_for_command, enqueue_reply
from bot.jobs.kinds import (
    PAYLOADS,
    HelpPayload,
    InvalidPayload,
    JobKind,
    JobPayload,
    MentionPayload,
    SentimentCommandPayload,
    SentimentDigestPayload,
    SentimentHomePayload,
    SummarizePayload,
    TranslatePayload,
    payload_for,
)
from storage.tables import Job

EXAMPLES: list[JobPayload] = [
    HelpPayload(ts="1.1", thread_ts="1.1", user="U1", text="help"),
    MentionPayload(ts="1.2", thread_ts=None, user="U1", text="who owns the runbook?"),
    SummarizePayload(
        user="U1",
        response_url="https://hooks/1",
        public=True,
        span="last 24h",
        since=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
    ),
    TranslatePayload(user="U1", language="fr", source_ts="1.3", deliver="thread"),
    TranslatePayload(user="U1", response_url="https://hooks/2", language="de", text="good morning"),
    SentimentCommandPayload(user="U1", action="weekly", weekday=4, at=dt.time(16, 30)),
    SentimentHomePayload(user="U1"),
    SentimentDigestPayload(digest_id=7),
    SentimentDigestPayload(digest_id=8, user="U1", response_url="https://hooks/3"),  # /sentiment now
]


def test_every_kind_has_its_payload_model_and_the_kinds_are_spelled_as_stored() -> None:
    assert set(PAYLOADS) == set(JobKind)
    assert {kind.value for kind in JobKind} == {
        "help", "mention", "summarize", "translate", "sentiment_command", "sentiment_home", "sentiment_digest",
        "agent_thread",
    }  # fmt: skip


@pytest.mark.parametrize("payload", EXAMPLES, ids=lambda payload: type(payload).__name__)
def test_what_is_stored_reads_back_as_the_same_payload(payload: JobPayload) -> None:
    assert payload_for(payload.kind, payload.stored()) == payload


@pytest.mark.parametrize(
    ("kind", "row", "expected"),
    [
        (  # /summarize <thread link> before thread_channel was dropped
            "summarize",
            {"user": "U1", "response_url": None, "public": False, "limit": None, "since": None,
             "thread_channel": "C1", "thread_ts": "1700000000.123456", "span": "thread"},
            SummarizePayload(user="U1", thread_ts="1700000000.123456", span="thread"),
        ),
        (  # /translate rows never said where the translation goes: to the caller
            "translate",
            {"user": "U1", "response_url": "https://hooks/1", "language": "fr", "text": "hello"},
            TranslatePayload(user="U1", response_url="https://hooks/1", language="fr", text="hello"),
        ),
        (  # /sentiment daily and weekly stored the time as HH:MM
            "sentiment_command",
            {"user": "U1", "response_url": None, "action": "daily", "weekday": None, "at": "09:30"},
            SentimentCommandPayload(user="U1", action="daily", at=dt.time(9, 30)),
        ),
        (  # /summarize today stored `since` with isoformat()
            "summarize",
            {"user": "U1", "public": False, "limit": None, "since": "2026-01-02T00:00:00+00:00", "span": "today (UTC)"},
            SummarizePayload(user="U1", since=dt.datetime(2026, 1, 2, tzinfo=dt.UTC), span="today (UTC)"),
        ),
    ],
)  # fmt: skip
def test_rows_queued_by_the_previous_version_still_validate(kind: str, row: dict, expected: JobPayload) -> None:
    assert payload_for(kind, row) == expected


def test_an_unknown_field_is_refused_and_the_error_does_not_repeat_the_text() -> None:
    row = {"user": "U1", "language": "fr", "text": "our secret launch plan", "reply_thread_ts": "1.1"}
    with pytest.raises(InvalidPayload, match="reply_thread_ts") as refused:
        payload_for("translate", row)
    assert "secret" not in str(refused.value)


@pytest.mark.parametrize(
    ("kind", "row"),
    [
        ("translate", {"user": "U1", "language": "fr"}),  # nothing to translate
        ("translate", {"user": "U1", "language": "fr", "text": "hi", "deliver": "thread"}),  # no message, no thread
        ("translate", {"user": "U1", "source_ts": "1.1", "deliver": "channel"}),  # no such delivery
        ("sentiment_command", {"user": "U1", "action": "off"}),  # answered in the ack, never queued
        ("sentiment_digest", {}),
        ("shout", {"user": "U1"}),
    ],
)
def test_a_payload_that_is_not_its_kinds_is_refused(kind: str, row: dict) -> None:
    with pytest.raises(InvalidPayload):
        payload_for(kind, row)


def test_a_payload_cannot_be_changed_after_it_is_made() -> None:
    payload = SentimentHomePayload(user="U1")
    with pytest.raises(ValueError):
        payload.user = "U2"  # type: ignore[misc]


def _stored(sessions: sessionmaker[Session]) -> list[tuple[str, dict, str | None]]:
    with sessions() as session:
        return [(job.kind, job.payload, job.dedupe_key) for job in session.scalars(select(Job).order_by(Job.id))]


def test_a_reply_is_queued_once_per_message_as_help_or_as_a_mention(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for _ in range(2):  # the app_mention event and the message event both announce it
            enqueue_reply(
                session=session, team_id="T1", channel_id="C1", ts="1.1", thread_ts="1.1", user="U1", request="Help"
            )
        enqueue_reply(
            session=session,
            team_id="T1",
            channel_id="C1",
            ts="1.2",
            thread_ts=None,
            user="U1",
            request="what did we decide?",
        )
    assert _stored(sessions) == [
        ("help", {"ts": "1.1", "thread_ts": "1.1", "user": "U1", "text": "Help"}, "reply:T1:C1:1.1"),
        ("mention", {"ts": "1.2", "thread_ts": None, "user": "U1", "text": "what did we decide?"}, "reply:T1:C1:1.2"),
    ]


def test_a_command_retried_by_slack_and_a_digest_queued_twice_are_each_one_job(sessions: sessionmaker[Session]) -> None:
    payload = SummarizePayload(user="U1", response_url="https://hooks/1", limit=10, span="last 10 messages")
    with sessions.begin() as session:
        for _ in range(2):
            enqueue_for_command(session=session, team_id="T1", channel_id="C1", trigger_id="tr1", payload=payload)
            enqueue_digest_job(session=session, team_id="T1", channel_id="C1", digest_id=3)
    stored = _stored(sessions)
    assert [(kind, key) for kind, _, key in stored] == [
        ("summarize", "command:T1:tr1"),
        ("sentiment_digest", "digest:3"),
    ]
    assert set(stored[0][1]) == {"user", "response_url", "public", "span", "thread_ts", "limit", "since"}
    assert stored[1][1] == {"digest_id": 3, "user": None, "response_url": None}  # the clock's: nobody asked
