"""Sentences, cut one way for every skill: summaries pick them, Q&A quotes them, translation sends them in pieces.

Chat is not edited prose. People start sentences in lower case ("thanks. fatima can you own the postmortem?"),
write one thought per line, abbreviate ("Ms. Dawson", "4 p.m.") and quote; Japanese and Chinese end sentences
with 。！？ and no space. A split that misses any of these either glues two points into one quote or cuts a name
off its title.
"""

from __future__ import annotations

import re

_ENDS = ".!?…"
_CLOSERS = "\"'”’»)"  # a closing quote or bracket stays with the sentence it ends
_WIDE_ENDS = "。！？"
_WIDE_CLOSERS = "」』）】\"'”’"
# A sentence end is an end mark (maybe closed by a quote) followed by space and the start of a next sentence:
# a letter or digit of any script, perhaps after an opening quote or bracket, or a #channel / @person. A wide end
# mark needs no space after it.
_SENTENCE_END = re.compile(
    rf"(?:(?<=[{_ENDS}])|(?<=[{_ENDS}][{_CLOSERS}]))\s+(?=[\"'“‘«(\[¿¡]?[^\W_]|[#@])"
    rf"|(?:(?<=[{_WIDE_ENDS}])(?![{_WIDE_CLOSERS}])|(?<=[{_WIDE_ENDS}][{_WIDE_CLOSERS}]))\s*"
)
# Words whose final period does not end a sentence.
_ABBREVIATIONS = ("mr.", "mrs.", "ms.", "dr.", "st.", "p.m.", "a.m.", "e.g.", "i.e.", "vs.", "etc.", "jr.", "sr.")


def split_sentences(text: str) -> list[str]:
    """The sentences of a message, line by line, stripped; abbreviations ("Ms. Dawson") stay whole."""
    pieces: list[str] = []
    for raw in text.splitlines():
        buffer = ""
        for part in _SENTENCE_END.split(raw.strip()):
            buffer = f"{buffer} {part}".strip() if buffer else part.strip()
            if buffer and not buffer.lower().endswith(_ABBREVIATIONS):
                pieces.append(buffer)
                buffer = ""
        if buffer:
            pieces.append(buffer)
    return pieces
