"""`python -m bot eval teamchat FILE`: channel Q&A and /summarize on Slack-style team conversations.

The file is /work/shared/eval/teamchat's JSONL (schema and scoring rules in its README). Each conversation becomes
ChatLines the way the bot builds them from stored messages (speaker names, readable text, thread_ts, permalinks),
then the real pipelines run: `answer_question` for every question (asked as "@parlance <q>", so the question is
not part of the history) and `summarize` + `render_summary` for the channel. Scoring uses keywords only and gives
the same result every time: normalization, whole-word keywords with an optional plural, decline phrases for the
unanswerable questions, fact recall for the summaries. Baselines from the same run: the best-overlap message for
Q&A (it never declines), the first messages for summaries (fixed 8, and as many as the summary's length) and the
whole channel pasted (the ceiling, with its length).
"""

from __future__ import annotations

import argparse
import functools
import html
import json
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import texts
from bot.eval.items import Items, add_arguments
from bot.model.client import ModelClient
from handlers.qa import answers as qa
from handlers.text.lines import ChatLine, readable_text

KINDS = ("who", "when", "what", "number", "decision", "unanswerable")
BASE_EPOCH = 1_700_000_000
CHANNEL_ID = "C1"
WORKSPACE = "https://example.slack.com/"
FIRST_N = 8
SPAN = "recent conversation"

# -- scoring (README "Scoring") --------------------------------------------------------------------------------

_AM_PM = re.compile(r"(?<![a-z])([ap])\.\s?m\.?(?![a-z])")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_NON_ALNUM = re.compile(r"[\W_]+")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_SLACK_LINK = re.compile(r"<[^<>|]+\|[^<>]*>")  # `<url|[1]>`: the summary's citations
_URL = re.compile(r"\s?\((?:https?|mailto):[^\s()]+\)|(?:https?|mailto):[^\s<>()|]+")  # " (url)" from readable_text
_LEAKED_MARK = re.compile(r"\s*\|\s*$")  # dev.jsonl ends every unanswerable question (and only those) with " |"


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).lower()


def normalize(text: str) -> str:
    """Accents stripped, lower case, a.m. → am, 1,800 → 1800, other punctuation runs → one space, digits and
    letters apart: `15:00` == `15.00`, `3pm` == `3 p.m.`, `PR #481` → `pr 481`, `search-03` → `search 03`."""
    text = _AM_PM.sub(r"\1m", _fold(text))
    text = _THOUSANDS.sub("", text)
    text = _DIGIT_LETTER.sub(" ", _NON_ALNUM.sub(" ", text))
    return " ".join(text.split())


@functools.lru_cache(maxsize=4096)
def _keyword_pattern(keyword: str) -> re.Pattern[str] | None:
    words = normalize(keyword)
    return re.compile(rf"(?<!\S){re.escape(words)}(?:s|es)?(?!\S)") if words else None


def has_keyword(text: str, keyword: str) -> bool:
    """Whole words, optionally followed by a plural s/es: `tom` is not in "tomorrow", `9` is not in "19"."""
    pattern = _keyword_pattern(keyword)
    return pattern is None or pattern.search(normalize(text)) is not None


def matches_any(text: str, alternatives: Sequence[Sequence[str]]) -> bool:
    """Every keyword of at least one alternative is in `text`."""
    return any(all(has_keyword(text, keyword) for keyword in alternative) for alternative in alternatives)


_NOT = r"(?:n'?t|\s+not)"
_SAID = r"(?:mentioned|discussed|given|named|said|specified|stated|covered|decided|found|set|agreed|recorded)"
_DECLINES = re.compile(
    "|".join(
        (
            r"\b(?:could|did|do|does)" + _NOT + r"\s+(?:\w+\s+){0,2}?find\b",
            r"\b(?:can'?t|can\s*not|unable\s+to)\s+(?:\w+\s+){0,2}?find\b",
            r"\bfound\s+nothing\b|\bnothing\s+(?:about|on|regarding)\b",
            r"\bnothing\s+(?:was\s+|has\s+been\s+)?(?:said|mentioned|found|decided|discussed)\b",
            r"\bnot\s+(?:been\s+|yet\s+|actually\s+|explicitly\s+)?" + _SAID + r"\b",
            r"\b(?:is|are|was|were|has|have|had)" + _NOT + r"\s+(?:been\s+|yet\s+)?" + _SAID + r"\b",
            r"\bno\s+(?:specific\s+|clear\s+|explicit\s+|such\s+)?(?:mention|record|information|info|details?|date|"
            r"answer|decision|indication|owner|deadline|figure)s?\b",
            r"\b(?:does|did|do)" + _NOT + r"\s+(?:\w+\s+)?(?:say|mention|specify|state|name|give)\b",
            r"\b(?:do|did)" + _NOT + r"\s+know\b|\bno\s+idea\b",
            r"\b(?:nobody|no\s+one|no-one)\s+(?:has\s+|have\s+|was\s+|ever\s+)?(?:mentioned|said|named|discussed|"
            r"gave|given|decided|specified|stated|answered)\b",
            r"\bnever\s+(?:been\s+|was\s+)?(?:mentioned|discussed|said|named|decided|given|specified|stated)\b",
            r"\bnever\s+came\s+up\b|\b(?:did)" + _NOT + r"\s+come\s+up\b",
            r"\b(?:do|does)" + _NOT + r"\s+have\s+(?:any\s+)?(?:information|info|record|details|data)\b",
            r"\bnot\s+in\s+(?:the\s+|this\s+)?(?:conversation|channel|messages|history|chat|thread)\b",
        )
    )
)


