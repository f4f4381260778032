"""Every accepted request is answered exactly once, through crashes, Slack's retries, rate limits, outages, broken
connections, a locked database and a model worker that dies mid-answer.

Real `python -m bot web` processes on a real database, Slack emulated at the network boundary with injected faults.
Every mention is also delivered a second time as Slack's retry (same event_id, X-Slack-Retry-Num: 1). After each
test, every accepted mention has exactly one reply of ours in its thread and no job is left queued or running.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.emulator import SlackEmulator, SlackSender
from bot.model.access import free_port
from bot.slack.streaming import PLACEHOLDER
from bot.worker.launch import spawn_worker, wait_until_ready
from storage import jobs
from storage.db import SQLITE_BUSY_TIMEOUT_MS, make_engine, make_session_factory
from storage.tables import Job, utcnow
from tests.support.model_server import ModelServer
from tests.support.processes import start_bot, stop_bot, wait_healthy
from tests.support.slack import ALICE, BOT_TOKEN, BOT_USER, CHANNEL, SIGNING_SECRET, TEAM, wait_until

LEASE_SECONDS = 5  # JOB_LEASE_SECONDS' minimum: how soon a killed process's job is taken over


# -- the pieces ---------------------------------------------------------------------------------------------------


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """The test's own view of the database the processes share (they migrate it themselves)."""
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _env(emulator: SlackEmulator, database_url: str, **settings: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,
        "DATABASE_URL": database_url,
        "MODEL_URL": f"http://127.0.0.1:{free_port()}/v1",  # nobody listens: help answers need no model
        "LOG_LEVEL": "WARNING",
        "JOB_THREADS": "2",
        **settings,
    }


@contextmanager
def _web(
    emulator: SlackEmulator, env: dict[str, str], cwd: Path
) -> Iterator[tuple[SlackSender, subprocess.Popen[bytes]]]:
    """One `python -m bot web`, and a sender that delivers Slack's requests to it; stopped after (if still alive)."""
    port = free_port()
    process = start_bot("web", env={**env, "PORT": str(port)}, cwd=str(cwd))
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        url = f"http://127.0.0.1:{port}/slack/events"
        yield SlackSender(app_url=url, signing_secret=SIGNING_SECRET, team_id=TEAM, emulator=emulator), process
    finally:
        if process.poll() is None:
            process.terminate()
        stop_bot(process)


def _mention(sender: SlackSender, text: str, *, ts: str) -> tuple[int, int]:
    """A mention, then Slack's retry of it (its first delivery timed out, as far as Slack knows)."""
    event = sender.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> {text}", ts=ts)
    first = sender.event(event, event_id=f"Ev{ts.replace('.', '')}")
    retry = sender.event(event, event_id=f"Ev{ts.replace('.', '')}", retry_num=1)
    return first.status, retry.status


def _ts(offset: int = 0) -> str:
    return f"{int(time.time()) - 60 + offset}.000100"


def _jobs(sessions: sessionmaker[Session]) -> list[Job]:
    with sessions() as session:
        return list(session.scalars(select(Job).order_by(Job.id)))


