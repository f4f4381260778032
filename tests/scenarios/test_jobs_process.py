"""The Procfile's split: `python -m bot web` with JOBS_IN_WEB=false only acks and records; `python -m bot jobs`
answers what it recorded, once, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import time

from bot.emulator import SlackSender
from storage import jobs
from tests.scenarios.test_shutdown import SHUTDOWN_SECONDS, SLACK_OF_A_BUSY_MACHINE, _env, _job, _web, model_server
from tests.support.model_server import ANSWER
from tests.support.processes import start_bot, stop_bot
from tests.support.slack import ALICE, BOT_USER, CHANNEL, SIGNING_SECRET, TEAM, wait_until

__all__ = ["model_server"]  # the fixture, shared with test_shutdown


def test_the_web_process_records_and_the_jobs_process_answers_once(
    emulator, database_url, model_server, tmp_path
) -> None:
    from bot.model.access import free_port

    port = free_port()
    env = {**_env(emulator, database_url, model_server.url, port), "JOBS_IN_WEB": "false"}
    web = _web(env, tmp_path)
    runner = None
    try:
        url = f"http://127.0.0.1:{port}/slack/events"
        slack = SlackSender(app_url=url, signing_secret=SIGNING_SECRET, team_id=TEAM, emulator=emulator)
        ts = "1764370000.000200"
        assert slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me a joke", ts=ts)).status == 200
        time.sleep(2)  # the web process alone runs nothing
        assert _job(database_url).state == jobs.QUEUED

        runner = start_bot("jobs", env=env, cwd=str(tmp_path))
        wait_until(lambda: _job(database_url).state == jobs.DONE, 30, "the jobs process to answer")
        time.sleep(1)  # a duplicate would show up now
        replies = [m for m in emulator.messages(CHANNEL, thread_ts=ts) if m.get("user") == BOT_USER]
        assert [reply["text"] for reply in replies] == [ANSWER]

        started = time.monotonic()
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=SHUTDOWN_SECONDS + 30) == 0
        assert time.monotonic() - started < SLACK_OF_A_BUSY_MACHINE
    finally:
        if runner is not None:
            stop_bot(runner, timeout=0.1)
        web.terminate()
        stop_bot(web)
