"""Fairness: one person floods the bot with mentions; how long do everyone else's answers take, beside how long
they take without the flood, measured in the same run?

    .venv/bin/python bench/fairness.py [--flood 50] [--flood-seconds 60] [--others 6] [--model-seconds 3]
                                       [--web 1] [--database-url URL] [--model-url URL]

Real `python -m bot web` processes, Slack emulated, signed requests. The model is, by default, a stand-in at the
network boundary that answers one request at a time and takes --model-seconds for each, as one CPU worker does
(so the figures measure the queue, not the machine); --model-url points at a real worker instead. First each of
--others people asks once with nothing else going on (their usual latency); then one person sends --flood mentions
spread over --flood-seconds while the others ask again, spread over the same time. Latency is from sending the
event to the finished answer in its thread. The goal: others' answers within 2x their usual latency.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.support.processes

from bench.load import database
from bot import texts
from bot.emulator import SlackEmulator, SlackSender
from bot.slack.streaming import PLACEHOLDER, TYPING
from storage.db import make_engine, make_session_factory
from storage.jobs import pending_job_count
from tests.support.model_server import ModelServer
from tests.support.processes import web_processes

TOKEN, SECRET, TEAM, BOT, CHANNEL = "xoxb-bench", "bench-secret-0123456789", "T0B", "U0BOT", "C0TEAM"
FLOODER = "U0FLOOD"


@dataclass
class Latencies:
    """When each mention was sent and when its thread first showed a finished answer, watched in a thread."""

    emulator: SlackEmulator
    sent: dict[str, float] = field(default_factory=dict)
    answered: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Latencies:
        self._thread = threading.Thread(target=self._watch, name="latency-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mark_sent(self, ts: str) -> None:
        with self._lock:
            self.sent[ts] = time.perf_counter()

    def seconds(self, ts: str) -> float | None:
        with self._lock:
            return self.answered[ts] - self.sent[ts] if ts in self.answered else None

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            with self._lock:
                waiting = [ts for ts in self.sent if ts not in self.answered]
            for ts in waiting:
                replies = [m for m in self.emulator.messages(CHANNEL, thread_ts=ts) if m.get("user") == BOT]
                if replies and not any(m["text"] == PLACEHOLDER or m["text"].endswith(TYPING) for m in replies):
                    with self._lock:
                        self.answered[ts] = time.perf_counter()


def mention(sender: SlackSender, watch: Latencies, user: str, text: str, ts: str) -> None:
    watch.mark_sent(ts)
    sender.event(sender.mention_event(CHANNEL, user, f"<@{BOT}> {text}", ts=ts))


def answered(watch: Latencies, ts: str) -> bool:
    return watch.seconds(ts) is not None


def wait_for(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(0.2)
    return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=50, help="mentions the flooding person sends")
    parser.add_argument("--flood-seconds", type=float, default=60, help="over how long they send them")
    parser.add_argument("--others", type=int, default=6, help="other people, each asking once per phase")
    parser.add_argument(
        "--model-seconds", type=float, default=3.0, help="the stand-in model's time per answer: 50 of them take "
        "longer than a minute, so the flood queues up"
    )  # fmt: skip
    parser.add_argument("--model-url", default=None, help="a real model worker's MODEL_URL instead of the stand-in")
    parser.add_argument("--web", type=int, default=1, help="python -m bot web processes, requests round-robin")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--drain-timeout", type=float, default=900)
    args = parser.parse_args()

    others = [f"U0P{i:03d}" for i in range(args.others)]
    emulator = SlackEmulator(bot_token=TOKEN, team_id=TEAM, bot_user_id=BOT, bot_id="B0BOT").start()
    for user in [FLOODER, *others]:
        emulator.add_user(user, name=user.lower())
    emulator.add_channel(CHANNEL, name="team")
    model = None if args.model_url else ModelServer(seconds_per_answer=args.model_seconds, max_model_len=4096)
    if model is not None:
        model.__enter__()  # serves in a thread until the end of the run
    model_url = args.model_url or (model.url if model else "")
    workdir = tempfile.mkdtemp(prefix="parlance-fairness-")
    base = int(time.time()) - 600
    try:
        with database(args.database_url, workdir, "fairness") as database_url:
            env = {
                "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": emulator.api_url,
                "DATABASE_URL": database_url, "MODEL_URL": model_url, "LOG_LEVEL": "WARNING",
            }  # fmt: skip
            with web_processes(args.web, env=env, cwd=workdir) as urls, Latencies(emulator) as watch:
                senders = [
                    SlackSender(app_url=url, signing_secret=SECRET, team_id=TEAM, emulator=emulator) for url in urls
                ]
                engine = make_engine(database_url)
                sessions = make_session_factory(engine)

                def settled() -> bool:
                    with sessions() as session:
                        return pending_job_count(session=session) == 0

                # Usual latency: each person asks with nothing else queued.
                alone = [f"{base}.{i:06d}" for i in range(len(others))]
                for i, (user, ts) in enumerate(zip(others, alone, strict=True)):
                    mention(senders[i % len(senders)], watch, user, f"a haiku about the sea, number {i}", ts)
                    wait_for(partial(answered, watch, ts), 120)
                # The flood, and the same people asking again meanwhile, evenly spread over --flood-seconds.
                flood = [f"{base + 100}.{i:06d}" for i in range(args.flood)]
                during = [f"{base + 200}.{i:06d}" for i in range(len(others))]
                started = time.perf_counter()
                plan = [
                    (i * args.flood_seconds / args.flood, FLOODER, f"flood item {i}", ts) for i, ts in enumerate(flood)
                ]
                plan += [
                    ((i + 0.5) * args.flood_seconds / len(others), user, f"a haiku about the sea, number {i}", ts)
                    for i, (user, ts) in enumerate(zip(others, during, strict=True))
                ]
                for n, (at, user, text, ts) in enumerate(sorted(plan)):
                    time.sleep(max(0.0, started + at - time.perf_counter()))
                    mention(senders[n % len(senders)], watch, user, text, ts)
                drained = wait_for(lambda: settled() and all(answered(watch, ts) for ts in flood + during),
                                   args.drain_timeout)  # fmt: skip
                drain = time.perf_counter() - started
                time.sleep(2)  # a duplicate would show up now
                engine.dispose()
            report(args, watch, emulator, alone, during, flood, drain, drained)
    finally:
        emulator.stop()
        if model is not None:
            model.__exit__()


def report(
    args: argparse.Namespace,
    watch: Latencies,
    emulator: SlackEmulator,
    alone: list[str],
    during: list[str],
    flood: list[str],
    drain: float,
    drained: bool,
) -> None:
    usual = [s for s in (watch.seconds(ts) for ts in alone) if s is not None]
    flooded = [s for s in (watch.seconds(ts) for ts in during) if s is not None]
    model = f"a real worker at {args.model_url}" if args.model_url else f"a stand-in, {args.model_seconds:g} s/answer"
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\n{args.flood} mentions from one person over {args.flood_seconds:g} s, {args.others} others asking "
          f"meanwhile; {args.web} web process(es), {database}, model: {model}")  # fmt: skip
    if not usual or not flooded:
        print("  no latencies measured (answers missing)")
        return
    u50, f50, umax, fmax = statistics.median(usual), statistics.median(flooded), max(usual), max(flooded)
    print(f"  others' latency alone:        median {u50:.2f} s   max {umax:.2f} s   "
          f"({len(usual)}/{len(alone)} answered)")  # fmt: skip
    print(f"  others' latency in the flood: median {f50:.2f} s   max {fmax:.2f} s   "
          f"({len(flooded)}/{len(during)} answered)")  # fmt: skip
    print(f"  ratio (flood / alone):        median {f50 / u50:.2f}x   max {fmax / umax:.2f}x   (goal: within 2x)")
    flood_done = [s for s in (watch.seconds(ts) for ts in flood) if s is not None]
    posts = [
        len([m for m in emulator.messages(CHANNEL, thread_ts=ts) if m.get("user") == BOT]) for ts in flood + during
    ]
    notes = [m for m in emulator.ephemeral_messages(CHANNEL) if m.get("user") == FLOODER]
    queued_notes = sum(m.get("text", "").startswith(texts.QUEUED_BEHIND.split("{")[0]) for m in notes)
    state = "drained" if drained else f"NOT drained after {args.drain_timeout:.0f} s"
    print(f"  the flooder: {len(flood_done)}/{len(flood)} answered, the slowest {max(flood_done, default=0):.1f} s "
          f"after it was sent; queue {state} {drain:.1f} s after the flood began; told they are queued: "
          f"{queued_notes} time(s)")  # fmt: skip
    print(f"  answered exactly once: {posts.count(1)}   more than once: {sum(p > 1 for p in posts)}   "
          f"not at all: {posts.count(0)}")  # fmt: skip


if __name__ == "__main__":
    main()
