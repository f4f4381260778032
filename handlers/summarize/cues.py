"""What the words of a chat sentence signal, read without a model: cues for decisions, agreements, actions,
open questions and asides, and the facts (dates, numbers, ids) a team reads a summary for.

These are plain functions of strings. handlers/summarize/extractive.py weighs them against each other and
against who replied to whom; keeping them here lets a cue be read, and tuned, on its own.
"""

from __future__ import annotations

import re

from handlers.text.words import content_stems, stem, words

DECISION = re.compile(
    r"\b(we(?:'ve| have)? decided|decided|decision is|let'?s go with|we'?ll go with|going with|agreed|we agree|"
    r"settled on|final answer|(?<!never )(?<!not )(?<!n't )approved|sign(?:ed)? off|ship it|we will|let'?s do|"
    r"makes sense,? let'?s|"
    r"not making it|instead|rather than|in favou?r of|(?:dropp(?:ed|ing)|drop) (?:the|it|that|this)|confirmed|"
    r"(?:(?:we'?ll|let'?s|we) (?:keep|skip|use|ship|launch|drop|hold|stick with|do))|"
    r"(?:move[sd]?|moving|push(?:ed|ing)?|postpone[sd]?|slipp?(?:ed|s)?|defer(?:red)?|chang(?:e[sd]?|ing)|"
    r"switch(?:ed|ing)?|bump(?:ed)?)\b[^.?!]{0,40}?\b(?:to|until|till)|"
    r"(?:is|are) now|new (?:plan|date|flow|time)|change of plan|let'?s not|then we|plan is|target(?:ing)?|"
    r"scheduled for|due (?:date|by|on))\b|^\W*correction\b|\b(?:update|updated)\s*:"
    r"|\S+ it is\b[.!]*$|\bthen[.!]*$|\bthen,|^\W*(?:ok|okay|so)[:,]|^\W*[\w.-]+ (?:is|are) out\b",
    re.IGNORECASE,
)


# A message whose only content is agreement: it decides the proposal it answers ("agreed, 20% it is").
AGREEMENT = re.compile(
    r"^\W*(?:(?:ok|okay|yeah|yes|so)[,.!]?\s+)?(convinced|agreed|agree|\+1|:\+1:|sounds good|sgtm|lgtm|works for me|"
    r"deal|fair|fine by me|perfect|approved|ship it|"
    r"let'?s do (?:it|that)|makes sense|go for it|do it|fine with|\S+ it is|(?:\w+ )?works)\b",
    re.IGNORECASE,
)


ACTION = re.compile(
    r"\b(i'?ll|i will|i'm going to|i can take|i can (?:do|finish|run|write|handle|build)|can you|could you|"
    r"would you|will you|please|pls|todo|to-do|action item|need(?:s)? to|have to|must|assign(?:ed)? to|"
    r"follow up|take care of|remind|reminder|make sure|don'?t forget|owns?|owner|will do|you own|everyone (?:needs?|"
    r"should|has to|gets)|just have)\b|(?:^|[.,!]\s*)(?:i'?m\s+)?on it\b",
    re.IGNORECASE,
)


# What marks a question as really open, whatever the replies: "one open thing", "no answer yet", "asking legal".
OPEN = re.compile(
    r"\b(open question|one (?:open )?thing (?:still open|we haven'?t)|open thing|still open|open for now|leaving "
    r"(?:it|that) open|open item|tbd|to be decided|don'?t know yet|not sure yet|no idea(?: yet)?|unclear|"
    r"haven'?t (?:figured|decided|heard)|no (?:answer|reply|quote|date|owner|decision|firm date)(?: yet)?|"
    r"(?:nobody|no one)(?:'s| has| is) decid\w*|not (?:yet )?decided|undecided|hasn'?t been decided|"
    r"nothing (?:is |was |has been )?decided|"
    r"(?:nobody|no one|not sure anyone) owns|anyone owns|bigger question|not deciding|let'?s not decide|"
    r"(?:let'?s|we'?ll) decide (?:at|on|in|later|next)|need to check|needs? (?:sales|legal|finance|someone)|"
    r"check(?:ing)? (?:with|on)|asking (?:the )?(?:sales|legal|finance|organi[sz]ers|rep|vendor)|don'?t promise)\b",
    re.IGNORECASE,
)


