"""Ack latency of the Slack-facing process: 200 signed requests, 20 at a time, against `python -m bot web`.

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

import httpx

from bot.emulator import SlackEmulator, SlackSender
from bot.model.access import free_port

TOKEN, SECRET, TEAM, BOT, CHANNEL, USER = "xoxb-bench", "bench-secret-0123456789", "T0B", "U0BOT", "C0B", "U0A"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()

    emulator = SlackEmulator(bot_token=TOKEN, team_id=TEAM, bot_user_id=BOT, bot_id="B0BOT").start()
    emulator.add_user(USER, name="alice")
    emulator.add_channel(CHANNEL, name="general")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="parlance-bench-")
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": emulator.api_url,
        "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }
    web = subprocess.Popen([sys.executable, "-m", "bot", "web"], env=env, cwd=workdir)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/healthz")
        sender = SlackSender(
            app_url=f"http://127.0.0.1:{port}/slack/events", signing_secret=SECRET, team_id=TEAM, emulator=emulator
        )
        base = int(time.time())

        def send(i: int) -> float:
            ts = f"{base}.{i:06d}"
            if i % 4 == 0:
                response = sender.event(sender.mention_event(CHANNEL, USER, f"<@{BOT}> help", ts=ts))
            elif i % 4 == 1:
                response = sender.command("/summarize", "24h", user_id=USER, channel_id=CHANNEL)
            else:
                response = sender.event(sender.message_event(CHANNEL, USER, f"message {i}", ts=ts))
            if response.status != 200:
                raise RuntimeError(f"request {i} got HTTP {response.status}")
            return response.elapsed

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            latencies = list(pool.map(send, range(args.requests)))
        wall = time.perf_counter() - started
        mentions = len(range(0, args.requests, 4))
        commands = len(range(1, args.requests, 4))
        emulator.wait_for("chat.postMessage", count=mentions, timeout=60)
        deadline = time.monotonic() + 60
        while len(emulator.response_url_posts()) < commands and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        replies = len([c for c in emulator.calls("chat.postMessage") if c.response.get("ok")])
        answers = len(emulator.response_url_posts())
    finally:
        web.terminate()
        web.wait(timeout=30)
        emulator.stop()

    print(f"ack latency, {args.requests} signed requests, {args.concurrency} concurrent (python -m bot web, SQLite)")
    print(f"  median {statistics.median(latencies) * 1000:.1f} ms   p99 {_percentile(latencies, 0.99) * 1000:.1f} ms"
          f"   max {max(latencies) * 1000:.1f} ms   throughput {args.requests / wall:.0f} req/s")  # fmt: skip
    print(f"  over Slack's 3 s limit: {sum(latency > 3 for latency in latencies)}")
    print(f"  mentions answered: {replies} of {mentions}; commands answered: {answers} of {commands}")


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
