"""The dispatcher runs each recorded job once, retries what may succeed later, and takes over jobs left by a
dispatcher that died."""

import datetime as dt
import sqlite3
import threading
import time

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.dispatch import Dispatcher, GiveUp, RetryLater, RetryPolicy
from bot.jobs.kinds import JobKind, payload_for
from bot.jobs.runners import Runners
from bot.jobs.runners.deps import RunnerDeps
from bot.slack.directory import Directory
from bot.slack.teams import OneTeam
from storage import jobs
from storage.jobs import ClaimedJob
from storage.tables import Job
from tests.support.slack import wait_until


def _enqueue(sessions: sessionmaker[Session], count: int, kind: str = "work") -> None:
    with sessions.begin() as session:
        for i in range(count):
            jobs.enqueue_job(session=session, team_id="T1", channel_id="C1", kind=kind, payload={"i": i})


def test_two_dispatchers_run_every_job_exactly_once(sessions: sessionmaker[Session]) -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def work(job: ClaimedJob) -> None:
        with lock:
            seen.append(job.payload["i"])

    first = Dispatcher(sessions=sessions, runners={"work": work}, threads=2, poll_interval=0.05)
    second = Dispatcher(sessions=sessions, runners={"work": work}, threads=2, poll_interval=0.05)
    _enqueue(sessions, 100)
    first.start()
    second.start()
    try:
        wait_until(lambda: len(seen) >= 100)
        time.sleep(0.2)
    finally:
        first.stop()
        second.stop()
    assert sorted(seen) == list(range(100))
    with sessions() as session:
        assert jobs.count_jobs(session=session, team_id="T1", channel_id="C1", state=jobs.DONE) == 100


def test_a_temporary_failure_is_retried_then_succeeds(sessions: sessionmaker[Session]) -> None:
    attempts: list[int] = []

    def flaky(job: ClaimedJob) -> None:
        attempts.append(job.attempts)
        if job.attempts < 3:
            raise RetryLater("model busy", delay=0)

    dispatcher = Dispatcher(sessions=sessions, runners={"work": flaky}, threads=1, poll_interval=0.02)
    _enqueue(sessions, 1)
    dispatcher.start()
    try:
        wait_until(lambda: len(attempts) >= 3)
        time.sleep(0.1)
    finally:
        dispatcher.stop()
    assert attempts == [1, 2, 3]
    with sessions() as session:
        assert jobs.count_jobs(session=session, team_id="T1", channel_id="C1", state=jobs.DONE) == 1


def test_a_job_that_keeps_failing_gives_up_and_tells_the_user(sessions: sessionmaker[Session]) -> None:
    told: list[str] = []

    def broken(job: ClaimedJob) -> None:
        raise RetryLater("worker down", delay=0)

    dispatcher = Dispatcher(
        sessions=sessions,
        runners={"work": broken},
        on_give_up=lambda job, reason: told.append(reason),
        threads=1,
        poll_interval=0.02,
        retry=RetryPolicy(max_attempts=2),
    )
    _enqueue(sessions, 1)
    dispatcher.start()
    try:
        wait_until(lambda: told)
    finally:
        dispatcher.stop()
    assert told == ["gave up after 2 attempts: worker down"]
    with sessions() as session:
        assert jobs.count_jobs(session=session, team_id="T1", channel_id="C1", state=jobs.FAILED) == 1


def test_a_job_left_running_by_a_dead_dispatcher_is_taken_over(sessions: sessionmaker[Session]) -> None:
    _enqueue(sessions, 1)
    with sessions.begin() as session:  # a dispatcher claims it, then "dies" without finishing
        orphan = jobs.claim_next_job(session=session, worker_id="dead", lease=dt.timedelta(milliseconds=200))
    assert orphan is not None
    ran: list[int] = []
    dispatcher = Dispatcher(sessions=sessions, runners={"work": lambda job: ran.append(job.id)}, poll_interval=0.05)
    dispatcher.start()
    try:
        wait_until(lambda: ran)
    finally:
        dispatcher.stop()
    assert ran == [orphan.id]


def test_notify_wakes_the_dispatcher_without_waiting_for_its_poll(sessions: sessionmaker[Session]) -> None:
    ran: list[float] = []
    dispatcher = Dispatcher(
        sessions=sessions, runners={"work": lambda job: ran.append(time.monotonic())}, threads=1, poll_interval=30
    )
    dispatcher.start()
    try:
        time.sleep(0.1)  # let the thread go idle on its long poll
        _enqueue(sessions, 1)
        sent = time.monotonic()
        dispatcher.notify()
        wait_until(lambda: ran, timeout=5)
    finally:
        dispatcher.stop(timeout=1)
    assert ran[0] - sent < 5


