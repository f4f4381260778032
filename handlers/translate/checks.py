"""Judging a model's translation before anyone sees it: loops, echoed source, wrong script, wrong language, length,
and what it must keep: numbers and times, names, negations.

Small offline models fail in a few recognisable ways: they repeat a phrase until the token budget runs out, copy
the source unchanged, answer in the source language, or write in the wrong alphabet. Fluent ones fail quietly:
"at 3pm" becomes "3 heures", a "don't" disappears, a name is swapped. Each check here is a plain function of
strings, so it is tested without a model, and each was checked against the FLORES reference translations (a real
translation must pass; see tests/unit/test_translate.py) so it rejects garbage, not good output. The meaning checks
accept a correct translation in the target's own notation (3pm → 15 h, 15:00 or 午後3時; 1,000 → 1 000; 10 →
dix; Italy → Italie) and are skipped where they cannot judge: capitalised names only in English sources and
Latin-script targets, negations only in languages with word lists (en, fr, de, es, it, pt, nl, ru, ja, zh, ko).

The verdict is here (`rejection`); what it reads sits beside it, one part per question: which script and language
a text is in (scripts.py), its numbers, times and dates (numbers.py), its names (names.py) and its negations
(negation.py). Loops are judged by the shared guard in handlers/text/guards.py.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from handlers.text.guards import compressibility, ends_in_loop
from handlers.text.words import letters, words
from handlers.translate.names import missing_names
from handlers.translate.negation import has_negation, is_negative
from handlers.translate.numbers import missing_dates, missing_numbers
from handlers.translate.scripts import (
    FUNCTION_WORDS,
    SCRIPT_OF,
    WIDE,
    function_word_hits,
    guess_script_is_wide,
    script_share,
)


def similarity(a: str, b: str) -> float:
    """How alike two texts are, ignoring case, spaces and punctuation (0..1)."""
    return SequenceMatcher(None, letters(a), letters(b), autojunk=False).ratio()


def length_ratio_ok(source: str, output: str, target: str) -> bool:
    """Output length within what a translation of `source` into `target` can plausibly be.

    Short sources get slack (a greeting may become a longer phrase); wide scripts (ja, zh, ko) say in one
    character what Latin says in about three.
    """
    src, out = len(" ".join(source.split())), len(" ".join(output.split()))
    if src < 20:
        return out <= 4 * src + 30
    low, high = (0.12, 1.6) if target in WIDE else (0.4, 2.2)
    if SCRIPT_OF.get(target) is None and guess_script_is_wide(source):
        low, high = 0.5, 8.0  # from ja/zh/ko into a Latin language
    return low <= out / src <= high


def rejection(source: str, output: str, *, target: str, source_language: str | None) -> str | None:
    """Why `output` is not an acceptable translation of `source` into `target`, or None when it passes.

    The codes: "empty", "loop", "echo", "script", "language", "length", then `meaning_lost`'s "number", "date",
    "name" and "negation". Both texts are the model's view (markup already replaced by placeholders and placeholders
    stripped), so markup never decides a verdict.
    """
    if not letters(output):
        return "empty" if letters(source) else None
    if ends_in_loop(output) and not ends_in_loop(source):
        return "loop"
    if compressibility(output) < 0.45 and compressibility(output) < compressibility(source) - 0.2:
        return "loop"
    if not length_ratio_ok(source, output, target):
        return "length"
    alphabetic = sum(1 for c in output if c.isalpha())
    if alphabetic >= 4 and script_share(output, target) < (0.3 if target in SCRIPT_OF else 0.6):
        return "script"
    source_words = sum(1 for w in words(source) if not w.isdigit())
    if source_language != target and source_words >= 4 and similarity(source, output) >= 0.8:
        return "echo"
    if source_language and source_language != target and source_words >= 5:
        src_hits, tgt_hits = function_word_hits(output, source_language), function_word_hits(output, target)
        if source_language in FUNCTION_WORDS and target in FUNCTION_WORDS and src_hits >= 3 and src_hits > 2 * tgt_hits:
            return "language"
    return meaning_lost(source, output, target=target, source_language=source_language)


def meaning_lost(source: str, output: str, *, target: str, source_language: str | None) -> str | None:
    """What `output` dropped that no translation may, though it reads as one: "number" (a number or time), "date"
    (a weekday or month), "name" or "negation" (the "not" of a negative sentence); None when it kept them all."""
    if missing_numbers(source, output):
        return "number"
    if missing_dates(source, output, target=target, source_language=source_language):
        return "date"
    if missing_names(source, output, target=target, source_language=source_language):
        return "name"
    if source_language and is_negative(source, source_language) and has_negation(output, target) is False:
        return "negation"
    return None
