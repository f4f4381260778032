"""Load: signed Slack requests from many concurrent senders against real `python -m bot web` processes, with the
real bundled model worker (`python -m bot.worker`) kept busy, then what a team would feel and an operator would
watch: ack latency against Slack's 3 s, whether every request was answered exactly once, how long the queue took
to drain, and each process's peak memory.

    .venv/bin/python bench/load.py [--requests 500] [--concurrency 50] [--spread 0] [--web 1] [--database-url URL]

The mix (see MIX) keeps model work small enough for 2 CPU cores: most mentions ask for `help` (no model), the
rest are questions about the channel (retrieval with embeddings, then a short answer from the chat model),
`/summarize 40` (embeddings) and `/translate` of one sentence (the translation model). By default all senders
start at once and the worker works through the backlog after the burst; `--spread 30` paces the same requests
over 30 s, so the acks are measured while the worker is busy with earlier ones. SQLite (a file) by default; with
--database-url postgresql+psycopg://… each run gets a schema of its own, dropped after.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.support.processes

from bot import texts
from bot.emulator import SlackEmulator, SlackSender
from bot.model.access import free_port
from bot.worker.launch import spawn_worker, wait_until_ready
from storage.db import make_engine, make_session_factory, scratch_schema
from storage.jobs import pending_job_count
from tests.support.processes import start_bot, stop_bot, wait_healthy

TOKEN, SECRET, TEAM, BOT = "xoxb-bench", "bench-secret-0123456789", "T0B", "U0BOT"
TEAM_CHANNEL, BUSY_CHANNEL, USER = "C0TEAM", "C0BUSY", "U0ALICE"
SLACK_ACK_LIMIT = 3.0
MIX = {"help": 0.68, "question": 0.10, "summarize": 0.12, "translate": 0.10}  # shares of --requests
HISTORY = [  # the team channel's conversation, which questions and summaries read
    "We decided to ship the release on Friday after the demo.",
    "The release date is Friday the 12th; Dana owns the checklist.",
    "Can someone review the migration before Thursday?",
    "Marco will update the onboarding docs by Wednesday.",
    "The budget for the offsite is 4000 euros.",
    "We agreed to move standup to 9:30 starting Monday.",
    "Who is on call this weekend? I think it is Priya.",
    "The customer demo moved to Tuesday at 3pm.",
    "Let's pick Postgres for the new reporting service.",
    "Action item: Sam files the ticket for the flaky login test.",
    "The deadline for the grant application is March 3.",
    "Our next planning meeting is on the 20th in room B.",
]
QUESTIONS = [
    "what did we decide about the release?",
    "who owns the release checklist?",
    "when is the customer demo?",
    "what is the budget for the offsite?",
    "which database did we pick for reporting?",
    "when is the deadline for the grant application?",
]
SENTENCES = [
    "The meeting moved to Thursday.",
    "Thanks for the quick review.",
    "The build is green again.",
    "Lunch is at noon today.",
    "Please update the docs.",
]
FAILURE_TEXTS = {texts.MODEL_BUSY, texts.MODEL_NOT_READY, texts.SOMETHING_WENT_WRONG, texts.COULD_NOT_ANSWER}


@dataclass(frozen=True)
class Request:
    index: int
    kind: str  # help | question | summarize | translate
    ts: str  # mentions: the message answered in its thread
    user: str  # who sends it: a person of its own, so a command's private answers can be counted


def plan(requests: int, seed: int) -> list[Request]:
    counts = {kind: round(share * requests) for kind, share in MIX.items()}
    counts["help"] += requests - sum(counts.values())
    kinds = [kind for kind, count in counts.items() for _ in range(count)]
    random.Random(seed).shuffle(kinds)
    base = int(time.time())
    return [Request(i, kind, f"{base}.{i:06d}", f"U0C{i:05d}") for i, kind in enumerate(kinds)]


class PeakMemory:
    """Samples each process's resident memory in a thread; keeps the peak, and the CPU seconds used meanwhile
    (how busy the worker really was)."""

    def __init__(self, processes: dict[str, int], interval: float = 0.25) -> None:
        self._processes = {name: psutil.Process(pid) for name, pid in processes.items()}
        self.peak = dict.fromkeys(processes, 0)
        self.cpu_seconds = dict.fromkeys(processes, 0.0)
        self.wall_seconds = 0.0
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> PeakMemory:
        self._started = time.perf_counter()
        self._cpu_before = {name: _cpu(process) for name, process in self._processes.items()}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.wall_seconds = time.perf_counter() - self._started
        for name, process in self._processes.items():
            self.cpu_seconds[name] = _cpu(process) - self._cpu_before[name]

    def _run(self) -> None:
        while True:
            for name, process in self._processes.items():
                with suppress(psutil.Error):  # exited: keep the peak seen
                    self.peak[name] = max(self.peak[name], process.memory_info().rss)
            if self._stop.wait(self._interval):
                return


def _cpu(process: psutil.Process) -> float:
    with suppress(psutil.Error):
        times = process.cpu_times()
        return times.user + times.system
    return 0.0


@contextmanager
def database(url: str | None, workdir: str, name: str = "load") -> Iterator[str]:
    """A SQLite file in `workdir`, or with a PostgreSQL `url` a scratch schema named after `name`, dropped after."""
    if not url:
        yield f"sqlite:///{workdir}/{name}.db"
        return
    with scratch_schema(url, name) as scratch:
        yield scratch


@contextmanager
def model_worker() -> Iterator[tuple[str, int]]:
    """The real bundled worker with all three roles; yields its MODEL_URL and pid."""
    port = free_port()
    cache = os.environ.get("MODEL_CACHE_DIR") or str(Path.home() / ".cache" / "parlance" / "models")
    process = spawn_worker(port=port, env={"MODEL_CACHE_DIR": cache, "WORKER_LOG_LEVEL": "warning"})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        started = time.monotonic()
        wait_until_ready(url, 900, process=process)
        print(f"model worker ready in {time.monotonic() - started:.0f} s (chat, translate, embed)", flush=True)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def web_processes(count: int, env: dict[str, str], workdir: str) -> Iterator[list[tuple[str, int]]]:
    """`python -m bot web` processes; yields their /slack/events URLs and pids."""
    started: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(count):
            port = free_port()
            started.append((f"http://127.0.0.1:{port}", start_bot("web", env={**env, "PORT": str(port)}, cwd=workdir)))
        for url, process in started:
            wait_healthy(url, process)
        yield [(f"{url}/slack/events", process.pid) for url, process in started]
    finally:
        for _, process in started:
            process.terminate()
        for _, process in started:
            stop_bot(process)


def send(sender: SlackSender, request: Request) -> tuple[int, float]:
    if request.kind in ("help", "question"):
        channel = BUSY_CHANNEL if request.kind == "help" else TEAM_CHANNEL
        ask = "help" if request.kind == "help" else QUESTIONS[request.index % len(QUESTIONS)]
        # Each request from a person of its own: one person's mentions run one at a time (storage.jobs), and
        # this measures load from a team, not one person's flood (bench/fairness.py measures that).
        response = sender.event(sender.mention_event(channel, request.user, f"<@{BOT}> {ask}", ts=request.ts))
    elif request.kind == "summarize":
        response = sender.command("/summarize", "40", user_id=request.user, channel_id=TEAM_CHANNEL)
    else:
        sentence = SENTENCES[request.index % len(SENTENCES)]
        response = sender.command("/translate", f"to fr: {sentence}", user_id=request.user, channel_id=TEAM_CHANNEL)
    return response.status, response.elapsed


def answer_counts(emulator: SlackEmulator, requests: list[Request]) -> Counter[int]:
    """How many times each request was answered, by its index: posts in a mention's thread, private answers to
    a command's caller."""
    posts = Counter(call.args.get("thread_ts") for call in emulator.calls("chat.postMessage") if call.ok)
    private = Counter(m["user"] for m in emulator.ephemeral_messages(TEAM_CHANNEL) if m.get("via") == "response_url")
    return Counter({r.index: posts[r.ts] if r.kind in ("help", "question") else private[r.user] for r in requests})


