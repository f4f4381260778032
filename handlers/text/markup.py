"""Keeping Slack markup out of the model's hands while a text is translated.

A small model rewrites what it sees: it "translates" `:smile:`, drops the `|label` of a link, spells a mention
differently or reformats code. So every piece of markup is cut out before the model reads the text and put back
afterwards, unchanged, in place of a short placeholder (`[1]`, `[2]`, ...) that models tend to copy. When a
placeholder comes back missing or twice, `restore` returns None and the caller must not post that output: a
translation that lost a mention or a code block is worse than no translation.

Slack escapes `&`, `<` and `>` in message text as `&amp;`, `&lt;`, `&gt;`. The model reads the characters, and
`restore` escapes whatever the model wrote, so model output can never form a link or a mention of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Order matters: fenced code before inline code, so ``` is never read as three inline-code ticks.
_MARKUP = re.compile(
    r"""
      ```.*?```                         # code block (may span lines)
    | `[^`\n]+`                         # inline code
    | <[^<>\n]+>                        # Slack wire markup: links, <@U1>, <#C1|x>, <!here>, <!date^...>
    | \bhttps?://[^\s<>]+               # a bare URL (typed text that Slack did not wrap)
    | (?<![\w:]):[a-z0-9_+\-']+:(?::skin-tone-\d:)?(?![\w])  # emoji shortcode (not 10:30:45), skin tone
    | \[\d+\]                           # text that already looks like a placeholder is kept as markup too
    """,
    re.VERBOSE | re.DOTALL,
)
_PLACEHOLDER = re.compile(r"\[\s*(\d+)\s*\]")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # &amp; last: "&amp;lt;" is the text "&lt;"


@dataclass(frozen=True)
class Protected:
    """A text with its markup replaced by numbered placeholders; `markup[i]` is what `[i+1]` stands for."""

    text: str
    markup: tuple[str, ...]

    def placeholders_in(self, fragment: str) -> list[int]:
        """The placeholder numbers (1-based) that appear in `fragment`, in order."""
        return [int(m.group(1)) for m in _PLACEHOLDER.finditer(fragment)]


def placeholder(number: int) -> str:
    """The placeholder for the `number`-th piece of markup (1-based), as the model sees it."""
    return f"[{number}]"


def protect(text: str) -> Protected:
    """Cut out code, links, mentions, emoji and bare URLs; unescape Slack's entities in the prose between them."""
    markup: list[str] = []
    parts: list[str] = []
    last = 0
    for match in _MARKUP.finditer(text):
        parts.append(_unescape(text[last : match.start()]))
        markup.append(match.group(0))
        parts.append(placeholder(len(markup)))
        last = match.end()
    parts.append(_unescape(text[last:]))
    return Protected("".join(parts), tuple(markup))


def restore(translated: str, protected: Protected, *, expected: list[int] | None = None) -> str | None:
    """Put the markup back into a translated fragment, or None when placeholders went missing, doubled or unknown.

    `expected` lists the placeholders the fragment's source held (all of them by default), so each fragment of a
    long text is checked on its own. The model's own text is escaped for Slack; the markup is put back verbatim.
    """
    wanted = sorted(expected if expected is not None else range(1, len(protected.markup) + 1))
    found = sorted(protected.placeholders_in(translated))
    if found != wanted:
        return None
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(translated):
        parts.append(escape(translated[last : match.start()]))
        parts.append(protected.markup[int(match.group(1)) - 1])
        last = match.end()
    parts.append(escape(translated[last:]))
    return "".join(parts)


def strip_placeholders(fragment: str) -> str:
    """The fragment without its placeholders: what guards should judge as the model's own words."""
    return _PLACEHOLDER.sub(" ", fragment)


def escape(text: str) -> str:
    """Slack's escaping of model text: `&`, `<`, `>` as entities, so nothing the model writes becomes markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """The inverse of `escape`, for callers (such as the eval) that compare plain text."""
    return _unescape(text)


def _unescape(text: str) -> str:
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text
