"""Group commit for the writes an ack makes: the transactions of concurrent requests share one BEGIN and COMMIT.

Every ack writes before it returns (the event claimed, the message stored, its job recorded), and on SQLite writes
take turns: with twenty requests in flight, profiling `bench/ack_latency.py` showed the request threads spending
most of their time waiting for the write turn, and most of the rest in opening, beginning and committing
transactions, each holding the turn for a millisecond or two. Here the requests that arrive while one is writing
queue up, and the next writer runs all of them in one transaction, one after another, as if each had its own:
each sees what the earlier ones wrote, and none returns before the transaction holding its writes has committed,
so an ack still means the request is stored.

A write that raises rolls the shared transaction back; the others of its group are then run again, each in a
transaction of its own, so one bad request never loses another's writes and each caller gets its own outcome.
The writes must therefore only touch the database (no posting, no waking) until `run` returns.

Leadership passes from thread to thread: the writer that finds nobody writing leads one group (its own write and
whatever queued meanwhile), then hands the turn to the first write still waiting, so no request thread is kept
writing for others under steady load.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

MAX_GROUP = 64  # writes per transaction: bounds how long one transaction holds SQLite's write lock


@dataclass(eq=False)
class _Write(Generic[T]):
    work: Callable[[Session], T]
    woken: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # set with `woken` when this write's thread is to lead the next group
    finished: bool = False
    result: Any = None
    error: BaseException | None = None


class GroupCommit:
    """Runs `work(session)` functions in shared transactions; `run` returns once its work has committed."""

    def __init__(self, sessions: sessionmaker[Session], *, max_group: int = MAX_GROUP) -> None:
        self._sessions = sessions
        self._max_group = max_group
        self._lock = threading.Lock()  # guards the queue and the leader flag
        self._queue: list[_Write[Any]] = []
        self._leading = False

    def run(self, work: Callable[[Session], T]) -> T:
        """Commit `work`'s writes (with those of requests arriving meanwhile) and return what it returned."""
        write: _Write[T] = _Write(work)
        with self._lock:
            self._queue.append(write)
            write.lead = not self._leading
            self._leading = True
        while not write.finished:
            if write.lead:
                self._lead()
            else:
                write.woken.wait()
                write.woken.clear()
        if write.error is not None:
            raise write.error
        return write.result

    def _lead(self) -> None:
        """Commit one group from the head of the queue, then pass the turn to the next waiting write, if any."""
        with self._lock:
            group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
        try:
            self._commit(group)
        except BaseException as exc:  # not an Exception (KeyboardInterrupt…): nothing of the group committed
            for write in group:
                write.error = write.error or exc
            raise
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.woken.set()
                else:
                    self._leading = False
            for write in group:
                write.finished = True
                write.woken.set()

    def _commit(self, group: list[_Write[Any]]) -> None:
        try:
            with self._sessions.begin() as session:
                for write in group:
                    write.result = write.work(session)
        except Exception as exc:
            if len(group) == 1:
                group[0].result, group[0].error = None, exc
                return
            for write in group:  # which one failed is not known for sure: each runs again on its own
                self._commit([write])
