"""What a translation must carry over in names: @handles and identifiers letter for letter, and the people and
places of an English source in a recognisable form (Italy → Italie, Iraq → Irak).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

from handlers.text.words import fold, letters
from handlers.translate.scripts import SCRIPT_OF

# Capitalised words that are not names a translation keeps: calendar words, and names that languages spell their
# own way beyond recognition (Germany → Allemagne, Deutschland; Earth → Terre). Close local spellings (Italy →
# Italie, Iraq → Irak) need no entry: they are recognised.
_NOT_KEPT = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun "
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec i i'm i'll i've i'd ok okay mondays tuesdays wednesdays "
    "thursdays fridays saturdays sundays "
    "earth moon sun god heaven christmas easter bible germany england britain spain switzerland scotland wales "
    "croatia vienna cologne warsaw copenhagen sweden austria king queen prince princess president pope emperor pharaoh "
    "century internet web".split()
)
_INITIAL = re.compile(r"(?:^|[.!?:;…]\s+|[\n\"'«“‘(\[¿¡-]\s*)$")
_DETERMINER = re.compile(r"\b(?:the|a|an|this|that|these|those|our|their|his|her|its|my|your)\s+$", re.I)
_PEOPLE_WORD = re.compile(r"(?:ish|ese|ian|an|ans|ic|ers|ards)$")


@dataclass(frozen=True)
class NamesFound:
    """Words of a source a translation must keep: `exact` ones letter for letter (@handles, identifiers such as
    `GitHub`, `v2`, `config.yaml`), `proper` ones (capitalised words inside a sentence) in recognisable form."""

    exact: tuple[str, ...]
    proper: tuple[str, ...]


def names_in(text: str) -> NamesFound:
    """The @handles and identifiers of `text`, and its lone capitalised words inside a sentence (Priya, Marco,
    Jira). Runs of capitalised words (Foster Care, World Health Organisation), words after an article (the
    Earth, the Games) and words for peoples and languages (German, Filipino... most end in -an, -ese, -ish) are
    titles and common nouns that translations rightly translate, so they are not required."""
    exact: list[str] = []
    proper: list[str] = []
    spans = list(re.finditer(r"\S+", text))
    for i, match in enumerate(spans):
        word = re.sub(r"['’]s$", "", match.group(0).strip(".,;:!?\"'“”‘’«»()[]{}…"))
        if not word or (not word[0].isalpha() and word[0] != "@"):
            continue
        if word.startswith("@") or _is_identifier(word):
            exact.append(word)
            continue
        before = text[: match.start()]
        if (
            word[0].isupper()
            and not word.isupper()
            and re.fullmatch(r"[^\W\d_]+", word)
            and match.group(0)[0].isalpha()  # not the first word of a quote
            and not _INITIAL.search(before)
            and not _DETERMINER.search(before)
            and not _in_title(text, spans, i)
            and not _PEOPLE_WORD.search(word)
            and word.lower() not in _NOT_KEPT
        ):
            proper.append(word)
    return NamesFound(tuple(dict.fromkeys(exact)), tuple(dict.fromkeys(proper)))


_CONNECTORS = frozenset("of for and the de du la von der".split())
_OPENERS = frozenset(
    "ask tell ping thanks thank hi hey hello please can could would will did does do is are was let welcome "
    "congrats cc sorry dear ok so and but if when".split()
)


def _in_title(text: str, spans: list[re.Match[str]], i: int) -> bool:
    """Whether word `i` has a capitalised neighbour, across "of", "for", "and"... (Declaration of Independence).
    A sentence's first word is capitalised for that reason only when it is a word that opens Slack messages
    ("Ask Priya", "Thanks Marco"), not when it may start a title ("Vatican City")."""
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(spans) and spans[j].group(0).lower() in _CONNECTORS:
            j += step
        if not (0 <= j < len(spans) and abs(j - i) <= 2):
            continue
        neighbour = spans[j].group(0)
        if neighbour.lstrip("\"'“‘«([")[:1].isupper() and neighbour[0].isalpha():
            opener = neighbour.strip(",.!?:;").lower() in _OPENERS
            if not (opener and _INITIAL.search(text[: spans[j].start()])):
                return True
    return False


def _is_identifier(word: str) -> bool:
    """`GitHub`, `iOS`, `v2`, `H5N1`, `snake_case`, `config.yaml`: spelt one way only, never translated."""
    if not re.fullmatch(r"[^\W\d_][\w.\-]*", word):
        return False
    return bool(re.search(r"[a-z][A-Z]|\d|\w_\w|[a-z]\.[a-z]{2,}", word))


_SOUND = {"k": "c", "q": "c", "z": "s"}  # Canada → Kanada, Zambia → Sambia


def _recognisable(name: str, found: set[str]) -> bool:
    """A capitalised word is still there, maybe in a local spelling (Italy → Italie, Iraq → Irak) or inside a
    compound (France → Südfrankreich)."""
    name = fold(name)
    return any(
        (_SOUND.get(w[0], w[0]) == _SOUND.get(name[0], name[0]) and SequenceMatcher(None, name, w).ratio() >= 0.5)
        or (len(name) >= 5 and name[:4] in w)
        for w in found
    )


def missing_names(source: str, output: str, *, target: str, source_language: str | None = "en") -> list[str]:
    """The names of `source` that `output` lost. Identifiers and @handles must come back letter for letter
    (ignoring case and punctuation: WiFi → Wi-Fi); capitalised words only in Latin-script targets and in a
    recognisable form, since places and peoples may take their local names (Poland → Pologne). Capitalised words
    are read in English sources only: the lists above are English, and German capitalises every noun."""
    names = names_in(source)
    squeezed = letters(unicodedata.normalize("NFKC", output))
    latin = SCRIPT_OF.get(target) is None
    missing = [
        name
        for name in names.exact
        if (name.lower() not in output.lower() if name.startswith("@") else letters(name) not in squeezed)
        and not (name.endswith("s") and letters(name[:-1]) in squeezed)  # iPods → iPod
        and (latin or name.startswith("@") or re.search(r"[\d_.]", name))  # KwaZulu may be written in kana
    ]
    if names.proper and latin and source_language in ("en", None):
        runs = set(re.findall(r"[^\W\d_]+", fold(output)))  # letter runs: "l'Iran" holds "iran"
        missing += [name for name in names.proper if not _recognisable(name, runs)]
    return missing
