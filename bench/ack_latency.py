"""Ack latency of the Slack-facing process: 200 signed requests, 20 at a time, against `python -m bot web` and,
as the anchor in the same run, a bare Bolt app that only acks (bench/bare_bolt.py), both served by waitress. The
bot is measured twice: running its jobs itself, and as the Procfile runs it (JOBS_IN_WEB=false beside a
`python -m bot jobs` process on the same database and cores).

Slack gives an app 3 seconds to ack. This starts the real web process (waitress, SQLite in WAL mode) against the
built-in Slack emulator, sends a mix of channel messages, mentions and slash commands exactly as Slack does, and
prints the median and p99 time to the HTTP response, then checks every mention and command was answered once.

    .venv/bin/python bench/ack_latency.py [--requests 200] [--concurrency 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bot.emulator import SlackEmulator, SlackSender
from bot.model.access import free_port

TOKEN, SECRET, TEAM, BOT, CHANNEL, USER = "xoxb-bench", "bench-secret-0123456789", "T0B", "U0BOT", "C0B", "U0A"
PEOPLE = ("alice", "bob", "carol", "dan", "erin", "frank", "grace", "heidi", "ivan", "judy")  # one job runs per person


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    emulator = SlackEmulator(bot_token=TOKEN, team_id=TEAM, bot_user_id=BOT, bot_id="B0BOT").start()
    for n, name in enumerate(PEOPLE):
        emulator.add_user(f"{USER}{n}", name=name)
    emulator.add_channel(CHANNEL, name="general")
    workdir = tempfile.mkdtemp(prefix="parlance-bench-")
    try:
        port = free_port()
        bare = [sys.executable, str(Path(__file__).with_name("bare_bolt.py")), "--port", str(port), "--token", TOKEN,
                "--secret", SECRET, "--api-url", emulator.api_url]  # fmt: skip
        anchor, _ = _measure(bare, port, dict(os.environ), emulator, args, workdir, check_answers=False)
        port = free_port()
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": emulator.api_url,
            "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
            "PORT": str(port),
            "LOG_LEVEL": "WARNING",
        }
        bot, answered = _measure([sys.executable, "-m", "bot", "web"], port, env, emulator, args, workdir)
        port = free_port()
        split_env = {**env, "PORT": str(port), "JOBS_IN_WEB": "false", "DATABASE_URL": f"sqlite:///{workdir}/split.db"}
        split, split_answered = _measure(
            [sys.executable, "-m", "bot", "web"], port, split_env, emulator, args, workdir,
            beside=[sys.executable, "-m", "bot", "jobs"],
        )  # fmt: skip
    finally:
        emulator.stop()

    print(f"ack latency, {args.requests} signed requests, {args.concurrency} concurrent, the same mix (a message, "
          "a mention, a /summarize, a message, ...), both served by waitress; target: the bot's p50 and p99 "
          "<= 1.5x the bare app's")  # fmt: skip
    print(f"  {'':<34}{'median':>10}{'p99':>10}{'max':>10}{'req/s':>8}{'> 3 s':>7}")
    sides = (("anchor: bare Bolt app, ack only", anchor), ("python -m bot web, SQLite", bot),
             ("web + jobs process (Procfile)", split))  # fmt: skip
    for label, (latencies, wall) in sides:
        p50, p99, top = (1000 * x for x in (statistics.median(latencies), _percentile(latencies, 0.99), max(latencies)))
        late = sum(x > 3 for x in latencies)
        print(f"  {label:<34}{p50:8.1f}ms{p99:8.1f}ms{top:8.1f}ms{args.requests / wall:8.0f}{late:7d}")
    for label, (latencies, _) in (("web", bot), ("web + jobs", split)):
        for name, fraction in (("p50", 0.5), ("p99", 0.99)):
            ratio = _percentile(latencies, fraction) / _percentile(anchor[0], fraction)
            print(f"  {name} ratio {label} / bare: {ratio:.2f}x  ({'met' if ratio <= 1.5 else 'MISSED'})")
    print(f"  the bot's answers: {answered}; with a jobs process: {split_answered}")


def _measure(
    command: list[str],
    port: int,
    env: dict[str, str],
    emulator: SlackEmulator,
    args: argparse.Namespace,
    workdir: str,
    *,
    check_answers: bool = True,
    beside: list[str] | None = None,
) -> tuple[tuple[list[float], float], str]:
    """Start one server (and `beside`, a process that runs its jobs), send it the request mix, wait for its
    answers, stop them: (latencies, wall seconds), answers."""
    server = subprocess.Popen(command, env=env, cwd=workdir)
    helper = subprocess.Popen(beside, env=env, cwd=workdir) if beside else None
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz")
        sender = SlackSender(
            app_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SECRET, team_id=TEAM, emulator=emulator
        )
        base = int(time.time())
        posted_before = len([c for c in emulator.calls("chat.postMessage") if c.response.get("ok")])
        answered_before = len(emulator.response_url_posts())  # the emulator is shared by the measurements

        def send(i: int) -> float:
            ts = f"{base}.{i:06d}"
            user = f"{USER}{i % len(PEOPLE)}"
            if i % 4 == 0:
                response = sender.event(sender.mention_event(CHANNEL, user, f"<@{BOT}> help", ts=ts))
            elif i % 4 == 1:
                response = sender.command("/summarize", "24h", user_id=user, channel_id=CHANNEL)
            else:
                response = sender.event(sender.message_event(CHANNEL, user, f"message {i}", ts=ts))
            if response.status != 200:
                raise RuntimeError(f"request {i} got HTTP {response.status}")
            return response.elapsed

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            latencies = list(pool.map(send, range(args.requests)))
        wall = time.perf_counter() - started
        if not check_answers:
            return (latencies, wall), ""
        mentions = len(range(0, args.requests, 4))
        commands = len(range(1, args.requests, 4))
        emulator.wait_for("chat.postMessage", count=posted_before + mentions, timeout=300)
        deadline = time.monotonic() + 300
        while len(emulator.response_url_posts()) < answered_before + commands and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        replies = len([c for c in emulator.calls("chat.postMessage") if c.response.get("ok")]) - posted_before
        answers = len(emulator.response_url_posts()) - answered_before
        return (
            latencies,
            wall,
        ), f"mentions answered {replies} of {mentions}; commands answered {answers} of {commands}"
    finally:
        for process in (server, helper):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


def _wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the web process did not become healthy")


if __name__ == "__main__":
    main()
