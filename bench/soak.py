"""Soak: steady mixed Slack traffic for a long while (30 min by default) against real `python -m bot web` processes
and the bundled model worker, with a web process and the worker SIGKILLed at random every few minutes and started
again at once (as a supervisor would), then what must hold after a month of this: every accepted request that asks
for an answer got exactly one final answer, and no process grew.

    .venv/bin/python bench/soak.py [--minutes 30] [--rate 0.5] [--database sqlite|postgres|both] [--web 2]
        [--kill-every 180] [--seed 7] [--model-url URL] [--drain 600]

Loopback only: the Slack emulator plays Slack in this process (a load balancer in front of the web processes,
and Slack's own retries: a request a dying process did not ack is sent again, with X-Slack-Retry-Num, to a living
one; a slash command is not, as Slack only shows the user an error), and the traffic mixes channel messages,
mentions (`help` and questions about the channel), follow-ups in the bot's threads, `/summarize`, `/translate`,
flag reactions and deliberate Slack retries of delivered events. Bounded in time and count: it sends
`--rate` × 60 × `--minutes` requests, then waits at most `--drain` seconds for the answers.

"Answered once" counts final answers only: the answer in a mention's thread (before any follow-up), the answer
after a follow-up, the translation in a reacted message's thread, the private answer to a command's caller; a
busy note, the streaming placeholder or a half-streamed text is not one. Memory and open file descriptors are
psutil's, per process: for each process the soak keeps running, its longest life (start = 30 s into it, after the
first requests have loaded every code path; end = its last sample), with the goal of staying within 10 %.
PostgreSQL runs get a scratch schema on --postgres, dropped after. JOB_LEASE_SECONDS is --lease (30 s) so the
jobs a killed process held are taken up again within the run; the leases of live jobs are renewed as usual.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for bench.* and tests.support

from bench.load import (
    BOT,
    FAILURE_TEXTS,
    QUESTIONS,
    SECRET,
    SENTENCES,
    SLACK_ACK_LIMIT,
    TEAM,
    TEAM_CHANNEL,
    TOKEN,
    USER,
    database,
    percentile,
    seed_history,
    wait_until,
)
from bot import texts
from bot.emulator import SlackEmulator, SlackSender
from bot.model.access import free_port
from bot.slack.streaming import PLACEHOLDER, TYPING
from bot.worker.launch import spawn_worker, wait_until_ready
from storage.db import make_engine, make_session_factory
from storage.jobs import pending_job_count
from tests.support.processes import start_bot, stop_bot, wait_healthy

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MIX = {  # shares of the requests sent
    "message": 0.34, "mention": 0.18, "follow-up": 0.10, "/summarize": 0.09, "/translate": 0.08,
    "reaction": 0.09, "retry": 0.12,
}  # fmt: skip
ANSWERED = ("mention", "follow-up", "/summarize", "/translate", "reaction")  # the kinds that ask for an answer
FOLLOW_UPS = ("and who signs off on that?", "thanks, can you say it in one line?", "and when is that due?")
SETTLE_SECONDS = 30.0  # a process's "start" sample: this far into its life
SAMPLE_SECONDS = 5.0
FLAT = 0.10  # the goal: RSS and fds within 10 % from start to end
SLACK_RETRY_DELAYS = (1.0, 3.0, 10.0)  # Slack's are 1 min, 5 min, 30 min; compressed to fit the run
PEOPLE = (USER, "U0BEA", "U0CHEN", "U0DANA", "U0ELI", "U0FARA")  # who sends events: a team, not one flooding user
NOTES = (  # what the bot says while an answer is on its way: not an answer
    PLACEHOLDER,
    *(v for k, v in vars(texts).items() if k.startswith("MODEL_BUSY") and isinstance(v, str)),
    *(v.split("{")[0] for v in [getattr(texts, "QUEUED_BEHIND", None)] if isinstance(v, str)),
)
GAVE_UP = tuple(v.split("{")[0] for k, v in vars(texts).items() if k.startswith("MODEL_GAVE_UP") and isinstance(v, str))


# -- processes the soak keeps running ---------------------------------------------------------------------------


@dataclass
class Sample:
    at: float
    rss: int
    fds: int


@dataclass
class Life:
    """One run of a process, from its start to its SIGKILL (or the end of the soak)."""

    pid: int
    started: float
    first: Sample | None = None  # the first sample at least SETTLE_SECONDS into the life
    last: Sample | None = None

    @property
    def seconds(self) -> float:
        return (self.last.at - self.started) if self.last else 0.0


@dataclass
class Supervised:
    """A process that is started again at once when it is killed, as systemd or Heroku would."""

    name: str
    launch: Callable[[], subprocess.Popen[bytes]]
    ready: Callable[[subprocess.Popen[bytes]], None]
    lives: list[Life] = field(default_factory=list)
    kills: int = 0
    process: subprocess.Popen[bytes] | None = None
    up: threading.Event = field(default_factory=threading.Event)

    def start(self, *, wait: bool = True) -> None:
        """Starts the process. Call from the main thread only: its children die with the thread that started them."""
        self.process = self.launch()
        self.lives.append(Life(self.process.pid, time.monotonic()))
        if wait:
            self.ready(self.process)
        self.up.set()

    def kill(self) -> None:
        """SIGKILL, to the process group when it has one of its own (the worker), then a fresh start."""
        assert self.process is not None
        self.up.clear()
        self.sample()
        with suppress(ProcessLookupError):
            if os.getpgid(self.process.pid) == self.process.pid:
                os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.kill()
        self.process.wait()
        self.kills += 1
        self.start(wait=self.name != "worker")  # the bot must cope with a worker that is still loading

    def sample(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with suppress(psutil.Error):
            process = psutil.Process(self.process.pid)
            now = time.monotonic()
            sample = Sample(now, process.memory_info().rss, process.num_fds())
            life = self.lives[-1]
            life.last = sample
            if life.first is None and now - life.started >= SETTLE_SECONDS:
                life.first = sample

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            stop_bot(self.process)


def web_process(name: str, env: dict[str, str], workdir: str) -> tuple[Supervised, str]:
    """A supervised `python -m bot web` on a port of its own (the same one after every restart)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def ready(process: subprocess.Popen[bytes]) -> None:
        wait_healthy(url, process)

    return Supervised(name, lambda: start_bot("web", env={**env, "PORT": str(port)}, cwd=workdir), ready), url


