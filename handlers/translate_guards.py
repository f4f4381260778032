"""Judging a model's translation before anyone sees it: loops, echoed source, wrong script, wrong language, length.

Small offline models fail in a few recognisable ways: they repeat a phrase until the token budget runs out, copy
the source unchanged, answer in the source language, or write in the wrong alphabet. Each check here is a plain
function of strings, so it is tested without a model, and each was checked against the FLORES reference
translations (a real translation must pass; see tests/test_translate.py) so it rejects garbage, not good output.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from difflib import SequenceMatcher

# Which script a target language is written in; languages not listed use the Latin alphabet.
_SCRIPT_OF: dict[str, str] = {
    "ja": "japanese",
    "zh": "han",
    "ko": "hangul",
    "ru": "cyrillic",
    "uk": "cyrillic",
    "bg": "cyrillic",
    "sr": "cyrillic_or_latin",
    "el": "greek",
    "he": "hebrew",
    "ar": "arabic",
    "fa": "arabic",
    "hi": "devanagari",
    "th": "thai",
}
_WIDE = {"ja", "zh", "ko"}  # scripts that say in one character what Latin says in three

# Frequent short words that tell Latin-script languages apart (only for "the output is still in the source
# language"; never used to judge a text on its own).
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and of to is in that it for was with on are this be have not we you will by from".split()),
    "fr": frozenset(
        "le la les des et est une un du que qui pour dans pas sur au avec ce nous vous il elle sont".split()
    ),
    "de": frozenset(
        "der die das und ist nicht ein eine zu den mit von sich auf für dem im wir sie es wird auch".split()
    ),
    "es": frozenset("el la los las y que en es un una por con para del se no al lo está como".split()),
    "it": frozenset("il di che è un una per non con del della sono gli nel anche alla questo".split()),
    "pt": frozenset("o os as e que é um uma não para com do da em no na se por".split()),
    "nl": frozenset("de het een en van is dat niet op te voor met zijn er wij ik dit ook".split()),
}

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def script_of(char: str) -> str | None:
    """The script of one letter, coarsely: latin, han, kana, hangul, cyrillic, ... or None for non-letters."""
    if not char.isalpha():
        return None
    code = ord(char)
    if code < 0x250 or 0x1E00 <= code <= 0x1EFF:
        return "latin"
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9D:
        return "kana"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0xAC00 <= code <= 0xD7AF or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F:
        return "hangul"
    name = unicodedata.name(char, "").split(" ")[0].lower()
    return name or None


def script_share(text: str, target: str) -> float:
    """Share of the letters in `text` that are in the target language's script (1.0 when there are no letters)."""
    counts: dict[str, int] = {}
    for char in text:
        script = script_of(char)
        if script:
            counts[script] = counts.get(script, 0) + 1
    letters = sum(counts.values())
    if not letters:
        return 1.0
    wanted = _SCRIPT_OF.get(target, "latin")
    scripts = {
        "japanese": ("kana", "han"),
        "cyrillic_or_latin": ("cyrillic", "latin"),
    }.get(wanted, (wanted,))
    return sum(counts.get(s, 0) for s in scripts) / letters


def function_word_hits(text: str, language: str) -> int:
    """How many words of `text` are frequent function words of `language` (0 for languages without a list)."""
    words = _FUNCTION_WORDS.get(language)
    if not words:
        return 0
    return sum(1 for w in _WORD.findall(text.lower()) if w in words)


def guess_language(text: str) -> str | None:
    """A cautious guess at the language of `text`: by script for non-Latin ones, by function words for the Latin
    languages we know; None when unsure (short texts, ties, unknown languages)."""
    if _has_kana(text) and script_share(text, "ja") >= 0.6:
        return "ja"
    for code in ("zh", "ko", "ru", "el", "he", "ar", "hi", "th"):
        if script_share(text, code) >= 0.6:
            return code
    hits = sorted(((function_word_hits(text, lang), lang) for lang in _FUNCTION_WORDS), reverse=True)
    (best, lang), (second, _) = hits[0], hits[1]
    if best >= 3 and best >= 2 * second:
        return lang
    return None


def _has_kana(text: str) -> bool:
    return any(script_of(c) == "kana" for c in text)


def _letters(text: str) -> str:
    return "".join(c.lower() for c in text if c.isalnum())


def repeats_at_end(text: str, *, max_unit: int = 40, min_span: int = 24, min_repeats: int = 3) -> bool:
    """True when `text` ends in one unit written at least `min_repeats` times back to back, over `min_span`
    characters or more: the shape of a reply the worker stopped because it was looping."""
    squeezed = " ".join(text.split())
    n = len(squeezed)
    for unit in range(1, max_unit + 1):
        repeats = max(min_repeats, -(-min_span // unit))
        span = unit * repeats
        if span > n:
            break
        tail = squeezed[n - span :]
        if tail == tail[-unit:] * repeats:
            return True
    return False


def compressibility(text: str) -> float:
    """Compressed size over raw size: near 1 for ordinary sentences, far lower for text that repeats itself."""
    raw = " ".join(text.split()).encode()
    if len(raw) < 60:
        return 1.0
    return len(zlib.compress(raw, 9)) / len(raw)


def similarity(a: str, b: str) -> float:
    """How alike two texts are, ignoring case, spaces and punctuation (0..1)."""
    return SequenceMatcher(None, _letters(a), _letters(b), autojunk=False).ratio()


def length_ratio_ok(source: str, output: str, target: str) -> bool:
    """Output length within what a translation of `source` into `target` can plausibly be.

    Short sources get slack (a greeting may become a longer phrase); wide scripts (ja, zh, ko) say in one
    character what Latin says in about three.
    """
    src, out = len(" ".join(source.split())), len(" ".join(output.split()))
    if src < 20:
        return out <= 4 * src + 30
    low, high = (0.12, 1.6) if target in _WIDE else (0.4, 2.2)
    if _SCRIPT_OF.get(target) is None and guess_script_is_wide(source):
        low, high = 0.5, 8.0  # from ja/zh/ko into a Latin language
    return low <= out / src <= high


def guess_script_is_wide(text: str) -> bool:
    return any(script_of(c) in ("han", "kana", "hangul") for c in text)


def rejection(source: str, output: str, *, target: str, source_language: str | None) -> str | None:
    """Why `output` is not an acceptable translation of `source` into `target`, or None when it passes.

    The codes: "empty", "loop", "echo", "script", "language", "length". Both texts are the model's view (markup
    already replaced by placeholders and placeholders stripped), so markup never decides a verdict.
    """
    if not _letters(output):
        return "empty" if _letters(source) else None
    if repeats_at_end(output) and not repeats_at_end(source):
        return "loop"
    if compressibility(output) < 0.45 and compressibility(output) < compressibility(source) - 0.2:
        return "loop"
    if not length_ratio_ok(source, output, target):
        return "length"
    letters = sum(1 for c in output if c.isalpha())
    if letters >= 4 and script_share(output, target) < (0.3 if target in _SCRIPT_OF else 0.6):
        return "script"
    source_words = len(_WORD.findall(source))
    if source_language != target and source_words >= 4 and similarity(source, output) >= 0.8:
        return "echo"
    if source_language and source_language != target and source_words >= 5:
        src_hits, tgt_hits = function_word_hits(output, source_language), function_word_hits(output, target)
        if (
            source_language in _FUNCTION_WORDS
            and target in _FUNCTION_WORDS
            and src_hits >= 3
            and src_hits > 2 * tgt_hits
        ):
            return "language"
    return None
