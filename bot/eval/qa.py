"""`python -m bot eval qa FILE`: the Q&A pipeline on SQuAD-style JSONL (context given), EM and F1.

Each context is split into sentences that play the part of channel messages; the pipeline retrieves among
them and answers from what it retrieved. The baseline from the same run answers with the retrieved sentence
that shares most words with the question.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from pathlib import Path
from typing import Any

from bot.eval.items import Items, add_arguments
from bot.eval.metrics import exact_match, f1
from bot.model.access import open_model_client
from bot.model.client import ModelClient
from bot.settings import get_settings
from handlers.qa.answers import Answer, answer_question, best_sentence, split_sentences
from handlers.text.lines import ChatLine


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot eval qa")
    parser.add_argument("file", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="evaluate at most this many questions (0: all)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many questions first")
    add_arguments(parser)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[args.offset : args.offset + args.limit if args.limit else None]
    totals = {"pipeline": [0.0, 0.0], "extractive": [0.0, 0.0], "baseline": [0.0, 0.0]}
    model_answers = 0
    started = time.perf_counter()
    items = Items.from_args(args)
    with open_model_client(get_settings(), roles=("chat", "embed")) as model:
        for row in rows:
            answers = [a["text"] for a in row["answers"]]
            both = items.call(functools.partial(_answers, row, model))  # a failed item: both pipelines score 0
            result, extractive = both or (Answer(found=False), Answer(found=False))
            model_answers += result.generated
            baseline = best_sentence(row["question"], row["context"])
            predictions = (("pipeline", result.text), ("extractive", extractive.text), ("baseline", baseline))
            for name, prediction in predictions:
                totals[name][0] += exact_match(prediction, answers)
                totals[name][1] += f1(prediction, answers)
    n = len(rows)
    elapsed = time.perf_counter() - started
    print(f"qa on {args.file.name}: {n} questions (offset {args.offset}), {elapsed:.0f} s")
    print(f"{'system':<40} {'EM':>6} {'F1':>6}")
    for name, label in (
        ("pipeline", "pipeline (model reads, span checked)"),
        ("extractive", "pipeline without the model's span"),
        ("baseline", "baseline (best-overlap sentence)"),
    ):
        em, f = totals[name]
        print(f"{label:<40} {100 * em / n:6.1f} {100 * f / n:6.1f}")
    print(f"answers taken from the model (grounded spans): {model_answers} of {n}; the rest fell back to a sentence")
    print(items.summary() + " (scored 0)")
    return 0


def _answers(row: dict[str, Any], model: ModelClient) -> tuple[Answer, Answer]:
    """The pipeline's answer and the extractive one, the context's sentences playing the channel's messages."""
    lines = [ChatLine(ts=str(i), speaker="context", text=s) for i, s in enumerate(split_sentences(row["context"]))]
    result = answer_question(row["question"], lines, model, min_relevance=0.0, phrase=True)
    extractive = answer_question(row["question"], lines, model, min_relevance=0.0, use_model=False)
    return result, extractive