def worker_process() -> tuple[Supervised, str]:
    """The bundled worker (`python -m bot worker`) with all three roles, on one port for all its lives."""
    port = free_port()
    cache = os.environ.get("MODEL_CACHE_DIR") or str(Path.home() / ".cache" / "parlance" / "models")
    url = f"http://127.0.0.1:{port}/v1"

    def launch() -> subprocess.Popen[bytes]:
        return spawn_worker(port=port, env={"MODEL_CACHE_DIR": cache, "WORKER_LOG_LEVEL": "warning"})

    return Supervised("worker", launch, lambda process: wait_until_ready(url, 900, process=process)), url


# -- traffic ----------------------------------------------------------------------------------------------------


@dataclass
class Request:
    index: int
    kind: str
    ts: str = ""  # the message sent, or the message reacted to
    thread_ts: str = ""  # where its answer goes (mentions, follow-ups, reactions)
    user: str = USER  # who sent it; commands: a caller of its own, so their private answers can be told apart
    event: dict[str, Any] | None = None
    event_id: str = ""
    accepted: bool = False
    acks: list[float] = field(default_factory=list)
    slack_retries: int = 0  # retries a refused delivery needed
    follow_up_ts: str = ""  # a mention's thread: the follow-up sent in it, after which answers are the follow-up's


