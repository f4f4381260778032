"""/sentiment, digests and the digest clock through the real app, the Slack emulator and the real database.

Scores are written straight into storage here (the real worker's scoring is tests/model/test_sentiment_model.py), so
these tests stay fast. Clock tests run APScheduler on the app's own database, and the two-clock test runs two
`python -m bot.background.clock` processes.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from bot.background.clock import DigestClock
from bot.emulator import SentResponse, SlackEmulator, SlackSender
from storage import channel_settings as digests
from storage import jobs
from storage import sentiment_scores as scores
from tests.support.slack import ALICE, BOT_USER, CHANNEL, TEAM, RunningApp, sender_for, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(running_app: RunningApp) -> RunningApp:
    return running_app


@pytest.fixture
def sender(app: RunningApp, emulator: SlackEmulator) -> SlackSender:
    return sender_for(app, emulator)


def _sessions(app: RunningApp) -> sessionmaker[Session]:
    return app.parlance.sessions


def _answer(response: SentResponse) -> str:
    assert response.status == 200, response.text
    return response.json().get("text", "")


def _ephemeral_posts(emulator: SlackEmulator) -> list[str]:
    return [post.get("text", "") for post in emulator.response_url_posts()]


def test_bad_sentiment_input_is_answered_clearly_in_the_ack(sender: SlackSender) -> None:
    cases = {
        "hourly": "I don't know `/sentiment hourly`",
        "daily 25:00": "`25:00` is not a time of day",
        "weekly funday 09:00": "`funday` is not a day of the week",
        "": "Channel mood digests",
    }
    for text, says in cases.items():
        answer = _answer(sender.command("/sentiment", text, user_id=ALICE, channel_id=CHANNEL))
        assert says in answer, (text, answer)


def test_daily_and_weekly_use_the_callers_time_zone_and_status_shows_them(
    sender: SlackSender, emulator: SlackEmulator, app: RunningApp
) -> None:
    sender.command("/sentiment", "daily 09:30", user_id=ALICE, channel_id=CHANNEL)
    wait_until(lambda: len(_ephemeral_posts(emulator)) == 1)
    assert emulator.calls("users.info")[0].args["user"] == ALICE
    with _sessions(app)() as session:
        stored = digests.channel_sentiment(session=session, team_id=TEAM, channel_id=CHANNEL)
    local = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Europe/Paris"))
    utc_offset = local.utcoffset()
    assert utc_offset is not None  # a time zone's datetime always has one
    offset = int(utc_offset.total_seconds() // 3600)
    assert stored.schedule == f"daily {9 - offset:02d}:30" and stored.timezone == "Europe/Paris"
    assert "every day at 09:30 (Europe/Paris" in _ephemeral_posts(emulator)[0]

    sender.command("/sentiment", "weekly fri 17:00", user_id=ALICE, channel_id=CHANNEL)
    wait_until(lambda: len(_ephemeral_posts(emulator)) == 2)
    assert "every Friday at 17:00 (Europe/Paris" in _ephemeral_posts(emulator)[1]

    sender.command("/sentiment", "status", user_id=ALICE, channel_id=CHANNEL)
    wait_until(lambda: len(_ephemeral_posts(emulator)) == 3)
    assert (
        "every Friday at 17:00" in _ephemeral_posts(emulator)[2]
        and "waiting to be scored: 0" in _ephemeral_posts(emulator)[2]
    )

    assert _answer(sender.command("/sentiment", "off", user_id=ALICE, channel_id=CHANNEL)) == texts.SENTIMENT_OFF
    with _sessions(app)() as session:
        assert digests.channel_sentiment(session=session, team_id=TEAM, channel_id=CHANNEL).schedule is None


def _post_and_score(sender: SlackSender, app: RunningApp, lines: list[tuple[str, float, str | None]]) -> list[str]:
    """Sends messages as Slack would (so the emulator holds them for permalinks) and stores scores for them."""
    now = time.time()
    sent: list[str] = []
    for i, (text, _, thread) in enumerate(lines):
        ts = f"{now - 3600 + i:.6f}"
        thread_ts = sent[int(thread)] if thread is not None else None
        sender.event(sender.message_event(CHANNEL, ALICE, text, ts=ts, thread_ts=thread_ts))
        sent.append(ts)
    with _sessions(app).begin() as session:
        pending = scores.unscored_messages(session=session, team_id=TEAM, channel_id=CHANNEL, limit=100)
        assert len(pending) == len(lines)
        by_text = {text: score for text, score, _ in lines}
        items = [scores.Score(p.id, p.version, "positive" if by_text[p.text] > 0 else "negative", by_text[p.text])
                 for p in pending]  # fmt: skip
        scores.save_scores(session=session, team_id=TEAM, channel_id=CHANNEL, scores=items)
    return sent


def test_sentiment_now_posts_a_digest_with_its_chart_through_the_v2_upload(
    sender: SlackSender, emulator: SlackEmulator, app: RunningApp
) -> None:
    sent = _post_and_score(
        sender,
        app,
        [
            ("We shipped the release, great work everyone!", 0.9, None),
            ("So proud of this team", 0.7, "0"),
            ("The deploy failed again and nobody noticed.", -0.8, None),
            ("This is really frustrating", -0.6, "2"),
            ("lunch at noon?", 0.0, None),
            ("sounds good", 0.3, "4"),
        ],
    )
    answer = _answer(sender.command("/sentiment", "now", user_id=ALICE, channel_id=CHANNEL))
    assert answer == texts.SENTIMENT_NOW.format(span="the last 24 hours")
    emulator.wait_for("files.completeUploadExternal", timeout=30)
    assert [c.method for c in emulator.calls() if c.method.startswith("files.")] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    [upload] = emulator.uploaded_files
    assert upload["channel_id"] == CHANNEL and upload["content"].startswith(b"\x89PNG")
    comment = upload["initial_comment"]
    assert "Mood: *neutral* (mean +0.08" in comment  # (0.9 + 0.7 - 0.8 - 0.6 + 0.0 + 0.3) / 6
    assert f"/archives/{CHANNEL}/p{sent[0].replace('.', '')}" in comment  # the most positive thread, linked
    assert f"/archives/{CHANNEL}/p{sent[2].replace('.', '')}" in comment  # the most negative one
    assert "“We shipped the release, great work everyone!”" in comment
    assert "Messages by day:" in comment and "3 positive, 0 neutral, 3 negative" in comment
    with _sessions(app)() as session:
        assert digests.count_digests(session=session, team_id=TEAM, channel_id=CHANNEL) == 1


def test_a_quiet_channel_gets_a_short_not_enough_digest_without_a_chart(
    sender: SlackSender, emulator: SlackEmulator
) -> None:
    sender.command("/sentiment", "now", user_id=ALICE, channel_id=CHANNEL)
    [post] = emulator.wait_for("chat.postMessage", timeout=15)
    assert "not enough messages" in post.args["text"] and post.args["channel"] == CHANNEL
    assert emulator.uploaded_files == []


@pytest.mark.parametrize("chart", [True, False], ids=["chart", "text-only"])
def test_a_digest_slack_took_but_never_confirmed_is_not_posted_again(
    sender: SlackSender, emulator: SlackEmulator, app: RunningApp, chart: bool
) -> None:
    """The connection breaks after Slack shared the chart (or posted the short digest), so the digest is not marked
    posted: the job retries, finds it in the channel, and marks it instead of posting a second one."""
    if chart:
        _post_and_score(sender, app, [(f"message {i}", 0.5 if i % 2 else -0.5, None) for i in range(6)])
    method = "files.completeUploadExternal" if chart else "chat.postMessage"
    emulator.fail(method, status=0, carried_out=True)
    sender.command("/sentiment", "now", user_id=ALICE, channel_id=CHANNEL)

    def posted() -> bool:
        with _sessions(app)() as session:
            record = digests.get_digest(session=session, team_id=TEAM, channel_id=CHANNEL, digest_id=1)
            return record is not None and record.posted and jobs.pending_job_count(session=session) == 0

    wait_until(posted)
    time.sleep(0.5)  # a second digest would show itself now
    ours = [m for m in emulator.messages(CHANNEL) if m.get("user") == BOT_USER]
    assert len(ours) == 1 and len(emulator.uploaded_files) == int(chart)
    assert [call.status for call in emulator.calls(method)] == [0]
    with _sessions(app)() as session:
        assert jobs.count_jobs(session=session, team_id=TEAM, channel_id=CHANNEL, state=jobs.DONE) == 1


def test_forget_deletes_the_channels_scores(sender: SlackSender, app: RunningApp) -> None:
    _post_and_score(sender, app, [("nice", 0.5, None), ("bad", -0.5, None)])
    answer = _answer(sender.command("/sentiment", "forget", user_id=ALICE, channel_id=CHANNEL))
    assert answer == texts.SENTIMENT_FORGOTTEN.format(count=2)
    with _sessions(app)() as session:
        assert scores.count_unscored(session=session, team_id=TEAM, channel_id=CHANNEL) == 0  # opted out
        assert digests.channel_sentiment(session=session, team_id=TEAM, channel_id=CHANNEL).opted_out


def test_the_app_home_shows_schedules_and_the_30_day_trend(
    sender: SlackSender, emulator: SlackEmulator, app: RunningApp
) -> None:
    _post_and_score(sender, app, [("great", 0.8, None), ("meh", -0.2, None)])
    with _sessions(app).begin() as session:
        digests.set_schedule(session=session, team_id=TEAM, channel_id=CHANNEL, schedule="daily 08:00",
                             timezone="Europe/Paris")  # fmt: skip
    home = {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home"}
    assert sender.event(home).status == 200
    emulator.wait_for("views.publish")
    view = emulator.home_views[ALICE]
    text = "\n".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")
    assert f"<#{CHANNEL}>" in text and "every day at" in text and "over 2 messages" in text


# -- the clock ---------------------------------------------------------------------------------------------------


def _schedule_due_an_hour_ago(sessions: sessionmaker[Session]) -> str:
    due = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    spec = f"daily {due:%H}:{due:%M}"
    with sessions.begin() as session:
        digests.set_schedule(session=session, team_id=TEAM, channel_id=CHANNEL, schedule=spec, timezone="UTC")
    return spec


def _clock(app: RunningApp, *, run_jobs: bool = True) -> DigestClock:
    engine = app.parlance.engine
    return DigestClock(engine=engine, sessions=_sessions(app), sync_seconds=3600, run_jobs=run_jobs)


def _digest_jobs(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return jobs.count_jobs(session=session, team_id=TEAM, channel_id=CHANNEL)


def test_a_schedule_survives_a_clock_restart(app: RunningApp) -> None:
    _schedule_due_an_hour_ago(_sessions(app))
    first = _clock(app)
    first.start()
    wait_until(lambda: first.next_run(TEAM, CHANNEL) is not None)
    planned = first.next_run(TEAM, CHANNEL)
    first.stop()
    second = _clock(app, run_jobs=False)
    second.start()
    try:
        assert second.next_run(TEAM, CHANNEL) == planned
        second.sync()  # an unchanged schedule is left alone, so its next run time is kept
        assert second.next_run(TEAM, CHANNEL) == planned
    finally:
        second.stop()


def test_an_outage_over_three_periods_sends_exactly_one_digest(app: RunningApp, emulator: SlackEmulator) -> None:
    sessions = _sessions(app)
    _schedule_due_an_hour_ago(sessions)
    setup = _clock(app, run_jobs=False)
    setup.start()
    setup.sync()
    planned = setup.next_run(TEAM, CHANNEL)
    assert planned is not None
    setup.set_next_run(TEAM, CHANNEL, planned - dt.timedelta(days=3))  # the clock was down for three runs
    setup.stop()

    back = _clock(app)
    back.start()
    try:
        wait_until(lambda: _digest_jobs(sessions) >= 1)
        emulator.wait_for("chat.postMessage", timeout=15)
        time.sleep(1.0)
        assert _digest_jobs(sessions) == 1
        assert len(emulator.calls("chat.postMessage")) == 1
        assert back.next_run(TEAM, CHANNEL) == planned  # and it is back on its daily beat
    finally:
        back.stop()
    with sessions() as session:
        assert digests.count_digests(session=session, team_id=TEAM, channel_id=CHANNEL) == 1


def test_two_clock_processes_on_one_database_send_each_digest_once(
    app: RunningApp, emulator: SlackEmulator, database_url: str, tmp_path: Path
) -> None:
    sessions = _sessions(app)
    _schedule_due_an_hour_ago(sessions)
    setup = _clock(app, run_jobs=False)
    setup.start()
    setup.sync()
    setup.set_next_run(TEAM, CHANNEL, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    setup.stop()
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(ROOT), "LOG_LEVEL": "WARNING"}
    clocks = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.background.clock", "--sync-seconds", "3600"], env=env, cwd=tmp_path
        )
        for _ in range(2)
    ]
    try:
        wait_until(lambda: _digest_jobs(sessions) >= 1, timeout=60)
        emulator.wait_for("chat.postMessage", timeout=15)
        time.sleep(2.0)  # room for a second digest to show itself
        assert all(clock.poll() is None for clock in clocks), "a clock process exited"
        assert _digest_jobs(sessions) == 1
        assert len(emulator.calls("chat.postMessage")) == 1
    finally:
        for clock in clocks:
            clock.terminate()
        for clock in clocks:
            clock.wait(timeout=15)
    with sessions() as session:
        assert digests.count_digests(session=session, team_id=TEAM, channel_id=CHANNEL) == 1
