"""Questions answered from what was said: retrieve first, answer only from what was retrieved, cite it.

Ranking blends word overlap with MiniLM embedding similarity (when the model server offers embeddings). The
model may then pick a short answer out of the best sources, but an answer it writes that the sources do not
contain is thrown away in favour of the best source sentence itself: a small model must not invent.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.model_client import ChatMessage, ChatOptions, ModelClient, ModelError
from handlers.chat import ChatLine

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[\w']+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
STOPWORDS = frozenset(
    """a an the and or but if of to in on at for from by with about as into over after before is are was were be
    been being do does did have has had i you he she it we they me him her us them my your his its our their this
    that these those what which who whom whose when where why how can could should would will shall may might must
    not no yes so than then there here just also any some all each every more most other such only own same too very
    s t don doesn didn isn aren wasn weren hasn haven hadn won wouldn shouldn couldn let lets please tell know think
    anyone someone anybody somebody say said""".split()
)
_HISTORY_CUES = re.compile(
    r"\b(we|our|us|team|decid\w*|agree\w*|said|say|mention\w*|discuss\w*|talk\w*|plan\w*|chose|choose|pick\w*|"
    r"yesterday|today|last (?:week|month|time)|earlier|channel|thread|meeting|who (?:is|was|will)|when (?:is|was|will)|"
    r"what (?:is|was) the|deadline|release|date|owner|status)\b",
    re.I,
)

MIN_RELEVANCE = 0.34
ANSWER_TOKENS = 48


@dataclass(frozen=True)
class Answer:
    found: bool
    text: str = ""
    sources: list[ChatLine] = field(default_factory=list)
    generated: bool = False  # True when the short answer came from the model (and was checked against sources)


def content_words(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def is_history_question(request: str) -> bool:
    """A question about what was said here (answered from history, never invented) rather than a general one."""
    return bool(_HISTORY_CUES.search(request)) and ("?" in request or request.lower().startswith(_QUESTION_WORDS))


_QUESTION_WORDS = ("what", "when", "who", "where", "why", "how", "which", "did", "do", "does", "is", "are", "was",
                   "were", "can", "could", "should", "will", "would", "have", "has")  # fmt: skip


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def _overlap(question_words: set[str], text: str) -> float:
    if not question_words:
        return 0.0
    words = set(content_words(text))
    return len(question_words & words) / len(question_words)


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def rank(question: str, candidates: Sequence[ChatLine], model: ModelClient | None) -> list[tuple[ChatLine, float]]:
    """Candidates with a relevance in [0, 1], best first: mean of word overlap and embedding similarity."""
    if not candidates:
        return []
    question_words = set(content_words(question))
    lexical = [_overlap(question_words, line.text) for line in candidates]
    semantic: list[float] | None = None
    if model is not None:
        try:
            vectors = model.embed([question, *(line.text[:2000] for line in candidates)])
            semantic = [max(0.0, _cosine(vectors[0], vector)) for vector in vectors[1:]]
        except ModelError as exc:
            logger.info("embeddings unavailable, ranking by words only: %s", type(exc).__name__)
    scores = lexical if semantic is None else [(lex + sem) / 2 for lex, sem in zip(lexical, semantic, strict=True)]
    order = sorted(range(len(candidates)), key=lambda i: scores[i], reverse=True)
    return [(candidates[i], scores[i]) for i in order]


def best_sentence(question: str, text: str) -> str:
    """The sentence of `text` that shares most words with the question (the baseline answer, and our fallback)."""
    question_words = set(content_words(question))
    sentences = split_sentences(text) or [text]
    return max(sentences, key=lambda s: _overlap(question_words, s))


def _normalize(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def grounded_span(candidate: str, sources: Sequence[str]) -> str | None:
    """The candidate answer if the sources contain it (ignoring case and punctuation), else None.

    A model that copies a phrase passes; one that paraphrases or invents does not. A candidate that starts with
    a copied phrase and then rambles keeps the copied part.
    """
    words = _WORD.findall(candidate)
    haystack = " " + " ".join(_normalize(s) for s in sources) + " "
    for end in range(len(words), 0, -1):
        phrase = " ".join(w.lower() for w in words[:end])
        if f" {phrase} " in haystack:
            if set(content_words(phrase)) or end == len(words):
                return " ".join(words[:end])
            return None
    return None


def extract_answer(question: str, context: str, model: ModelClient) -> str | None:
    messages = [
        ChatMessage(
            role="system",
            content="You answer questions about a text with a short phrase copied exactly from the text.",
        ),
        ChatMessage(role="user", content=f"Text: {context}\n\nQuestion: {question}\nShort answer from the text:"),
    ]
    try:
        reply = model.complete(messages, options=ChatOptions(max_tokens=ANSWER_TOKENS, temperature=0.0))
    except ModelError as exc:
        logger.info("model unavailable for answer extraction: %s", type(exc).__name__)
        return None
    reply = reply.strip().split("\n")[0].strip(" .\"'")
    return grounded_span(reply, [context]) if reply else None


_NUMBER = re.compile(r"\d")
_CAPITALISED = re.compile(r"^[A-Z]")
_TOKEN = re.compile(r"[\w'’½%$.-]*\w[%]?|[^\w\s]", re.UNICODE)


_NUMERIC_QUESTIONS = ("how many", "how much", "how long", "how old", "what year", "when", "what percentage",
                      "in what year", "in which year", "what time")  # fmt: skip
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion "
    "first second third fourth fifth half dozen".split()
)
_NAME_JOINERS = frozenset({"of", "and", "de", "von", "van", "the", "&"})


def _is_number(token: str) -> bool:
    return bool(_NUMBER.search(token)) or token.lower() in _NUMBER_WORDS


def _is_name(token: str) -> bool:
    return bool(_CAPITALISED.match(token))


def _typed_part(run: list[int], tokens: list[str], kind) -> list[int]:
    """The longest stretch of `run` whose tokens are of the wanted kind (names may contain 'of', 'and')."""
    best: list[int] = []
    current: list[int] = []
    for i in run:
        if kind(tokens[i]) or (current and kind is _is_name and tokens[i].lower() in _NAME_JOINERS):
            current.append(i)
        else:
            current = []
        trimmed = current
        while trimmed and tokens[trimmed[-1]].lower() in _NAME_JOINERS:
            trimmed = trimmed[:-1]
        if len(trimmed) > len(best):
            best = list(trimmed)
    return best


def candidate_span(question: str, sentence: str, *, max_words: int = 8) -> str | None:
    """A short answer inside `sentence`, found without the model.

    The answer to a question is usually the part of the best sentence the question does not already say, next
    to the words it does say; the question word narrows what kind of part (a number, a name, anything).
    """
    question_words = {_stem(w) for w in _WORD.findall(question.lower())}
    tokens = _TOKEN.findall(sentence)
    runs: list[list[int]] = [[]]
    for index, token in enumerate(tokens):
        is_word = bool(re.match(r"\w", token))
        if not is_word or _stem(token.lower().strip(".")) in question_words:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(index)
    runs = [run for run in runs if run and any(tokens[i].lower() not in STOPWORDS for i in run)]
    if not runs:
        return None
    lowered = question.lower()
    numeric = lowered.startswith(_NUMERIC_QUESTIONS) or " how many " in lowered or " what year" in lowered
    named = lowered.startswith(("who", "whom", "whose", "where")) or " who " in lowered
    kind = _is_number if numeric else _is_name if named else None
    typed = [_typed_part(run, tokens, kind) for run in runs] if kind else []
    typed = [run for run in typed if run]
    matched = [i for i, token in enumerate(tokens) if _stem(token.lower()) in question_words - STOPWORDS]

    def closeness(run: list[int]) -> float:
        if not matched:
            return 0.0
        return -min(min(abs(i - m) for m in matched) for i in (run[0], run[-1]))

    pool = typed or runs
    best = max(pool, key=lambda run: (closeness(run), len(run)))
    words = [tokens[i] for i in best]
    while words and words[0].lower() in STOPWORDS:
        words = words[1:]
    while words and words[-1].lower() in STOPWORDS:
        words = words[:-1]
    return " ".join(words[:max_words]) or None


def answer_question(
    question: str,
    candidates: Sequence[ChatLine],
    model: ModelClient | None,
    *,
    max_sources: int = 3,
    min_relevance: float = MIN_RELEVANCE,
    use_model: bool = True,
) -> Answer:
    ranked = [(line, score) for line, score in rank(question, candidates, model) if score >= min_relevance]
    if not ranked:
        return Answer(found=False)
    sources = [line for line, _ in ranked[:max_sources]]
    sentence = best_sentence(question, sources[0].text)
    if model is not None and use_model:
        span = extract_answer(question, sentence, model)
        if span and content_words(span) and len(span.split()) <= 8 and _adds_to(question, span):
            return Answer(found=True, text=span, sources=sources, generated=True)
    return Answer(found=True, text=candidate_span(question, sentence) or sentence, sources=sources)


def _adds_to(question: str, span: str) -> bool:
    """Whether the span says something the question did not already say."""
    return bool(set(content_words(span)) - set(content_words(question)))