class Traffic:
    """Sends the mix at a steady rate through a "load balancer": a random web process that is up."""

    def __init__(self, args: argparse.Namespace, emulator: SlackEmulator, webs: list[tuple[Supervised, str]]) -> None:
        self.rng = random.Random(args.seed)
        self.emulator = emulator
        self.webs = [
            (web, SlackSender(app_url=f"{url}/slack/events", signing_secret=SECRET, team_id=TEAM, emulator=emulator))
            for web, url in webs
        ]
        self.requests: list[Request] = []
        self.refused = Counter[str]()
        self._lock = threading.Lock()
        self._base = int(time.time())

    def run(self, count: int, rate: float, stop: threading.Event) -> None:
        started = time.monotonic()
        with ThreadPoolExecutor(16, thread_name_prefix="soak-send") as pool:
            for index in range(count):
                if stop.wait(max(0.0, started + index / rate - time.monotonic())):
                    break
                kind = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
                request = self._plan(index, kind)
                with self._lock:
                    self.requests.append(request)
                pool.submit(self._send, request)

    def _plan(self, index: int, kind: str) -> Request:
        ts = self.emulator.workspace.next_ts()  # Slack's clock, the one the bot's own posts get their ts from
        with self._lock:
            accepted = [r for r in self.requests if r.accepted]
        if kind == "follow-up":  # in a thread the bot has answered, one follow-up per thread
            threads = [r for r in accepted if r.kind == "mention" and not r.follow_up_ts and self.answered(r)]
            if threads:
                parent = self.rng.choice(threads[-20:])
                parent.follow_up_ts = ts
                text = self.rng.choice(FOLLOW_UPS)
                event = self._message(ts, text, thread_ts=parent.ts, user=parent.user)
                return Request(index, kind, ts, parent.ts, user=parent.user, event=event)
            kind = "mention"
        if kind == "reaction":  # a flag on a channel message nobody has reacted to yet
            reacted = {r.ts for r in self.requests if r.kind == "reaction"}
            messages = [r for r in accepted if r.kind == "message" and r.ts not in reacted]
            if messages:
                target = self.rng.choice(messages[-20:])
                user = self.rng.choice(PEOPLE)
                event = self.webs[0][1].reaction_event(TEAM_CHANNEL, target.ts, "flag-fr", user=user)
                return Request(index, kind, target.ts, target.ts, event=event)
            kind = "message"
        if kind == "retry":  # Slack sends an event again although it was acked (its own timeout)
            delivered = [r for r in accepted if r.event is not None]
            if delivered:
                original = self.rng.choice(delivered[-30:])
                return Request(index, kind, original.ts, event=original.event, event_id=original.event_id)
            kind = "message"
        person = self.rng.choice(PEOPLE)
        if kind == "message":
            return Request(
                index, kind, ts, user=person, event=self._message(ts, self.rng.choice(SENTENCES), user=person)
            )
        if kind == "mention":
            ask = "help" if self.rng.random() < 0.75 else self.rng.choice(QUESTIONS)
            event = self.webs[0][1].mention_event(TEAM_CHANNEL, person, f"<@{BOT}> {ask}", ts=ts)
            return Request(index, kind, ts, ts, user=person, event=event)
        user = f"U0S{index:05d}"
        self.emulator.add_user(user, name=user.lower())
        return Request(index, kind, user=user)

    def _message(self, ts: str, text: str, *, user: str, thread_ts: str | None = None) -> dict[str, Any]:
        return self.webs[0][1].message_event(TEAM_CHANNEL, user, text, ts=ts, thread_ts=thread_ts)

    def _send(self, request: Request) -> None:
        """One delivery; a refused event is sent again as Slack does, to whichever process is up then."""
        if request.event is not None and not request.event_id:
            request.event_id = f"Ev{self._base}{request.index:06d}"
        for attempt in range(len(SLACK_RETRY_DELAYS) + 1):
            sender = self._sender()
            try:
                if request.event is None:
                    text = "40" if request.kind == "/summarize" else f"to fr: {self.rng.choice(SENTENCES)}"
                    response = sender.command(request.kind, text, user_id=request.user, channel_id=TEAM_CHANNEL)
                else:
                    retry = attempt or (1 if request.kind == "retry" else 0)
                    response = sender.event(request.event, event_id=request.event_id, retry_num=retry or None)
                status = response.status
            except OSError as exc:  # refused or cut: the process died under us
                status, response = -1, None
                self.refused[type(exc).__name__] += 1
            if status == 200 and response is not None:
                request.acks.append(response.elapsed)
                request.accepted = True
                return
            if status != -1:
                self.refused[f"HTTP {status}"] += 1
            if request.event is None or attempt == len(SLACK_RETRY_DELAYS):
                return  # Slack does not retry a slash command: the user sees "dispatch_failed"
            request.slack_retries += 1
            time.sleep(SLACK_RETRY_DELAYS[attempt])

    def _sender(self) -> SlackSender:
        up = [sender for web, sender in self.webs if web.up.is_set()] or [sender for _, sender in self.webs]
        return self.rng.choice(up)

    # -- answers, as a person in the channel sees them ------------------------------------------------------

    def answers(self, request: Request) -> list[str]:
        """The final answers this request got so far."""
        if request.kind in ("/summarize", "/translate"):
            said = [
                m.get("text") or ""
                for m in self.emulator.ephemeral_messages(TEAM_CHANNEL)
                if m.get("via") == "response_url" and m.get("user") == request.user
            ]
        else:  # in the thread, or told privately in it (a refused translation: chat.postEphemeral)
            thread = self.emulator.messages(TEAM_CHANNEL, thread_ts=request.thread_ts)
            said = [
                m.get("text") or ""
                for m in thread
                if m.get("bot_id") and m["ts"] != request.thread_ts and self._after(request, m["ts"])
            ]
            said += [
                m.get("text") or ""
                for m in self.emulator.ephemeral_messages(TEAM_CHANNEL)
                if m.get("via") != "response_url"
                and m.get("thread_ts") == request.thread_ts
                and self._after(request, m["message_ts"])
            ]
        return [text for text in said if not text.startswith(NOTES) and not text.endswith(TYPING)]

    def answered(self, request: Request) -> bool:
        return bool(self.answers(request))

    @staticmethod
    def _after(request: Request, ts: str) -> bool:
        """Whose answer a bot message in a mention's thread is: the mention's before its follow-up (sent only once
        the mention was answered), the follow-up's after it."""
        if request.kind == "follow-up":
            return float(ts) > float(request.ts)
        if request.kind == "mention" and request.follow_up_ts:
            return float(ts) < float(request.follow_up_ts)
        return True


