"""The queue's claim keeps a thread's jobs in order and one person's flood from holding up everyone else, with
any number of claimers at once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from storage import jobs
from storage.jobs import ClaimedJob
from storage.tables import Job

LEASE = dt.timedelta(minutes=1)


def _add(sessions: sessionmaker[Session], *, user: str | None = None, thread: str | None = None) -> int:
    with sessions.begin() as session:
        job_id = jobs.enqueue_job(
            session=session, team_id="T1", channel_id="C1", kind="work", payload={}, user_id=user, thread_ts=thread
        )
    assert job_id is not None
    return int(job_id)


def _claim(sessions: sessionmaker[Session], worker: str = "w") -> ClaimedJob | None:
    with sessions.begin() as session:
        return jobs.claim_next_job(session=session, worker_id=worker, lease=LEASE)


def _finish(sessions: sessionmaker[Session], job: ClaimedJob | None, worker: str = "w") -> None:
    assert job is not None
    with sessions.begin() as session:
        jobs.finish_job(session=session, job_id=job.id, worker_id=worker)


def _claimed_id(sessions: sessionmaker[Session]) -> int | None:
    job = _claim(sessions)
    return job.id if job is not None else None


def test_a_threads_jobs_run_one_after_another_in_the_order_they_were_recorded(sessions) -> None:
    first = _add(sessions, user="U1", thread="100.1")
    follow_up = _add(sessions, user="U2", thread="100.1")
    elsewhere = _add(sessions, user="U3", thread="200.1")
    claimed = _claim(sessions)
    assert claimed is not None and claimed.id == first
    assert _claimed_id(sessions) == elsewhere  # the follow-up waits; another thread does not
    assert _claim(sessions) is None
    _finish(sessions, claimed)
    assert _claimed_id(sessions) == follow_up


def test_an_earlier_job_waiting_to_be_retried_still_holds_its_threads_next_job(sessions) -> None:
    _add(sessions, user="U1", thread="100.1")
    _add(sessions, user="U2", thread="100.1")
    first = _claim(sessions)
    assert first is not None
    with sessions.begin() as session:
        jobs.retry_job_later(session=session, job_id=first.id, worker_id="w", delay=dt.timedelta(hours=1), error="x")
    assert _claim(sessions) is None


def test_one_person_has_one_job_running_at_a_time_and_others_pass_them(sessions) -> None:
    flood = [_add(sessions, user="U0FLOOD") for _ in range(5)]
    other = _add(sessions, user="U0OTHER")
    assert _claimed_id(sessions) == other  # sent last, but theirs is the shorter queue
    running = _claim(sessions)
    assert running is not None and running.id == flood[0]
    assert _claim(sessions) is None  # four of the flood wait, though a dispatcher is free
    _finish(sessions, running)
    assert _claimed_id(sessions) == flood[1]  # in the order they were sent


def test_whoever_has_fewer_requests_waiting_is_claimed_first(sessions) -> None:
    flood = [_add(sessions, user="U0FLOOD") for _ in range(4)]
    first = _claim(sessions)
    assert first is not None and first.id == flood[0]
    late = _add(sessions, user="U0OTHER")  # sent after the whole flood
    _finish(sessions, first)
    assert _claimed_id(sessions) == late


def test_jobs_nobody_asked_for_are_not_limited(sessions) -> None:
    digests = [_add(sessions) for _ in range(3)]
    assert [_claimed_id(sessions) for _ in digests] == digests


def test_claimers_racing_never_run_two_jobs_of_one_person(sessions) -> None:
    """Many claimers at once, several rounds: each round exactly one of the person's jobs is taken, never two
    (on PostgreSQL, SKIP LOCKED alone would let each claimer take a different one)."""
    for _ in range(30):
        _add(sessions, user="U0FLOOD")
    for _round in range(3):
        claimed = _claim_at_once(sessions, claimers=6)
        assert len(claimed) == 1
        _finish(sessions, claimed[0], _owner(sessions, claimed[0].id))


def _claim_at_once(sessions: sessionmaker[Session], *, claimers: int) -> list[ClaimedJob]:
    barrier = threading.Barrier(claimers)
    claimed: list[ClaimedJob] = []
    lock = threading.Lock()

    def claim(worker: str) -> None:
        barrier.wait()
        job = _claim(sessions, worker)
        if job is not None:
            with lock:
                claimed.append(job)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return claimed


def _owner(sessions: sessionmaker[Session], job_id: int) -> str:
    from storage.tables import Job

    with sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.locked_by is not None
        return job.locked_by


def test_a_thread_with_a_reply_job_is_the_bots_from_the_moment_it_is_recorded(sessions) -> None:
    with sessions() as session:
        assert not jobs.has_reply_job_in_thread(session=session, team_id="T1", channel_id="C1", thread_ts="100.1")
    _add(sessions, user="U1", thread="100.1")
    with sessions() as session:
        assert jobs.has_reply_job_in_thread(session=session, team_id="T1", channel_id="C1", thread_ts="100.1")
        assert not jobs.has_reply_job_in_thread(session=session, team_id="T2", channel_id="C1", thread_ts="100.1")


def test_a_person_with_a_backlog_is_told_once_for_it(sessions) -> None:
    flood = [_add(sessions, user="U0FLOOD") for _ in range(7)]
    running = _claim(sessions)
    assert running is not None and running.id == flood[0]

    def tell(job_id: int) -> int | None:
        with sessions.begin() as session:
            return jobs.tell_queued_once(session=session, job_id=job_id, team_id="T1", user_id="U0FLOOD", at_least=5)

    assert tell(running.id) == 6
    assert tell(running.id) is None
    _finish(sessions, running)
    flood += [_add(sessions, user="U0FLOOD") for _ in range(6)]  # the backlog keeps growing: still the same one
    for _ in flood[1:]:  # each was in the backlog already told about
        job = _claim(sessions)
        assert job is not None and tell(job.id) is None
        _finish(sessions, job)
    later = [_add(sessions, user="U0FLOOD") for _ in range(6)]
    job = _claim(sessions)
    assert job is not None and job.id == later[0]
    assert tell(job.id) == 5  # a new backlog, after the first was answered: told again, once
    assert tell(job.id) is None


def test_the_cheap_check_before_a_claim_sees_exactly_the_due_jobs(sessions) -> None:
    """The dispatcher claims (a write) only when this read finds a job: queued and due, or running past its lease."""
    from storage.db import read_session

    def due(kinds: list[str] | None = None) -> bool:
        with read_session(sessions) as session:
            return jobs.any_due_job(session=session, kinds=kinds)

    assert not due()
    _add(sessions, user="U1")
    assert due() and due(["work"]) and not due(["other"])
    claimed = _claim(sessions)
    assert claimed is not None and not due()  # running, lease still valid
    with sessions.begin() as session:
        jobs.retry_job_later(session=session, job_id=claimed.id, worker_id="w", delay=dt.timedelta(hours=1), error="x")
    assert not due()  # queued, but not due for an hour
    _add(sessions, user="U2")
    taken = _claim(sessions, "w3")
    assert taken is not None
    assert not due()
    with sessions.begin() as session:  # its owner died: the lease runs out
        long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        session.execute(update(Job).where(Job.id == taken.id).values(lease_until=long_ago))
    assert due()
