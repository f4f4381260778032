"""Stored messages as the skills read them, and which of them are what the team said.

A skill sees a ChatLine: the speaker's name (the bot's own replies under texts.BOT_SPEAKER), readable text, and
the message's permalink to cite. Answers quote those lines, cut to fit with `shorten`.
"""

from __future__ import annotations

from bot import texts
from bot.slack.directory import Directory
from handlers.text.lines import ChatLine, readable_text
from storage.messages import StoredMessage


def chat_line(message: StoredMessage, *, directory: Directory, bot_user_id: str | None) -> ChatLine:
    def name(user: str | None) -> str:
        return directory.display_name(message.team_id, user)

    return ChatLine(
        ts=message.ts,
        speaker=texts.BOT_SPEAKER if _is_own(message, bot_user_id) else name(message.user_id),
        text=readable_text(message.text, name),
        url=directory.permalink(message.channel_id, message.ts, message.thread_ts),
        thread_ts=message.thread_ts,
    )


def is_about_the_team(message: StoredMessage, *, bot_user_id: str | None) -> bool:
    """Whether a stored message is something the team said, and so may be a source, a summary point, an open
    question or an action item: not the bot's own replies, and not requests people made of the bot (a question
    to the bot is not a fact about the team, and "@parlance who owns X?" is not an open question)."""
    if _is_own(message, bot_user_id) or not message.text.strip():
        return False
    return not (bot_user_id and f"<@{bot_user_id}" in message.text)


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis: how an answer quotes a message."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_own(message: StoredMessage, bot_user_id: str | None) -> bool:
    return message.is_bot and message.user_id == bot_user_id
