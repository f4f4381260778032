"""`python -m bot eval sentiment FILE`: Pearson r with the human mean rating and 3-class macro-F1, beside a
word-list baseline from the same run.

FILE is tab-separated: id, mean human rating on −4…+4, text (the VADER tweets set). Gold classes follow one
rule, stated in the output: rating > 0.5 positive, < −0.5 negative, else neutral.

The embedding head in handlers/sentiment/sentiment_head.json was fitted on the rows with an even id, so the figures that
count are the ones on the odd ids ("held-out"); the whole-file figures are printed too, marked as half seen.
`--train-head` refits the head on the even ids and writes it (ridge regression, then thresholds picked by 5-fold
cross-validation on the same half), which is how the shipped file was made.
"""

from __future__ import annotations

import argparse
import functools
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.eval.items import Items, add_arguments
from bot.model.client import ModelClient
from handlers.sentiment.scoring import HEAD_PATH, Head, Label, Sentiment, default_head, normalize, score_texts

RIDGE_LAMBDA = 3.0
BATCH = 64
CLASSES = ("negative", "neutral", "positive")

# The baseline: a short hand-written word list, the kind of scorer this skill must beat.
_POSITIVE = set(
    "good great love loved lovely awesome amazing happy glad thanks thank nice excellent best fun win won cool "
    "wonderful fantastic beautiful perfect yay congrats congratulations enjoy enjoyed like likes smile lol haha "
    "excited proud brilliant well".split()
)
_NEGATIVE = set(
    "bad sad hate hated awful terrible worst angry annoyed sorry sick tired broken fail failed fails wrong ugly "
    "boring hurt pain cry crying miss lost lose disappointed disappointing horrible stupid problem bug unfortunately "
    "no not never".split()
)


@dataclass(frozen=True)
class Row:
    id: int
    rating: float
    text: str


def read_rows(path: Path) -> list[Row]:
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and parts[0].strip().isdigit():
            rows.append(Row(int(parts[0]), float(parts[1]), parts[2]))
    return rows


def gold_class(rating: float) -> str:
    return "positive" if rating > 0.5 else "negative" if rating < -0.5 else "neutral"


def pearson(xs: Sequence[float] | np.ndarray, ys: Sequence[float] | np.ndarray) -> float:
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    scores = []
    for label in CLASSES:
        tp = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(p == label != g for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label != p for g, p in zip(gold, predicted, strict=True))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def word_list_score(text: str) -> Sentiment:
    words = re.findall(r"[a-z']+", normalize(text).lower())
    raw = sum((w in _POSITIVE) - (w in _NEGATIVE) for w in words)
    score = max(-1.0, min(1.0, raw / 2))
    label: Label = "positive" if raw > 0 else "negative" if raw < 0 else "neutral"
    return Sentiment(label, score, score * 4)