def is_decline(text: str) -> bool:
    """Whether the answer says the information isn't there ("couldn't find", "no date was given", ...)."""
    folded = " ".join(_fold(text).replace("’", "'").replace("‘", "'").split())
    return _DECLINES.search(folded) is not None


def scoring_text(text: str) -> str:
    """What is scored: Slack entities decoded, `<url|[1]>` citations and bare URLs removed (no keyword hides in a
    link)."""
    return html.unescape(_URL.sub("", _SLACK_LINK.sub("", text)))


def word_count(text: str) -> int:
    return len(text.split())


# -- conversations as the bot sees them ------------------------------------------------------------------------

_NAME_MENTION = re.compile(r"<@([^>|\s]+)(?:\|([^>]*))?>")


def slack_ts(minutes: float) -> str:
    return f"{BASE_EPOCH + minutes * 60:.6f}"


def permalink(ts: str, thread_ts: str | None) -> str:
    """Shaped like bot.slack.directory's permalinks."""
    link = f"{WORKSPACE}archives/{CHANNEL_ID}/p{ts.replace('.', '')}"
    return link + (f"?thread_ts={thread_ts}&cid={CHANNEL_ID}" if thread_ts else "")


def conversation_lines(row: dict[str, Any]) -> list[ChatLine]:
    """The messages as ChatLines, oldest first. The data's mentions use names (`<@priya>`), not user ids."""
    ts_of = {m["id"]: slack_ts(m["minutes"]) for m in row["messages"]}
    lines = []
    for message in row["messages"]:
        ts = ts_of[message["id"]]
        thread_ts = ts_of[message["thread"]] if message.get("thread") else None
        text = _NAME_MENTION.sub(lambda m: "@" + (m.group(2) or m.group(1)), message["text"])
        lines.append(
            ChatLine(
                ts=ts,
                speaker=message["user"],
                text=readable_text(text, lambda user: user),
                url=permalink(ts, thread_ts),
                thread_ts=thread_ts,
            )
        )
    return [line for line in lines if line.text.strip()]


def best_overlap(question: str, lines: Sequence[ChatLine]) -> ChatLine:
    """The baseline answer: the (first) message sharing most content words with the question."""
    words = set(qa.content_words(question))
    return max(lines, key=lambda line: len(words & set(qa.content_words(line.text))))


# -- one item each ---------------------------------------------------------------------------------------------


@dataclass
class Asked:
    conversation: str
    kind: str
    question: str
    gold: list[list[str]]
    text: str = ""
    found: bool = False
    top_source: str = ""
    baseline: str = ""
    failed: bool = False
    seconds: float = 0.0

    @property
    def declined(self) -> bool:
        return not self.failed and is_decline(self.text)

    @property
    def correct(self) -> bool:
        if self.failed:
            return False
        if self.kind == "unanswerable":
            return self.declined
        return not self.declined and matches_any(self.text, self.gold)

    @property
    def baseline_correct(self) -> bool:
        return self.kind != "unanswerable" and matches_any(self.baseline, self.gold)


@dataclass
class Summarized:
    conversation: str
    facts: list[dict[str, Any]]
    text: str = ""
    failed: bool = False
    degraded: bool = False
    seconds: float = 0.0
    baselines: dict[str, str] = field(default_factory=dict)

    def recall(self, text: str) -> float:
        hits = sum(matches_any(text, fact["keywords_any"]) for fact in self.facts)
        return hits / len(self.facts) if self.facts else 0.0

    def missed(self) -> list[dict[str, Any]]:
        return [fact for fact in self.facts if not matches_any(self.text, fact["keywords_any"])]


