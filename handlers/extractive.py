"""Extractive summarisation: pick the sentences that carry a conversation, without any generation.

This is the part of /summarize that must stand on its own. A 135M chat model invents when asked to summarise, so
every point of a summary starts here as a sentence someone actually wrote, with the message it came from; the model
may only rephrase it afterwards (handlers/summarize.py), and is checked (handlers/grounding.py).

Scores combine centrality (how much a sentence resembles the rest of the conversation, from MiniLM embeddings when
the model can embed, else TF-IDF vectors), cues that people use for decisions, questions and action items, and a
little position (openers name the topic). Selection is MMR, so the picks are central but not repetitive.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from handlers.chat import ChatLine

# Sentence ends: ., ! or ? followed by space, keeping abbreviations like "Ms." and "p.m." together.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z#@0-9])")
_ABBREVIATIONS = ("mr.", "mrs.", "ms.", "dr.", "st.", "p.m.", "a.m.", "e.g.", "i.e.", "vs.", "etc.", "jr.", "sr.")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each few
    for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
    himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same shan't she she'd she'll
    she's should shouldn't so some such than that that's the their theirs them themselves then there there's these
    they they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll we're
    we've were weren't what what's when when's where where's which while who who's whom why why's with won't would
    wouldn't you you'd you'll you're you've your yours yourself yourselves yes yeah ok okay oh well just really
    sure thanks thank please hi hello right um uh hmm so also get got go going know think like would will shall
    s t d ll m re ve""".split()
)

