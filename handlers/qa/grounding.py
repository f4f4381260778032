"""Is a generated sentence supported by the messages it cites? The guard between a small model and the reader.

A 135M model asked to summarise writes fluent sentences about people and facts that are not in the conversation
("The conversation between Ms. Dawson and Mr. Smith…"). Every sentence the model writes for a summary passes
through `check` against its cited source text, and is dropped unless its content words, names, numbers and
negations are all there (and, when embeddings are at hand, it means about the same). The check is deliberately
strict: dropping a faithful rephrasing costs a little fluency, keeping an invented one costs trust.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from handlers.text.words import STOPWORDS, content_stems, stem, words

# Words a faithful report may add to what was said: reporting verbs, and the people it names.
REPORTING = frozenset(
    stem(w)
    for w in """say said says tell tells told ask asks asked want wants wanted suggest suggests suggested agree agrees
    agreed decide decides decided explain explains explained mention mentions mentioned plan plans planned offer
    offers offered invite invites invited remind reminds reminded talk talks talked discuss discusses discussed
    help helps helped need needs needed think thinks thought feel feels felt hope hopes hoped promise promises
    promised answer answers answered reply replies replied confirm confirms confirmed propose proposes proposed
    request requests requested person people""".split()
)
_NEGATION = re.compile(
    r"\b(not|no|never|none|nobody|nothing|cannot|can't|won't|don't|doesn't|didn't|isn't|aren't|"
    r"wasn't|weren't|shouldn't|wouldn't|couldn't|n't)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![\w#])\d+(?:[.,:]\d+)?(?!\w)")  # standalone: "4 pm", "2.5", not "Person1"
_PROPER = re.compile(r"\b[A-Z][a-z]+\b")
_META = re.compile(r"\b(conversation|dialogue|dialog|summary|transcript|chat)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Support:
    """The verdict on one generated sentence: `ok`, the share of its content words found in the source, and why
    it was refused (for debug logs and tests)."""

    ok: bool
    coverage: float
    reason: str = ""


def check(
    generated: str,
    sources: Iterable[str],
    *,
    names: Iterable[str] = (),
    similarity: float | None = None,
    min_coverage: float = 0.8,
    min_similarity: float = 0.6,
) -> Support:
    """Whether `generated` says only what `sources` say.

    `names` are people a report may name though the text does not (the speakers of the cited messages).
    `similarity` is the embedding cosine between `generated` and its sources, when the caller has one.
    """
    source_text = " ".join(sources)
    name_words = {w for name in names for w in words(name)}
    known = set(content_stems(source_text)) | {stem(w) for w in name_words} | REPORTING
    content = content_stems(generated)
    if len(content) < 2:
        return Support(False, 0.0, "too short to carry a point")
    unsupported = [w for w in content if w not in known]
    coverage = 1 - len(unsupported) / len(content)
    if coverage < min_coverage:
        return Support(False, coverage, f"{len(unsupported)} content words not in the source")
    if _META.search(generated) and not _META.search(source_text):
        return Support(False, coverage, "talks about the conversation instead of its content")
    source_numbers = set(_NUMBER.findall(source_text))
    if any(n not in source_numbers for n in _NUMBER.findall(generated)):
        return Support(False, coverage, "a number not in the source")
    source_words = set(words(source_text)) | name_words
    capitalised = [w.lower() for w in _PROPER.findall(generated)]
    if any(w not in source_words and w not in STOPWORDS and stem(w) not in REPORTING for w in capitalised):
        return Support(False, coverage, "a name not in the source")
    if bool(_NEGATION.search(generated)) != bool(_NEGATION.search(source_text)):
        return Support(False, coverage, "negation differs from the source")
    if similarity is not None and similarity < min_similarity:
        return Support(False, coverage, "meaning drifts from the source")
    if len(content) > 2 * len(content_stems(source_text)) + 4:
        return Support(False, coverage, "longer than its source")
    return Support(True, coverage)