def ask(
    row: dict[str, Any], item: dict[str, Any], lines: list[ChatLine], model: ModelClient | None, items: Items
) -> Asked:
    started = time.perf_counter()
    question = _LEAKED_MARK.sub("", item["q"])
    asked = Asked(row["id"], item["kind"], question, item["answer_any"])
    asked.baseline = scoring_text(best_overlap(question, lines).text)
    answer = items.call(lambda: qa.answer_question(question, lines, model))
    if answer is None:
        asked.failed = True
    else:
        asked.found = answer.found
        asked.text = scoring_text(answer.text if answer.found else texts.NOTHING_FOUND)
        if answer.sources:
            asked.top_source = f"{answer.sources[0].speaker}: {scoring_text(answer.sources[0].text)}"
    asked.seconds = time.perf_counter() - started
    return asked


def summarize_one(
    row: dict[str, Any], lines: list[ChatLine], model: ModelClient | None, writes: bool, items: Items
) -> Summarized:
    # Imported here, not at the top: `python -m bot eval teamchat --help` stays fast (the runners load the app).
    from bot.jobs.runners.summarize import render_summary
    from handlers.summarize.summary import summarize

    started = time.perf_counter()
    result = Summarized(row["id"], row["summary_facts"])
    # Retried also when the pipeline swallowed a model error and fell back to extractive.
    summary = items.call(
        lambda: summarize(lines, model, abstract=writes, rephrase=writes),
        accept=lambda s: model is None or not s.degraded,
    )
    result.degraded = model is not None and summary is not None and bool(summary.degraded)
    if summary is None:
        result.failed = True
    else:
        rendered = render_summary(summary, span=SPAN, count=len(lines)).split("\n")[1:]  # no header: its count
        if summary.degraded:  # nor the footnote: neither is content
            rendered = rendered[:-1]
        result.text = scoring_text("\n".join(rendered))
    quoted = [f"{line.speaker}: {scoring_text(line.text)}" for line in lines]
    matched: list[str] = []
    for quote in quoted:
        if matched and word_count(" ".join(matched)) >= word_count(result.text):
            break
        matched.append(quote)
    result.baselines = {
        f"first {FIRST_N} messages": "\n".join(quoted[:FIRST_N]),
        "first messages, as long as the summary": "\n".join(matched),
        "whole channel (ceiling)": "\n".join(quoted),
    }
    result.seconds = time.perf_counter() - started
    return result


