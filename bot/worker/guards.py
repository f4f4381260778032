"""Small, pure helpers the engine applies to every reply: text streaming, stop strings and the loop guard
(`looping_period`, which lives in handlers/text/guards.py).

They take plain lists and strings so they are tested without a model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

# The loop guard is shared with the skills, which judge finished text the same way (pure, no skill imports).
from handlers.text.guards import looping_period

__all__ = ["TextStream", "find_stop", "held_back", "looping_period"]


def find_stop(text: str, stops: Sequence[str], start: int = 0) -> int:
    """Index of the earliest stop string in `text` at or after `start` (minus the longest stop), or -1."""
    best = -1
    for stop in stops:
        at = text.find(stop, max(0, start - len(stop)))
        if at != -1 and (best == -1 or at < best):
            best = at
    return best


def held_back(text: str, stops: Sequence[str]) -> int:
    """How many trailing characters might be the start of a stop string, so streaming must not send them yet."""
    keep = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), keep, -1):
            if text.endswith(stop[:size]):
                keep = size
                break
    return keep


class TextStream:
    """Turns a growing list of token ids into text deltas without splitting multi-byte characters.

    Decoding token by token garbles characters spread over several byte-level tokens (emoji, accents); decoding the
    whole reply each time and holding back a trailing U+FFFD keeps the stream valid UTF-8.
    """

    def __init__(self, decode: Callable[[list[int]], str], stops: Sequence[str] = ()) -> None:
        self._decode = decode
        self._stops = [s for s in stops if s]
        self.text = ""
        self._raw = ""
        self.sent = 0
        self.stopped = False

    def update(self, tokens: list[int], *, final: bool = False) -> str:
        """Take all tokens so far; return the new text that is safe to send. Sets `stopped` on a stop string."""
        if self.stopped:
            return ""
        text = self._decode(tokens)
        if not final and text.endswith("\ufffd"):
            return ""
        return self._advance(text, final=final)

    def feed(self, piece: str, *, final: bool = False) -> str:
        """Take the next piece of text (an engine that streams text, not ids); same result as `update`."""
        if self.stopped:
            return ""
        self._raw += piece
        return self._advance(self._raw, final=final)

    def _advance(self, text: str, *, final: bool) -> str:
        previous = len(self.text)
        self.text = text
        if self._stops:
            at = find_stop(text, self._stops, previous)
            if at != -1:
                self.text = text[:at]
                self.stopped = True
                final = True
        end = len(self.text) if final else len(self.text) - held_back(self.text, self._stops)
        delta = self.text[self.sent : end] if end > self.sent else ""
        self.sent = max(self.sent, end)
        return delta
