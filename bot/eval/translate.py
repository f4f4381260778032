"""`python -m bot eval translate`: the translation pipeline on aligned files or a TSV, BLEU and chrF (sacrebleu).

    python -m bot eval translate --source ../shared/eval/translation/eng_Latn.devtest \\
        --reference ../shared/eval/translation/fra_Latn.devtest --target fr --offset 200 --limit 100
    python -m bot eval translate pairs.tsv --target de        # TSV: source<TAB>reference per line

Printed from one run: the pipeline as a user gets it (a refused line counts as no translation), the pipeline
with refused lines left in the source language (what the reader still has), the accepted lines alone, and the
baseline "source copied unchanged" on the same lines; plus how many outputs the guards refused, and why
("number", "name", "negation": what a translation lost after its second attempt), and which prompt the model got.
The model is MODEL_URL when set, else a bundled worker serving only the translate role (MODEL_TRANSLATE).
Prompts were tuned on lines 0-199 of FLORES devtest; report figures from a later slice (--offset 200 or more).
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path

from bot.eval.items import Items, add_arguments, failed_summary
from bot.model.access import open_model_client
from bot.model.client import ModelClient, OpenAICompatibleClient
from bot.settings import get_settings
from handlers.text.markup import escape, unescape
from handlers.translate.languages import LANGUAGES
from handlers.translate.translation import PromptStyle, TranslationResult, prompt_style, translate

FAILED = "failed after retries"  # the cause of a line whose model calls all failed: scored as no translation
_FLORES_CODES = {"eng": "en", "fra": "fr", "deu": "de", "spa": "es", "jpn": "ja", "zho": "zh", "ita": "it"}


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot eval translate")
    parser.add_argument("tsv", nargs="?", type=Path, help="source<TAB>reference per line (instead of two files)")
    parser.add_argument("--source", type=Path, help="source sentences, one per line")
    parser.add_argument("--reference", type=Path, help="reference translations, aligned with --source")
    parser.add_argument("--target", required=True, help="ISO 639-1 code of the reference language, e.g. fr")
    parser.add_argument("--source-language", help="ISO code of the source (default: from a FLORES file name, or en)")
    parser.add_argument("--limit", type=int, default=0, help="evaluate at most this many lines (0: all)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many lines first")
    parser.add_argument("--concurrency", type=int, default=8, help="lines translated at once (the worker batches)")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for one model request (a shared, busy server)"
    )
    parser.add_argument("--output", type=Path, help="write each line's translation or refusal cause here (TSV)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.target not in LANGUAGES:
        parser.error(f"unknown --target {args.target!r}; use an ISO 639-1 code such as fr, de, es, ja")
    try:
        sources, references = _read_pairs(args)
    except ValueError as exc:
        parser.error(str(exc))
    source_language = args.source_language or _flores_code(args.source) or "en"
    sources = sources[args.offset : args.offset + args.limit if args.limit else None]
    references = references[args.offset : args.offset + args.limit if args.limit else None]
    if not sources:
        parser.error("no lines to evaluate (check --offset and --limit)")

    items = Items.from_args(args)
    with _model(args.timeout) as model:
        style = prompt_style(model)
        results, elapsed = translate_all(
            sources,
            target=args.target,
            source=source_language,
            model=model,
            concurrency=args.concurrency,
            style=style,
            items=items,
        )
    report(
        results,
        sources,
        references,
        target=args.target,
        source=source_language,
        offset=args.offset,
        elapsed=elapsed,
        style=style,
        items=items,
    )
    outputs = [unescape(r.text) if r.ok else "" for r in results]
    if args.output:
        with args.output.open("w", encoding="utf-8") as out:
            for result, text in zip(results, outputs, strict=True):
                out.write(f"{'ok' if result.ok else result.cause}\t{text}\n")
    return 0


def _model(timeout: float) -> AbstractContextManager[ModelClient]:
    """MODEL_URL's server (waiting up to `timeout` per request), else a bundled worker for the translate role."""
    settings = get_settings()
    if settings.model_url:
        return OpenAICompatibleClient(settings.model_url, timeout=timeout)
    return open_model_client(settings, roles=("translate",))


