"""/summarize as plain data: messages in, a grounded `Summary` out. No Slack types; bot/ renders and links it.

The pipeline is extractive first, because the bundled 135M model invents when asked to summarise:

1. Map: the history is cut into chunks that fit the chat model's context window (by its own token count). In each
   chunk, sentences are scored (handlers/extractive.py) and, when a model answers, the model writes a one- or
   two-sentence gist of the chunk.
2. Reduce: candidates from every chunk compete together; the overview is picked by MMR, and decisions, open
   questions and action items by their cues. With several chunks, the model may merge the chunk gists.
3. Phrase: the model may rewrite each overview sentence as reported speech ("Bob asks Carol to check the logs").

Step 1's gist and step 3 are opt-in (`abstract`, `rephrase`): with the bundled 135M model they cost seconds per call and
their output almost never survives the check. Embeddings (MiniLM) are used whenever the model serves them.

Every sentence the model writes is checked against the messages it cites (handlers/grounding.py) and dropped when
they do not support it; the quoted sentence stays in its place. Without a model (down, busy, or None) the result is
the extractive summary alone, and `Summary.degraded` says so, so the reply can be honest about it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from bot.model_client import ChatMessage, ChatOptions, ModelClient, ModelError, PromptTooLong
from handlers import extractive as ex
from handlers.chat import ChatLine
from handlers.grounding import check

logger = logging.getLogger(__name__)

GIST_TOKENS = 80
PHRASE_TOKENS = 48
PROMPT_RESERVE = 160  # instructions and chat template around a chunk
EMBED_BATCH = 64


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

    @property
    def speaker(self) -> str:
        return self.sources[0].speaker if self.sources else ""

    def render(self) -> str:
        """Plain text: a rephrasing as written, a quote with its speaker ("Alice: we ship on Friday.")."""
        return self.text if self.rephrased else f"{self.speaker}: {self.text}"


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
    chunks: int = 0
    rephrased: int = 0
    dropped: int = 0
    degraded: str | None = None

    @property
    def is_empty(self) -> bool:
        return not self.overview

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

    def call(self, what: str, fn: Callable[[], str]) -> str | None:
        """Run one model call; on failure remember why and stop using the model for the rest of this summary."""
        if self.model is None or self.degraded:
            return None
        try:
            return fn()
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
) -> Summary:
    """Summarise `lines` (oldest first) into a grounded `Summary`.

    `max_points` caps each of decisions, questions and actions. `overview_words` is the overview's length target.
    `abstract` asks the model for a gist of each chunk, and `rephrase` lets it turn the overview's quotes into
    reported speech. Both are off by default because the bundled 135M model's output almost never survives the
    grounding check (on 20 held-out DialogSum dialogues: 0 of 60 rephrasings kept) while each call costs seconds on
    a CPU; turn them on with a capable model. Embeddings are always used when the model serves them.
    `model=None` gives the extractive summary with no model calls at all.
    """
    lines = [line for line in lines if line.text.strip()]
    run = _Run(model=model, concurrency=max(1, concurrency))
    sentences = ex.sentences_of(lines)
    if not sentences:
        return Summary(message_count=len(lines), degraded=None if model else "no model configured")
    vectors, answered_at = _vectors(sentences, run)
    chunks = _chunks(lines, sentences, run)
    speakers = sorted({line.speaker for line in lines})
    candidates: list[ex.Scored] = []
    gists: list[SummaryPoint] = []
    for chunk in chunks:
        rows = np.array([s.position for s in chunk])
        scored = ex.score_sentences(chunk, vectors[rows], speakers=speakers, answered_at=answered_at)
        candidates.extend(scored)
        if abstract:
            gists.extend(_gist(chunk, vectors[rows], run))
    if len(chunks) > 1 and len(gists) > 1:
        gists = _merge(gists, run) + gists
    overview = _overview(candidates, vectors, overview_words, gists)
    kinds = {kind: _pick(candidates, vectors, kind, max_points) for kind in ("decision", "question", "action")}
    if rephrase:
        overview = _rephrase_all(overview, lines, run)
    return Summary(
        overview=tuple(overview),
        decisions=tuple(kinds["decision"]),
        questions=tuple(kinds["question"]),
        actions=tuple(kinds["action"]),
        message_count=len(lines),
        chunks=len(chunks),
        rephrased=sum(p.rephrased for p in [*overview, *kinds["decision"], *kinds["question"], *kinds["action"]]),
        dropped=run.dropped,
        degraded=run.degraded or (None if model else "no model configured; extractive summary only"),
    )


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


def _gist(chunk: Sequence[ex.Sentence], vectors: np.ndarray, run: _Run) -> list[SummaryPoint]:
    """The model's short summary of one chunk, kept sentence by sentence only where the chunk supports it."""
    lines = list(dict.fromkeys(s.line for s in chunk))
    transcript = "\n".join(_line_prompt(line) for line in lines)
    messages = [
        ChatMessage(
            role="system",
            content="Summarize the conversation in one or two short sentences. Name the "
            "people. Use only facts stated in the conversation.",
        ),
        ChatMessage(role="user", content=transcript),
    ]
    answer = run.call("gist", lambda: run.model.complete(messages, options=ChatOptions(max_tokens=GIST_TOKENS)))
    if not answer:
        return []
    kept: list[SummaryPoint] = []
    speakers = [line.speaker for line in lines]
    generated = ex.split_sentences(answer.strip())
    gen_vectors = _embed_or_none(generated, run)
    for k, sentence in enumerate(generated):
        # Cite the sentences that share the most content words with the generated one.
        stems = set(ex.content_stems(sentence))
        ranked = sorted(chunk, key=lambda s: -len(stems & set(ex.content_stems(s.text))))[:3]
        similarity = None
        if gen_vectors is not None:
            similarity = float(max(gen_vectors[k] @ vectors[chunk.index(s)] for s in ranked))
        verdict = check(sentence, [s.text for s in ranked], names=speakers, similarity=similarity)
        if verdict.ok:
            sources = tuple(dict.fromkeys(s.line for s in ranked if stems & set(ex.content_stems(s.text))))
            kept.append(SummaryPoint(text=sentence, sources=sources, rephrased=True))
        else:
            run.dropped += 1
            logger.debug("summarize: dropped a gist sentence: %s", verdict.reason)
    return kept


