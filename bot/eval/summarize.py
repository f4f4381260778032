"""`python -m bot eval summarize FILE`: the /summarize pipeline on dialogue JSONL, ROUGE-1/2/L beside baselines.

Each row has `dialogue` ("#Person1#: …" turns, one per line) and one or more references (`summary`, `summary1`,
`summary2`, … or a `references` list). Each turn becomes a ChatLine and the summary's overview is scored with
`rouge-score` (stemming on) against the references, as the best match over references (the usual multi-reference
figure) and as the mean over them. The baselines from the same run are the first three messages and three random
messages (fixed seed), rendered the same way as quotes ("#Person1#: …").

The default run is the default pipeline (MiniLM embeddings through the model server, extractive, no generated
text); `--rephrase`/`--abstract` add the checked model steps, `--no-model` shows the fallback with no model at all.
Tuning used the first 100 rows of DialogSum test (`--limit 100`); held-out figures: `--offset 300 --limit 200`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from bot.eval.items import Items, add_arguments
from handlers.summarize.summary import Summary, summarize
from handlers.text.lines import ChatLine

_TURN = re.compile(r"^\s*(#?[\w .'-]{1,40}#?)\s*:\s?(.*)$")
METRICS = ("rouge1", "rouge2", "rougeL")


def parse_dialogue(dialogue: str) -> list[ChatLine]:
    """Turns "#Person1#: text" lines into ChatLines; a line without a speaker continues the previous turn."""
    lines: list[ChatLine] = []
    for raw in dialogue.splitlines():
        match = _TURN.match(raw)
        if match:
            lines.append(ChatLine(ts=str(len(lines)), speaker=match.group(1).strip(), text=match.group(2).strip()))
        elif raw.strip() and lines:
            last = lines[-1]
            lines[-1] = ChatLine(ts=last.ts, speaker=last.speaker, text=f"{last.text} {raw.strip()}")
    return lines


def references(row: dict[str, Any]) -> list[str]:
    """Every reference summary in a row, whatever the file calls them."""
    if isinstance(row.get("references"), list):
        return [str(r) for r in row["references"]]
    keys = sorted(k for k in row if re.fullmatch(r"summary\d*", k))
    return [str(row[k]) for k in keys if row[k]]


def quote(lines: Sequence[ChatLine]) -> str:
    return " ".join(f"{line.speaker}: {line.text}" for line in lines)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot eval summarize")
    parser.add_argument("file", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="evaluate at most this many dialogues (0: all)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many dialogues first")
    parser.add_argument("--seed", type=int, default=13, help="seed of the random-messages baseline")
    parser.add_argument("--no-model", action="store_true", help="no model at all: TF-IDF and quotes only")
    parser.add_argument("--rephrase", action="store_true", help="let the model rephrase the overview (checked)")
    parser.add_argument("--abstract", action="store_true", help="let the model write a gist of each dialogue (checked)")
    parser.add_argument("--show", type=int, default=0, help="print this many summaries beside their first reference")
    parser.add_argument("--parallel", type=int, default=4, help="dialogues summarised at once (the worker batches)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        from rouge_score import rouge_scorer
    except ImportError:
        print("the summarize eval needs rouge-score: .venv/bin/pip install rouge-score")
        return 2
    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[args.offset : args.offset + args.limit if args.limit else None]
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    started = time.perf_counter()
    items = Items.from_args(args)
    with _model(args.no_model) as model:

        def one(row: dict[str, Any]) -> Summary:
            return summarize(parse_dialogue(row["dialogue"]), model, rephrase=args.rephrase, abstract=args.abstract)

        # A summary the pipeline left extractive because the model failed is retried like an error.
        outcomes = items.map(one, rows, parallel=args.parallel, accept=lambda s: model is None or not s.degraded)
    elapsed = time.perf_counter() - started
    summaries = [s for s in outcomes if s is not None]
    systems: dict[str, list[str]] = {"pipeline": [], "first three messages": [], "three random messages": []}
    for index, (row, summary) in enumerate(zip(rows, outcomes, strict=True)):
        lines = parse_dialogue(row["dialogue"])
        rng = random.Random(args.seed + args.offset + index)
        picked = sorted(rng.sample(range(len(lines)), min(3, len(lines))))
        systems["pipeline"].append(summary.overview_text() if summary else "")  # a failed item scores 0
        systems["first three messages"].append(quote(lines[:3]))
        systems["three random messages"].append(quote([lines[i] for i in picked]))
    refs = [references(row) for row in rows]
    print(f"summarize on {args.file.name}: {len(rows)} dialogues (offset {args.offset}), {elapsed:.0f} s")
    print(f"{'system':<24} {'R-1':>5} {'R-2':>5} {'R-L':>5}   {'mean over refs':>17}  {'words':>5}")
    for name, predictions in systems.items():
        best, mean = _rouge(scorer, predictions, refs)
        words = sum(len(p.split()) for p in predictions) / max(1, len(predictions))
        print(f"{name:<24} {_fmt(best)}   {_fmt(mean)}  {words:5.1f}")
    for row, summary in list(zip(rows, outcomes, strict=True))[: args.show]:
        shown = summary.overview_text() if summary else "(failed after retries)"
        print(f"\n[{row.get('fname', '?')}] pipeline: {shown}\n  reference: {references(row)[0]}")
    rephrased, dropped = sum(s.rephrased for s in summaries), sum(s.dropped for s in summaries)
    without = sum(bool(s.degraded) for s in summaries)
    print(
        f"rephrased points kept: {rephrased}; model sentences dropped by the grounding check: {dropped}; "
        f"summaries without the model: {without}; {items.summary()} (scored 0)"
    )
    print("reference (BART-large, DialogSum test): R-1/2/L about 46/21/39")
    return 0


def _model(no_model: bool) -> Any:
    if no_model:
        return nullcontext(None)
    from bot.model.access import open_model_client
    from bot.settings import get_settings

    return open_model_client(get_settings(), roles=("chat", "embed"))


def _rouge(scorer: Any, predictions: Sequence[str], refs: Sequence[Sequence[str]]) -> tuple[list[float], list[float]]:
    """Mean F1 per metric (x100): best reference per dialogue, and mean over its references."""
    best = [0.0] * len(METRICS)
    mean = [0.0] * len(METRICS)
    for prediction, targets in zip(predictions, refs, strict=True):
        scores = [scorer.score(target, prediction) for target in targets]
        for k, metric in enumerate(METRICS):
            values = [s[metric].fmeasure for s in scores]
            best[k] += max(values)
            mean[k] += sum(values) / len(values)
    n = max(1, len(predictions))
    return [100 * v / n for v in best], [100 * v / n for v in mean]


def _fmt(values: Sequence[float]) -> str:
    return " ".join(f"{v:5.1f}" for v in values)
