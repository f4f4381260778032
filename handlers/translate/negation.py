"""What a translation must carry over in negations: a negative source stays negative, in the languages that have
word lists here (en, fr, de, es, it, pt, nl, ru) or negation marks (ja, zh, ko).
"""

from __future__ import annotations

import re

# Words that make a sentence negative. `_NEGATIONS` are read in a translation and are generous: a negation
# written as "sans", "interdit" or "unklar" still counts (word starts, so "impossibilité" and "unmöglich" match).
# `_NEGATING` mark a source sentence as negative and are strict, so "personne" (person), the "ne" of "ne ... que"
# (only) and idioms such as "not only" or "no obstante" (however) never demand a negation. Languages written
# without spaces are matched by substring (しない, ません, 不, 没), and only in translations.
_NEGATIONS: dict[str, tuple[str, ...]] = {
    "en": tuple(
        "not no never nothing nobody none nor neither cannot without nowhere n't unab impossib unclear unknown "
        "unconfirm fail lack avoid refus forbid prohibit remember".split()
    ),
    "fr": tuple(
        "ne n pas jamais rien personne aucun aucune ni sans non nul nulle guère interdi impossib incapab inconnu "
        "éviter évite refus sauf peu".split()
    ),
    "de": tuple(
        "nicht kein nie niemals nichts niemand ohne weder nirgends verbot unklar unmöglich unfähig unbekannt "
        "vermeid kaum erstmals".split()
    ),
    "es": tuple(
        "no nunca jamás nada nadie ningún ninguno ninguna ni sin tampoco prohib imposib incapa ileso desconoc "
        "evit".split()
    ),
    "it": tuple("non mai niente nulla nessun né senza neanche nemmeno neppure vietat impossib incapac evit".split()),
    "pt": tuple("não nunca jamais nada ninguém nenhum nenhuma nem sem proibi impossív incapa evit".split()),
    "nl": tuple("niet geen nooit niets niemand nergens zonder noch verbod verbied onmogelijk vermijd".split()),
    "ru": tuple("не нет ни никогда ничего никто нигде без нельзя невозмож".split()),
}
_NEGATING: dict[str, frozenset[str]] = {
    "en": frozenset("not no never nothing nobody none nor neither cannot n't".split()),
    "fr": frozenset("pas jamais rien aucun aucune".split()),
    "de": frozenset("nicht kein keine keinen keinem keiner keines nie niemals nichts niemand".split()),
    "es": frozenset("no nunca jamás nadie ningún ninguno ninguna tampoco".split()),
    "it": frozenset("non mai niente nessuno nessuna nessun".split()),
    "pt": frozenset("não nunca jamais ninguém nenhum nenhuma".split()),
    "nl": frozenset("niet geen nooit niets niemand".split()),
    "ru": frozenset("не нет никогда ничего никто".split()),
}
_NOT_NEGATING = re.compile(
    r"\b(?:not only|not long|not un\w+|no matter|no later than|no sooner|no doubt|no\.? (?=\d)|"
    r"n['’](?:oubli|hésit)\w* pas|ne manquez pas|pas mal|no obstante|no s[oó]lo|nicht nur|non solo|"
    r"não (?:só|apenas)|niet alleen)",
    re.I,
)
_AFFIRMING = re.compile(
    r"n['’](?:oubli|hésit)\w*\s+pas|ne\s+manquez\s+pas|nicht\s+vergessen|vergessen\s+sie\s+nicht|"
    r"no\s+olvide\w*|non\s+dimenticar\w*|não\s+se\s+esqueç\w*|niet\s+vergeten|don['’]t\s+forget",
    re.I,
)  # "n'oubliez pas" says "remember": no negation a negative source could be kept in
_NEGATION_MARKS: dict[str, tuple[str, ...]] = {
    "ja": (
        "ない", "なかっ", "なく", "なし", "ません", "ず", "ぬ", "無", "不", "未", "非", "否", "禁", "だめ", "ダメ",
        "いいえ", "控え", "慎", "避け",
    ),
    "zh": ("不", "没", "沒", "无", "無", "非", "别", "別", "未", "勿", "否", "禁"),
    "ko": ("않", "안 ", "못", "없", "말", "아니", "금지"),
}  # fmt: skip
_NEGATION_TOKEN = re.compile(r"n't|[^\W\d_]+")


def _negation_tokens(text: str) -> list[str]:
    """Lower-case words, with English contractions cut off ("don't" → "do", "n't")."""
    return _NEGATION_TOKEN.findall(re.sub(r"n['’]t\b", " n't", text.lower()))


def is_negative(text: str, language: str) -> bool:
    """Whether `text` (in `language`) says "not" in a way its translation must keep; False for languages without
    a strict list."""
    negating = _NEGATING.get(language)
    if not negating:
        return False
    return any(w in negating for w in _negation_tokens(_NOT_NEGATING.sub(" ", text)))


def has_negation(text: str, language: str) -> bool | None:
    """Whether a translation in `language` says "not" somehow; None for languages without a list."""
    if language in _NEGATION_MARKS:
        return any(mark in text for mark in _NEGATION_MARKS[language])
    starts = _NEGATIONS.get(language)
    if starts is None:
        return None
    exact = {s for s in starts if len(s) <= 4}
    text = _AFFIRMING.sub(" ", text)
    return any(w in exact or (len(w) > 4 and w.startswith(starts)) for w in _negation_tokens(text))