DECISION = re.compile(
    r"\b(we(?:'ve| have)? decided|decision is|let'?s go with|we'?ll go with|going with|agreed|we agree|"
    r"settled on|final answer|approved|sign(?:ed)? off|ship it|we will|let'?s do|makes sense,? let'?s)\b",
    re.IGNORECASE,
)
ACTION = re.compile(
    r"\b(i'?ll|i will|i'm going to|i can take|can you|could you|would you|will you|please|todo|to-do|action item|"
    r"need(?:s)? to|have to|must|assign(?:ed)?|follow up|take care of|remind)\b",
    re.IGNORECASE,
)
DEADLINE = re.compile(
    r"\b(by|before|until|due|on)\s+(today|tonight|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|eod|end of (?:the )?(?:day|week|month)|next week|noon|\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.)?)\b",
    re.IGNORECASE,
)
MENTION = re.compile(r"@([\w.\-]+)")
_SELF_ACTION = re.compile(r"\b(i'?ll|i will|i'm going to|i can take|i'?m on it)\b", re.IGNORECASE)
LEAD_WEIGHT = 0.15  # bonus of the first sentence; decays over about three sentences
LEAD_DECAY = 3.0
INFORMATIVE_WORDS = 6.0  # content words from which a sentence counts as fully informative
_ASK_ACTION = re.compile(r"\b(can you|could you|would you|will you|please)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sentence:
    """One sentence of one message; `index` is its message's position in the conversation."""

    text: str
    line: ChatLine
    index: int
    position: int  # sentence number within the conversation, for order and lead bias


@dataclass(slots=True)
class Scored:
    """A sentence with what the scorer found in it. `kind` is overview, decision, question or action."""

    sentence: Sentence
    score: float
    kind: str = "overview"
    owner: str | None = None
    tags: set[str] = field(default_factory=set)


def split_sentences(text: str) -> list[str]:
    """Split a message into sentences, keeping abbreviations ("Ms. Dawson") whole and dropping empty pieces."""
    pieces: list[str] = []
    for raw in text.splitlines():
        buffer = ""
        for part in _SENTENCE_END.split(raw.strip()):
            buffer = f"{buffer} {part}".strip() if buffer else part.strip()
            if not buffer.lower().endswith(_ABBREVIATIONS):
                pieces.append(buffer)
                buffer = ""
        if buffer:
            pieces.append(buffer)
    return [p for p in pieces if p]


_INTERJECTION = re.compile(
    r"^(?:(?:well|yes|yeah|yep|oh|ok|okay|so|um|uh|hmm|ah|hey|hi|hello|sure|right|great|really|sir|madam|ma'am)"
    r"\s*[,!.]+\s*)+(?=\w)",
    re.IGNORECASE,
)


def trim(sentence: str) -> str:
    """Drop leading interjections ("Well, yes, we ship Friday." -> "We ship Friday."): shorter quotes, same facts.
    "No," is kept because it carries meaning."""
    trimmed = _INTERJECTION.sub("", sentence)
    return trimmed[:1].upper() + trimmed[1:] if trimmed and words(trimmed) else sentence


def words(text: str) -> list[str]:
    """Lower-cased word tokens, the same way for scoring and for the grounding check."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def stem(word: str) -> str:
    """A crude suffix stripper, enough to match "decided"/"decide", "ships"/"ship" across source and rephrasing."""
    for suffix in ("ing", "ied", "ies", "ed", "es", "s", "'s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w not in STOPWORDS]


_NOT_WORDS = re.compile(r":[a-z0-9_+'-]+:|<?https?://\S+>?")  # emoji shortcodes and bare links


def sentences_of(lines: Sequence[ChatLine]) -> list[Sentence]:
    """Every sentence of every message, in order. Messages with no words (emoji, bare links) contribute nothing."""
    out: list[Sentence] = []
    for index, line in enumerate(lines):
        for text in map(trim, split_sentences(line.text)):
            if words(_NOT_WORDS.sub(" ", text)):
                out.append(Sentence(text=text, line=line, index=index, position=len(out)))
    return out


def tfidf_vectors(texts: Sequence[str]) -> np.ndarray:
    """Unit-length TF-IDF vectors over content stems: the centrality fallback when no embedding model answers."""
    docs = [Counter(content_stems(t)) for t in texts]
    df = Counter(term for doc in docs for term in doc)
    vocab = {term: i for i, term in enumerate(df)}
    matrix = np.zeros((len(texts), max(1, len(vocab))), dtype=np.float32)
    n = len(texts)
    for row, doc in enumerate(docs):
        for term, count in doc.items():
            matrix[row, vocab[term]] = (1 + math.log(count)) * math.log((1 + n) / (1 + df[term]) + 1)
    return normalise(matrix)


def normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def score_sentences(
    sentences: Sequence[Sentence], vectors: np.ndarray, *, speakers: Sequence[str], answered_at: float = 0.5
) -> list[Scored]:
    """Score each sentence for the overview and classify it as a decision, open question or action item.

    `vectors` are unit-length rows, one per sentence. `answered_at` is the similarity from which a later reply
    counts as an answer to a question (it differs between embeddings and TF-IDF). Weights were tuned on the first
    100 DialogSum test dialogues (see bot/eval/summarize.py); cue weights matter little there and a lot in team
    channels, which is why they stay.
    """
    n = len(sentences)
    if n == 0:
        return []
    similarity = vectors @ vectors.T
    centrality = (similarity.sum(axis=1) - 1.0) / max(1, n - 1)
    lengths = np.array([len(content_stems(s.text)) for s in sentences], dtype=np.float32)
    names = _names(speakers, sentences)
    first = sentences[0].position  # the lead bonus is per chunk, so every chunk of a long history competes alike
    scored: list[Scored] = []
    for i, sentence in enumerate(sentences):
        text = sentence.text
        informative = min(1.0, lengths[i] / INFORMATIVE_WORDS)  # "Yes, sir." carries nothing however central it is
        score = float(centrality[i]) * informative
        # Openers usually state the topic; "Really?" near the start still does not.
        score += math.sqrt(informative) * LEAD_WEIGHT * math.exp(-(sentence.position - first) / LEAD_DECAY)
        item = Scored(sentence=sentence, score=score)
        if any(name in words(text) for name in names):
            item.tags.add("name")
            score += 0.03
        if DECISION.search(text):
            item.kind, score = "decision", score + 0.1
        elif ACTION.search(text) or "todo" in text.lower():
            item.kind, item.owner = "action", _owner(i, sentences, speakers)
            score += 0.05 + (0.05 if DEADLINE.search(text) else 0.0)
        elif text.rstrip().endswith("?") and lengths[i] >= 2 and _unanswered(i, sentences, similarity, answered_at):
            item.kind = "question"
        item.score = score
        scored.append(item)
    return scored


def mmr(
    candidates: Sequence[Scored], vectors: np.ndarray, *, limit: int, budget_words: int | None = None, lam: float = 0.7
) -> list[int]:
    """Maximal marginal relevance: repeatedly take the best-scoring candidate that is least like those taken.

    Returns indices into `candidates`, in selection order. `budget_words` stops once the picks reach that many
    words, so the overview stays short whatever the sentence lengths.
    """
    chosen: list[int] = []
    total = 0
    scores = np.array([c.score for c in candidates], dtype=np.float32)
    redundancy = np.zeros(len(candidates), dtype=np.float32)  # max similarity to anything chosen so far
    open_ = np.ones(len(candidates), dtype=bool)
    while open_.any() and len(chosen) < limit:
        gains = np.where(open_, lam * scores - (1 - lam) * redundancy, -np.inf)
        best = int(np.argmax(gains))
        open_[best] = False
        if chosen and redundancy[best] > 0.92:
            continue  # a near-duplicate ("ok, friday" twice) adds nothing
        chosen.append(best)
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
        total += len(candidates[best].sentence.text.split())
        if budget_words is not None and total >= budget_words:
            break
    return chosen


def _names(speakers: Sequence[str], sentences: Sequence[Sentence]) -> set[str]:
    """Lower-cased first names of the speakers and @-mentioned people: sentences naming people tend to matter."""
    names = {words(s)[0] for s in speakers if words(s)}
    for sentence in sentences:
        names.update(m.lower() for m in MENTION.findall(sentence.text))
    return {n for n in names if n not in STOPWORDS}


def _owner(i: int, sentences: Sequence[Sentence], speakers: Sequence[str]) -> str | None:
    """Who the action belongs to, only where the messages say: "I'll" is the speaker; "@bob can you" is bob;
    "can you" answered by someone is whoever answered. Otherwise None, rather than a guess."""
    sentence = sentences[i]
    mentioned = MENTION.findall(sentence.text)
    if mentioned:
        return mentioned[0]
    if _SELF_ACTION.search(sentence.text):
        return sentence.line.speaker
    for speaker in speakers:
        first = speaker.split()[0] if speaker.split() else ""
        if first and re.search(rf"(^|[,;]\s*){re.escape(first)}\b\s*,", sentence.text, re.IGNORECASE):
            return speaker  # "Bob, can you…" (a vocative)
    if _ASK_ACTION.search(sentence.text):
        for later in sentences[i + 1 : i + 6]:
            if later.line.speaker != sentence.line.speaker:
                return later.line.speaker
    return None


_ANSWER_START = re.compile(
    r"^\W*(yes|yeah|yep|no|nope|sure|ok|okay|i|i'?ll|i'?m|we|we'?ll|it|it'?s|that'?s|they|he|she|because|\d)\b",
    re.IGNORECASE,
)


def _unanswered(i: int, sentences: Sequence[Sentence], similarity: np.ndarray, answered_at: float) -> bool:
    """A question is open unless someone else replied within the next few sentences with what reads like an answer:
    one that starts like one ("yes", "I'll", "it's", a name, a number) or means nearly the same as the question.
    Topical closeness alone is not enough: in a channel the next message is often about something else."""
    asker = sentences[i].line.speaker
    names = {w for s in sentences for w in words(s.line.speaker)[:1]}
    for j in range(i + 1, min(len(sentences), i + 4)):
        other = sentences[j]
        if other.line.speaker == asker:
            continue
        first = words(other.text)[:1]
        if _ANSWER_START.search(other.text) or (first and first[0] in names) or similarity[i, j] >= answered_at:
            return False
    return True
