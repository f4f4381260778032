"""Does an answer give the kind of thing its question asks for? A cheap check before the model confirms it.

The default 1.5B model, asked about something a channel never says, answers anyway with a fact of the wrong kind
taken from a message on a neighbouring subject: "what time is Ruth's HR orientation?" → her start date, "how long
is the contract?" → its monthly volume, "which alert paged us first?" → the time the errors started. The words of
such an answer are all in the messages it cites, so the word check (`answers.grounded`) lets it through, and the
model's own yes/no check is not sure enough to stop it. The question's wording says what kind of answer it wants
(a clock time, a duration, an amount, a thing or a person, not a time); an answer without one is declined.

The rules are deliberately loose: they only refuse an answer that cannot be of the asked kind, so that a right
answer written in any of the ways people write times, durations and amounts passes (`tests/unit/test_qa_kinds.py`
holds the forms).
"""

from __future__ import annotations

import re
from enum import Enum

from handlers.text.words import content_stems


class Kind(Enum):
    """What a question asks for, as far as its wording tells."""

    CLOCK = "a time of day"  # "what time is standup?"
    DURATION = "a length of time"  # "how long will orders be read-only?"
    AMOUNT = "a number or an amount"  # "how many…", "how much…"
    NOT_A_TIME = "a thing or a person"  # "which alert…", "who…", "where…": never just a time


_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|sixty|"
    r"hundred|thousand|million|billion|half|dozen|a few|a couple|several"
)
_CLOCK = re.compile(
    r"\b\d{1,2}(?:[:.]\d{2})?\s*(?:a\.?m\b\.?|p\.?m\b\.?)|\b\d{1,2}[:.h]\d{2}\b|"
    r"\b(?:noon|midday|midnight|o'clock|eod|morning|afternoon|evening|lunch(?:time)?|tonight)\b",
    re.IGNORECASE,
)
_UNITS = (
    r"(?:min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|nights?|weeks?|wks?|months?|mos?|years?|yrs?|quarters?|sprints?|"
    r"weekends?|seconds?|secs?)\b"
)
# "20 minutes", "six months", "for a week" (but "2.4M emails a month" is a rate, not a length), "until Friday".
_DURATION = re.compile(
    rf"\b(?:\d+(?:[.,]\d+)?|{_NUMBER_WORDS})\s*-?\s*(?:more\s+|extra\s+|full\s+)?{_UNITS}|"
    rf"(?:^|\b(?:for|about|around|roughly|within|in|over|under|than|just|only|is|lasts?|takes?)\s+)(?:a|an)\s+"
    rf"(?:full\s+|extra\s+)?{_UNITS}|"
    r"\b(?:until|till|through|thru|by|before|after)\b|\bend of\b|\bforever\b|\bindefinitely\b|\bpermanent",
    re.IGNORECASE,
)
_AMOUNT = re.compile(rf"\d|\b(?:{_NUMBER_WORDS}|none|no one|nobody|zero|all|every|each|both)\b", re.IGNORECASE)
# Words that only place something in time: an answer made of these (and the question's words) names no thing.
_TIME_WORDS = re.compile(
    r"\b(?:utc|gmt|cet|cest|pst|pdt|est|edt|am|pm|a\.m\.|p\.m\.|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|today|tonight|tomorrow|yesterday|morning|afternoon|evening|noon|midnight|at|on|around|"
    r"about|approximately|roughly|started|starts?|began|begins?)\b",
    re.IGNORECASE,
)
_CITATION = re.compile(r"\[\d{1,3}\]")


def expected_kind(question: str) -> Kind | None:
    """The kind of answer the question's wording asks for; None when it does not say (what, when, why…)."""
    text = " ".join(question.lower().split())
    if re.search(r"\b(?:what|which) time\b|\bat what hour\b", text) and "timezone" not in text:
        return Kind.CLOCK
    if re.search(r"\bhow long\b", text) and not re.search(r"\bhow long ago\b", text):
        return Kind.DURATION
    if re.search(r"\bhow (?:many|much)\b", text):
        return Kind.AMOUNT
    if re.match(r"(?:which|who|whom|whose|where)\b|who's\b|where's\b", text) and not re.search(
        r"\b(?:time|timezone|day|date|week|month|year|hour|shift|slot|deadline)\b", text
    ):
        return Kind.NOT_A_TIME
    return None


def gives_kind(question: str, answer: str) -> bool:
    """Whether `answer` (its citations ignored) can be the kind of thing `question` asks for."""
    kind = expected_kind(question)
    text = _CITATION.sub(" ", answer)
    if kind is Kind.CLOCK:
        return bool(_CLOCK.search(text))
    if kind is Kind.DURATION:
        return bool(_DURATION.search(text))
    if kind is Kind.AMOUNT:
        return bool(_AMOUNT.search(text))
    if kind is Kind.NOT_A_TIME:
        return not _only_a_time(question, text)
    return True


def _only_a_time(question: str, text: str) -> bool:
    """The answer says when, and nothing else the question does not already say ("14:05 UTC")."""
    if not _CLOCK.search(text):
        return False
    rest = _TIME_WORDS.sub(" ", _CLOCK.sub(" ", text))
    asked = set(content_stems(question))
    return not [w for w in content_stems(rest) if w not in asked]
