"""Reading what people type after /summarize, /translate and /parlance. Pure parsing: no Slack, no database.

Each parser returns either a request the dispatcher can act on or a `UsageError` whose text is shown to the
caller as is, so every mistake gets a specific, polite answer instead of a generic failure.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from handlers.translate.languages import resolve_language

MAX_COMMAND_TEXT = 4000
MAX_INSTRUCTIONS = 1000  # a channel's standing instructions: a persona and a tone, not a second prompt
DEFAULT_SUMMARY_MESSAGES = 100
MAX_SUMMARY_MESSAGES = 5000

_PERMALINK = re.compile(
    r"<?https://[\w.-]+\.slack\.com/archives/(?P<channel>[A-Z0-9]+)/p(?P<ts>\d{16})(?:\?[^>|\s]*)?(?:\|[^>]*)?>?"
)
_SPAN = re.compile(r"^(?P<n>\d{1,4})(?P<unit>[mhdw])$")


@dataclass(frozen=True)
class UsageError:
    """A mistake in what the user typed, with the words that tell them how to fix it."""

    text: str


@dataclass(frozen=True)
class SummarizeRequest:
    """What to summarize: the last `limit` messages, the messages since `since`, or one thread."""

    limit: int | None = None
    since: dt.datetime | None = None
    span_label: str = "recent conversation"
    thread_channel: str | None = None
    thread_ts: str | None = None
    public: bool = False


@dataclass(frozen=True)
class TranslateRequest:
    language_code: str
    language_name: str
    text: str


@dataclass(frozen=True)
class ParlanceRequest:
    """What `/parlance` was asked. `instructions` is the text given to `/parlance instructions <text>`."""

    action: Literal[
        "help", "forget_me", "remember_me", "feedback", "instructions", "instructions_off", "show_instructions"
    ]
    instructions: str | None = None


def parse_summarize(text: str, *, now: dt.datetime | None = None) -> SummarizeRequest | UsageError:
    """`/summarize`, `/summarize 200`, `/summarize 24h|7d|today`, `/summarize <thread link>`, each `[public]`."""
    now = now or dt.datetime.now(dt.UTC)
    words = text.split()
    public = False
    if words and words[-1].lower() == "public":
        public = True
        words = words[:-1]
    if not words:
        return SummarizeRequest(limit=DEFAULT_SUMMARY_MESSAGES, public=public)
    if len(words) > 1:
        return UsageError(SUMMARIZE_USAGE)
    arg = words[0]
    if arg.lower() == "help":
        return UsageError(SUMMARIZE_USAGE)
    if arg.isdigit():
        count = int(arg)
        if not 1 <= count <= MAX_SUMMARY_MESSAGES:
            return UsageError(f"I can summarize between 1 and {MAX_SUMMARY_MESSAGES:,} messages at a time.")
        label = "last message" if count == 1 else f"last {count} messages"
        return SummarizeRequest(limit=count, span_label=label, public=public)
    if arg.lower() == "today":
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return SummarizeRequest(since=midnight, span_label="today (UTC)", public=public)
    span = _SPAN.match(arg.lower())
    if span:
        n, unit = int(span["n"]), span["unit"]
        delta = {
            "m": dt.timedelta(minutes=n),
            "h": dt.timedelta(hours=n),
            "d": dt.timedelta(days=n),
            "w": dt.timedelta(weeks=n),
        }[unit]
        if n == 0 or delta > dt.timedelta(days=90):
            return UsageError("Pick a time span between 1 minute and 90 days, for example `24h` or `7d`.")
        return SummarizeRequest(since=now - delta, span_label=f"last {arg.lower()}", public=public)
    link = _PERMALINK.fullmatch(arg)
    if link:
        raw = link["ts"]
        return SummarizeRequest(
            thread_channel=link["channel"], thread_ts=f"{raw[:10]}.{raw[10:]}", span_label="thread", public=public
        )
    return UsageError(f"I don't understand `{_shorten(arg)}`.\n{SUMMARIZE_USAGE}")


def parse_translate(text: str) -> TranslateRequest | UsageError:
    """`/translate fr Hello team`, `/translate to Japanese: Hello team`, `/translate german Hello`."""
    stripped = text.strip()
    if not stripped or stripped.lower() == "help":
        return UsageError(TRANSLATE_USAGE)
    if len(stripped) > MAX_COMMAND_TEXT:
        return UsageError(
            f"That text is {len(stripped):,} characters long; I can translate up to {MAX_COMMAND_TEXT:,} at a time. "
            "Split it into smaller parts."
        )
    match = re.match(r"^(?:to|into)\s+(?P<lang>[^:]+?)\s*:\s*(?P<text>.*)$", stripped, re.S | re.I)
    if match:
        target, body = match["lang"], match["text"]
    else:
        target, _, body = stripped.partition(" ")
    language = resolve_language(target)
    if language is None:
        return UsageError(
            f"I don't know the language `{_shorten(target)}`. Use a two-letter code such as `fr`, `de`, `es`, `ja` "
            "or an English name such as `French`.\n" + TRANSLATE_USAGE
        )
    if not body.strip():
        return UsageError(
            f"What should I translate into {language[1]}? For example: `/translate {language[0]} Hello team`"
        )
    return TranslateRequest(language_code=language[0], language_name=language[1], text=body.strip())


def parse_parlance(text: str) -> ParlanceRequest | UsageError:
    """`/parlance`, `/parlance help`, `/parlance forget me`, `/parlance remember me`, `/parlance feedback`,
    `/parlance instructions <text>|off`: case and spacing of the keywords are free (the instructions' own text is
    kept as typed), anything else gets the usage."""
    keyword, _, rest = text.strip().partition(" ")
    if keyword.lower() == "instructions":
        return _parse_instructions(rest.strip())
    words = tuple(text.lower().split())
    if words in {(), ("help",), ("?",)}:
        return ParlanceRequest("help")
    if words == ("forget", "me"):
        return ParlanceRequest("forget_me")
    if words == ("remember", "me"):
        return ParlanceRequest("remember_me")
    if words == ("feedback",):
        return ParlanceRequest("feedback")
    return UsageError(f"I don't understand `{_shorten(text.strip())}`.\n{PARLANCE_USAGE}")


def _parse_instructions(text: str) -> ParlanceRequest | UsageError:
    if not text:
        return ParlanceRequest("show_instructions")
    if text.lower() in {"off", "clear", "remove", "none"}:
        return ParlanceRequest("instructions_off")
    if len(text) > MAX_INSTRUCTIONS:
        return UsageError(
            f"Those instructions are {len(text):,} characters long; I keep up to {MAX_INSTRUCTIONS:,}. "
            "Please shorten them: a persona, a language and a tone fit in a few sentences."
        )
    return ParlanceRequest("instructions", instructions=text)


def _shorten(value: str, limit: int = 40) -> str:
    value = value.replace("`", "'")
    return value if len(value) <= limit else value[: limit - 1] + "…"


SUMMARIZE_USAGE = (
    "*Usage:* `/summarize` (recent conversation) · `/summarize 200` (last 200 messages) · "
    "`/summarize 24h`, `/summarize 7d`, `/summarize today` · `/summarize <thread link>`. "
    "Add `public` at the end to post the summary for everyone."
)
PARLANCE_USAGE = (
    "*Usage:* `/parlance forget me` (delete your stored messages here and stop storing new ones) · "
    "`/parlance remember me` (store your new messages again) · `/parlance feedback` (how helpful my answers here "
    "have been) · `/parlance help` (what I store, and for how long) · "
    "`/parlance instructions <text>` (how I answer in this channel: persona, language, tone; "
    "`/parlance instructions off` removes them)."
)
TRANSLATE_USAGE = (
    "*Usage:* `/translate fr Hello team` or `/translate to Japanese: Hello team`. "
    "Languages by two-letter code or English name."
)