def translate_all(
    sources: list[str],
    *,
    target: str,
    source: str,
    model: ModelClient,
    concurrency: int = 8,
    style: PromptStyle | None = None,
    items: Items | None = None,
) -> tuple[list[TranslationResult], float]:
    """Every line through the pipeline, `concurrency` at a time; the results in order, and the seconds taken.
    `style` is the prompt (asked of the model once when not given). A line whose model calls still fail after
    `items`' retries comes back refused with the cause FAILED, so one slow answer does not end the run."""
    started = time.perf_counter()
    style = style or prompt_style(model)

    def one(text: str) -> TranslationResult:
        # The files hold plain text; the pipeline speaks Slack's escaped text, so convert on the way in (and out).
        return translate(escape(text), target=target, model=model, source=source, style=style)

    outcomes = (items or Items()).map(one, sources, parallel=concurrency)
    results = [r or TranslationResult(False, "", target, FAILED) for r in outcomes]
    return results, time.perf_counter() - started


def report(
    results: list[TranslationResult],
    sources: list[str],
    references: list[str],
    *,
    target: str,
    source: str,
    offset: int,
    elapsed: float,
    style: str | None = None,
    items: Items | None = None,
) -> None:
    """Print BLEU and chrF of the pipeline beside the copy-the-source baseline, the guards' refusals, and the lines
    that failed after retries (`items` adds why)."""
    outputs = [unescape(r.text) if r.ok else "" for r in results]
    kept = [unescape(r.text) if r.ok else s for r, s in zip(results, sources, strict=True)]
    accepted = [i for i, r in enumerate(results) if r.ok]
    causes = Counter(r.cause for r in results if not r.ok and r.cause != FAILED)
    failed = sum(r.cause == FAILED for r in results)
    n = len(sources)
    print(
        f"translate {source}→{target}: {n} lines (offset {offset}), {elapsed:.0f} s "
        f"({n / elapsed:.2f} lines/s); BLEU tokenizer {_tokenizer(target)}" + (f"; {style} prompt" if style else "")
    )
    print(f"{'system':<52} {'BLEU':>6} {'chrF':>6}")
    rows = [
        ("pipeline (refused line = no translation)", outputs, references),
        ("pipeline (refused line = source left as is)", kept, references),
        ("baseline (source copied unchanged)", sources, references),
    ]
    if accepted and len(accepted) < n:
        pick = [references[i] for i in accepted]
        rows += [
            (f"pipeline, accepted lines only ({len(accepted)})", [outputs[i] for i in accepted], pick),
            (f"baseline, same {len(accepted)} lines", [sources[i] for i in accepted], pick),
        ]
    for label, hypotheses, refs in rows:
        bleu, chrf = _scores(hypotheses, refs, target)
        print(f"{label:<52} {bleu:6.1f} {chrf:6.1f}")
    refused = n - len(accepted) - failed
    detail = ", ".join(f"{cause} {count}" for cause, count in causes.most_common())
    print(f"refused by the guards: {refused} of {n}" + (f" ({detail})" if detail else ""))
    print((items.summary() if items else failed_summary(failed)) + " (scored as no translation)")


def _read_pairs(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    if args.tsv:
        pairs = [line.split("\t") for line in args.tsv.read_text(encoding="utf-8").splitlines() if line.strip()]
        if any(len(p) < 2 for p in pairs):
            raise ValueError(f"{args.tsv}: every line needs source<TAB>reference")
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if not (args.source and args.reference):
        raise ValueError("give a TSV file, or both --source and --reference")
    sources = args.source.read_text(encoding="utf-8").splitlines()
    references = args.reference.read_text(encoding="utf-8").splitlines()
    if len(sources) != len(references):
        raise ValueError(f"{len(sources)} source lines but {len(references)} reference lines")
    return sources, references


def _flores_code(path: Path | None) -> str | None:
    """'en' for eng_Latn.devtest: FLORES names files by ISO 639-3 and script."""
    return _FLORES_CODES.get(path.name[:3]) if path else None


def _tokenizer(target: str) -> str:
    """sacrebleu's 13a splits on spaces, which Japanese and Chinese lack; score those by character."""
    return "char" if target in ("ja", "zh", "ko") else "13a"


def _scores(hypotheses: list[str], references: list[str], target: str) -> tuple[float, float]:
    import sacrebleu

    bleu = sacrebleu.corpus_bleu(hypotheses, [references], tokenize=_tokenizer(target)).score
    chrf = sacrebleu.corpus_chrf(hypotheses, [references]).score
    return bleu, chrf
