"""Votes on answers through the real migrations, on SQLite and (TEST_DATABASE_URL) PostgreSQL: one per person and
answer, changeable, scoped by workspace and channel, counted over a window, forgotten with the person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from storage import feedback, forgetting, jobs
from storage.db import downgrade, migrate
from storage.feedback import HelpfulRate
from storage.tables import AnswerFeedback, Base, utcnow

WEEK_AGO = dt.timedelta(days=7)


def _vote(session: Session, user: str, helpful: bool, *, job: int = 1, channel: str = "C1", team: str = "T1",
          skill: str = "answer") -> str:  # fmt: skip
    return feedback.record_vote(
        session=session, team_id=team, channel_id=channel, job_id=job, skill=skill, user_id=user,
        helpful=helpful, message_ts="1764340000.000100",
    )  # fmt: skip


def _rates(session: Session, channels: list[str], *, team: str = "T1", since: dt.datetime | None = None) -> dict:
    since = since or utcnow() - WEEK_AGO
    return feedback.helpful_rates(session=session, team_id=team, channel_ids=channels, since=since)


def test_the_migration_creates_the_table_as_the_model_declares_it_and_downgrades(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata

    expected = MetaData()
    AnswerFeedback.__table__.to_metadata(expected)

    def only_feedback(item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        return (name if kind == "table" else item.table.name) == "answer_feedback"

    with engine.connect() as connection:
        options = {"compare_type": True, "include_object": only_feedback}
        assert compare_metadata(MigrationContext.configure(connection, opts=options), expected) == []
    indexes = {index["name"] for index in inspect(engine).get_indexes("answer_feedback")}
    assert {"ix_answer_feedback_recent", "ix_answer_feedback_team_user"} <= indexes
    downgrade(engine, "0007")
    assert "answer_feedback" not in inspect(engine).get_table_names()
    migrate(engine)
    assert "answer_feedback" in inspect(engine).get_table_names()
    assert "answer_feedback" in Base.metadata.tables


def test_a_second_click_replaces_the_vote_and_the_same_click_changes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert _vote(session, "U1", True) == "new"
    with sessions.begin() as session:
        assert _vote(session, "U1", False) == "changed"
    with sessions.begin() as session:
        assert _vote(session, "U1", False) == "same"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AnswerFeedback)) == 1
        assert feedback.user_vote(session=session, team_id="T1", job_id=1, user_id="U1") is False
        assert _rates(session, ["C1"]) == {"answer": HelpfulRate(helpful=0, votes=1)}


def test_each_person_votes_once_per_answer_and_rates_count_per_skill(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _vote(session, "U1", True)
        _vote(session, "U2", False)
        _vote(session, "U1", True, job=2)
        _vote(session, "U1", True, job=3, skill="summary")
    with sessions() as session:
        assert _rates(session, ["C1"]) == {
            "answer": HelpfulRate(helpful=2, votes=3),
            "summary": HelpfulRate(helpful=1, votes=1),
        }


def test_rates_stay_in_their_workspace_channels_and_window(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _vote(session, "U1", True, channel="C1")
        _vote(session, "U1", False, channel="C2", job=2)
        _vote(session, "U1", False, team="T2", job=3)
    with sessions() as session:
        assert _rates(session, ["C1"]) == {"answer": HelpfulRate(1, 1)}
        assert _rates(session, ["C1", "C2"]) == {"answer": HelpfulRate(1, 2)}
        assert _rates(session, ["C1"], team="T2") == {"answer": HelpfulRate(0, 1)}
        assert _rates(session, []) == {}
        assert _rates(session, ["C1", "C2"], since=utcnow() + dt.timedelta(minutes=1)) == {}


def test_the_voted_job_is_found_only_in_its_own_workspace_and_channel(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        job_id = jobs.enqueue_job(session=session, team_id="T1", channel_id="C1", kind="mention", payload={})
        assert job_id is not None
        jobs.record_reply(session=session, job_id=job_id, reply_ts="1.1", continued_ts=["1.2"])
    with sessions() as session:
        found = feedback.voted_job(session=session, team_id="T1", channel_id="C1", job_id=job_id)
        assert found == feedback.VotedJob(job_id=job_id, kind="mention", posted=("1.1", "1.2"))
        assert feedback.voted_job(session=session, team_id="T1", channel_id="C2", job_id=job_id) is None
        assert feedback.voted_job(session=session, team_id="T2", channel_id="C1", job_id=job_id) is None
        assert feedback.voted_job(session=session, team_id="T1", channel_id="C1", job_id=job_id + 1) is None


def test_votes_go_with_the_person_who_is_forgotten_and_with_the_workspace(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _vote(session, "U1", True)
        _vote(session, "U2", True)
        _vote(session, "U1", True, team="T2")
        _vote(session, "U3", True, team="T3")
    with sessions.begin() as session:
        forgetting.forget_user(session=session, team_id="T1", user_id="U1")
        forgetting.forget_team(session=session, team_id="T3")
    with sessions() as session:
        assert feedback.user_vote(session=session, team_id="T1", job_id=1, user_id="U1") is None
        assert feedback.user_vote(session=session, team_id="T1", job_id=1, user_id="U2") is True
        assert feedback.user_vote(session=session, team_id="T2", job_id=1, user_id="U1") is True
        assert feedback.user_vote(session=session, team_id="T3", job_id=1, user_id="U3") is None
        assert feedback.voted_skill(session=session, team_id="T1", channel_id="C1", job_id=1) == "answer"