def _settled(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return jobs.pending_job_count(session=session) == 0


def _our_replies(emulator: SlackEmulator, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in emulator.messages(CHANNEL, thread_ts=thread_ts) if m.get("user") == BOT_USER]


def _answered_once(
    emulator: SlackEmulator, sessions: sessionmaker[Session], mentions: list[str], timeout: float = 30.0
) -> dict[str, dict[str, Any]]:
    """Waits until no job is queued or running, then checks each mention's thread holds exactly one reply of ours
    (a duplicate would have had time to show itself). Returns each mention's reply."""
    wait_until(lambda: _settled(sessions), timeout, "no job queued or running")
    time.sleep(0.5)
    replies = {ts: _our_replies(emulator, ts) for ts in mentions}
    assert {ts: len(found) for ts, found in replies.items()} == dict.fromkeys(mentions, 1), replies
    assert _settled(sessions)
    return {ts: found[0] for ts, found in replies.items()}


def _ok_posts(emulator: SlackEmulator) -> list[Any]:
    return [call for call in emulator.calls("chat.postMessage") if call.ok]


# -- Slack answers badly ------------------------------------------------------------------------------------------


def test_a_rate_limited_reply_waits_for_retry_after_and_is_posted_once(emulator, database_url, sessions, tmp_path):
    emulator.fail("chat.postMessage", status=429, retry_after=1)
    with _web(emulator, _env(emulator, database_url), tmp_path) as (sender, _):
        mention = _ts()
        assert _mention(sender, "help", ts=mention) == (200, 200)
        reply = _answered_once(emulator, sessions, [mention])[mention]
    assert reply["text"] == texts.HELP
    posts = emulator.calls("chat.postMessage")
    assert [call.status for call in posts] == [429, 200]
    assert posts[1].at - posts[0].at >= 0.9  # slack_sdk waited for Retry-After


def test_server_errors_that_outlast_slack_sdks_retries_retry_the_job_and_it_answers_once(
    emulator, database_url, sessions, tmp_path
):
    """Three 500s use up slack_sdk's two retries; the job itself retries, looks for a reply it might have posted
    (none: a 500 means Slack did nothing), and posts one."""
    emulator.fail("chat.postMessage", status=500, times=3)
    with _web(emulator, _env(emulator, database_url), tmp_path) as (sender, _):
        mention = _ts()
        _mention(sender, "help", ts=mention)
        _answered_once(emulator, sessions, [mention])
    assert [call.status for call in emulator.calls("chat.postMessage")] == [500, 500, 500, 200]
    assert [call.args["include_all_metadata"] for call in emulator.calls("conversations.replies")] == ["1"]
    [job] = _jobs(sessions)
    assert (job.state, job.attempts, job.last_error) == (jobs.DONE, 2, None)


@pytest.mark.parametrize("carried_out", [True, False], ids=["after-slack-posted", "before-slack-posted"])
def test_a_connection_dropped_while_posting_never_doubles_the_reply(
    emulator, database_url, sessions, tmp_path, carried_out: bool
):
    """A broken connection does not say whether Slack posted. chat.postMessage is not repeated blindly (slack_sdk
    would post twice); the job retries, finds the reply by its metadata if Slack had posted it, and edits it."""
    emulator.fail("chat.postMessage", status=0, carried_out=carried_out)
    with _web(emulator, _env(emulator, database_url), tmp_path) as (sender, _):
        mention = _ts()
        _mention(sender, "help", ts=mention)
        reply = _answered_once(emulator, sessions, [mention])[mention]
    assert reply["text"] == texts.HELP
    posts = emulator.calls("chat.postMessage")
    assert posts[0].status == 0
    if carried_out:
        assert len(posts) == 1  # never posted again
        [edit] = [call for call in emulator.calls("chat.update") if call.ok]
        assert edit.args["ts"] == reply["ts"] == posts[0].response["ts"]
    else:
        assert [call.status for call in posts] == [0, 200]
    [job] = _jobs(sessions)
    assert (job.state, job.reply_ts) == (jobs.DONE, reply["ts"])


def test_a_reply_slack_never_accepts_fails_the_job_with_the_reason_and_tells_the_asker_privately(
    emulator, database_url, sessions, tmp_path
):
    emulator.fail("chat.postMessage", status=503, times=1000)
    with _web(emulator, _env(emulator, database_url), tmp_path) as (sender, _):
        mention = _ts()
        _mention(sender, "help", ts=mention)
        wait_until(lambda: any(job.state == jobs.QUEUED and job.attempts == 1 for job in _jobs(sessions)))
        _skip_to_last_attempt(sessions)
        wait_until(lambda: emulator.ephemeral_messages(CHANNEL) != [], what="the asker told privately")
        wait_until(lambda: _settled(sessions))
    [job] = _jobs(sessions)
    assert job.state == jobs.FAILED
    assert job.last_error == "gave up after 5 attempts: Slack answered HTTP 503 to chat.postMessage"
    assert _our_replies(emulator, mention) == [] and _ok_posts(emulator) == []
    [note] = emulator.ephemeral_messages(CHANNEL)
    assert (note["user"], note["text"], note["thread_ts"]) == (ALICE, texts.SOMETHING_WENT_WRONG, mention)


def _skip_to_last_attempt(sessions: sessionmaker[Session]) -> None:
    """Fast-forwards the job's backoff (2 + 4 + 8 + 16 s) to its last attempt, due now."""
    with sessions.begin() as session:
        session.execute(update(Job).where(Job.state == jobs.QUEUED).values(attempts=4, run_after=utcnow()))


# -- our side fails -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("native", [True, False], ids=["native-streaming", "post-and-edit"])
def test_a_web_process_killed_after_acking_a_mention_leaves_one_reply_that_a_fresh_process_edits(
    emulator, database_url, sessions, tmp_path, native: bool
):
    """kill -9 while the model is thinking: the loading status (native streaming) or the placeholder is in the
    thread. A fresh process takes the job over when its lease expires and writes or edits that one reply; here
    the model stays away past MODEL_WAIT_SECONDS, so it says so, and the job fails with the reason."""
    settings = {
        "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "MODEL_WAIT_SECONDS": "10",
        "NATIVE_STREAMING": str(native).lower(),
    }
    with ModelServer() as stalling:
        stalling.stalling.set()  # every model call hangs: the mention is mid-answer when the process is killed
        first_env = _env(emulator, database_url, MODEL_URL=stalling.url, **settings)
        with _web(emulator, first_env, tmp_path) as (sender, process):
            mention = _ts()
            assert _mention(sender, "tell me a story about our launch", ts=mention) == (200, 200)
            thinking = "assistant.threads.setStatus" if native else "chat.postMessage"
            [shown] = emulator.wait_for(thinking, timeout=15)
            process.kill()  # no shutdown, no hand-back: the job keeps its lease until it expires
            process.wait()
        if native:
            assert shown.args["status"] == texts.LOADING_STATUS and _ok_posts(emulator) == []
        else:
            assert shown.args["text"] == PLACEHOLDER
        with _web(emulator, _env(emulator, database_url, **settings), tmp_path):
            wait_until(lambda: _jobs(sessions)[0].state == jobs.FAILED, timeout=40, what="the job given up")
            reply = _answered_once(emulator, sessions, [mention])[mention]
    if not native:
        assert reply["ts"] == shown.response["ts"]
    assert reply["text"].startswith(texts.MODEL_GAVE_UP.split("{")[0])
    assert len(_ok_posts(emulator)) == 1  # one message, whichever process wrote it
    [job] = _jobs(sessions)
    assert job.attempts >= 2 and job.last_error.startswith("gave up waiting for the model after")


def test_a_locked_database_loses_and_doubles_nothing_and_the_app_recovers(emulator, database_url, sessions, tmp_path):
    """Another connection holds the database's write lock longer than the busy timeout. A mention arriving then
    gets a 500 (Slack retries it) on SQLite, or waits for the lock on PostgreSQL. A job that posted its reply just
    as the lock was taken cannot record it: it retries, finds the reply by its metadata and edits it. The next
    mention is answered as usual."""
    emulator.fail("chat.postMessage", status=429, retry_after=2)  # holds the first reply back while we lock
    settings = {"JOB_LEASE_SECONDS": str(LEASE_SECONDS)}  # a job whose retry could not be recorded is taken over
    with _web(emulator, _env(emulator, database_url, **settings), tmp_path) as (sender, _):
        posting, arriving, after = _ts(0), _ts(1), _ts(2)
        assert _mention(sender, "help", ts=posting) == (200, 200)
        wait_until(lambda: emulator.calls("chat.postMessage") != [], what="the first reply held back")
        event = sender.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts=arriving)
        # SQLite: the held-back reply is posted about 2 s into the lock (Retry-After) and then waits the busy
        # timeout to record itself; the lock outlasts both by a margin, so that record fails on a slow machine too.
        # PostgreSQL has no busy timeout: everything waits for the lock, which must end before the sender's timeout.
        sqlite = make_url(database_url).get_backend_name() == "sqlite"
        with _database_locked(database_url, seconds=2 + SQLITE_BUSY_TIMEOUT_MS / 1000 + 3 if sqlite else 4):
            response = sender.event(event, event_id="EvLOCKED")
        assert response.status in (200, 500), response.text
        assert sender.event(event, event_id="EvLOCKED", retry_num=1).status == 200
        assert _mention(sender, "help", ts=after) == (200, 200)
        replies = _answered_once(emulator, sessions, [posting, arriving, after], timeout=45)
    assert [job.state for job in _jobs(sessions)] == [jobs.DONE] * 3
    assert len(_ok_posts(emulator)) == 3
    if sqlite:  # PostgreSQL waits for the lock instead of failing
        assert _jobs(sessions)[0].attempts >= 2  # its reply could not be recorded: it ran again
        assert {call.args["ts"] for call in emulator.calls("chat.update") if call.ok} == {replies[posting]["ts"]}


