"""SIGTERM, as a platform sends it when it redeploys or scales down: real processes stop taking work, hand back the
jobs they could not finish in time, leave no model worker behind, and exit 0 within SHUTDOWN_SECONDS."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from bot.emulator import SlackEmulator, SlackSender
from bot.jobs.dispatch import Dispatcher
from storage import jobs
from storage.db import make_engine, make_session_factory
from storage.tables import Job
from tests.support.model_server import ANSWER, ModelServer
from tests.support.processes import start_bot, stop_bot, wait_healthy
from tests.support.slack import ALICE, BOT_TOKEN, BOT_USER, CHANNEL, SIGNING_SECRET, TEAM, wait_until

SHUTDOWN_SECONDS = 5
SLACK_OF_A_BUSY_MACHINE = 5.0  # interpreter exit and log flushing on two shared cores


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    with ModelServer() as server:
        yield server


def _env(emulator: SlackEmulator, database_url: str, model_url: str, port: int) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,
        "DATABASE_URL": database_url,
        "MODEL_URL": model_url,
        "PORT": str(port),
        "LOG_LEVEL": "INFO",
        "JOB_THREADS": "2",
        "SHUTDOWN_SECONDS": str(SHUTDOWN_SECONDS),
        # The lease a released job would otherwise wait out: far longer than this test runs.
        "JOB_LEASE_SECONDS": "300",
    }


def _web(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    process = start_bot("web", env=env, cwd=str(cwd))
    wait_healthy(f"http://127.0.0.1:{env['PORT']}", process)
    return process


def _terminate(process: subprocess.Popen[bytes]) -> tuple[int, float]:
    """SIGTERM; returns the exit status and how long the process took to exit."""
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=SHUTDOWN_SECONDS + 30)
    finally:
        stop_bot(process, timeout=0.1)
    return code, time.monotonic() - started


def _refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def _job(database_url: str) -> Job:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            [job] = session.query(Job).filter(Job.kind == "mention").all()
            session.expunge(job)
            return job
    finally:
        engine.dispose()


def test_a_job_in_flight_is_handed_back_on_sigterm_and_answered_once_by_another_process(
    emulator, database_url, model_server, tmp_path
) -> None:
    from bot.model.access import free_port

    model_server.stalling.set()
    first_port = free_port()
    first = _web(_env(emulator, database_url, model_server.url, first_port), tmp_path)
    try:
        slack = SlackSender(
            app_url=f"http://127.0.0.1:{first_port}/slack/events",
            signing_secret=SIGNING_SECRET,
            team_id=TEAM,
            emulator=emulator,
        )
        ts = "1764370000.000100"
        assert slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me a joke", ts=ts)).status == 200
        # The reply's first model call (the context window, asked once per process) is where it stalls.
        wait_until(lambda: "/v1/models" in model_server.stalled_paths, 30, "the job to reach the model")
        assert _job(database_url).state == jobs.RUNNING
        assert _job(database_url).attempts == 1

        started = time.monotonic()
        first.send_signal(signal.SIGTERM)
        wait_until(lambda: _refuses_connections(first_port), 2, "the listening socket to close")
        assert first.poll() is None  # still waiting for its job meanwhile
        code = first.wait(timeout=SHUTDOWN_SECONDS + 30)
        took = time.monotonic() - started
    finally:
        stop_bot(first, timeout=0.1)
    assert code == 0
    assert took <= SHUTDOWN_SECONDS + SLACK_OF_A_BUSY_MACHINE, f"took {took:.1f}s to stop"

    released = _job(database_url)
    assert (released.state, released.locked_by, released.lease_until, released.attempts) == (jobs.QUEUED, None, None, 1)
    # Nothing was posted yet: a streamed answer's message exists from its first words (the loading status shows
    # until then), and the next attempt would edit any reply this one had recorded.

    model_server.stalling.clear()
    second_port = free_port()
    second = _web(_env(emulator, database_url, model_server.url, second_port), tmp_path)
    try:
        wait_until(lambda: _job(database_url).state == jobs.DONE, 20, "the second process to answer")  # lease: 300 s
        time.sleep(1)  # a duplicate would show up now
    finally:
        second.terminate()
        stop_bot(second)
    replies = [m for m in emulator.messages(CHANNEL, thread_ts=ts) if m.get("user") == BOT_USER]
    assert [reply["text"] for reply in replies] == [ANSWER]
    written = [call for method in ("chat.postMessage", "chat.startStream") for call in emulator.calls(method)]
    assert len([call for call in written if call.ok]) == 1


def test_a_web_process_with_nothing_in_flight_exits_promptly(emulator, database_url, model_server, tmp_path) -> None:
    from bot.model.access import free_port

    process = _web(_env(emulator, database_url, model_server.url, free_port()), tmp_path)
    code, took = _terminate(process)
    assert code == 0
    assert took < SLACK_OF_A_BUSY_MACHINE, f"took {took:.1f}s to stop with nothing to do"


def test_release_hands_back_only_the_callers_running_jobs_due_now(sessions) -> None:
    with sessions.begin() as session:
        ids = [
            jobs.enqueue_job(session=session, team_id=TEAM, channel_id=CHANNEL, kind="work", payload={"i": i})
            for i in range(3)
        ]
        mine = jobs.claim_next_job(session=session, worker_id="stopping", lease=dt.timedelta(minutes=5))
        theirs = jobs.claim_next_job(session=session, worker_id="other", lease=dt.timedelta(minutes=5))
    with sessions.begin() as session:
        released = jobs.release_jobs(session=session, job_ids=ids, worker_id="stopping")
        assert jobs.release_jobs(session=session, job_ids=[theirs.id], worker_id="stopping") == []
    assert released == [mine.id]
    with sessions.begin() as session:  # first in line again, ahead of the job that was never claimed
        again = jobs.claim_next_job(session=session, worker_id="next", lease=dt.timedelta(minutes=5))
    assert (again.id, again.attempts) == (mine.id, 2)  # the next attempt knows one ran before
    with sessions() as session:
        state = session.get(Job, theirs.id)
        assert (state.state, state.locked_by) == (jobs.RUNNING, "other")


def test_a_stopping_dispatcher_hands_back_what_it_could_not_finish(sessions) -> None:
    started, finish = threading.Event(), threading.Event()
    ran: list[tuple[str, int]] = []

    def slow(job: jobs.ClaimedJob) -> None:
        started.set()
        finish.wait(10)

    def quick(job: jobs.ClaimedJob) -> None:
        ran.append((job.kind, job.attempts))

    with sessions.begin() as session:
        jobs.enqueue_job(session=session, team_id=TEAM, channel_id=CHANNEL, kind="work", payload={})
    stopping = Dispatcher(sessions=sessions, runners={"work": slow}, threads=1, poll_interval=0.05)
    stopping.start()
    try:
        assert started.wait(10)
        began = time.monotonic()
        stopping.stop(timeout=0.3)
        assert time.monotonic() - began < 1
        assert len(stopping.release_running()) == 1
        # The next process takes it at once, although its lease (five minutes) has not expired.
        taking_over = Dispatcher(sessions=sessions, runners={"work": quick}, threads=1, poll_interval=0.05)
        assert taking_over.run_once()
        assert ran == [("work", 2)]
    finally:
        finish.set()


def _worker_of(bot: subprocess.Popen[bytes], timeout: float) -> psutil.Process:
    """The `python -m bot.worker` child, once it answers /health."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert bot.poll() is None, f"python -m bot exited with {bot.returncode}"
        for child in psutil.Process(bot.pid).children(recursive=True):
            try:
                if child.cmdline()[-2:] == ["-m", "bot.worker"]:
                    port = child.environ()["WORKER_PORT"]
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        return child
            except (psutil.Error, httpx.HTTPError, KeyError):
                pass
        time.sleep(0.2)
    raise AssertionError("the model worker did not start")


