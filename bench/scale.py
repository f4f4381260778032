"""Scale-out on PostgreSQL: jobs/s and ack latency with 1 vs 2 web processes, side by side in one run.

Each run starts N `python -m bot web` processes on a fresh PostgreSQL schema, sends the same load of signed
mentions round-robin to them (each answered by a job that posts to the emulated Slack), and reports the ack
median/p99 and how many jobs per second were answered end to end.

    .venv/bin/python bench/scale.py [--requests 400] [--concurrency 20] [--postgres URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.emulator import SlackEmulator, SlackSender
from storage.db import scratch_schema

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.support.processes
from bench.load import percentile
from tests.support.processes import web_processes

TOKEN, SECRET, TEAM, BOT, CHANNEL, USER = "xoxb-bench", "bench-secret-0123456789", "T0B", "U0BOT", "C0B", "U0A"


def run(processes: int, *, requests: int, concurrency: int, postgres: str) -> dict[str, float]:
    emulator = SlackEmulator(bot_token=TOKEN, team_id=TEAM, bot_user_id=BOT, bot_id="B0BOT").start()
    emulator.add_user(USER, name="alice")
    emulator.add_channel(CHANNEL, name="general")
    try:
        with scratch_schema(postgres, "scale") as url, tempfile.TemporaryDirectory() as cwd:
            env = {
                "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": emulator.api_url,
                "DATABASE_URL": url, "MODEL_URL": "http://127.0.0.1:9/v1", "LOG_LEVEL": "WARNING",
            }  # fmt: skip
            with web_processes(processes, env=env, cwd=cwd) as urls:
                senders = [SlackSender(app_url=u, signing_secret=SECRET, team_id=TEAM, emulator=emulator) for u in urls]
                base = int(time.time())

                def send(i: int) -> float:
                    sender = senders[i % len(senders)]
                    event = sender.mention_event(CHANNEL, USER, f"<@{BOT}> help", ts=f"{base}.{i:06d}")
                    return sender.event(event).elapsed

                started = time.perf_counter()
                with ThreadPoolExecutor(concurrency) as pool:
                    acks = sorted(pool.map(send, range(requests)))
                emulator.wait_for("chat.postMessage", count=requests, timeout=300)
                elapsed = time.perf_counter() - started
                answered = len([c for c in emulator.calls("chat.postMessage") if c.ok])
    finally:
        emulator.stop()
    return {
        "ack median ms": statistics.median(acks) * 1000,
        "ack p99 ms": percentile(acks, 0.99) * 1000,
        "jobs/s": requests / elapsed,
        "answered": answered,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1/test")
    args = parser.parse_args()
    results = {n: run(n, requests=args.requests, concurrency=args.concurrency, postgres=args.postgres) for n in (1, 2)}
    print(f"{args.requests} mentions, {args.concurrency} concurrent senders, PostgreSQL, each answered by a job")
    print(f"{'':<16}" + "".join(f"{n} web process{'es' if n > 1 else '':<3}" for n in results))
    for key in next(iter(results.values())):
        print(f"{key:<16}" + "".join(f"{values[key]:>18.1f}" for values in results.values()))


if __name__ == "__main__":
    main()