# -- one soak ---------------------------------------------------------------------------------------------------


def soak(args: argparse.Namespace, postgres: str | None) -> dict[str, Any]:
    emulator = SlackEmulator(bot_token=TOKEN, team_id=TEAM, bot_user_id=BOT, bot_id="B0BOT").start()
    for person in PEOPLE:
        emulator.add_user(person, name=person.removeprefix("U0").lower())
    emulator.add_channel(TEAM_CHANNEL, name="team")
    workdir = tempfile.mkdtemp(prefix="parlance-soak-")
    processes: list[Supervised] = []
    try:
        with database(postgres, workdir, "soak") as database_url:
            worker: Supervised | None = None
            model_url = args.model_url
            if not model_url:
                worker, model_url = worker_process()
                started = time.monotonic()
                worker.start()
                print(f"model worker ready in {time.monotonic() - started:.0f} s", flush=True)
                processes.append(worker)
            env = {
                "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": emulator.api_url,
                "DATABASE_URL": database_url, "MODEL_URL": model_url, "LOG_LEVEL": "WARNING",
                "JOB_LEASE_SECONDS": str(args.lease),
            }  # fmt: skip
            webs = [web_process(f"web{i + 1}", env, workdir) for i in range(args.web)]
            for web, _ in webs:
                web.start()
                processes.append(web)
            traffic = Traffic(args, emulator, webs)
            seed_history(traffic.webs[0][1])
            me = psutil.Process()
            own = Life(me.pid, time.monotonic())
            count = round(args.rate * 60 * args.minutes)
            result = run(args, traffic, processes, worker, [web for web, _ in webs], count, own, me)
            result["drained"], result["drain_seconds"] = drain(args, traffic, database_url)
            time.sleep(5)  # a duplicate would show up now
            for process in processes:
                process.sample()
            _sample_self(me, own)
            result["self"] = own
            result["traffic"] = traffic
            result["processes"] = list(processes)
            for process in processes:
                process.stop()
            processes.clear()
            return result
    finally:
        for process in processes:
            with suppress(Exception):
                process.stop()
        emulator.stop()


