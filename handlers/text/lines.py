"""The plain data every skill reads: a line of conversation, as the model and the reader should see it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One message: who said it (a display name, never a raw user id), what they said, and where it lives.

    `url` is the message's Slack permalink when known, so a skill can cite it; `text` has had Slack markup for
    people and channels turned into readable names by the caller.
    """

    ts: str
    speaker: str
    text: str
    url: str | None = None
    thread_ts: str | None = None


_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(\w+)(?:\^[A-Z0-9]+)?(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")


def readable_text(text: str, name_of: Callable[[str], str]) -> str:
    """Slack's wire markup as a person reads it: `<@U1>` → `@Alice`, `<#C1|general>` → `#general`, links with
    their labels, `&amp;` → `&`. What the model reads should look like what people saw."""
    text = _USER.sub(lambda m: "@" + (m.group(2) or name_of(m.group(1))), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