@pytest.mark.model
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_python_m_bot_leaves_no_worker_behind(emulator, database_url, tmp_path, how) -> None:
    """SIGTERM stops the worker in order; SIGKILL leaves that to the kernel's parent-death signal."""
    from bot.model.access import free_port

    env = _env(emulator, database_url, "", free_port())
    del env["MODEL_URL"]  # python -m bot then starts the bundled worker as its child
    cache = os.environ.get("PARLANCE_TEST_MODEL_CACHE") or os.environ.get("MODEL_CACHE_DIR")
    env.update(WORKER_ROLES="embed", MODEL_CACHE_DIR=cache or str(Path.home() / ".cache" / "parlance" / "models"))
    bot = start_bot("run", env=env, cwd=str(tmp_path))
    try:
        wait_healthy(f"http://127.0.0.1:{env['PORT']}", bot)
        worker = _worker_of(bot, timeout=120)
        started = time.monotonic()
        bot.send_signal(how)
        code = bot.wait(timeout=SHUTDOWN_SECONDS + 30)
        worker.wait(timeout=SHUTDOWN_SECONDS + 10)  # psutil.TimeoutExpired: the orphan this test is about
        took = time.monotonic() - started
    finally:
        stop_bot(bot, timeout=0.1)
    assert code == (0 if how == signal.SIGTERM else -signal.SIGKILL)
    assert not worker.is_running()
    assert took <= SHUTDOWN_SECONDS + SLACK_OF_A_BUSY_MACHINE, f"took {took:.1f}s to stop"
