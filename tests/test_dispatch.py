"""The dispatcher runs each recorded job once, retries what may succeed later, and takes over jobs left by a
dispatcher that died."""

import datetime as dt
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from bot.dispatch import Dispatcher, RetryLater, RetryPolicy
from storage import jobs
from storage.jobs import ClaimedJob


def _enqueue(sessions: sessionmaker[Session], count: int, kind: str = "work") -> None:
    with sessions.begin() as session:
        for i in range(count):
            jobs.enqueue_job(session=session, team_id="T1", channel_id="C1", kind=kind, payload={"i": i})


def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


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
        _wait(lambda: len(seen) >= 100)
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
        _wait(lambda: len(attempts) >= 3)
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
        _wait(lambda: told)
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
        _wait(lambda: ran)
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
        _wait(lambda: ran, timeout=5)
    finally:
        dispatcher.stop(timeout=1)
    assert ran[0] - sent < 5
