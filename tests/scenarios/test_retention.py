"""Retention, `/parlance forget me` and a workspace's uninstall: what is deleted, and what must not be.

Storage functions are driven directly on the real migrated database; `/parlance` and summaries go through the real
app with signed requests and the Slack emulator; the retention job runs in a real APScheduler clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.background.clock import BOOKKEEPING_JOB, RETENTION_JOB, DigestClock
from bot.emulator import SentResponse
from bot.settings import Settings
from handlers.commands import ParlanceRequest, UsageError, parse_parlance
from storage import channel_instructions, channel_notices, feedback, forgetting, jobs, messages, opt_outs
from storage import channel_settings as digests
from storage import seen_events as events
from storage import sentiment_scores as scores
from storage.message_search import search_messages
from storage.tables import Base, Job, SlackEvent
from tests.support.slack import ALICE, BOB, CHANNEL, TEAM, RunningApp, sender_for, serve_app, wait_until

OTHER_TEAM = "T0OTHER"
RANDOM = "C0RANDOM"
NOW = dt.datetime.now(dt.UTC)
OLD = NOW - dt.timedelta(days=100)
CUTOFF = NOW - dt.timedelta(days=30)


def _ts(moment: dt.datetime, n: int = 0) -> str:
    return f"{int(moment.timestamp()) + n}.{n:06d}"


def _save(session: Session, ts: str, text: str, *, team: str = TEAM, channel: str = CHANNEL, user: str = ALICE) -> bool:
    return messages.save_message(session=session, team_id=team, channel_id=channel, ts=ts, user_id=user, text=text)


def _texts(session: Session, *, team: str = TEAM, channel: str = CHANNEL) -> list[str]:
    return [m.text for m in messages.recent_messages(session=session, team_id=team, channel_id=channel, limit=100)]


def _score_everything(session: Session, *, team: str = TEAM, channel: str = CHANNEL) -> None:
    pending = scores.unscored_messages(session=session, team_id=team, channel_id=channel, limit=100)
    batch = [scores.Score(p.id, p.version, "positive", 0.5) for p in pending]
    scores.save_scores(session=session, team_id=team, channel_id=channel, scores=batch)


def _job(session: Session, *, team: str = TEAM, user: str = ALICE, state: str = jobs.DONE, age: dt.timedelta) -> int:
    job_id = jobs.enqueue_job(
        session=session, team_id=team, channel_id=CHANNEL, kind="mention", payload={"user": user, "text": "secret"}
    )
    session.execute(update(Job).where(Job.id == job_id).values(state=state, created_at=NOW - age))
    return job_id


def _job_ids(session: Session) -> set[int]:
    return set(session.scalars(select(Job.id)))


# -- the retention purge --------------------------------------------------------------------------------------


def test_purge_deletes_old_messages_with_their_scores_and_search_entries_and_keeps_recent_ones(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        _save(session, _ts(NOW - dt.timedelta(days=1)), "recent roadmap note")
        for n in range(5):  # more than one batch
            _save(session, _ts(OLD, n), f"old roadmap note {n}")
        _save(session, _ts(OLD, 9), "old roadmap elsewhere", team=OTHER_TEAM)  # retention covers every team
        _score_everything(session)
    with sessions() as session:
        assert forgetting.purge_older_than(session=session, cutoff=CUTOFF, batch=2) == 6
    with sessions() as session:
        assert _texts(session) == ["recent roadmap note"]
        assert _texts(session, team=OTHER_TEAM) == []
        found = search_messages(session=session, team_id=TEAM, channel_id=CHANNEL, terms=["roadmap"])
        assert [m.text for m in found] == ["recent roadmap note"]
        week = scores.scored_messages(session=session, team_id=TEAM, channel_id=CHANNEL, since=OLD, until=NOW)
        assert [(m.text, m.label) for m in week] == [("recent roadmap note", "positive")]
    with sessions.begin() as session:  # SQLite may hand a purged row's id to a new one: the index forgot it
        _save(session, _ts(NOW), "fresh words")
    with sessions() as session:
        assert search_messages(session=session, team_id=TEAM, channel_id=CHANNEL, terms=["old"]) == []
        found = search_messages(session=session, team_id=TEAM, channel_id=CHANNEL, terms=["fresh"])
        assert [m.text for m in found] == ["fresh words"]


def test_purge_also_drops_finished_jobs_before_the_cutoff_and_day_old_event_ids(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        old_done = _job(session, age=dt.timedelta(days=40))
        old_failed = _job(session, state=jobs.FAILED, age=dt.timedelta(days=40))
        old_queued = _job(session, state=jobs.QUEUED, age=dt.timedelta(days=40))
        recent_done = _job(session, age=dt.timedelta(days=2))
        events.claim_event(session=session, team_id=TEAM, event_id="Ev0OLD")
        events.claim_event(session=session, team_id=TEAM, event_id="Ev0NEW")
        session.execute(
            update(SlackEvent).where(SlackEvent.event_id == "Ev0OLD").values(received_at=NOW - dt.timedelta(days=2))
        )
    with sessions() as session:
        forgetting.purge_older_than(session=session, cutoff=CUTOFF, batch=1)
    with sessions() as session:
        assert _job_ids(session) == {old_queued, recent_done}
        assert old_done not in _job_ids(session) and old_failed not in _job_ids(session)
        assert set(session.scalars(select(SlackEvent.event_id))) == {"Ev0NEW"}


def test_bookkeeping_is_pruned_without_any_retention_and_messages_stay(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _save(session, _ts(OLD), "kept forever")
        week_old = _job(session, age=dt.timedelta(days=8))
        running = _job(session, state=jobs.RUNNING, age=dt.timedelta(days=8))
        yesterday = _job(session, age=dt.timedelta(days=1))
        events.claim_event(session=session, team_id=TEAM, event_id="Ev0OLD")
        session.execute(update(SlackEvent).values(received_at=NOW - dt.timedelta(hours=25)))
    with sessions() as session:
        pruned = forgetting.prune_bookkeeping(session=session)
    assert pruned == forgetting.Pruned(event_ids=1, jobs=1)
    with sessions() as session:
        assert _job_ids(session) == {running, yesterday} and week_old not in _job_ids(session)
        assert _texts(session) == ["kept forever"]


# -- forgetting a person ----------------------------------------------------------------------------------------


def test_forget_user_deletes_only_that_persons_messages_in_that_workspace(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _save(session, _ts(NOW, 1), "alice in general")
        _save(session, _ts(NOW, 2), "alice in random", channel=RANDOM)
        _save(session, _ts(NOW, 3), "bob in general", user=BOB)
        _save(session, _ts(NOW, 4), "alice elsewhere", team=OTHER_TEAM)
        _score_everything(session)
        finished = _job(session, age=dt.timedelta(minutes=5))
        in_flight = _job(session, state=jobs.RUNNING, age=dt.timedelta(minutes=1))
        bobs = _job(session, user=BOB, age=dt.timedelta(minutes=5))
        other_team = _job(session, team=OTHER_TEAM, age=dt.timedelta(minutes=5))
    with sessions.begin() as session:
        assert forgetting.forget_user(session=session, team_id=TEAM, user_id=ALICE) == 2
    with sessions() as session:
        assert _texts(session) == ["bob in general"]
        assert _texts(session, channel=RANDOM) == []
        assert _texts(session, team=OTHER_TEAM) == ["alice elsewhere"]
        assert search_messages(session=session, team_id=TEAM, channel_id=CHANNEL, terms=["alice"]) == []
        assert _job_ids(session) == {in_flight, bobs, other_team} and finished not in _job_ids(session)


def test_an_opted_out_person_is_not_stored_again_until_they_opt_back_in(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        opt_outs.opt_user_out(session=session, team_id=TEAM, user_id=ALICE)
        opt_outs.opt_user_out(session=session, team_id=TEAM, user_id=ALICE)  # idempotent
    with sessions.begin() as session:
        assert not _save(session, _ts(NOW, 1), "not stored")
        assert _save(session, _ts(NOW, 2), "bob is stored", user=BOB)
        assert _save(session, _ts(NOW, 3), "another workspace is not affected", team=OTHER_TEAM)
    with sessions.begin() as session:
        assert opt_outs.opt_user_back_in(session=session, team_id=TEAM, user_id=ALICE)
        assert not opt_outs.opt_user_back_in(session=session, team_id=TEAM, user_id=ALICE)
        assert _save(session, _ts(NOW, 4), "stored again")
    with sessions() as session:
        assert _texts(session) == ["bob is stored", "stored again"]


# -- forgetting a workspace -------------------------------------------------------------------------------------


def _fill_team(session: Session, team: str) -> None:
    _save(session, _ts(NOW, 1), "hello", team=team)
    _score_everything(session, team=team)
    _job(session, team=team, age=dt.timedelta(minutes=1))
    events.claim_event(session=session, team_id=team, event_id="Ev0SAME")
    digests.set_schedule(session=session, team_id=team, channel_id=CHANNEL, schedule="daily 07:00", timezone="UTC")
    digests.claim_digest(session=session, team_id=team, channel_id=CHANNEL, period_key="daily:x", cadence="daily",
                         period_start=OLD, period_end=NOW)  # fmt: skip
    opt_outs.opt_user_out(session=session, team_id=team, user_id=BOB)
    channel_instructions.set_instructions(session=session, team_id=team, channel_id=CHANNEL, text="Be brief.",
                                          user_id=BOB)  # fmt: skip
    channel_notices.claim_notice(session=session, team_id=team, channel_id=CHANNEL, notice=channel_notices.NOT_ENABLED)
    feedback.record_vote(session=session, team_id=team, channel_id=CHANNEL, job_id=1, skill="answer", user_id=BOB,
                         helpful=True, message_ts=None)  # fmt: skip


def _rows_per_table(session: Session, team: str) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table).where(table.c.team_id == team)) or 0
        for table in Base.metadata.sorted_tables
        if "team_id" in table.c
    }


def test_forget_team_removes_every_row_of_that_workspace_and_none_of_another(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        _fill_team(session, TEAM)
        _fill_team(session, OTHER_TEAM)
    clock = DigestClock(engine=engine, sessions=sessions, run_jobs=False)
    clock.start()
    try:
        clock.sync()  # the clock's own job store holds one scheduled digest per team
        assert clock.next_run(TEAM, CHANNEL) is not None and clock.next_run(OTHER_TEAM, CHANNEL) is not None
        with sessions() as session:
            before = _rows_per_table(session, OTHER_TEAM)
            assert all(before.values()), before  # every table really had rows of both teams
            assert _rows_per_table(session, TEAM) == before
        with sessions.begin() as session:
            assert forgetting.forget_team(session=session, team_id=TEAM) == 1
        with sessions() as session:
            assert set(_rows_per_table(session, TEAM).values()) == {0}
            assert _rows_per_table(session, OTHER_TEAM) == before
        assert clock.next_run(TEAM, CHANNEL) is None
        assert clock.next_run(OTHER_TEAM, CHANNEL) is not None
    finally:
        clock.stop()


# -- the clock ----------------------------------------------------------------------------------------------------


def _local_jobs(clock: DigestClock) -> set[str]:
    return {job.id for job in clock.scheduler.get_jobs(jobstore="local")}


@pytest.fixture
def started_clocks(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[Callable[..., DigestClock]]:
    started: list[DigestClock] = []

    def start(retention_days: int | None) -> DigestClock:
        clock = DigestClock(engine=engine, sessions=sessions, sync_seconds=3600, retention_days=retention_days)
        clock.start()
        started.append(clock)
        return clock

    yield start
    for clock in started:
        clock.stop()


def test_the_clock_schedules_the_purge_only_when_retention_is_set(started_clocks) -> None:
    without = started_clocks(None)
    assert RETENTION_JOB not in _local_jobs(without)
    assert BOOKKEEPING_JOB in _local_jobs(without)  # event ids and finished jobs are pruned regardless
    without.stop()
    with_retention = started_clocks(30)
    assert {RETENTION_JOB, BOOKKEEPING_JOB} <= _local_jobs(with_retention)
    job = with_retention.scheduler.get_job(RETENTION_JOB, jobstore="local")
    assert dt.timedelta(0) < job.next_run_time - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=1)


def test_the_scheduled_purge_deletes_old_messages_and_logs_counts_not_text(
    started_clocks, sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    with sessions.begin() as session:
        _save(session, _ts(OLD), "the secret old plan")
        _save(session, _ts(NOW), "the new plan")
    clock = started_clocks(30)
    caplog.set_level(logging.INFO)
    clock.scheduler.modify_job(RETENTION_JOB, jobstore="local", next_run_time=dt.datetime.now(dt.UTC))

    def purged() -> bool:
        with sessions() as session:
            return _texts(session) == ["the new plan"]

    wait_until(purged)
    wait_until(lambda: "retention: purged 1 messages" in caplog.text)
    assert "secret" not in caplog.text


# -- /parlance through the real app -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ParlanceRequest("help")),
        ("  HELP ", ParlanceRequest("help")),
        ("forget me", ParlanceRequest("forget_me")),
        ("Forget   Me", ParlanceRequest("forget_me")),
        ("remember me", ParlanceRequest("remember_me")),
        (" Feedback ", ParlanceRequest("feedback")),
    ],
)
def test_parlance_arguments(text: str, expected: ParlanceRequest) -> None:
    assert parse_parlance(text) == expected


@pytest.mark.parametrize("text", ["forget", "forget bob", "delete everything", "forget me now", "feedback please"])
def test_parlance_mistakes_get_the_usage(text: str) -> None:
    result = parse_parlance(text)
    assert isinstance(result, UsageError)
    assert result.text.startswith(f"I don't understand `{text}`") and "/parlance forget me" in result.text


def _reply(response: SentResponse) -> str:
    assert response.status == 200, response.text
    body = response.json()
    assert body["response_type"] == "ephemeral"
    return body["text"]


def test_forget_me_deletes_the_callers_messages_here_and_stops_storing_them(
    slack, running_app: RunningApp, emulator
) -> None:
    sessions = running_app.parlance.sessions
    slack.event(slack.message_event(CHANNEL, ALICE, "alice one", ts=_ts(NOW, 1)))
    slack.event(slack.message_event(CHANNEL, ALICE, "alice two", ts=_ts(NOW, 2), thread_ts=_ts(NOW, 1)))
    slack.event(slack.message_event(CHANNEL, BOB, "bob one", ts=_ts(NOW, 3)))
    with sessions.begin() as session:
        _save(session, _ts(NOW, 4), "alice in another workspace", team=OTHER_TEAM)

    answer = _reply(slack.command("/parlance", "forget me", user_id=ALICE, channel_id=CHANNEL))
    assert answer == texts.FORGOT_YOU.format(messages="2 messages")
    assert "Slack's own copies are untouched" in answer
    with sessions() as session:
        assert _texts(session) == ["bob one"]
        assert _texts(session, team=OTHER_TEAM) == ["alice in another workspace"]

    slack.event(slack.message_event(CHANNEL, ALICE, "alice after forgetting", ts=_ts(NOW, 5)))
    repeated = _reply(slack.command("/parlance", "forget me", user_id=ALICE, channel_id=CHANNEL))
    assert repeated == texts.FORGOT_YOU.format(messages="0 messages")  # a retry or repeat changes nothing
    slack.command("/summarize", "200", user_id=BOB, channel_id=CHANNEL)  # reads the channel back from Slack
    wait_until(lambda: emulator.response_url_posts())
    [summary] = emulator.response_url_posts()
    assert "bob one" in summary["text"].lower() and "alice" not in summary["text"].lower()
    with sessions() as session:
        assert _texts(session) == ["bob one"]

    assert _reply(slack.command("/parlance", "remember me", user_id=ALICE, channel_id=CHANNEL)) == texts.REMEMBER_YOU
    assert _reply(slack.command("/parlance", "remember me", user_id=ALICE, channel_id=CHANNEL)) == (texts.NOT_FORGOTTEN)
    slack.event(slack.message_event(CHANNEL, ALICE, "alice remembered", ts=_ts(NOW, 6)))
    with sessions() as session:
        assert _texts(session) == ["bob one", "alice remembered"]
    assert emulator.calls("chat.postMessage") == []  # everything was said in the ack


@pytest.mark.parametrize("text", ["", "help"])
def test_parlance_help_says_what_is_stored_and_for_how_long(slack, text: str) -> None:
    answer = _reply(slack.command("/parlance", text, user_id=ALICE, channel_id=CHANNEL))
    assert answer.startswith(
        f"{texts.PARLANCE_HELP.format(retention=texts.RETENTION_FOREVER)}\n{texts.INSTRUCTIONS_NONE}\n"
    )
    assert "`/parlance forget me`" in answer and "`/parlance remember me`" in answer


def test_an_unknown_subcommand_gets_a_polite_usage_and_changes_nothing(slack, running_app: RunningApp) -> None:
    slack.event(slack.message_event(CHANNEL, ALICE, "still here", ts=_ts(NOW, 1)))
    answer = _reply(slack.command("/parlance", "forget everyone", user_id=ALICE, channel_id=CHANNEL))
    assert answer.startswith("I don't understand `forget everyone`")
    with running_app.parlance.sessions() as session:
        assert _texts(session) == ["still here"]


@pytest.fixture
def retention_app(settings: Settings) -> Iterator[RunningApp]:
    with serve_app(settings.model_copy(update={"retention_days": 30})) as app:
        yield app


def test_with_retention_help_names_it_and_summaries_never_bring_back_purged_messages(
    retention_app: RunningApp, emulator
) -> None:
    slack = sender_for(retention_app, emulator)
    answer = _reply(slack.command("/parlance", "help", user_id=ALICE, channel_id=CHANNEL))
    assert answer.startswith(texts.PARLANCE_HELP.format(retention=texts.RETENTION_DAYS.format(days=30)) + "\n")
    parlance = retention_app.parlance
    sessions = parlance.sessions
    slack.event(slack.message_event(CHANNEL, ALICE, "We decided the purple launch date.", ts=_ts(OLD, 1)))
    slack.event(
        slack.message_event(CHANNEL, BOB, "We decided the green launch date.", ts=_ts(NOW - dt.timedelta(minutes=1)))
    )
    clock = DigestClock(engine=parlance.engine, sessions=sessions, run_jobs=False, retention_days=30)
    assert clock.purge() == 1

    response = slack.command("/summarize", "200", user_id=ALICE, channel_id=CHANNEL)
    assert response.status == 200
    wait_until(lambda: emulator.response_url_posts())
    [summary] = emulator.response_url_posts()
    assert "green" in summary["text"] and "purple" not in summary["text"]
    with sessions() as session:  # reading the channel from Slack did not store the purged message again
        assert _texts(session) == ["We decided the green launch date."]
