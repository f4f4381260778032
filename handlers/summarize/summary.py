"""/summarize as plain data: messages in, a grounded `Summary` out. No Slack types; bot/ renders and links it.

The pipeline is extractive first, because the bundled 135M model invents when asked to summarise:

1. Map: the history is cut into chunks that fit the chat model's context window (by its own token count). In each
   chunk, sentences are scored (handlers/summarize/extractive.py) and, when a model answers, the model writes a one- or
   two-sentence gist of the chunk.
2. Reduce: candidates from every chunk compete together. A later decision that changes a value supersedes what
   was said before ("freeze Tue the 11th" → "move the freeze to Thursday the 13th"); nothing superseded or aside
   ("unrelated but…") is picked, and no sentence is shown twice. Decisions, action items (with their owners) and
   open questions come first, picked by their cues and MMR; the overview is the most central of what is left.
   With several chunks, the model may merge the chunk gists.
3. Phrase: the model may rewrite each overview sentence as reported speech ("Bob asks Carol to check the logs").

What the bot said, and what people asked of it ("@parlance who owns the runbook?"), is never part of a summary:
the runner leaves those messages out, and `summarize` drops any line by or mentioning the bot that gets through.

Step 1's gist and step 3 are opt-in (`abstract`, `rephrase`): with the bundled 135M model they cost seconds per call and
their output almost never survives the check. Embeddings (MiniLM) are used whenever the model serves them.

Every sentence the model writes is checked against the messages it cites (handlers/qa/grounding.py) and dropped when
they do not support it; the quoted sentence stays in its place. Without a model (down, busy, or None) the result is
the extractive summary alone, and `Summary.degraded` says so, so the reply can be honest about it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from bot.model.client import ChatMessage, ChatOptions, ModelClient, ModelError, PromptTooLong
from handlers.qa.grounding import check
from handlers.summarize import cues
from handlers.summarize import extractive as ex
from handlers.text.lines import ChatLine
from handlers.text.sentences import split_sentences
from handlers.text.words import content_stems, words

logger = logging.getLogger(__name__)

GIST_TOKENS = 80
PHRASE_TOKENS = 48
PROMPT_RESERVE = 160  # instructions and chat template around a chunk
EMBED_BATCH = 64
BOT_NAMES = ("Parlance",)  # the bot's display name (bot.texts.BOT_SPEAKER); callers add the workspace's own


@dataclass(frozen=True, slots=True)
class SummaryPoint:
    """One point of a summary and the message(s) it comes from (link `sources[i].url`).

    `text` is a sentence quoted from `sources[0]` unless `rephrased`, in which case the model wrote it and the
    grounding check found every content word, name, number and negation of it in the sources. `owner` is set on
    action items only where the messages name one.
    """

    text: str
    sources: tuple[ChatLine, ...]
    owner: str | None = None
    rephrased: bool = False
    agreed_by: tuple[str, ...] = ()  # a proposal quoted for the decision: who agreed to it (in `sources[1:]`)
    context: SummaryPoint | None = None  # the quote a reply answers ("who's writing the runbook?"), shown first
    replies: tuple[SummaryPoint, ...] = ()  # what was said to an open question since ("not decided"), shown after

    @property
    def speaker(self) -> str:
        return self.sources[0].speaker if self.sources else ""

    def render(self) -> str:
        """Plain text: a rephrasing as written, a quote with its speaker ("Alice: we ship on Friday."), and who
        agreed to a proposal ("… (agreed: Bob)")."""
        text = self.text if self.rephrased else f"{self.speaker}: {self.text}"
        if self.agreed_by:
            text = f"{text} (agreed: {', '.join(self.agreed_by)})"
        text = " → ".join([text, *(reply.render() for reply in self.replies)])
        return f"{self.context.render()} → {text}" if self.context else text

    def cited(self) -> tuple[ChatLine, ...]:
        """Every message the point quotes, in reading order, each once."""
        context = self.context.cited() if self.context else ()
        return tuple(dict.fromkeys([*context, *self.sources, *(line for r in self.replies for line in r.cited())]))


@dataclass(frozen=True, slots=True)
class Summary:
    """A short overview, then decisions, open questions and action items, each point with its sources.

    `chunks` is how many context-window-sized pieces the history was read in. `rephrased` counts points the model
    wrote and `dropped` the model sentences refused by the grounding check. `degraded` is None when every step ran,
    else a short reason (no model, model unavailable) for an honest footnote; it never contains message text.
    """

    overview: tuple[SummaryPoint, ...] = ()
    decisions: tuple[SummaryPoint, ...] = ()
    questions: tuple[SummaryPoint, ...] = ()
    actions: tuple[SummaryPoint, ...] = ()
    message_count: int = 0
    left_out: int = 0  # messages by the bot or addressed to it: never sources, points, questions or actions
    chunks: int = 0
    rephrased: int = 0
    dropped: int = 0
    degraded: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.points()

    def points(self) -> list[SummaryPoint]:
        """Every point, in reading order: overview, decisions, action items, open questions."""
        return [*self.overview, *self.decisions, *self.actions, *self.questions]

    def overview_text(self) -> str:
        return " ".join(point.render() for point in self.overview)


@dataclass
class _Run:
    """What one summarize call learns as it goes: the model's health and the checker's tally."""

    model: ModelClient | None
    concurrency: int
    degraded: str | None = None
    dropped: int = 0
    embeddings: bool = False  # the sentence vectors came from the model (else TF-IDF, a different space)

    def call(self, what: str, fn: Callable[[ModelClient], str]) -> str | None:
        """Run one model call; on failure remember why and stop using the model for the rest of this summary."""
        if self.model is None or self.degraded:
            return None
        try:
            return fn(self.model)
        except PromptTooLong:
            logger.debug("summarize: a %s prompt did not fit the window; skipped", what)
            return None  # one oversized message; the model still serves the rest
        except ModelError as exc:
            self.degraded = f"model unavailable ({type(exc).__name__}); extractive summary only"
            logger.warning("summarize: %s failed, continuing without the model: %s", what, exc)
            return None


def summarize(
    lines: Sequence[ChatLine],
    model: ModelClient | None,
    *,
    max_points: int = 5,
    overview_words: int = 25,
    abstract: bool = False,
    rephrase: bool = False,
    concurrency: int = 4,
    bot_names: Sequence[str] = BOT_NAMES,
) -> Summary:
    """Summarise `lines` (oldest first) into a grounded `Summary`.

    `max_points` caps each of decisions and actions (open questions get fewer). `overview_words` is the overview's
    length target. `abstract` asks the model for a gist of each chunk, and `rephrase` lets it turn the overview's
    quotes into reported speech. Both are off by default because the bundled 135M model's output almost never
    survives the grounding check (on 20 held-out DialogSum dialogues: 0 of 60 rephrasings kept) while each call
    costs seconds on a CPU; turn them on with a capable model. Embeddings are always used when the model serves them.
    `model=None` gives the extractive summary with no model calls at all.

    Messages by the bot (`bot_names` are its display names) or addressed to it ("@Parlance who owns X?") are left
    out before anything else: they are requests and answers, not what the team said. Callers that know the bot's
    user id filter them out first; this is the guard for a mention that arrives as plain text.
    """
    team = [line for line in lines if line.text.strip() and not is_to_or_from_bot(line, bot_names)]
    left_out = sum(1 for line in lines if line.text.strip()) - len(team)
    lines = team
    run = _Run(model=model, concurrency=max(1, concurrency))
    sentences = ex.sentences_of(lines)
    if not sentences:
        return Summary(message_count=len(lines), left_out=left_out, degraded=None if model else "no model configured")
    vectors, answered_at = _vectors(sentences, run)
    chunks = _chunks(lines, sentences, run)
    speakers = sorted({line.speaker for line in lines})
    candidates: list[ex.Scored] = []
    for chunk in chunks:
        rows = np.array([s.position for s in chunk])
        candidates.extend(ex.score_sentences(chunk, vectors[rows], speakers=speakers, answered_at=answered_at))
    ex.mark_superseded(candidates)
    stale = _stale_values(candidates)
    current = [c for c in candidates if not c.superseded and "aside" not in c.tags]
    gists: list[SummaryPoint] = []
    if abstract:
        for chunk in chunks:
            rows = np.array([s.position for s in chunk])
            gists.extend(_gist(chunk, vectors[rows], run, stale=stale, current=current))
    if len(chunks) > 1 and len(gists) > 1:
        gists = _merge(gists, run, stale=stale) + gists
    used: set[int] = set()  # sentence positions already shown: no line appears twice in one summary
    decisions = _pick(current, vectors, "decision", max_points, used, sentences)
    actions = _pick(current, vectors, "action", max_points, used, sentences)
    questions = _pick(current, vectors, "question", max(1, max_points - 2), used, sentences)
    rest = [c for c in current if c.shown.position not in used and _informative(c.shown.text)]
    shown_lines = {id(s.line) for s in sentences if s.position in used}
    gists = [g for g in gists if any(id(line) not in shown_lines for line in g.sources)]  # not a point again
    overview = _overview(rest, vectors, overview_words, gists)
    if rephrase:
        overview = _rephrase_all(overview, lines, run)
    points = [*overview, *decisions, *questions, *actions]
    return Summary(
        overview=tuple(overview),
        decisions=tuple(decisions),
        questions=tuple(questions),
        actions=tuple(actions),
        message_count=len(lines),
        left_out=left_out,
        chunks=len(chunks),
        rephrased=sum(p.rephrased for p in points),
        dropped=run.dropped,
        degraded=run.degraded or (None if model else "no model configured; extractive summary only"),
    )


def is_to_or_from_bot(line: ChatLine, bot_names: Sequence[str] = BOT_NAMES) -> bool:
    """Whether a line was written by the bot or speaks to it: its speaker is one of `bot_names`, or its text
    mentions one ("@Parlance who owns the runbook?")."""
    names = [name.strip() for name in bot_names if name and name.strip()]
    if any(line.speaker.strip().casefold() == name.casefold() for name in names):
        return True
    return any(re.search(rf"(?<![\w@])@{re.escape(name)}(?![\w-])", line.text, re.IGNORECASE) for name in names)


def _stale_values(candidates: Sequence[ex.Scored]) -> frozenset[str]:
    """Values (dates, numbers) that only superseded sentences give: a model sentence stating one presents an old
    decision as current, and is dropped."""
    old = {f for c in candidates if c.superseded for f in c.facts}
    current = {f for c in candidates if not c.superseded for f in c.facts}
    return frozenset(old - current)


# ---------------------------------------------------------------------- map: vectors and chunks


def _vectors(sentences: Sequence[ex.Sentence], run: _Run) -> tuple[np.ndarray, float]:
    """MiniLM vectors through the model's /embeddings, or TF-IDF when it cannot embed. Returns the vectors and the
    similarity from which a reply counts as answering a question (TF-IDF vectors share fewer terms)."""
    texts = [s.text for s in sentences]
    if run.model is not None:
        try:
            rows: list[list[float]] = []
            for start in range(0, len(texts), EMBED_BATCH):
                rows.extend(run.model.embed(texts[start : start + EMBED_BATCH]))
            matrix = np.asarray(rows, dtype=np.float32)
            if matrix.shape[0] == len(texts) and matrix.ndim == 2 and matrix.shape[1] > 8:
                run.embeddings = True
                return ex.normalise(matrix), 0.5
        except ModelError as exc:
            run.degraded = f"model unavailable ({type(exc).__name__}); messages picked by word statistics only"
            logger.warning("summarize: embeddings unavailable, using TF-IDF: %s", exc)
    return ex.tfidf_vectors(texts), 0.35


def _chunks(lines: Sequence[ChatLine], sentences: Sequence[ex.Sentence], run: _Run) -> list[list[ex.Sentence]]:
    """Sentences grouped so each group's messages, as a prompt, fit the chat model's window (map-reduce's map).

    Lines are packed by an estimate (one token per 3 characters, which overcounts English), then each chunk is
    measured once with the model's tokenizer and halved while it is still too long.
    """
    window = 2048
    if run.model is not None:
        with contextlib.suppress(ModelError):
            window = run.model.context_window("chat")
    budget = max(64, window - PROMPT_RESERVE - GIST_TOKENS)
    groups: list[range] = []
    start, used = 0, 0
    for index, line in enumerate(lines):
        cost = len(_line_prompt(line)) // 3 + 4
        if index > start and used + cost > budget:
            groups.append(range(start, index))
            start, used = index, 0
        used += cost
    groups.append(range(start, len(lines)))
    fitted: list[range] = []
    while groups:
        group = groups.pop(0)
        if len(group) > 1 and _tokens([lines[i] for i in group], run) > budget:
            half = group.start + len(group) // 2
            groups[:0] = [range(group.start, half), range(half, group.stop)]
        else:
            fitted.append(group)
    chunks = [[s for s in sentences if s.index in group] for group in fitted]
    return [chunk for chunk in chunks if chunk]


def _tokens(group: Sequence[ChatLine], run: _Run) -> int:
    text = "\n".join(_line_prompt(line) for line in group)
    if run.model is None:
        return len(text) // 3 + 4
    try:
        return run.model.count_tokens([ChatMessage(role="user", content=text)])
    except ModelError:
        return len(text) // 3 + 4


def _line_prompt(line: ChatLine) -> str:
    return f"{line.speaker}: {line.text}"


def _gist(
    chunk: Sequence[ex.Sentence],
    vectors: np.ndarray,
    run: _Run,
    *,
    stale: frozenset[str] = frozenset(),
    current: Sequence[ex.Scored] = (),
) -> list[SummaryPoint]:
    """The model's short summary of one chunk, kept sentence by sentence only where the chunk supports it: cited
    from sentences still current, never stating a value only superseded sentences give (`stale`), and never about
    a question still open (a small model reads "finance wants 7 days, I'd prefer 30" as settled)."""
    lines = list(dict.fromkeys(s.line for s in chunk))
    transcript = "\n".join(_line_prompt(line) for line in lines)
    live = {c.sentence.position for c in current} | {c.shown.position for c in current}
    citable = [s for s in chunk if s.position in live] or list(chunk)
    unsettled = {id(line) for c in current if c.kind == "question" for line in (c.sentence.line, c.shown.line)}
    messages = [
        ChatMessage(
            role="system",
            content="Summarize the conversation in one or two short sentences: what was decided, who owns what, "
            "dates and numbers. Name the people. When a later message changes a plan, give only the new plan. "
            "Use only facts stated in the conversation.",
        ),
        ChatMessage(role="user", content=transcript),
    ]
    answer = run.call("gist", lambda model: model.complete(messages, options=ChatOptions(max_tokens=GIST_TOKENS)))
    if not answer:
        return []
    kept: list[SummaryPoint] = []
    speakers = [line.speaker for line in lines]
    generated = split_sentences(answer.strip())
    gen_vectors = _embed_or_none(generated, run)
    for k, sentence in enumerate(generated):
        # Cite the sentences that share the most content words with the generated one.
        stems = set(content_stems(sentence))
        ranked = sorted(citable, key=lambda s: -len(stems & set(content_stems(s.text))))[:3]
        similarity = None
        if gen_vectors is not None:
            similarity = float(max(gen_vectors[k] @ vectors[chunk.index(s)] for s in ranked))
        verdict = check(sentence, [s.text for s in ranked], names=speakers, similarity=similarity)
        if verdict.ok and cues.fact_tokens(sentence) & stale:
            verdict = replace(verdict, ok=False, reason="states a superseded value as current")
        closest = max(chunk, key=lambda s: len(stems & set(content_stems(s.text))))
        if verdict.ok and id(closest.line) in unsettled:
            verdict = replace(verdict, ok=False, reason="speaks of an open question as if it were settled")
        if verdict.ok:
            sources = tuple(dict.fromkeys(s.line for s in ranked if stems & set(content_stems(s.text))))
            kept.append(SummaryPoint(text=sentence, sources=sources, rephrased=True))
        else:
            run.dropped += 1
            logger.debug("summarize: dropped a gist sentence: %s", verdict.reason)
    return kept


def _merge(gists: Sequence[SummaryPoint], run: _Run, *, stale: frozenset[str] = frozenset()) -> list[SummaryPoint]:
    """Reduce: ask the model to merge the chunk gists into one sentence, checked against the gists' sources."""
    messages = [
        ChatMessage(role="system", content="Merge these notes into one short sentence. Use only what they say."),
        ChatMessage(role="user", content="\n".join(g.text for g in gists)),
    ]
    answer = run.call("merge", lambda model: model.complete(messages, options=ChatOptions(max_tokens=GIST_TOKENS)))
    if not answer:
        return []
    sources = tuple(dict.fromkeys(line for g in gists for line in g.sources))
    sentence = split_sentences(answer.strip())[0] if split_sentences(answer.strip()) else ""
    verdict = check(
        sentence, [line.text for line in sources] + [g.text for g in gists], names=[line.speaker for line in sources]
    )
    if not verdict.ok or cues.fact_tokens(sentence) & stale:
        run.dropped += 1
        return []
    return [SummaryPoint(text=sentence, sources=sources, rephrased=True)]


def _embed_or_none(texts: Sequence[str], run: _Run) -> np.ndarray | None:
    if run.model is None or not run.embeddings or not texts:
        return None
    try:
        return ex.normalise(np.asarray(run.model.embed(list(texts)), dtype=np.float32))
    except (ModelError, ValueError):
        return None


# ---------------------------------------------------------------------- reduce: pick the points


def _overview(
    candidates: Sequence[ex.Scored], vectors: np.ndarray, budget: int, gists: Sequence[SummaryPoint]
) -> list[SummaryPoint]:
    """Checked gists first (they already summarise), then the most central, least redundant sentences up to the
    word budget, shown in conversation order so the overview reads like the conversation went."""
    points = list(gists[:1])
    used = sum(len(p.text.split()) for p in points)
    if used < budget and candidates:
        rows = vectors[[c.shown.position for c in candidates]]
        picked = ex.mmr(candidates, rows, limit=4, budget_words=budget - used)
        chosen = sorted((candidates[i] for i in picked), key=lambda c: c.shown.position)
        for c in chosen:
            last = points[-1] if len(points) > len(gists[:1]) else None
            if last is not None and last.sources[0] is c.shown.line:  # sentences of one message read together
                points[-1] = replace(last, text=f"{last.text} {c.shown.text}")
            else:
                points.append(SummaryPoint(text=c.shown.text, sources=(c.shown.line,)))
    return points


def _pick(
    candidates: Sequence[ex.Scored],
    vectors: np.ndarray,
    kind: str,
    limit: int,
    used: set[int],
    sentences: Sequence[ex.Sentence],
) -> list[SummaryPoint]:
    """The best `limit` points of one kind, least alike by MMR, none already shown (`used` grows), in conversation
    order. Sentences of one message read together as one point (one per owner, for actions); an agreement cites
    the proposal it agreed to, and an open question shows what was said to it since."""
    best: dict[int, ex.Scored] = {}  # one candidate per sentence shown: an agreement and its proposal are one
    also: dict[int, list[ChatLine]] = {}  # the other messages of those candidates: the agreement, the "sure"
    for c in candidates:
        position = c.shown.position
        if c.kind == kind and c.sentence.line is not c.shown.line:
            also.setdefault(position, []).append(c.sentence.line)
        if c.kind != kind or position in used or (position in best and c.score <= best[position].score):
            continue
        if _worth_showing(c):
            best[position] = c
    pool = list(best.values())
    if not pool:
        return []
    rows = vectors[[c.shown.position for c in pool]]
    picked = sorted((pool[i] for i in ex.mmr(pool, rows, limit=limit)), key=lambda c: c.shown.position)
    groups: dict[tuple[int, str | None], list[ex.Scored]] = {}
    for c in picked:
        groups.setdefault((id(c.shown.line), c.owner if kind == "action" else None), []).append(c)
    for group in groups.values():
        used.update(c.shown.position for c in group)
    points: list[SummaryPoint] = []
    for group in groups.values():
        line = group[0].shown.line
        lead = [c.context for c in group if c.context is not None and c.context.line is line]  # "99.9% it is."
        used.update(s.position for s in lead)
        shown = sorted({s.position: s for s in [*lead, *(c.shown for c in group)]}.values(), key=lambda s: s.position)
        others = [x for c in group for x in also.get(c.shown.position, []) if x is not line]
        agreed = tuple(dict.fromkeys(x.speaker for x in others)) if kind == "decision" else ()
        context = next((c.context for c in group if c.context is not None and c.context.position not in used), None)
        if context is not None:
            used.add(context.position)
        replies = _replies(line, candidates, kind, used, sentences) if kind == "question" else ()
        points.append(
            SummaryPoint(
                text=" ".join(s.text for s in shown),
                sources=tuple(dict.fromkeys([line, *others])) if not replies else (line,),
                owner=next((c.owner for c in group if c.owner), None),
                agreed_by=agreed,
                context=SummaryPoint(text=context.text, sources=(context.line,)) if context is not None else None,
                replies=replies,
            )
        )
    return points


def _informative(text: str) -> bool:
    """Enough words of its own to stand in the overview: "you did the 2.3 one" is not."""
    stems = content_stems(text)
    return len(stems) >= 3 and len([w for w in stems if not w[0].isdigit()]) >= 2


def _worth_showing(c: ex.Scored) -> bool:
    """Not a bare "yes pls"; and an action item says who, by when, or at least what ("ramen, spicy pls" does not)."""
    stems = len(content_stems(c.shown.text))
    if stems < (1 if c.kind == "decision" else 2) and c.context is None:  # "bowling it is." still decides
        return False
    return c.kind != "action" or bool(c.owner or cues.DEADLINE.search(c.shown.text) or stems >= 4 or c.context)


def _replies(
    line: ChatLine, candidates: Sequence[ex.Scored], kind: str, used: set[int], sentences: Sequence[ex.Sentence]
) -> tuple[SummaryPoint, ...]:
    """What others said to an open question that keeps it open ("finance wants it gone in 7 days, I'd prefer 30.
    need to talk to them, not decided"): each such message's sentences not shown elsewhere."""
    repliers = [c.sentence.line for c in candidates if c.kind == kind and c.shown.line is line]
    out: list[SummaryPoint] = []
    for reply in dict.fromkeys(r for r in repliers if r is not line):
        said = [s for s in sentences if s.line is reply and s.position not in used and content_stems(s.text)]
        said = [s for s in said if len(content_stems(s.text)) >= 2 or cues.OPEN.search(s.text)]
        if said:
            used.update(s.position for s in said)
            out.append(SummaryPoint(text=" ".join(s.text for s in said), sources=(reply,)))
    return tuple(out)


# ---------------------------------------------------------------------- phrase: reported speech, checked

_FEW_SHOT = (
    ("Alice (to Bob): I'll send the report by Friday.", "Alice will send the report by Friday."),
    (
        "Bob (to Carol): Can you check the logs before the release?",
        "Bob asks Carol to check the logs before the release.",
    ),
    ("Dana (to Eve): We decided to move the launch to May.", "Dana tells Eve they decided to move the launch to May."),
)


def _rephrase_all(overview: list[SummaryPoint], lines: Sequence[ChatLine], run: _Run) -> list[SummaryPoint]:
    """Rephrase the overview's quotes (concurrently: the worker batches requests), keeping a quote wherever its
    rephrasing fails the grounding check. Decisions, questions and actions stay quoted: they are read as evidence,
    and on a CPU each rephrasing costs seconds."""
    quoted = [p for p in overview if not p.rephrased]
    if run.model is None or not quoted:
        return overview
    with ThreadPoolExecutor(min(run.concurrency, len(quoted))) as pool:
        done = dict(zip(quoted, pool.map(lambda p: _rephrase(p, lines, run), quoted), strict=True))
    return [done.get(p, p) for p in overview]


def _rephrase(point: SummaryPoint, lines: Sequence[ChatLine], run: _Run) -> SummaryPoint:
    line = point.sources[0]
    addressee = _addressee(line, lines)
    prefix = f"{line.speaker} (to {addressee})" if addressee else line.speaker
    messages = [
        ChatMessage(
            role="system",
            content="Rewrite the message as one sentence of reported speech in the "
            "third person. Keep every fact. Add nothing.",
        )
    ]
    for source, target in _FEW_SHOT:
        messages += [ChatMessage(role="user", content=source), ChatMessage(role="assistant", content=target)]
    messages.append(ChatMessage(role="user", content=f"{prefix}: {point.text}"))
    options = ChatOptions(max_tokens=PHRASE_TOKENS, stop=["\n"])
    answer = run.call("rephrase", lambda model: model.complete(messages, options=options))
    if not answer:
        return point
    text = answer.strip()
    names = [line.speaker] + ([addressee] if addressee else [])
    verdict = check(text, [point.text], names=names, similarity=_pair_similarity(text, point.text, run))
    if verdict.ok and not _reports(text, line.speaker):
        verdict = replace(verdict, ok=False, reason="not reported speech of the speaker")
    if not verdict.ok:
        run.dropped += 1
        logger.debug("summarize: dropped a rephrasing: %s", verdict.reason)
        return point
    return replace(point, text=text, rephrased=True)


def _reports(text: str, speaker: str) -> bool:
    """Reported speech starts with who spoke and has no "you" left: "Karren tells Person1 they enjoyed talking to
    you" (said by someone else) and "Kate tells Kate…" are the 135M model's usual ways of getting it wrong."""
    found, expected = words(text), words(speaker)
    return bool(expected) and found[: len(expected)] == expected and not {"you", "your", "yours"} & set(found)


def _addressee(line: ChatLine, lines: Sequence[ChatLine]) -> str | None:
    """Whom a message speaks to, as far as the messages show: the person it @-mentions; in a thread, whoever
    started it; between two people, the other one (the nearest other speaker before it, else after it). In a
    channel of many, order alone is a guess, and a guessed "(to Anjali)" becomes "Irina asks Anjali…"."""
    mentioned = cues.MENTION.findall(line.text)
    if mentioned:
        return mentioned[0]
    if line.thread_ts and line.thread_ts != line.ts:
        parent = next((other for other in lines if other.ts == line.thread_ts), None)
        return parent.speaker if parent is not None and parent.speaker != line.speaker else None
    if len({other.speaker for other in lines}) != 2:
        return None
    index = next((i for i, other in enumerate(lines) if other is line), -1)
    for other in [*reversed(lines[:index]), *lines[index + 1 :]]:
        if other.speaker != line.speaker:
            return other.speaker
    return None


def _pair_similarity(a: str, b: str, run: _Run) -> float | None:
    vectors = _embed_or_none([a, b], run)
    return None if vectors is None else float(vectors[0] @ vectors[1])
