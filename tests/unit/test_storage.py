"""Storage through the real migrations: history capture, scoping by team and channel, retries, the job queue."""

import datetime as dt
import threading

from sqlalchemy import inspect
from sqlalchemy.orm import Session, sessionmaker

from storage import jobs, messages
from storage import seen_events as events
from storage.db import downgrade, make_engine, migrate


def _save(session: Session, ts: str, text: str, *, team: str = "T1", channel: str = "C1", thread_ts=None) -> bool:
    return messages.save_message(
        session=session, team_id=team, channel_id=channel, ts=ts, user_id="U1", text=text, thread_ts=thread_ts
    )


def test_migrations_create_the_schema_and_downgrade_cleanly(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    inspector = inspect(engine)
    assert {"messages", "slack_events", "jobs", "channel_settings"} <= set(inspector.get_table_names())
    index_names = {index["name"] for index in inspector.get_indexes("messages")}
    assert {"uq_messages_team_channel_ts", "ix_messages_thread"} <= index_names
    downgrade(engine, "base")
    assert "messages" not in inspect(engine).get_table_names()
    migrate(engine)  # and back up again
    assert "messages" in inspect(engine).get_table_names()
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    engine.dispose()


def test_history_follows_edits_and_deletions(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert _save(session, "1700000001.000100", "release on friday")
        assert not _save(session, "1700000001.000100", "release on friday")  # a retry stores nothing new
        _save(session, "1700000002.000100", "sounds good")
        messages.edit_message(session=session, team_id="T1", channel_id="C1", ts="1700000001.000100", text="monday")
        messages.delete_message(session=session, team_id="T1", channel_id="C1", ts="1700000002.000100")
    with sessions() as session:
        recent = messages.recent_messages(session=session, team_id="T1", channel_id="C1", limit=10)
    assert [(m.text, m.edited) for m in recent] == [("monday", True)]


def test_queries_never_cross_channels_or_workspaces(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        _save(session, "1700000001.000001", "ours")
        _save(session, "1700000001.000001", "other channel", channel="C2")
        _save(session, "1700000001.000001", "other team", team="T2")
    with sessions() as session:
        texts = [m.text for m in messages.recent_messages(session=session, team_id="T1", channel_id="C1", limit=50)]
    assert texts == ["ours"]


def test_recent_messages_returns_the_newest_n_oldest_first(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for second in range(10):
            _save(session, f"17000000{second:02d}.000000", f"message {second}")
    with sessions() as session:
        recent = messages.recent_messages(session=session, team_id="T1", channel_id="C1", limit=3)
    assert [m.text for m in recent] == ["message 7", "message 8", "message 9"]


def test_thread_messages_hold_the_parent_and_its_replies_in_order(sessions: sessionmaker[Session]) -> None:
    parent = "1700000000.000001"
    with sessions.begin() as session:
        _save(session, parent, "parent")
        _save(session, "1700000002.000001", "second reply", thread_ts=parent)
        _save(session, "1700000001.000001", "first reply", thread_ts=parent)
        _save(session, "1700000003.000001", "unrelated")
    with sessions() as session:
        thread = messages.thread_messages(session=session, team_id="T1", channel_id="C1", thread_ts=parent)
    assert [m.text for m in thread] == ["parent", "first reply", "second reply"]


def test_an_event_id_is_claimed_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        assert events.claim_event(session=session, team_id="T1", event_id="Ev1")
    with sessions.begin() as session:
        assert not events.claim_event(session=session, team_id="T1", event_id="Ev1")
        assert events.claim_event(session=session, team_id="T2", event_id="Ev1")  # ids are per workspace


def test_a_rolled_back_event_can_be_processed_again(sessions: sessionmaker[Session]) -> None:
    """A crash before commit must leave no trace, so Slack's retry is processed."""
    session = sessions()
    with session.begin():
        assert events.claim_event(session=session, team_id="T1", event_id="Ev9")
        session.rollback()
    with sessions.begin() as session:
        assert events.claim_event(session=session, team_id="T1", event_id="Ev9")


def _enqueue(sessions: sessionmaker[Session], n: int, key_prefix: str = "k") -> None:
    with sessions.begin() as session:
        for i in range(n):
            jobs.enqueue_job(
                session=session,
                team_id="T1",
                channel_id="C1",
                kind="help",
                payload={"i": i},
                dedupe_key=f"{key_prefix}{i}",
            )


def test_a_job_with_the_same_dedupe_key_is_recorded_once(sessions: sessionmaker[Session]) -> None:
    _enqueue(sessions, 1)
    _enqueue(sessions, 1)
    with sessions() as session:
        assert jobs.count_jobs(session=session, team_id="T1", channel_id="C1") == 1


def test_each_job_is_claimed_by_exactly_one_of_many_threads(sessions: sessionmaker[Session]) -> None:
    _enqueue(sessions, 60)
    claimed: list[int] = []
    lock = threading.Lock()

    def claim_all(worker: str) -> None:
        while True:
            with sessions.begin() as session:
                job = jobs.claim_next_job(session=session, worker_id=worker, lease=dt.timedelta(minutes=1))
            if job is None:
                return
            with lock:
                claimed.append(job.id)

    threads = [threading.Thread(target=claim_all, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 60
    assert len(set(claimed)) == 60


def test_a_job_whose_lease_expired_is_claimed_again(sessions: sessionmaker[Session]) -> None:
    _enqueue(sessions, 1)
    with sessions.begin() as session:
        first = jobs.claim_next_job(session=session, worker_id="dead", lease=dt.timedelta(seconds=-1))
    with sessions.begin() as session:
        second = jobs.claim_next_job(session=session, worker_id="alive", lease=dt.timedelta(minutes=1))
        nothing = jobs.claim_next_job(session=session, worker_id="other", lease=dt.timedelta(minutes=1))
    assert first is not None and second is not None
    assert second.id == first.id and second.attempts == 2
    assert nothing is None


def test_a_job_retried_later_is_not_claimed_before_its_time(sessions: sessionmaker[Session]) -> None:
    _enqueue(sessions, 1)
    with sessions.begin() as session:
        job = jobs.claim_next_job(session=session, worker_id="w", lease=dt.timedelta(minutes=1))
        assert job is not None
        jobs.retry_job_later(session=session, job_id=job.id, worker_id="w", delay=dt.timedelta(hours=1), error="busy")
    with sessions.begin() as session:
        assert jobs.claim_next_job(session=session, worker_id="w", lease=dt.timedelta(minutes=1)) is None


def test_full_text_search_finds_words_in_one_channel_and_follows_edits(sessions: sessionmaker[Session]) -> None:
    from storage.message_search import search_messages

    with sessions.begin() as session:
        _save(session, "1700000001.000001", "We decided the release date is March 3rd")
        _save(session, "1700000002.000001", "lunch at noon?")
        _save(session, "1700000003.000001", "release notes drafted", channel="C2")
        _save(session, "1700000004.000001", "the release slipped", team="T2")
    with sessions() as session:
        found = search_messages(session=session, team_id="T1", channel_id="C1", terms=["releases", "date?"])
    assert [m.ts for m in found] == ["1700000001.000001"]
    with sessions.begin() as session:
        messages.edit_message(session=session, team_id="T1", channel_id="C1", ts="1700000001.000001", text="moved")
        messages.delete_message(session=session, team_id="T1", channel_id="C1", ts="1700000002.000001")
    with sessions() as session:
        assert search_messages(session=session, team_id="T1", channel_id="C1", terms=["release"]) == []
        assert search_messages(session=session, team_id="T1", channel_id="C1", terms=["lunch"]) == []
        assert search_messages(session=session, team_id="T1", channel_id="C1", terms=['" OR * NEAR(']) == []


def test_a_page_of_history_is_stored_once_without_the_people_who_opted_out(sessions: sessionmaker[Session]) -> None:
    from storage.opt_outs import opt_user_out

    page = [messages.NewMessage(ts=f"17000001{n:02d}.000100", user_id=f"U{n % 3}", text=f"note {n}") for n in range(9)]
    page.append(messages.NewMessage(ts="1700000199.000100", user_id="B1", text="a bot's post", is_bot=True))
    with sessions.begin() as session:
        opt_user_out(session=session, team_id="T1", user_id="U2")
        assert messages.save_messages(session=session, team_id="T1", channel_id="C1", new=page[:4]) == 3
    with sessions.begin() as session:  # the same page again (a second backfill) adds only what is new
        assert messages.save_messages(session=session, team_id="T1", channel_id="C1", new=page) == 4
    with sessions() as session:
        stored = messages.recent_messages(session=session, team_id="T1", channel_id="C1", limit=50)
        known = messages.stored_ts(session=session, team_id="T1", channel_id="C1", ts=[m.ts for m in page])
    assert [m.text for m in stored] == ["note 0", "note 1", "note 3", "note 4", "note 6", "note 7", "a bot's post"]
    assert known == {m.ts for m in stored}
    with sessions() as session:  # scoped: another channel holds none of them
        assert not messages.stored_ts(session=session, team_id="T1", channel_id="C2", ts=[m.ts for m in page])


def test_reads_go_on_while_a_writer_holds_the_database(sessions: sessionmaker[Session]) -> None:
    """On SQLite a read session takes no write lock: history stays readable behind a long write transaction."""
    from storage.db import read_session

    with sessions.begin() as session:
        _save(session, "1700000001.000100", "before")
    writer = sessions()
    writer.begin()
    _save(writer, "1700000002.000100", "not committed yet")
    try:
        with read_session(sessions) as session:
            recent = messages.recent_messages(session=session, team_id="T1", channel_id="C1", limit=10)
        assert [m.text for m in recent] == ["before"]
    finally:
        writer.commit()
        writer.close()


def test_writers_take_turns_and_a_failed_transaction_gives_its_turn_back(sessions: sessionmaker[Session]) -> None:
    """Twenty threads writing at once all get through, and a transaction that failed or was abandoned does
    not keep the next writer waiting."""

    class Boom(Exception):
        pass

    try:
        with sessions.begin() as session:
            _save(session, "1700000000.000100", "rolled back")
            raise Boom
    except Boom:
        pass
    abandoned = sessions()
    _save(abandoned, "1700000000.000200", "never committed")
    abandoned.close()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for k in range(5):
                with sessions.begin() as session:
                    _save(session, f"17000{n:03d}{k:02d}.000100", f"from thread {n}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with sessions() as session:
        stored = messages.recent_messages(session=session, team_id="T1", channel_id="C1", limit=500)
    assert len(stored) == 100
