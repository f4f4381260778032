"""The plain data every skill reads: a line of conversation, as the model and the reader should see it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from handlers.text.markup import readable, unescape


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


def readable_text(text: str, name_of: Callable[[str], str]) -> str:
    """Slack's wire markup as a person reads it: `<@U1>` → `@Alice`, `<#C1|general>` → `#general`, links with
    their labels, `&amp;` → `&`. What the model reads should look like what people saw."""
    return unescape(
        readable(
            text,
            person=lambda user, label: label or name_of(user),
            channel=lambda channel, label: label or channel,
            link=lambda url, label: f"{label} ({url})" if label else url,
        )
    )
