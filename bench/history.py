"""History queries at scale: "the last 200 messages of a channel", "a thread" and full-text search, with
1,000,000 stored messages, on SQLite and PostgreSQL side by side in one run.

    .venv/bin/python bench/history.py [--messages 1000000] [--postgres postgresql+psycopg://postgres@127.0.0.1/test]

The rows are spread over 50 channels of 2 workspaces, 1 in 10 a thread reply; the database is created fresh
(SQLite in a temporary file, PostgreSQL in a temporary schema) through the real migrations.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time

from sqlalchemy import insert, text

from storage.db import make_engine, make_session_factory, migrate, scratch_schema
from storage.message_search import search_messages
from storage.messages import recent_messages, thread_messages
from storage.tables import Message, utcnow

WORDS = ("release deploy friday monday blocker review design budget customer invoice lunch coffee standup "
         "retro sprint roadmap hiring outage database latency migration incident launch").split()  # fmt: skip
TEAMS, CHANNELS = ("T1", "T2"), [f"C{i:03d}" for i in range(25)]


def fill(engine, count: int, batch: int = 20_000) -> float:
    rng = random.Random(7)
    started = time.perf_counter()
    now = utcnow()
    base = 1_700_000_000
    parents: dict[tuple[str, str], str] = {}
    with engine.begin() as connection:
        rows = []
        for i in range(count):
            team, channel = TEAMS[i % 2], CHANNELS[(i // 2) % len(CHANNELS)]
            ts = f"{base + i // 10}.{i % 1_000_000:06d}"
            thread = parents.get((team, channel)) if i % 10 == 0 else None
            if i % 97 == 0:
                parents[(team, channel)] = ts
            rows.append({
                "team_id": team, "channel_id": channel, "ts": ts, "thread_ts": thread, "user_id": f"U{i % 300}",
                "text": " ".join(rng.choices(WORDS, k=12)), "is_bot": False, "edited": False, "deleted": False,
                "created_at": now, "updated_at": now,
            })  # fmt: skip
            if len(rows) == batch:
                connection.execute(insert(Message), rows)
                rows = []
        if rows:
            connection.execute(insert(Message), rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("ANALYZE messages"))
    return time.perf_counter() - started


def measure(engine, runs: int = 50) -> dict[str, float]:
    sessions = make_session_factory(engine)
    rng = random.Random(11)
    timings: dict[str, list[float]] = {
        "last 200 of a channel": [],
        "  anchor: same, bare driver": [],
        "a thread": [],
        "full-text search": [],
    }
    # The anchor: the same rows through the database driver alone (no SQLAlchemy, no objects), the floor of what
    # the app's query can cost on this machine in this run.
    raw_sql = (
        "SELECT team_id, channel_id, ts, thread_ts, user_id, text, is_bot, edited FROM messages "
        "WHERE team_id = {p} AND channel_id = {p} AND deleted = {false} ORDER BY ts DESC LIMIT 200"
    ).format(
        p="?" if engine.dialect.name == "sqlite" else "%s", false="0" if engine.dialect.name == "sqlite" else "false"
    )
    driver = engine.raw_connection()
    with sessions() as session:
        thread_roots = session.execute(
            text("SELECT team_id, channel_id, thread_ts FROM messages WHERE thread_ts IS NOT NULL LIMIT 200")
        ).all()
    for _ in range(runs):
        team, channel = rng.choice(TEAMS), rng.choice(CHANNELS)
        root = rng.choice(thread_roots)
        terms = rng.sample(WORDS, 2)
        with sessions() as session:
            started = time.perf_counter()
            rows = recent_messages(session=session, team_id=team, channel_id=channel, limit=200)
            timings["last 200 of a channel"].append(time.perf_counter() - started)
            assert len(rows) == 200
            cursor = driver.cursor()
            started = time.perf_counter()
            cursor.execute(raw_sql, (team, channel))
            assert len(cursor.fetchall()) == 200
            timings["  anchor: same, bare driver"].append(time.perf_counter() - started)
            cursor.close()
            started = time.perf_counter()
            thread_messages(session=session, team_id=root[0], channel_id=root[1], thread_ts=root[2])
            timings["a thread"].append(time.perf_counter() - started)
            started = time.perf_counter()
            search_messages(session=session, team_id=team, channel_id=channel, terms=terms, limit=30)
            timings["full-text search"].append(time.perf_counter() - started)
    driver.close()
    return {name: statistics.median(values) * 1000 for name, values in timings.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1/test")
    args = parser.parse_args()
    results: dict[str, tuple[float, dict[str, float]]] = {}

    with tempfile.TemporaryDirectory() as directory:
        engine = make_engine(f"sqlite:///{directory}/bench.db")
        migrate(engine)
        results["SQLite"] = (fill(engine, args.messages), measure(engine))
        engine.dispose()

    with scratch_schema(args.postgres, "bench") as url:
        engine = make_engine(url)
        migrate(engine)
        results["PostgreSQL"] = (fill(engine, args.messages), measure(engine))
        engine.dispose()

    print(f"history queries with {args.messages:,} stored messages (median of 50, milliseconds; target: the last 200 "
          "of a channel <= 5 ms)")  # fmt: skip
    names = list(next(iter(results.values()))[1])
    print(f"{'query':<24}" + "".join(f"{db:>14}" for db in results))
    for name in names:
        print(f"{name:<24}" + "".join(f"{timings[name]:14.2f}" for _, timings in results.values()))
    print(f"{'(insert time, s)':<24}" + "".join(f"{fill_time:14.0f}" for fill_time, _ in results.values()))


if __name__ == "__main__":
    main()