def test_work_waiting_for_a_deadline_is_retried_past_the_attempt_limit(sessions: sessionmaker[Session]) -> None:
    """A model outage is measured in minutes, not attempts: `until` keeps the job alive until the runner stops."""
    attempts: list[int] = []
    until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

    def waiting(job: ClaimedJob) -> None:
        attempts.append(job.attempts)
        if job.attempts < 4:
            raise RetryLater("model busy", delay=0, until=until)

    dispatcher = Dispatcher(
        sessions=sessions, runners={"work": waiting}, threads=1, poll_interval=0.02, retry=RetryPolicy(max_attempts=2)
    )
    _enqueue(sessions, 1)
    dispatcher.start()
    try:
        wait_until(lambda: len(attempts) >= 4)
        time.sleep(0.1)
    finally:
        dispatcher.stop()
    assert attempts == [1, 2, 3, 4]
    with sessions() as session:
        assert jobs.count_jobs(session=session, team_id="T1", channel_id="C1", state=jobs.DONE) == 1


def test_a_runner_that_gave_up_and_told_the_user_is_not_told_again(sessions: sessionmaker[Session]) -> None:
    told: list[str] = []

    def stops(job: ClaimedJob) -> None:
        raise GiveUp("gave up waiting for the model after 600 seconds")

    dispatcher = Dispatcher(
        sessions=sessions, runners={"work": stops}, on_give_up=lambda job, reason: told.append(reason), threads=1,
        poll_interval=0.02,
    )  # fmt: skip
    _enqueue(sessions, 1)
    dispatcher.start()
    try:
        wait_until(lambda: _failed(sessions) == 1)
    finally:
        dispatcher.stop()
    assert told == []


def test_a_database_error_during_a_job_is_retried_not_failed(sessions: sessionmaker[Session]) -> None:
    """A locked or unreachable database is as passing as a Slack outage; the retry finds what the attempt posted."""
    attempts: list[int] = []

    def locked_once(job: ClaimedJob) -> None:
        attempts.append(job.attempts)
        if job.attempts == 1:
            raise OperationalError("UPDATE jobs …", {}, sqlite3.OperationalError("database is locked"))

    dispatcher = Dispatcher(sessions=sessions, runners={"work": locked_once}, threads=1, poll_interval=0.02)
    _enqueue(sessions, 1)
    dispatcher.start()
    try:
        wait_until(lambda: len(attempts) >= 2, timeout=15)
        time.sleep(0.1)
    finally:
        dispatcher.stop()
    assert attempts == [1, 2]
    with sessions() as session:
        assert jobs.count_jobs(session=session, team_id="T1", channel_id="C1", state=jobs.DONE) == 1


def _failed(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return jobs.count_jobs(session=session, team_id="T1", channel_id="C1", state=jobs.FAILED)


def test_a_claimed_job_whose_payload_does_not_validate_is_failed_without_running(
    sessions: sessionmaker[Session],
) -> None:
    """A row this version cannot read (a field renamed, a kind's shape changed) fails with the reason, instead of
    crashing its runner halfway through."""
    ran: list[str] = []
    told: list[str] = []
    with sessions.begin() as session:
        for payload in ({"user": "U1", "language": "fr"}, {"user": "U1", "language": "fr", "text": "hi"}):
            jobs.enqueue_job(session=session, team_id="T1", channel_id="C1", kind="translate", payload=payload)
    dispatcher = Dispatcher(
        sessions=sessions, runners={JobKind.TRANSLATE: lambda job: ran.append(job.payload["text"])},
        on_give_up=lambda job, reason: told.append(reason), threads=1, poll_interval=0.02, check_payload=payload_for,
    )  # fmt: skip
    dispatcher.start()
    try:
        wait_until(lambda: ran and _failed(sessions) == 1)
    finally:
        dispatcher.stop()
    assert ran == ["hi"] and told == []
    with sessions() as session:
        [reason] = session.scalars(select(Job.last_error).where(Job.state == jobs.FAILED))
    assert "text" in reason and "source_ts" in reason


def test_every_job_kind_has_a_runner(sessions: sessionmaker[Session]) -> None:
    client = WebClient(token="xoxb-test", base_url="http://127.0.0.1:9/")
    teams = OneTeam(client, bot_user_id="U0BOT", workspace_url=None)
    deps = RunnerDeps(client=client, sessions=sessions, teams=teams, directory=Directory(client, teams=teams))
    assert set(Runners(deps).as_mapping()) == set(JobKind)


def test_two_dispatchers_run_a_threads_jobs_one_at_a_time_in_order(sessions: sessionmaker[Session]) -> None:
    """Different people in one thread: no two of its jobs overlap, and they start in the order recorded."""
    started: list[int] = []
    running: list[int] = []
    overlaps: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(job: ClaimedJob) -> None:
        with lock:
            overlaps.extend((other, job.payload["i"]) for other in running)
            running.append(job.payload["i"])
            started.append(job.payload["i"])
        time.sleep(0.01)
        with lock:
            running.remove(job.payload["i"])

    with sessions.begin() as session:
        for i in range(12):
            jobs.enqueue_job(
                session=session, team_id="T1", channel_id="C1", kind="work", payload={"i": i}, user_id=f"U{i}",
                thread_ts="100.1",
            )  # fmt: skip
    first = Dispatcher(sessions=sessions, runners={"work": work}, threads=2, poll_interval=0.05)
    second = Dispatcher(sessions=sessions, runners={"work": work}, threads=2, poll_interval=0.05)
    first.start()
    second.start()
    try:
        wait_until(lambda: len(started) >= 12)
    finally:
        first.stop()
        second.stop()
    assert started == list(range(12))
    assert overlaps == []
