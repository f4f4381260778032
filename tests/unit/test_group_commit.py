"""Group commit (storage/group_commit.py): overlapping acks share a transaction, and each still gets exactly its
own outcome: its writes committed before it returns, its own error, none of another's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.group_commit import GroupCommit
from storage.seen_events import claim_event
from storage.tables import SlackEvent

TEAM = "T1"


def _events(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(SlackEvent.event_id).where(SlackEvent.team_id == TEAM)))


def _wait_for(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_writes_that_arrive_while_one_commits_share_the_next_transaction(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    writes = GroupCommit(sessions)
    commits: list[int] = []
    event.listen(engine, "commit", lambda connection: commits.append(1))
    first_inside, release_first = threading.Event(), threading.Event()

    def slow_first(session: Session) -> bool:
        first_inside.set()
        release_first.wait(10)  # holds its transaction open while the others queue behind it
        return claim_event(session=session, team_id=TEAM, event_id="E0")

    with ThreadPoolExecutor(10) as pool:
        first = pool.submit(writes.run, slow_first)
        assert first_inside.wait(10)
        rest = [
            pool.submit(writes.run, lambda s, i=i: claim_event(session=s, team_id=TEAM, event_id=f"E{i}"))
            for i in range(1, 10)
        ]
        _wait_for(lambda: len(writes._queue) == 9)
        release_first.set()
        assert first.result() is True and all(f.result() is True for f in rest)
    assert _events(sessions) == {f"E{i}" for i in range(10)}
    assert len(commits) == 2  # the first alone, then the nine that queued behind it together


def test_each_write_sees_the_ones_before_it_in_its_group(sessions: sessionmaker[Session]) -> None:
    """A Slack retry arriving together with the original is still dropped: the second claim sees the first."""
    writes = GroupCommit(sessions)
    gate = threading.Event()

    def held(session: Session) -> bool:
        gate.wait(10)
        return claim_event(session=session, team_id=TEAM, event_id="held")

    with ThreadPoolExecutor(3) as pool:
        blocker = pool.submit(writes.run, held)
        _wait_for(lambda: not writes._queue)  # the blocker leads, alone
        same = [pool.submit(writes.run, lambda s: claim_event(session=s, team_id=TEAM, event_id="E1")) for _ in "ab"]
        _wait_for(lambda: len(writes._queue) == 2)
        gate.set()
        assert blocker.result() is True
        assert sorted(f.result() for f in same) == [False, True]


def test_a_failing_write_gets_its_own_error_and_the_others_commit(sessions: sessionmaker[Session]) -> None:
    writes = GroupCommit(sessions)
    gate = threading.Event()

    def held(session: Session) -> bool:
        gate.wait(10)
        return claim_event(session=session, team_id=TEAM, event_id="held")

    def broken(session: Session) -> bool:
        claim_event(session=session, team_id=TEAM, event_id="broken")  # written, then lost with the error
        raise ValueError("a bad request")

    with ThreadPoolExecutor(6) as pool:
        blocker = pool.submit(writes.run, held)
        _wait_for(lambda: not writes._queue)
        good = [
            pool.submit(writes.run, lambda s, i=i: claim_event(session=s, team_id=TEAM, event_id=f"ok{i}"))
            for i in range(2)
        ]
        _wait_for(lambda: len(writes._queue) == 2)
        bad = pool.submit(writes.run, broken)
        more = pool.submit(writes.run, lambda s: claim_event(session=s, team_id=TEAM, event_id="ok2"))
        _wait_for(lambda: len(writes._queue) == 4)
        gate.set()
        assert blocker.result() and all(f.result() for f in good) and more.result()
        with pytest.raises(ValueError, match="a bad request"):
            bad.result()
    assert _events(sessions) == {"held", "ok0", "ok1", "ok2"}


def test_many_concurrent_writers_all_commit_once(sessions: sessionmaker[Session]) -> None:
    writes = GroupCommit(sessions, max_group=8)
    with ThreadPoolExecutor(20) as pool:
        results = list(
            pool.map(lambda i: writes.run(lambda s: claim_event(session=s, team_id=TEAM, event_id=f"E{i}")), range(300))
        )
    assert all(results)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SlackEvent)) == 300
    assert not writes._leading and not writes._queue  # nobody left leading or waiting