DEADLINE = re.compile(
    r"\b(by|before|until|due|on)\s+(today|tonight|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|"
    r"sunday|eod|end of (?:the )?(?:day|week|month)|next week|noon|\d{1,2}(?::\d\d)?\s*(?:am|pm|a\.m\.|p\.m\.)?)\b",
    re.IGNORECASE,
)


# Asides people mark as such: they are never a decision, a question or an action of the team's.
OFF_TOPIC = re.compile(r"^\W*(?:unrelated|off[- ]topic|random(?:ly)?|side note|totally unrelated)\b", re.IGNORECASE)


MENTION = re.compile(r"@([\w.\-]+)")


SELF_ACTION = re.compile(
    r"\b(i'?ll|i will|i'm going to|i can take|i can (?:do|finish|run|write|handle|build)|will do|owner = me|"
    r"i own)\b|(?:^|[.,!]\s*)(?:i'?m\s+)?on it\b",
    re.IGNORECASE,
)


ASK_ACTION = re.compile(r"\b(can you|could you|would you|will you|please|pls)\b", re.IGNORECASE)


WEEKDAYS = {
    "mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday", "thu": "thursday", "thur": "thursday",
    "thurs": "thursday", "fri": "friday", "sat": "saturday", "sun": "sunday",
}  # fmt: skip


MONTHS = "january february march april may june july august september october november december".split()


DATE_WORDS = frozenset(
    [*WEEKDAYS.values(), *MONTHS, *(m[:3] for m in MONTHS), "sept", "today", "tonight", "tomorrow", "eod", "eow"]
) - {"may", "mar"}


NUMBER = re.compile(r"(?<![\w.+])[$€£]?(\d+(?:[.,:]\d+)*)(?:\s?(%)|(k|m)\b)?", re.IGNORECASE)


URL = re.compile(r"\(?<?(?:https?|mailto):[^\s>)]+>?\)?")


ID = re.compile(r"\b(?:pr|build|v)\s?#?\d+|\b[a-z]+-\d+\b", re.IGNORECASE)


INTERJECTION = re.compile(
    r"^(?:(?:well|yes|yeah|yep|oh|ok|okay|so|um|uh|hmm|ah|hey|hi|hello|sure|right|great|really|sir|madam|ma'am|"
    r"ugh|ty|thanks|nice|fair)\s*[,!.]+\s*)+(?=\w)",
    re.IGNORECASE,
)


def trim(sentence: str) -> str:
    """Drop leading interjections ("Well, yes, we ship Friday." -> "We ship Friday."): shorter quotes, same facts.
    "No," is kept because it carries meaning."""
    trimmed = INTERJECTION.sub("", sentence)
    return trimmed[:1].upper() + trimmed[1:] if trimmed and words(trimmed) else sentence


def fact_tokens(text: str) -> frozenset[str]:
    """The dates, numbers and ids in a sentence, normalised ("Thurs" → thursday, "$2.1k" → 2.1k, "13th" → 13), so
    two sentences can be compared for the value they give a thing."""
    found: set[str] = set()
    text = URL.sub(" ", text)
    for match in NUMBER.finditer(text):
        found.add(match.group(1).replace(",", "") + (match.group(3) or "").lower())
    for word in words(text):
        ordinal = re.fullmatch(r"(\d+)(?:st|nd|rd|th|am|pm|h|k)", word)
        if ordinal:
            found.add(ordinal.group(1) + ("k" if word.endswith("k") else ""))
        elif word in WEEKDAYS or word in DATE_WORDS:
            found.add(WEEKDAYS.get(word, word))
    found.update(m.group(0).lower().replace(" ", "").replace("#", "") for m in ID.finditer(text))
    return frozenset(found)


ACCEPT = re.compile(
    r"^\W*(?:sure|yep|yes|yup|ok|okay|fine|on it|will do|can do|i'?ll|i will|i can|happy to|no problem|done|"
    r"fine fine)\b",
    re.IGNORECASE,
)


