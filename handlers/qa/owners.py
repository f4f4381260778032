"""Who does what, read from the channel's action items: the answer to "who's doing X?" when the model misses it.

Teams assign work in a few fixed shapes: "I'll do German QA", "akira can you own the offsite planning?" → "sure",
"yes pls, you own that", "farid owns KR2". The summary's extractive pass already finds these and their owners
(handlers/summarize/extractive.py); a question asking who does something is answered by the action item that
shares most of its words. The default 1.5B model, reading a whole channel, named the asker instead of the one who
took the work, or declined, on about half of the team-chat "who" questions; the cues do not read that way.

Used only where the model's grounded answer did not stand (`answers.answer_question`): the model stays the first
reader, and this lookup only speaks when a single action item clearly matches the question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from handlers.summarize import extractive as ex
from handlers.summarize.cues import ACCEPT, SELF_ACTION
from handlers.text.lines import ChatLine
from handlers.text.words import content_stems, stem, words

_WHO = re.compile(r"^\W*(?:who|whom|who's|whos)\b", re.IGNORECASE)
# The verbs of "who's doing/writing/handling X?": they say someone acts, not on what; the action's own words do.
_ACTING = frozenset(
    stem(word)
    for word in "doing does do writing write handling handle taking take owns own owner owning building build "
    "setting set making make running run covering cover putting put together working work looking look".split()
)
MIN_SHARE = 0.5  # of the question's topic words an action item must hold
MIN_SHARED = 2  # ... and at least this many of them, unless the question has only one


@dataclass(frozen=True)
class Owner:
    """A person and the action item that says they own the thing asked about (`sources[0]` is its message)."""

    name: str
    quote: str
    sources: tuple[ChatLine, ...]


def asks_who(question: str) -> bool:
    """Whether the question asks for a person ("who's…", "who owns…"), not for a time, place or amount."""
    return bool(_WHO.match(question))


def owner_of(question: str, lines: Sequence[ChatLine]) -> Owner | None:
    """The owner of the action item that best matches a "who" question, or None when none clearly does.

    Matching is on the question's topic words (names and acting verbs left out), against the item's sentence,
    the sentence it stands for (the request a "sure" accepted) and its context (the question a reply answers).
    A name the question itself says ("who takes over after elena?") is never its answer. Between equal matches
    the later item wins: owners change.
    """
    if not asks_who(question) or not lines:
        return None
    sentences = ex.sentences_of(lines)
    if not sentences:
        return None
    speakers = sorted({line.speaker for line in lines})
    people = {name.casefold() for name in speakers}
    scored = ex.score_sentences(sentences, ex.tfidf_vectors([s.text for s in sentences]), speakers=speakers)
    named = {word.casefold() for word in words(question)}
    # Digits are left out: "2.4" is cut into 2 and 4, which "the 2.3 one" also holds.
    topic = {w for w in content_stems(question) if w not in _ACTING and w not in people and not w.isdigit()}
    if not topic:
        return None
    best: tuple[float, int, ex.Scored] | None = None
    for item in scored:
        if item.kind != "action" or not item.owner or item.owner.casefold() in named:
            continue
        said = [item.sentence, item.shown, *([item.context] if item.context else [])]
        shared = len(topic & {w for s in said for w in content_stems(s.text)})
        share = shared / len(topic)
        if share < MIN_SHARE or shared < min(MIN_SHARED, len(topic)):
            continue
        rank = (share, item.sentence.position, item)
        if best is None or rank[:2] > best[:2]:
            best = rank
    if best is None:
        return None
    item = best[2]
    name = _named_for(item.shown.text, topic, people) or item.owner or ""
    lines_cited = [s.line for s in (item.shown, item.sentence, *([item.context] if item.context else []))]
    return Owner(name=name, quote=item.shown.text, sources=tuple(dict.fromkeys(lines_cited)))


_CLAUSE = re.compile(r"[,;]|\band\b|\s[-–—]\s")


def _named_for(text: str, topic: set[str], people: set[str]) -> str | None:
    """In a list of assignments ("roles: johanna runs the cutover, tomas rollback, ren comms"), the person named
    in the part about the topic; None when the sentence is not such a list."""
    parts = [part for part in _CLAUSE.split(text) if part.strip()]
    named = [(part, [w for w in words(part) if w.casefold() in people]) for part in parts]
    if sum(1 for _, names in named if names) < 2:
        return None
    part, names = max(named, key=lambda pair: len(topic & set(content_stems(pair[0]))))
    return names[0] if names and topic & set(content_stems(part)) else None


def vouched(answer: str, shown: Sequence[ChatLine], people: Sequence[str]) -> bool:
    """Whether the messages an answer to a "who" question cites say that the person it names does the thing: that
    person wrote "I'll…", "on it" or "sure" there, or is named there ("kofi can you do the reference calls?",
    "tomas rollback"). Having merely spoken about the topic is no ownership: "noah is facilitating the next
    retro", cited from noah's "let's park that for next retro", is how a small model invents owners. An answer
    naming no one here (an outside vendor) is not judged."""
    known = {name.casefold() for name in people}
    named = [word for word in words(answer) if word in known]
    if not named:
        return True
    for line in shown:
        said = {word.casefold() for word in words(line.text)}
        if line.speaker.casefold() in named and (SELF_ACTION.search(line.text) or ACCEPT.search(line.text)):
            return True
        if said & set(named) - {line.speaker.casefold()}:
            return True
    return False