# -- the command -----------------------------------------------------------------------------------------------


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot eval teamchat")
    parser.add_argument("file", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="evaluate at most this many conversations (0: all)")
    parser.add_argument("--offset", type=int, default=0, help="skip this many conversations first")
    parts = parser.add_mutually_exclusive_group()
    parts.add_argument("--qa-only", action="store_true", help="questions only, no summaries")
    parts.add_argument("--summary-only", action="store_true", help="summaries only, no questions")
    parser.add_argument("--no-model", action="store_true", help="model=None: ranking by words, extractive summaries")
    parser.add_argument(
        "--model-writes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let the model write and reword summary points (default: SUMMARY_MODEL_WRITES)",
    )
    parser.add_argument("--show-misses", action="store_true", help="print every wrong answer and every missed fact")
    parser.add_argument("--parallel", type=int, default=4, help="items run at once (the worker batches them)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    rows = [json.loads(line) for line in args.file.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = rows[args.offset : args.offset + args.limit if args.limit else None]
    writes = False if args.no_model else args.model_writes
    if writes is None:
        from bot.settings import get_settings

        writes = get_settings().summary_model_writes
    started = time.perf_counter()
    items = Items.from_args(args)
    with _model(args.no_model) as model:
        jobs: list[Callable[[], Asked | Summarized]] = []
        for row in rows:
            lines = conversation_lines(row)
            if not args.summary_only:
                jobs.extend(functools.partial(ask, row, item, lines, model, items) for item in row["questions"])
            if not args.qa_only:
                jobs.append(functools.partial(summarize_one, row, lines, model, writes, items))
        with ThreadPoolExecutor(max(1, args.parallel)) as pool:
            results = list(pool.map(lambda job: job(), jobs))
    elapsed = time.perf_counter() - started
    asked = [r for r in results if isinstance(r, Asked)]
    summaries = [r for r in results if isinstance(r, Summarized)]
    model_name = "none (--no-model)" if args.no_model else _model_url() or "the bundled worker"
    print(f"teamchat on {args.file.name}: {len(rows)} conversations (offset {args.offset}), model: {model_name}")
    if asked:
        _report_qa(asked, show_misses=args.show_misses)
    if summaries:
        _report_summaries(summaries, writes=writes, show_misses=args.show_misses)
    failed_q, failed_s = sum(a.failed for a in asked), sum(s.failed for s in summaries)
    print(
        f"{items.summary()}, scored 0: {failed_q} questions, {failed_s} summaries; summaries left extractive by a "
        f"model error after every retry: {sum(s.degraded for s in summaries)}"
    )
    n = max(1, len(results))
    print(f"wall time {elapsed:.1f} s for {len(results)} items: {elapsed / n:.3f} s per item", end="")
    for name, done in (("question", asked), ("summary", summaries)):
        if done:
            print(f"; {sum(i.seconds for i in done) / len(done):.3f} s per {name}", end="")
    print(f" (--parallel {args.parallel})")
    return 0


def _model(no_model: bool) -> Any:
    if no_model:
        return nullcontext(None)
    from bot.model.access import open_model_client
    from bot.settings import get_settings

    return open_model_client(get_settings(), roles=("chat", "embed"))


def _model_url() -> str | None:
    from bot.settings import get_settings

    return get_settings().model_url


def _pct(part: float, whole: int) -> str:
    return f"{100 * part / whole:5.1f}" if whole else "    -"


def _report_qa(asked: list[Asked], *, show_misses: bool) -> None:
    print(f"\nQ&A accuracy ({len(asked)} questions; a declined answerable question scores 0)")
    print(f"{'kind':<14} {'n':>4} {'pipeline':>9} {'best-overlap':>13}")
    groups = [(kind, [a for a in asked if a.kind == kind]) for kind in KINDS]
    groups += [("answerable", [a for a in asked if a.kind != "unanswerable"]), ("all", asked)]
    for name, items in groups:
        if items or name == "all":
            right, base = sum(a.correct for a in items), sum(a.baseline_correct for a in items)
            print(f"{name:<14} {len(items):>4} {_pct(right, len(items)):>9} {_pct(base, len(items)):>13}")
    unanswerable = [a for a in asked if a.kind == "unanswerable" and not a.failed]
    answerable = [a for a in asked if a.kind != "unanswerable" and not a.failed]
    declined = sum(a.declined for a in unanswerable)
    wrongly = [a for a in answerable if a.declined]
    quoted = sum(a.declined and a.found for a in unanswerable)
    print(
        f"decline rate on unanswerable questions: {declined} of {len(unanswerable)} "
        f"({_pct(declined, len(unanswerable)).strip()}%): {declined - quoted} found nothing, "
        f"{quoted} found an answer worded like a decline"
    )
    print(
        f"false-decline rate on answerable questions: {len(wrongly)} of {len(answerable)} "
        f"({_pct(len(wrongly), len(answerable)).strip()}%): {sum(not a.found for a in wrongly)} found nothing, "
        f"{sum(a.found for a in wrongly)} found an answer worded like a decline"
    )
    in_source = [a for a in answerable if matches_any(a.top_source, a.gold)]
    print(
        f"answerable questions whose top source holds the gold keywords: {len(in_source)} of {len(answerable)} "
        f"(of those, answered right: {sum(a.correct for a in in_source)}) [diagnostic, sources are not scored]"
    )
    routed = getattr(qa, "is_history_question", None)
    if routed is not None:
        chat = sum(not routed(a.question) for a in asked)
        print(f"questions the mention runner would send to chat, not history Q&A (is_history_question): {chat}")
    if show_misses:
        for a in (a for a in asked if not a.correct):
            gold = " | ".join(" + ".join(alt) for alt in a.gold) or "(should decline)"
            bot = "(failed after retries)" if a.failed else a.text
            print(f"\nmiss [{a.conversation} {a.kind}] {a.question}\n  gold: {gold}\n  bot:  {bot}")
            if a.top_source:
                print(f"  top source: {' '.join(a.top_source.split())[:200]}")


def _report_summaries(summaries: list[Summarized], *, writes: bool, show_misses: bool) -> None:
    n = len(summaries)
    print(f"\nsummary fact recall ({n} summaries, {sum(len(s.facts) for s in summaries)} facts)")
    print(f"{'system':<42} {'recall':>7} {'words':>7}")
    systems = [(f"pipeline (model writes: {'on' if writes else 'off'})", [s.text for s in summaries])]
    for name in summaries[0].baselines:
        systems.append((name, [s.baselines[name] for s in summaries]))
    for name, outputs in systems:
        recall = sum(s.recall(text) for s, text in zip(summaries, outputs, strict=True)) / n
        words = sum(word_count(text) for text in outputs) / n
        print(f"{name:<42} {100 * recall:7.1f} {words:7.1f}")
    if show_misses:
        for s in (s for s in summaries if s.missed() or s.failed):
            print(f"\nmissed facts [{s.conversation}] {len(s.missed())} of {len(s.facts)}:")
            for fact in s.missed():
                keywords = " | ".join(" + ".join(alt) for alt in fact["keywords_any"])
                print(f"  - {fact['fact']}  [{keywords}]")
            print("  summary: " + ("(failed after retries)" if s.failed else s.text.replace("\n", "\n    ")))