def _merge(gists: Sequence[SummaryPoint], run: _Run) -> list[SummaryPoint]:
    """Reduce: ask the model to merge the chunk gists into one sentence, checked against the gists' sources."""
    messages = [
        ChatMessage(role="system", content="Merge these notes into one short sentence. Use only what they say."),
        ChatMessage(role="user", content="\n".join(g.text for g in gists)),
    ]
    answer = run.call("merge", lambda: run.model.complete(messages, options=ChatOptions(max_tokens=GIST_TOKENS)))
    if not answer:
        return []
    sources = tuple(dict.fromkeys(line for g in gists for line in g.sources))
    sentence = ex.split_sentences(answer.strip())[0] if ex.split_sentences(answer.strip()) else ""
    verdict = check(
        sentence, [line.text for line in sources] + [g.text for g in gists], names=[line.speaker for line in sources]
    )
    if not verdict.ok:
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
    if used < budget:
        rows = vectors[[c.sentence.position for c in candidates]]
        picked = ex.mmr(candidates, rows, limit=4, budget_words=budget - used)
        chosen = sorted((candidates[i] for i in picked), key=lambda c: c.sentence.position)
        points.extend(SummaryPoint(text=c.sentence.text, sources=(c.sentence.line,)) for c in chosen)
    return points


def _pick(candidates: Sequence[ex.Scored], vectors: np.ndarray, kind: str, limit: int) -> list[SummaryPoint]:
    of_kind = [c for c in candidates if c.kind == kind]
    if not of_kind:
        return []
    rows = vectors[[c.sentence.position for c in of_kind]]
    picked = sorted((of_kind[i] for i in ex.mmr(of_kind, rows, limit=limit)), key=lambda c: c.sentence.position)
    return [SummaryPoint(text=c.sentence.text, sources=(c.sentence.line,), owner=c.owner) for c in picked]


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
    answer = run.call("rephrase", lambda: run.model.complete(messages, options=options))
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
    found, expected = ex.words(text), ex.words(speaker)
    return bool(expected) and found[: len(expected)] == expected and not {"you", "your", "yours"} & set(found)


def _addressee(line: ChatLine, lines: Sequence[ChatLine]) -> str | None:
    """Whom a message speaks to, as far as order shows: the nearest other speaker before it, else after it."""
    index = next((i for i, other in enumerate(lines) if other is line), -1)
    for other in [*reversed(lines[:index]), *lines[index + 1 :]]:
        if other.speaker != line.speaker:
            return other.speaker
    return None


def _pair_similarity(a: str, b: str, run: _Run) -> float | None:
    vectors = _embed_or_none([a, b], run)
    return None if vectors is None else float(vectors[0] @ vectors[1])