PROPOSAL = re.compile(
    r"\b(?:propos\w*|how about|what about|suggest\w*|tentative(?:ly)?|maybe|could we|can we|should we|thinking)\b",
    re.IGNORECASE,
)


def by_kind(facts: frozenset[str]) -> dict[str, set[str]]:
    """Values split into days (weekdays, months, today…) and numbers (dates of the month, amounts, ids)."""
    days = {f for f in facts if f in DATE_WORDS}
    return {"day": days, "number": set(facts) - days}


def topic_words(text: str) -> set[str]:
    """The content words a sentence is about, leaving out values, ids, times of day and the words that announce
    a change."""
    text = MOVED_TO.sub(" ", ID.sub(" ", NUMBER.sub(" ", URL.sub(" ", text))))
    return {w for w in content_stems(text) if len(w) > 2 and not w[0].isdigit() and w not in NOT_TOPIC}


NOT_TOPIC = frozenset(
    stem(w)
    for w in [
        *"""change changed switch switched new plan date then now instead agreed agree decided decision let lets
    update updated correction day days week weeks next morning afternoon evening night tonight today
    tomorrow lunch eod time utc gmt cet cest pt pst pdt et est edt""".split(),
        *DATE_WORDS,
        *WEEKDAYS,
    ]
)


# "move the freeze to Thursday": the verb of a change, not its subject (unlike "the office move")
MOVED_TO = re.compile(
    r"\b(?:move[sd]?|moving|push(?:ed|ing)?|postpone[sd]?|slipp?(?:ed|s)?|defer(?:red)?|bump(?:ed)?)\b"
    r"(?=[^.?!]{0,40}?\b(?:to|until|till)\b)",
    re.IGNORECASE,
)


CHANGE_CUE = re.compile(r"^\W*(?:correction|update|updated|change of plan|new plan)\b", re.IGNORECASE)


DIRECTIVE = re.compile(
    r"(?:^|[,;:.—–-]\s*|\band\s+)@?([a-z][\w.-]*)\b,?\s+(?!(?:and|or|is|was|'s)\b|[a-z]+ed\b)[a-z]", re.IGNORECASE
)


WH = re.compile(r"^\W*(?:\w+[,:]\s+)?(?:what|why|how|when|where|who|whose|which)\b", re.IGNORECASE)


REQUEST = re.compile(r"\b(?:can|could|would|will) you\b|\bplease\b|\bpls\b", re.IGNORECASE)


YOU_ASKED = re.compile(r"\b(?:can|could|would|will) you\b", re.IGNORECASE)


GROUP = re.compile(r"\b(?:all|everyone|everybody|folks|team|y'?all|anyone|someone|somebody|people)\b", re.IGNORECASE)


# A question put to the room in passing ("does anyone want the last slice of pizza?", "anyone seen my charger?").
ROOM = re.compile(
    r"^\W*(?:(?:also|so|hey|btw|ok)[,!]?\s+)?(?:(?:does|did|has|is|have|can)\s+)?(?:anyone|anybody|someone)"
    r"(?:\s+else'?s?)?\s+(?!know|remember|own|decide)|^\W*\w+(?:\s+\w+)?,?\s+any(?:one|body)\s*\?",
    re.IGNORECASE,
)


PRONOUN = re.compile(
    r"\b(?:have|do|take|own|write|send|finish|handle|fix|review)\s+(?:it|that|this|them|those)\b", re.IGNORECASE
)


OWNS = re.compile(r"\b[a-z]+ owns\b|\bowns? (?:it|that|this|those)\b|\byou own\b|\bowner\s*[=:]", re.IGNORECASE)


OFFER_TAKEN = re.compile(r"^\W*(?:yes|yep|yeah|sure|ok|okay|go ahead|please do)\b", re.IGNORECASE)


ANSWER_START = re.compile(
    r"^\W*(yes|yeah|yep|no|nope|sure|ok|okay|i|i'?ll|i'?m|we|we'?ll|it|it'?s|that'?s|they|he|she|because|\d+|"
    r"agreed|agree|fine|fair|\+1|sounds good|works|good call|let'?s|not|nah|only)\b",
    re.IGNORECASE,
)
