"""Slack's markup, read one way everywhere: the regexes for it and what the skills do with it.

Slack's wire format marks up people (`<@U1>`, `<@U1|alice>`), channels (`<#C1|general>`), special mentions
(`<!here>`, `<!subteam^S1|@design>`, `<!date^1392734382^{date}|Feb 18>`), links (`<https://x|label>`), emoji
(`:tada:`) and code. The skills need it three ways: as the words a reader sees (`readable`: what the model and
the sentiment scorer read), made harmless before the bot posts (the ping patterns, for bot/slack/delivery.py), and
cut out around a translation (`protect` / `restore`).

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
from collections.abc import Callable
from dataclasses import dataclass

USER = re.compile(r"<@(?P<id>[UW][A-Z0-9]+)(?:\|(?P<label>[^>]*))?>")
CHANNEL = re.compile(r"<#(?P<id>C[A-Z0-9]+)(?:\|(?P<label>[^>]*))?>")
_SPECIAL = r"<!(?P<name>{names})(?P<args>\^[^|>]*)?(?:\|(?P<label>[^>]*))?>"
SPECIAL = re.compile(_SPECIAL.format(names=r"\w+"))
"""Any `<!…>`: here, channel, everyone, subteam^ID, date^…, with an optional `|label`."""
PING = re.compile(_SPECIAL.format(names="channel|here|everyone|subteam"), re.IGNORECASE)
"""The special mentions that notify people; `<!date…>` and the like only render."""
TYPED_PING = re.compile(r"(?<![\w<])@(channel|here|everyone)\b", re.IGNORECASE)
"""@here typed as text, which Slack may still turn into a ping when the bot posts it."""
LINK = re.compile(r"<(?P<url>(?:https?|mailto):[^|>]+)(?:\|(?P<label>[^>]*))?>")
BARE_URL = re.compile(r"\bhttps?://[^\s<>]+")
"""A URL typed as text, which Slack did not wrap in <>."""
EMOJI = re.compile(r"(?<![\w:]):(?P<name>[a-z0-9_+\-']+):(?::skin-tone-\d:)?(?!\w)")
"""An emoji shortcode, with its skin tone (`:+1::skin-tone-2:`); not a time such as 10:30:45."""
CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]+`")
WIRE = re.compile(r"<[^<>\n]+>")
"""Any wire markup: links, <@U1>, <#C1|x>, <!here>, <!date^...>."""

# Order matters: fenced code before inline code, so ``` is never read as three inline-code ticks.
_MARKUP = re.compile(
    "|".join(p.pattern for p in (CODE_BLOCK, INLINE_CODE, WIRE, BARE_URL, EMOJI))
    + r"|\[\d+\]",  # text that already looks like a placeholder is kept as markup too
    re.DOTALL,
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


def special_text(match: re.Match[str]) -> str:
    """A special mention as a reader sees it: `<!here>` → "@here", `<!subteam^S1|@design>` → "@design",
    `<!subteam^S1>` → "@team", `<!date^…|Feb 18>` → "Feb 18" (the fallback text Slack shows)."""
    name, label = match["name"], match["label"]
    if name.lower() == "date":
        return label or ""
    return "@" + (label or ("team" if name.lower() == "subteam" else name)).lstrip("@")


def readable(
    text: str,
    *,
    person: Callable[[str, str | None], str],
    channel: Callable[[str, str | None], str],
    link: Callable[[str, str | None], str],
) -> str:
    """Mentions, channel links, special mentions and links replaced by the words a reader sees.

    `person` and `channel` name an id (given its `|label`, if any), `link` renders a URL and its label; the
    caller decides how much of each matters (a reader's view names people, the sentiment scorer need not).
    Slack's entities are left for the caller, who may have more of them to decode.
    """
    text = USER.sub(lambda m: "@" + person(m["id"], m["label"]), text)
    text = CHANNEL.sub(lambda m: "#" + channel(m["id"], m["label"]), text)
    text = SPECIAL.sub(special_text, text)
    return LINK.sub(lambda m: link(m["url"], m["label"]), text)


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


def outside(pattern: re.Pattern[str], text: str, prose: Callable[[str], str], inside: Callable[[str], str]) -> str:
    """`text` with `prose` applied between the matches of `pattern` (code spans, usually) and `inside` to each
    match: formatting conversions must never touch code."""
    out: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        out.append(prose(text[position : match.start()]))
        out.append(inside(match.group(0)))
        position = match.end()
    out.append(prose(text[position:]))
    return "".join(out)