def apologies(emulator: SlackEmulator, requests: list[Request]) -> int:
    """Answers that only say the model was busy, unreachable or failed."""
    said = [m.get("text") for m in emulator.ephemeral_messages(TEAM_CHANNEL)]
    for request in requests:
        if request.kind == "question":
            said += [m.get("text") for m in emulator.messages(TEAM_CHANNEL, thread_ts=request.ts) if m.get("bot_id")]
    return sum(text in FAILURE_TEXTS for text in said)


def wait_until(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return True
        time.sleep(1.0)
    return False


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--web", type=int, default=1, help="python -m bot web processes, requests round-robin")
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: a SQLite file)")
    parser.add_argument("--drain-timeout", type=float, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--spread", type=float, default=0, help="seconds over which request starts are spread (default 0: one "
        "burst, all senders at once); e.g. 30 measures acks while the worker is busy with earlier requests"
    )  # fmt: skip
    args = parser.parse_args()
    requests = plan(args.requests, args.seed)

    emulator = SlackEmulator(bot_token=TOKEN, team_id=TEAM, bot_user_id=BOT, bot_id="B0BOT").start()
    emulator.add_user(USER, name="alice", real_name="Alice Example")
    for request in requests:
        emulator.add_user(request.user, name=request.user.lower())
    emulator.add_channel(TEAM_CHANNEL, name="team")
    emulator.add_channel(BUSY_CHANNEL, name="busy")
    workdir = tempfile.mkdtemp(prefix="parlance-load-")
    try:
        with (
            database(args.database_url, workdir) as database_url,
            model_worker() as (model_url, worker_pid),
        ):
            env = {
                "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": emulator.api_url,
                "DATABASE_URL": database_url, "MODEL_URL": model_url, "LOG_LEVEL": "WARNING",
            }  # fmt: skip
            with web_processes(args.web, env, workdir) as webs:
                names = {f"web{i + 1}": pid for i, (_, pid) in enumerate(webs)} | {"worker": worker_pid}
                senders = [
                    SlackSender(app_url=url, signing_secret=SECRET, team_id=TEAM, emulator=emulator) for url, _ in webs
                ]
                seed_history(senders[0])
                with PeakMemory(names) as memory:
                    report = run(args, requests, senders, emulator, database_url, worker=worker_pid)
            print_report(args, requests, report, memory)
    finally:
        emulator.stop()


def seed_history(sender: SlackSender) -> None:
    """The team channel's conversation, delivered as Slack delivers messages (stored by the app), not timed."""
    base = int(time.time()) - 3600
    for i, line in enumerate(HISTORY):
        sender.event(sender.message_event(TEAM_CHANNEL, USER, line, ts=f"{base + i * 60}.000100"))


def run(
    args: argparse.Namespace,
    requests: list[Request],
    senders: list[SlackSender],
    emulator: SlackEmulator,
    database_url: str,
    *,
    worker: int,
) -> dict[str, object]:
    started = time.perf_counter()
    worker_cpu = _cpu(psutil.Process(worker))

    def paced(request: Request) -> tuple[int, float]:
        time.sleep(max(0.0, started + request.index * args.spread / len(requests) - time.perf_counter()))
        return send(senders[request.index % len(senders)], request)

    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        results = list(pool.map(paced, requests))
    sent = time.perf_counter()
    worker_cpu = _cpu(psutil.Process(worker)) - worker_cpu
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)

    def drained() -> bool:
        times = answer_counts(emulator, requests)
        with sessions() as session:
            return all(times[r.index] for r in requests) and pending_job_count(session=session) == 0

    finished = wait_until(drained, args.drain_timeout)
    drain = time.perf_counter() - sent
    time.sleep(3)  # a duplicate would show up now
    engine.dispose()
    return {
        "latencies": [elapsed for _, elapsed in results],
        "statuses": Counter(status for status, _ in results),
        "send_seconds": sent - started,
        "worker_busy_while_sending": worker_cpu / (sent - started) / (psutil.cpu_count() or 1),
        "drain_seconds": drain,
        "drained": finished,
        "times": answer_counts(emulator, requests),
        "apologies": apologies(emulator, requests),
    }


