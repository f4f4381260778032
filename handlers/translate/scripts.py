"""Which script and language a text is written in, coarsely: enough to tell a translation that came back in the
wrong alphabet, or still in the source language, from one that did not.
"""

from __future__ import annotations

import unicodedata

from handlers.text.words import words

# Which script a target language is written in; languages not listed use the Latin alphabet.
SCRIPT_OF: dict[str, str] = {
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
WIDE = {"ja", "zh", "ko"}  # scripts that say in one character what Latin says in three

# Frequent short words that tell Latin-script languages apart (only for "the output is still in the source
# language"; never used to judge a text on its own).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
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
    total = sum(counts.values())
    if not total:
        return 1.0
    wanted = SCRIPT_OF.get(target, "latin")
    scripts = {
        "japanese": ("kana", "han"),
        "cyrillic_or_latin": ("cyrillic", "latin"),
    }.get(wanted, (wanted,))
    return sum(counts.get(s, 0) for s in scripts) / total


def function_word_hits(text: str, language: str) -> int:
    """How many words of `text` are frequent function words of `language` (0 for languages without a list)."""
    known = FUNCTION_WORDS.get(language)
    if not known:
        return 0
    return sum(1 for w in words(text) if w in known)


def guess_language(text: str) -> str | None:
    """A cautious guess at the language of `text`: by script for non-Latin ones, by function words for the Latin
    languages we know; None when unsure (short texts, ties, unknown languages)."""
    if _has_kana(text) and script_share(text, "ja") >= 0.6:
        return "ja"
    for code in ("zh", "ko", "ru", "el", "he", "ar", "hi", "th"):
        if script_share(text, code) >= 0.6:
            return code
    hits = sorted(((function_word_hits(text, lang), lang) for lang in FUNCTION_WORDS), reverse=True)
    (best, lang), (second, _) = hits[0], hits[1]
    if best >= 3 and best >= 2 * second:
        return lang
    return None


def _has_kana(text: str) -> bool:
    return any(script_of(c) == "kana" for c in text)


def guess_script_is_wide(text: str) -> bool:
    return any(script_of(c) in ("han", "kana", "hangul") for c in text)
