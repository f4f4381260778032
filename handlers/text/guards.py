"""Checks on what a model wrote, shared by every skill: small models loop, echo and trail off."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)


def repeated_ngram_ratio(text: str, n: int = 4) -> float:
    """Share of word n-grams that already occurred earlier in the text: 0 for fresh text, near 1 for a loop."""
    words = [w.lower() for w in _WORD.findall(text)]
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if len(grams) < 4:
        return 0.0
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for gram in grams:
        if gram in seen:
            repeats += 1
        seen.add(gram)
    return repeats / len(grams)


def ends_in_loop(text: str, *, min_period: int = 8, repeats: int = 3) -> bool:
    """True when the tail of `text` is one short piece repeated `repeats` times (a model stuck in a loop)."""
    tail = text[-600:]
    for period in range(min_period, len(tail) // repeats + 1):
        unit = tail[-period:]
        if unit.strip() and tail.endswith(unit * repeats):
            return True
    return False


def is_degenerate(text: str) -> bool:
    stripped = text.strip()
    return not stripped or ends_in_loop(stripped) or repeated_ngram_ratio(stripped) > 0.5


def trim_loop(text: str) -> str:
    """Cuts a looping tail back to its first occurrence, so a mostly good answer is kept."""
    sentences = re.split(r"(?<=[.!?\n])\s+", text.strip())
    kept: list[str] = []
    seen: set[str] = set()
    for sentence in sentences:
        key = sentence.strip().lower()
        if key in seen:
            break
        seen.add(key)
        kept.append(sentence)
    return " ".join(kept).strip()