@contextmanager
def _database_locked(database_url: str, *, seconds: float) -> Iterator[None]:
    """Holds the write lock from another connection for `seconds`, however long what runs inside takes."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database or "", isolation_level=None, timeout=10, check_same_thread=False)
        connection.execute("BEGIN EXCLUSIVE")
        release = connection.close  # closing rolls the empty transaction back
    else:
        engine = make_engine(database_url)
        pg = engine.connect()
        transaction = pg.begin()
        pg.execute(text("LOCK TABLE slack_events, jobs IN EXCLUSIVE MODE"))

        def release() -> None:
            transaction.rollback()
            pg.close()
            engine.dispose()

    timer = threading.Timer(seconds, release)
    timer.start()
    try:
        yield
    finally:
        timer.join()


# -- the model is away or dies -----------------------------------------------------------------------------------


def test_a_model_away_past_model_wait_seconds_gets_one_busy_note_then_a_clear_give_up(
    emulator, database_url, sessions, tmp_path
):
    """Nobody answers at MODEL_URL. The mention's placeholder becomes one busy note and, MODEL_WAIT_SECONDS after
    the request, that same message says the bot stopped waiting; a /translate caller hears the same, privately.
    Both jobs wait past the attempt limit's pace, then fail with the reason."""
    gave_up = texts.MODEL_GAVE_UP.split("{")[0]
    with _web(emulator, _env(emulator, database_url, MODEL_WAIT_SECONDS="10"), tmp_path) as (sender, _):
        mention = _ts()
        _mention(sender, "tell me a story about our launch", ts=mention)
        assert sender.command("/translate", "fr Hello team", user_id=ALICE, channel_id=CHANNEL).status == 200
        wait_until(
            lambda: [job.state for job in _jobs(sessions)] == [jobs.FAILED] * 2, timeout=40, what="both given up"
        )
        reply = _answered_once(emulator, sessions, [mention])[mention]
    # What the reply said, in order: posted (native streaming posts no placeholder: the note is its first text)
    # or edited into it.
    written = [c.args["text"] for c in emulator.calls() if c.ok and c.method in ("chat.postMessage", "chat.update")]
    written = [text for text in written if text != PLACEHOLDER]
    assert written[0] == texts.MODEL_BUSY and written.count(texts.MODEL_BUSY) == 1
    assert reply["text"] == written[-1] and reply["text"].startswith(gave_up)
    private = [post["text"] for post in emulator.response_url_posts()]
    assert len(private) == 2 and private[0] == texts.MODEL_BUSY and private[1].startswith(gave_up)
    assert all(job.last_error.startswith("gave up waiting for the model after") for job in _jobs(sessions))
    assert all(job.attempts >= 2 for job in _jobs(sessions))