def run(
    args: argparse.Namespace,
    traffic: Traffic,
    processes: list[Supervised],
    worker: Supervised | None,
    webs: list[Supervised],
    count: int,
    own: Life,
    me: psutil.Process,
) -> dict[str, Any]:
    """Sends the traffic from a thread while this (main) thread samples and kills: a child dies with the thread
    that started it, so every restart happens here."""
    rng = random.Random(args.seed + 1)
    stop = threading.Event()
    sender = threading.Thread(target=traffic.run, args=(count, args.rate, stop), name="soak-traffic", daemon=True)
    started = time.monotonic()
    deadline = started + args.minutes * 60

    def next_kill() -> float:
        return time.monotonic() + args.kill_every * rng.uniform(0.5, 1.5)

    kill_web, kill_worker = next_kill(), next_kill()
    sender.start()
    try:
        while sender.is_alive() and time.monotonic() < deadline + 60:
            now = time.monotonic()
            if args.kill_every and now < deadline and now >= kill_web:
                victim = rng.choice(webs)
                print(f"  {now - started:6.0f} s  SIGKILL {victim.name}", flush=True)
                victim.kill()
                kill_web = next_kill()
            if args.kill_every and worker is not None and now < deadline and now >= kill_worker:
                print(f"  {now - started:6.0f} s  SIGKILL worker", flush=True)
                worker.kill()
                kill_worker = next_kill()
            for process in processes:
                process.sample()
            _sample_self(me, own)
            sender.join(SAMPLE_SECONDS)
    finally:
        stop.set()
        sender.join()
    return {"send_seconds": time.monotonic() - started}


def drain(args: argparse.Namespace, traffic: Traffic, database_url: str) -> tuple[bool, float]:
    """Waits, at most --drain seconds, for every accepted request that asks for an answer to have one and for
    the queue to be empty."""
    started = time.monotonic()
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)

    def done() -> bool:
        waiting = [r for r in traffic.requests if r.accepted and r.kind in ANSWERED and not traffic.answered(r)]
        with sessions() as session:
            return not waiting and pending_job_count(session=session) == 0

    try:
        finished = wait_until(done, args.drain)
    finally:
        engine.dispose()
    return finished, time.monotonic() - started


def _sample_self(me: psutil.Process, life: Life) -> None:
    now = time.monotonic()
    sample = Sample(now, me.memory_info().rss, me.num_fds())
    life.last = sample
    if life.first is None and now - life.started >= SETTLE_SECONDS:
        life.first = sample


# -- the report -------------------------------------------------------------------------------------------------


