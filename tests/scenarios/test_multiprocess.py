"""Several web processes on one database: every accepted request is answered exactly once, whichever process
received it and however often Slack retried it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from bot.emulator import SlackSender
from storage import jobs
from storage.db import make_engine, make_session_factory
from tests.support.processes import web_processes
from tests.support.slack import ALICE, BOT_TOKEN, BOT_USER, CHANNEL, SIGNING_SECRET, TEAM


def test_three_web_processes_answer_300_mentions_exactly_once(emulator, database_url, tmp_path) -> None:
    env = {  # the three processes migrate the fresh database themselves, concurrently
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,
        "DATABASE_URL": database_url,
        "MODEL_URL": "http://127.0.0.1:9/v1",  # help answers need no model
        "LOG_LEVEL": "WARNING",
        "JOB_THREADS": "3",
    }
    with web_processes(3, env=env, cwd=str(tmp_path)) as urls:
        senders = [
            SlackSender(app_url=url, signing_secret=SIGNING_SECRET, team_id=TEAM, emulator=emulator) for url in urls
        ]
        base = int(time.time())

        def send(i: int) -> tuple[int, int]:
            ts = f"{base}.{i:06d}"
            event = senders[i % 3].mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts=ts)
            first = senders[i % 3].event(event, event_id=f"Ev{i:06d}")
            retry = senders[(i + 1) % 3].event(event, event_id=f"Ev{i:06d}", retry_num=1)  # Slack retries elsewhere
            return first.status, retry.status

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(send, range(300)))
        assert all(status == (200, 200) for status in statuses)
        emulator.wait_for("chat.postMessage", count=300, timeout=120)
        time.sleep(2)  # a duplicate would show up now
    replies = [call.args["thread_ts"] for call in emulator.calls("chat.postMessage") if call.ok]
    assert len(replies) == 300 and len(set(replies)) == 300
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    deadline = time.monotonic() + 30  # a job is marked done just after its reply is posted
    while time.monotonic() < deadline:
        with sessions() as session:
            done = jobs.count_jobs(session=session, team_id=TEAM, channel_id=CHANNEL, state=jobs.DONE)
            pending = jobs.pending_job_count(session=session)
        if done == 300 and pending == 0:
            break
        time.sleep(0.2)
    engine.dispose()
    assert (done, pending) == (300, 0)