@contextmanager
def _worker(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A dedicated `python -m bot.worker` (chat only) on `port`, as tests/support/workers.py starts the shared one."""
    cache = os.environ.get("PARLANCE_TEST_MODEL_CACHE") or os.environ.get("MODEL_CACHE_DIR")
    env = {
        "WORKER_ROLES": "chat",
        "WORKER_DTYPE": "float32",
        "WORKER_MAX_BATCH": "4",
        "WORKER_KV_CACHE_TOKENS": "4096",
        "MODEL_CACHE_DIR": cache or str(Path.home() / ".cache" / "parlance" / "models"),
    }
    process = spawn_worker(port=port, env=env)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/v1", timeout=240, process=process)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


@pytest.mark.model
def test_the_worker_killed_mid_answer_leaves_one_busy_note_that_becomes_the_answer(
    emulator, database_url, sessions, tmp_path
):
    port = free_port()
    model_url = f"http://127.0.0.1:{port}/v1"
    # The post-and-edit path, whose half-written edits (" …") show the answer being cut off; a stream cut short
    # by Slack is test_native_streaming.py's.
    env = _env(emulator, database_url, MODEL_URL=model_url, MODEL_WAIT_SECONDS="180", NATIVE_STREAMING="false")
    with _worker(port) as worker, _web(emulator, env, tmp_path) as (sender, _):
        mention = _ts()
        _mention(sender, "write a detailed step-by-step plan for launching a new product, with ten steps", ts=mention)
        emulator.wait_for("chat.update", timeout=120, where=lambda call: call.args["text"].endswith(" …"))
        worker.kill()  # mid-generation: part of the answer is showing
        worker.wait()
        emulator.wait_for("chat.update", timeout=30, where=lambda call: call.args["text"] == texts.MODEL_BUSY)
        with _worker(port):
            wait_until(lambda: _settled(sessions), timeout=180, what="the answer")
            reply = _answered_once(emulator, sessions, [mention])[mention]
    notes = [call for call in emulator.calls("chat.update") if call.args["text"] == texts.MODEL_BUSY]
    assert len(notes) == 1  # waiting again and again for the model does not repeat the note
    assert reply["text"] not in (texts.MODEL_BUSY, PLACEHOLDER) and not reply["text"].endswith(" …")
    assert len(_ok_posts(emulator)) == 1  # the placeholder, edited into the note, then into the answer
    [job] = _jobs(sessions)
    assert job.state == jobs.DONE and job.attempts >= 2
    assert job.last_error is None  # cleared once done (while waiting it said MODEL_WAIT_REASON: the note was shown)