def print_report(
    args: argparse.Namespace, requests: list[Request], report: dict[str, object], memory: PeakMemory
) -> None:
    latencies: list[float] = report["latencies"]  # type: ignore[assignment]
    times: Counter[int] = report["times"]  # type: ignore[assignment]
    kinds = Counter(r.kind for r in requests)
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\n{len(requests)} signed requests, {args.concurrency} concurrent senders, {args.web} web process(es), "
          f"{database}, bundled worker on {psutil.cpu_count()} CPU cores")  # fmt: skip
    print(f"  mix: {kinds['help']} `@parlance help` (no model), {kinds['question']} questions about the channel "
          f"(embeddings + chat, 48-token answers), {kinds['summarize']} `/summarize 40` (embeddings), "
          f"{kinds['translate']} `/translate to fr: <one sentence>` (translation model)")  # fmt: skip
    print(f"  HTTP statuses: {dict(report['statuses'])}; sent over {report['send_seconds']:.1f} s"
          f" (--spread {args.spread:g}), the worker using {report['worker_busy_while_sending']:.0%} of the CPU"
          " meanwhile")  # fmt: skip
    p50, p99, top = statistics.median(latencies), percentile(latencies, 0.99), max(latencies)
    late = sum(latency > SLACK_ACK_LIMIT for latency in latencies)
    print(f"  ack latency: p50 {p50 * 1000:.0f} ms   p99 {p99 * 1000:.0f} ms   max {top * 1000:.0f} ms"
          f"   over Slack's 3 s: {late}")  # fmt: skip
    once = sum(1 for r in requests if times[r.index] == 1)
    more = sum(1 for r in requests if times[r.index] > 1)
    never = sum(1 for r in requests if times[r.index] == 0)
    print(f"  answered exactly once: {once}   more than once: {more}   not at all: {never}"
          f"   (of which apologies such as 'model busy': {report['apologies']})")  # fmt: skip
    state = "drained" if report["drained"] else f"NOT drained after {args.drain_timeout:.0f} s"
    print(f"  time to drain after the last ack: {report['drain_seconds']:.1f} s ({state})")
    print("  peak RSS: " + "   ".join(f"{name} {rss / 2**20:.0f} MiB" for name, rss in memory.peak.items()))
    cores = psutil.cpu_count() or 1
    print(f"  CPU used during the run ({memory.wall_seconds:.0f} s, share of {cores} cores): "
          + "   ".join(f"{name} {cpu:.0f} s ({cpu / memory.wall_seconds / cores:.0%})"
                       for name, cpu in memory.cpu_seconds.items()))  # fmt: skip


if __name__ == "__main__":
    main()