def report(args: argparse.Namespace, name: str, result: dict[str, Any]) -> None:
    traffic: Traffic = result["traffic"]
    requests = traffic.requests
    kinds = Counter(r.kind for r in requests)
    accepted = [r for r in requests if r.accepted]
    should = [r for r in accepted if r.kind in ANSWERED]
    answers = {r.index: traffic.answers(r) for r in should}
    once = [r for r in should if len(answers[r.index]) == 1]
    doubled = [r for r in should if len(answers[r.index]) > 1]
    lost = [r for r in should if not answers[r.index]]
    apologies = sum(text in FAILURE_TEXTS or text.startswith(GAVE_UP) for texts_ in answers.values() for text in texts_)
    acks = [ack for r in requests for ack in r.acks]
    processes: list[Supervised] = result["processes"]
    print(f"\nsoak on {name}: {result['send_seconds'] / 60:.1f} min of traffic at {args.rate:g} req/s, "
          f"{args.web} web process(es), model: {args.model_url or 'bundled worker (python -m bot worker)'}, "
          f"seed {args.seed}, {psutil.cpu_count()} CPU cores")  # fmt: skip
    print("  sent " + str(len(requests)) + ": " + ", ".join(f"{kind} {kinds[kind]}" for kind in MIX if kinds[kind]))
    refused = sum(traffic.refused.values())
    unaccepted = len(requests) - len(accepted)
    detail = ", ".join(f"{cause} {n}" for cause, n in traffic.refused.most_common())
    print(f"  requests accepted: {len(accepted)} of {len(requests)} (deliveries refused by a dying process: {refused}"
          + (f", {detail}" if detail else "") + f"; events sent again as Slack does: "
          f"{sum(r.slack_retries for r in requests)}; never accepted: {unaccepted}, "
          f"{sum(r.event is None for r in requests if not r.accepted)} of them slash commands)")  # fmt: skip
    kills = ", ".join(f"{p.name} {p.kills}" for p in processes)
    print(f"  SIGKILLs (each followed by a restart): {kills}   (--kill-every {args.kill_every:g} s, ±50 %)")
    print(f"  should be answered: {len(should)}   answered once: {len(once)}   doubled: {len(doubled)}   "
          f"lost: {len(lost)}   (goal 0 and 0; answers that are apologies such as 'gave up': {apologies})")  # fmt: skip
    for label, items in (("doubled", doubled), ("lost", lost)):
        for r in items[:5]:
            print(f"    {label}: {r.kind} #{r.index} ts {r.ts or r.user}: {[a[:60] for a in answers[r.index]]}")
    if acks:
        late = sum(ack > SLACK_ACK_LIMIT for ack in acks)
        print(f"  ack: p50 {statistics.median(acks) * 1000:.0f} ms   p99 {percentile(acks, 0.99) * 1000:.0f} ms   "
              f"max {max(acks) * 1000:.0f} ms   over Slack's 3 s: {late}")  # fmt: skip
    state = "drained" if result["drained"] else f"NOT drained after --drain {args.drain:g} s"
    print(f"  after the last request: {result['drain_seconds']:.0f} s to drain ({state})")
    print(f"  RSS and open fds, start ({SETTLE_SECONDS:.0f} s into a life) → end, of each process's longest life:")
    for label, life, lives in [(p.name, _longest(p.lives), len(p.lives)) for p in processes] + [
        ("soak (emulator)", result["self"], 1)
    ]:
        print("    " + _growth(label, life, lives))


def _longest(lives: list[Life]) -> Life | None:
    measured = [life for life in lives if life.first is not None and life.last is not None]
    return max(measured, key=lambda life: life.seconds) if measured else None


def _growth(name: str, life: Life | None, lives: int) -> str:
    if life is None or life.first is None or life.last is None:
        return f"{name:<16} {lives} li{'ves' if lives > 1 else 'fe'}, none lived {SETTLE_SECONDS:.0f} s"
    rss = life.last.rss / max(1, life.first.rss) - 1
    fds = life.last.fds / max(1, life.first.fds) - 1
    flat = "flat" if rss <= FLAT and fds <= FLAT else "GREW"  # less than at the start is no leak
    return (
        f"{name:<16} life of {life.seconds / 60:4.1f} min ({lives} in all): RSS {life.first.rss / 2**20:.0f} → "
        f"{life.last.rss / 2**20:.0f} MiB ({rss:+.1%}), fds {life.first.fds} → {life.last.fds} ({fds:+.1%}): {flat}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30, help="minutes of traffic (default 30)")
    parser.add_argument("--rate", type=float, default=0.5, help="requests per second (default 0.5)")
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres", default=POSTGRES, help=f"PostgreSQL for --database postgres (default {POSTGRES})")
    parser.add_argument("--web", type=int, default=2, help="web processes (default 2)")
    parser.add_argument("--kill-every", type=float, default=180, help="seconds between SIGKILLs, ±50 %% (0: none)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model-url", default=None, help="a model server to use (default: start the bundled worker)")
    parser.add_argument("--drain", type=float, default=600, help="seconds to wait for the last answers (default 600)")
    parser.add_argument("--lease", type=int, default=30, help="JOB_LEASE_SECONDS of the web processes (default 30)")
    args = parser.parse_args()
    runs = {"sqlite": [("SQLite", None)], "postgres": [("PostgreSQL", args.postgres)]}
    runs["both"] = runs["sqlite"] + runs["postgres"]
    for name, postgres in runs[args.database]:
        print(f"soak on {name}: {args.minutes:g} min", flush=True)
        report(args, name, soak(args, postgres))


if __name__ == "__main__":
    main()
