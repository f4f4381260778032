"""Scoring throughput: how fast the background scorer drains a backlog, in messages per second.

    .venv/bin/python bench/sentiment.py                    # 1,000 messages (a quick look)
    .venv/bin/python bench/sentiment.py --messages 10000   # the 10,000-message backlog of the issue

Messages are the tweets of the sentiment dev set (repeated as needed) stored in a fresh SQLite file, scored by the
same code path as the web process (`score_pending`, batches of --batch), through MODEL_URL or a bundled worker.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_TEXTS = ROOT.parent / "shared" / "eval" / "sentiment" / "tweets_GroundTruth.txt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=128, help="messages per scoring round (the scorer's default)")
    parser.add_argument("--method", choices=["embeddings", "labels", "combined"], default="embeddings")
    parser.add_argument("--texts", type=Path, default=DEFAULT_TEXTS, help="tab-separated id, rating, text")
    args = parser.parse_args()

    from bot.background.scorer import score_pending
    from bot.model.access import open_model_client
    from bot.settings import get_settings
    from storage import messages
    from storage.db import make_engine, make_session_factory, migrate

    texts = [line.split("\t", 2)[2] for line in args.texts.read_text(errors="replace").splitlines() if "\t" in line]
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        migrate(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as session:
            for i in range(args.messages):
                channel = f"C{i % 10:04d}"  # ten channels, as a backfill of a workspace would have
                messages.save_message(session=session, team_id="T1", channel_id=channel, ts=f"{1764300000 + i}.000000",
                                      user_id="U1", text=texts[i % len(texts)])  # fmt: skip
        with open_model_client(get_settings()) as model:
            score_pending(sessions, model, batch_size=4, method=args.method)  # warm-up, not timed
            started, done = time.monotonic(), 0
            while stored := score_pending(sessions, model, batch_size=args.batch, method=args.method):
                done += stored
            elapsed = time.monotonic() - started
        engine.dispose()
    print(f"sentiment scoring ({args.method}, batch {args.batch}): {done} messages in {elapsed:.1f}s "
          f"= {done / elapsed:.1f} messages/s")  # fmt: skip


if __name__ == "__main__":
    main()
