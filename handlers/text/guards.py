"""The one degeneracy guard: small models loop, and a loop must never reach a reader.

A loop has the same shape wherever it is caught: the end of a reply is one unit written again and again. The
model worker catches it on token ids while generating (bot/worker/engine.py) and on characters when its engine
streams text (bot/worker/llama_engine.py); the skills catch it on the text they are about to show (a streamed
reply, a translation). All of them call `looping_period`, so "looping" means one thing. These are pure functions
of sequences and strings: the worker imports them without pulling in any skill.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from handlers.text.sentences import split_sentences
from handlers.text.words import words

LOOP_TAIL_CHARS = 600  # a loop shows in the tail; judging more only costs time on every streamed piece
LOOP_MAX_UNIT_CHARS = 200  # a sentence written three times over is a loop too
LOOP_MIN_CHARS = 24  # "ha ha ha" or "no, no, no" is not a loop; 24 characters of it are


def looping_period(items: Sequence[object], *, max_period: int = 16, min_repeats: int = 3, min_span: int = 12) -> int:
    """Length of the unit `items` (token ids, or the characters of a text) is stuck repeating at its end, or 0.

    A sequence loops when its last `period` items appeared at least `min_repeats` times back to back, covering at
    least `min_span` items (so "Yes, yes, yes" or a short list does not trip it). Small models such as
    SmolLM2-135M fall into such loops; the engine stops the request there instead of burning the rest of
    max_tokens.
    """
    n = len(items)
    for period in range(1, max_period + 1):
        repeats = max(min_repeats, -(-min_span // period))
        span = period * repeats
        if span > n:
            continue
        tail = items[n - span :]
        unit = tail[-period:]
        if all(tail[i] == unit[i % period] for i in range(span)):
            return period
    return 0


def ends_in_loop(text: str) -> bool:
    """True when `text` ends in one unit written at least three times back to back, over 24 characters or more.

    Runs of whitespace count as one space, so a model padding with blank lines or re-indenting a repeated line
    still reads as the loop it is.
    """
    squeezed = " ".join(text[-LOOP_TAIL_CHARS:].split())
    return looping_period(squeezed, max_period=LOOP_MAX_UNIT_CHARS, min_repeats=3, min_span=LOOP_MIN_CHARS) > 0


def repeated_ngram_ratio(text: str, n: int = 4) -> float:
    """Share of word n-grams that already occurred earlier in the text: 0 for fresh text, near 1 for a loop."""
    tokens = words(text)
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if len(grams) < 4:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for gram in grams:
        if gram in seen:
            repeats += 1
        seen.add(gram)
    return repeats / len(grams)


def compressibility(text: str) -> float:
    """Compressed size over raw size: near 1 for ordinary sentences, far lower for text that repeats itself.

    Unlike word n-grams it also sees repetition in scripts written without spaces (Japanese, Chinese).
    """
    raw = " ".join(text.split()).encode()
    if len(raw) < 60:
        return 1.0
    return len(zlib.compress(raw, 9)) / len(raw)


def is_degenerate(text: str) -> bool:
    """Empty, ending in a loop, or mostly repeated phrases: an answer not worth showing as it is."""
    stripped = text.strip()
    return not stripped or ends_in_loop(stripped) or repeated_ngram_ratio(stripped) > 0.5


def trim_loop(text: str) -> str:
    """Cuts a looping tail back to its first occurrence, so a mostly good answer is kept."""
    kept: list[str] = []
    seen: set[str] = set()
    for sentence in split_sentences(text):
        key = sentence.lower()
        if key in seen:
            break
        seen.add(key)
        kept.append(sentence)
    return " ".join(kept)
