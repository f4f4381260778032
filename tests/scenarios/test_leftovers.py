"""What a retried or interrupted answer leaves behind: a retry whose answer needs fewer messages than an earlier
attempt posted deletes the extras, and a job that posted just before its workspace uninstalled the app stores
nothing afterwards. The real app through the emulator; the model is scripted and holds where the test says."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.emulator import SlackEmulator
from bot.model.client import ChatMessage, ChatOptions
from bot.settings import Settings
from storage import jobs
from storage.tables import Base, Job
from tests.support.held_model import HeldModel
from tests.support.scripted_model import ScriptedModel
from tests.support.slack import ALICE, BOT_USER, CHANNEL, TEAM, sender_for, serve_app, wait_until

# An answer too long for one Slack message (12,000 characters of Markdown): two of them. Words that do not repeat,
# so no guard takes it for a loop.
LONG = " ".join(f"point{i}" for i in range(1600))
SHORT = "The short answer, this time."


class LongThenShort(ScriptedModel):
    """The first answer is long and streamed slowly enough for its second message to be posted while it is
    still being written, then waits for `go`; every later answer is SHORT."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()
        self.streams = 0

    def stream(
        self, messages: Sequence[ChatMessage], *, options: ChatOptions | None = None, role: str = "chat"
    ) -> Iterator[str]:
        self.streams += 1
        if self.streams > 1:
            yield SHORT
            return
        yield LONG
        time.sleep(1.5)  # past the stream's spacing of edits, so the next piece is shown at once
        yield " and more."
        self.go.wait(60)


def test_a_retried_answer_that_needs_fewer_messages_deletes_the_earlier_attempts_extras(
    settings: Settings, emulator: SlackEmulator
) -> None:
    """On the post-and-update path (NATIVE_STREAMING off), where an answer is edited in place."""
    model = LongThenShort()
    with serve_app(settings.model_copy(update={"native_streaming": False}), model=model) as app:
        slack = sender_for(app, emulator)
        mention = "1764370000.000001"
        slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me everything", ts=mention))
        # The placeholder and the long answer's second message are posted; then Slack fails the final edits, so
        # the job is tried again, and its second answer fits in one message.
        emulator.wait_for("chat.postMessage", count=2, timeout=30)
        emulator.fail("chat.update", status=500, times=3)
        model.go.set()
        wait_until(lambda: _settled(app.parlance.sessions), what="no job queued or running")
        with app.parlance.sessions() as session:
            [job] = session.scalars(select(Job))
        assert (job.state, job.attempts) == (jobs.DONE, 2)
    ours = [m for m in emulator.messages(CHANNEL, thread_ts=mention) if m.get("user") == BOT_USER]
    assert [m["text"] for m in ours] == [SHORT]
    [second] = [call.response["ts"] for call in emulator.calls("chat.postMessage") if call.ok][1:]
    assert [call.args["ts"] for call in emulator.calls("chat.delete") if call.ok] == [second]


def test_a_job_that_posted_just_before_an_uninstall_stores_nothing_after_it(
    settings: Settings, emulator: SlackEmulator
) -> None:
    model = HeldModel(hold_on="release notes")
    with serve_app(settings, model=model) as app:
        slack = sender_for(app, emulator)
        mention = "1764370100.000001"
        slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> draft the release notes", ts=mention))
        wait_until(lambda: model.held == 1, what="the answer being written, its placeholder posted")
        assert slack.event(slack.app_uninstalled_event()).status == 200
        assert _rows_of(app.parlance.sessions, TEAM) == {}
        model.release()  # the answer is posted now, after the uninstall deleted the workspace's data
        wait_until(
            lambda: 'parlance_jobs_total{kind="mention",outcome="done"} 1.0' in httpx.get(f"{app.url}/metrics").text,
            what="the job finished",
        )
        assert emulator.messages(CHANNEL, thread_ts=mention)[-1]["text"] == model.reply
        assert _rows_of(app.parlance.sessions, TEAM) == {}


def _settled(sessions: sessionmaker[Session]) -> bool:
    with sessions() as session:
        return jobs.pending_job_count(session=session) == 0


def _rows_of(sessions: sessionmaker[Session], team_id: str) -> dict[str, int]:
    """How many rows each of our tables holds for the workspace, leaving out the empty ones."""
    counts: dict[str, int] = {}
    with sessions() as session:
        for table in Base.metadata.sorted_tables:
            if "team_id" in table.c:
                count = session.scalar(select(func.count()).select_from(table).where(table.c.team_id == team_id))
                if count:
                    counts[table.name] = count
    return counts
