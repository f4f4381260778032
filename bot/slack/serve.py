"""The two ways Slack reaches a deployed Parlance: HTTP (waitress) or Socket Mode. Both are thin adapters
over the same `Parlance`, and both stop the same way on SIGTERM/SIGINT, within SHUTDOWN_SECONDS:

1. take no new work: the listening socket closes (Slack retries elsewhere) or Socket Mode disconnects;
2. answer the requests already received (acks take milliseconds);
3. let running jobs finish while the budget allows, keeping a reserve for what follows;
4. hand the jobs still running back to the queue, due now, so another process starts them at once;
5. stop the bundled model worker (`python -m bot`), and exit with status 0.

`python -m bot jobs` (`serve_jobs`) runs only steps 3–5: it has no Slack connection of its own.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.app import Parlance
from bot.slack.web import HTTPServer, SlackWSGIApp

logger = logging.getLogger(__name__)

DRAIN_SECONDS = 5.0  # requests in progress are acks: milliseconds, unless the database is stuck
EXIT_RESERVE_SECONDS = 8.0  # after the jobs' grace: hand back jobs, stop the worker (uvicorn waits up to 5 s), exit
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ShutdownRequested(Exception):
    """SIGTERM or SIGINT arrived: raised in the main thread wherever it waits, so serving ends there."""


@dataclass
class StopBudget:
    """SHUTDOWN_SECONDS, shared by every step of an orderly stop so that together they end in time; a step
    that finishes early leaves its time to the next one."""

    seconds: float
    _deadline: float | None = field(default=None, init=False)

    def begin(self) -> None:
        if self._deadline is None:
            self._deadline = time.monotonic() + self.seconds

    def left(self) -> float:
        """Seconds until the whole stop must be over (all of them before it began)."""
        return self.seconds if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def for_requests(self) -> float:
        return min(DRAIN_SECONDS, self.seconds * 0.2, self.left())

    def for_jobs(self) -> float:
        """What running jobs may still use, keeping the reserve for handing back the rest and stopping."""
        return max(0.0, self.left() - min(EXIT_RESERVE_SECONDS, self.seconds * 0.3))


def make_http_server(parlance: Parlance, *, host: str | None = None, port: int | None = None) -> HTTPServer:
    settings = parlance.settings
    wsgi = SlackWSGIApp(
        parlance.bolt, parlance.engine, max_body_bytes=settings.max_request_bytes, metrics=parlance.metrics
    )
    return HTTPServer(
        wsgi,
        host=host or settings.host,
        port=settings.port if port is None else port,
        max_body=settings.max_request_bytes,
        threads=settings.web_threads,
    )


def serve_http(parlance: Parlance, budget: StopBudget | None = None, *, jobs: bool = True) -> None:
    """Serves until SIGTERM/SIGINT, then stops in order (see the module's docstring) within `budget`. `jobs`:
    whether this process runs the jobs its requests record (false when `python -m bot jobs` does)."""
    budget = budget or StopBudget(parlance.settings.shutdown_seconds)
    server = make_http_server(parlance)
    try:
        _raise_on_shutdown_signal(budget)
        parlance.start(jobs=jobs)
        server.start_in_thread()
        logger.info("listening on %s/slack/events (health: /healthz)", server.url)
        threading.Event().wait()  # until a signal raises ShutdownRequested here
    except ShutdownRequested:
        pass
    finally:
        _only_log_shutdown_signals()
        budget.begin()
        server.stop_accepting()
        if not server.wait_idle(budget.for_requests()):
            logger.warning("stopping with HTTP requests still in progress")
        server.close()
        parlance.close(timeout=budget.for_jobs())
        logger.info("stopped serving HTTP")


def start_socket_mode(parlance: Parlance) -> Callable[[], None]:
    """Connects to Slack over Socket Mode without blocking; returns the function that disconnects."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    assert parlance.settings.slack_app_token is not None
    handler = SocketModeHandler(parlance.bolt, app_token=parlance.settings.slack_app_token.get_secret_value())
    handler.connect()
    return handler.close


def serve_socket_mode(parlance: Parlance, budget: StopBudget | None = None, *, jobs: bool = True) -> None:
    """Like `serve_http`; disconnecting is how it takes no new work (Slack sends it to the other connections)."""
    budget = budget or StopBudget(parlance.settings.shutdown_seconds)
    close: Callable[[], None] | None = None
    try:
        _raise_on_shutdown_signal(budget)
        parlance.start(jobs=jobs)
        close = start_socket_mode(parlance)
        logger.info("connected to Slack over Socket Mode")
        threading.Event().wait()  # until a signal raises ShutdownRequested here
    except ShutdownRequested:
        pass
    finally:
        _only_log_shutdown_signals()
        budget.begin()
        if close is not None:
            close()
        parlance.close(timeout=budget.for_jobs())
        logger.info("stopped serving Socket Mode")


def serve_jobs(parlance: Parlance, budget: StopBudget | None = None) -> None:
    """`python -m bot jobs`: runs the jobs the web processes record, and scores sentiment, until SIGTERM/SIGINT;
    then lets running jobs finish within the budget and hands the rest back to the queue."""
    budget = budget or StopBudget(parlance.settings.shutdown_seconds)
    try:
        _raise_on_shutdown_signal(budget)
        parlance.start()
        logger.info("running jobs with %d threads", parlance.settings.job_threads)
        threading.Event().wait()  # until a signal raises ShutdownRequested here
    except ShutdownRequested:
        pass
    finally:
        _only_log_shutdown_signals()
        budget.begin()
        parlance.close(timeout=budget.for_jobs())
        logger.info("stopped running jobs")


def _raise_on_shutdown_signal(budget: StopBudget) -> None:
    """The first SIGTERM/SIGINT raises ShutdownRequested in the main thread. Raising (rather than setting a flag
    that the main thread waits on) cannot be lost or deadlock whatever the main thread holds at that moment."""

    def handle(signum: int, _frame: object) -> None:
        _only_log_shutdown_signals()
        budget.begin()
        logger.info("received %s; stopping within %.0f s", signal.Signals(signum).name, budget.seconds)
        raise ShutdownRequested(signum)

    if threading.current_thread() is threading.main_thread():
        for signum in _SIGNALS:
            signal.signal(signum, handle)


def _only_log_shutdown_signals() -> None:
    """Once stopping, a second SIGTERM or Ctrl-C must not cut the orderly stop short (SIGKILL still can)."""

    def handle(signum: int, _frame: object) -> None:
        logger.info("received %s again; already stopping", signal.Signals(signum).name)

    if threading.current_thread() is threading.main_thread():
        for signum in _SIGNALS:
            signal.signal(signum, handle)