def _report(name: str, rows: Sequence[Row], predictions: Sequence[Sentiment]) -> None:
    if not rows:
        print(f"  {name:<28} n=0 (nothing scored)")
        return
    r = pearson([p.score for p in predictions], [row.rating for row in rows])
    f1 = macro_f1([gold_class(row.rating) for row in rows], [p.label for p in predictions])
    print(f"  {name:<28} n={len(rows):<5} pearson_r={r:.3f}  macro_f1={f1:.3f}")


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot eval sentiment", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--method", choices=["embeddings", "labels", "combined"], default="embeddings")
    parser.add_argument("--limit", type=int, default=0, help="score a random sample of N held-out rows (seed 0)")
    parser.add_argument("--train-head", action="store_true", help=f"refit the head on even ids, write {HEAD_PATH}")
    add_arguments(parser)
    args = parser.parse_args(argv)
    rows = read_rows(args.file)
    if not rows:
        print(f"no rows in {args.file}: expected tab-separated id, rating, text")
        return 2
    from bot.model.access import open_model_client
    from bot.settings import get_settings

    with open_model_client(get_settings(), roles=("chat", "embed")) as model:
        if args.train_head:
            return _train(rows, model)
        held_out = [row for row in rows if row.id % 2 == 1]
        scope = rows
        if args.limit:
            held_out = random.Random(0).sample(held_out, min(args.limit, len(held_out)))
            scope = held_out
        started = time.monotonic()
        items = Items.from_args(args)
        predicted = _score_all(
            [row.text for row in scope], lambda t: score_texts(t, model, method=args.method), items=items
        )
        elapsed = time.monotonic() - started
    by_id = {row.id: p for row, p in zip(scope, predicted, strict=True) if p is not None}
    print(f"sentiment on {args.file.name}: gold rule rating > 0.5 positive, < -0.5 negative, else neutral")
    print(f"method={args.method}, {len(scope)} texts in {elapsed:.1f}s ({len(scope) / elapsed:.1f} texts/s)")
    # A text whose batch failed after retries is left out of both systems' figures, so they stay comparable.
    print(f"{items.summary()} (left out of every figure below)")
    held_out = [row for row in held_out if row.id in by_id]
    print("held-out (odd ids; the head was fitted on even ids):")
    _report(f"parlance ({args.method})", held_out, [by_id[row.id] for row in held_out])
    _report("baseline (word list)", held_out, [word_list_score(row.text) for row in held_out])
    if not args.limit:
        scored = [row for row in rows if row.id in by_id]
        print("whole file (half of it seen by the head in training):")
        _report(f"parlance ({args.method})", scored, [by_id[row.id] for row in scored])
        _report("baseline (word list)", scored, [word_list_score(row.text) for row in scored])
    return 0


def _score_all(
    texts: Sequence[str], score: Callable[[Sequence[str]], list[Sentiment]], *, items: Items
) -> list[Sentiment | None]:
    """Scores in batches of BATCH, each batch one item of `items`; None for the texts of a batch that failed."""
    results: list[Sentiment | None] = []
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        results.extend(items.call(functools.partial(score, batch), count=len(batch)) or [None] * len(batch))
    return results


def _train(rows: Sequence[Row], model: ModelClient) -> int:
    """Ridge regression on the even ids' embeddings, thresholds by 5-fold CV macro-F1 on the same rows."""
    train = [row for row in rows if row.id % 2 == 0]
    vectors: list[list[float]] = []
    for start in range(0, len(train), BATCH):
        vectors.extend(model.embed([normalize(row.text) for row in train[start : start + BATCH]]))
    x = np.hstack([np.asarray(vectors), np.ones((len(train), 1))])
    y = np.asarray([row.rating for row in train])
    folds = np.arange(len(train)) % 5
    cross = np.zeros(len(train))
    for fold in range(5):
        fit = folds != fold
        cross[~fit] = x[~fit] @ _ridge(x[fit], y[fit])
    gold = [gold_class(v) for v in y]
    best = (-1.0, -0.5, 0.5)
    for low in np.arange(-1.5, 0.01, 0.05):
        for high in np.arange(0.0, 1.51, 0.05):
            labels = ["positive" if v > high else "negative" if v < low else "neutral" for v in cross]
            best = max(best, (macro_f1(gold, labels), float(low), float(high)))
    weights = _ridge(x, y)
    base = default_head() if HEAD_PATH.exists() else None
    head = Head(
        weights=tuple(float(w) for w in weights[:-1]),
        bias=float(weights[-1]),
        negative_below=best[1],
        positive_above=best[2],
        labels_weight=base.labels_weight if base else 0.5,
        labels_scale=base.labels_scale if base else 2.5,
    )
    HEAD_PATH.write_text(head.to_json() + "\n", encoding="utf-8")
    print(f"fitted on {len(train)} even-id rows; cross-validated r={pearson(cross, y):.3f}, macro-F1={best[0]:.3f}")
    print(f"thresholds: negative below {best[1]:.2f}, positive above {best[2]:.2f}; wrote {HEAD_PATH}")
    return 0


def _ridge(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    penalty = RIDGE_LAMBDA * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    return np.linalg.solve(x.T @ x + penalty, x.T @ y)
