"""The blocks an answer is posted with: Slack's `markdown` block, so lists, tables and links render as written.

Slack renders a `markdown` block's standard Markdown itself, instead of our translating it to mrkdwn (which has no
tables or headings). A message's `text` stays as the mrkdwn fallback (notifications, clients without blocks).

Slack caps one markdown block at 12,000 characters, and all the markdown blocks of one message together at the
same 12,000, so a longer answer continues in further messages (bot/slack/streaming.py splits it), one block each.
Slack reads `<@U…>`, `<!here>` and the like inside a markdown block too, so every text passes through
bot/slack/delivery.py's `neutralize_mentions` before it becomes a block (callers do that; this module only shapes).

This is the one place where an answer's final blocks are built: `closing_blocks` is what ends a finished answer
(feedback buttons go there), whichever way the answer was delivered (posted and edited, or streamed natively).
"""

from __future__ import annotations

import re
from typing import Any

from bot.slack.feedback import Skill, feedback_block
from handlers.text.markup import outside

MAX_MARKDOWN = 12_000  # one markdown block, and all the markdown blocks of one message together
MAX_FALLBACK_TEXT = 39_000  # a message's `text` is refused over 40,000 characters

_OUR_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)\|([^>]*)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_BULLET = re.compile(r"^(\s*)• ", re.M)
_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.S)


def mrkdwn_to_markdown(text: str) -> str:
    """Text we formatted as Slack mrkdwn (answers with sources, summaries, digests, notes) as standard Markdown:
    `<url|label>` → `[label](url)`, `*bold*` → `**bold**`, `_italic_` → `*italic*`, `~strike~` → `~~strike~~`,
    `• ` bullets → `- `. Code is left as it is. Text we quoted was escaped (`&lt;`) and stays escaped: an entity
    is a literal character in Markdown, never markup."""
    return outside(_CODE, text, _prose_to_markdown, lambda code: code)


def _prose_to_markdown(text: str) -> str:
    links: list[str] = []

    def keep(markdown_link: str) -> str:
        links.append(markdown_link)
        return f"\x00{len(links) - 1}\x00"

    text = _OUR_LINK.sub(lambda m: keep(f"[{m.group(2).replace(']', ')')}]({m.group(1)})"), text)
    text = _BARE_LINK.sub(lambda m: keep(m.group(1)), text)
    text = _BOLD.sub(lambda m: f"\x01{m.group(1)}\x01", text)
    text = _ITALIC.sub(lambda m: f"*{m.group(1)}*", text)
    text = text.replace("\x01", "**")
    text = _STRIKE.sub(lambda m: f"~~{m.group(1)}~~", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}- ", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], text)


def markdown_blocks(markdown: str) -> list[dict[str, Any]]:
    """One `markdown` block holding `markdown` (already made mention-safe), or none for blank text."""
    if not markdown.strip():
        return []
    return [{"type": "markdown", "text": markdown[:MAX_MARKDOWN]}]


def fallback_text(text: str) -> str:
    """A message's `text` beside its blocks, cut short (it only shows in notifications) if escaping made a
    pathological answer longer than Slack accepts."""
    return text if len(text) <= MAX_FALLBACK_TEXT else text[: MAX_FALLBACK_TEXT - 1] + "…"


def closing_blocks(job_id: int | None, feedback: Skill | None) -> list[dict[str, Any]]:
    """Blocks that end a finished answer, below the text of its last message: the 👍 / 👎 buttons when the answer
    takes votes (`feedback`), else none. The same whether the answer was posted and edited (SlackStream, and
    bot/jobs/delivery.py's posted replies) or streamed natively (NativeStream, in chat.stopStream's `blocks`), so
    the buttons come with the final message and no later chat.update is needed."""
    if feedback is None or job_id is None:
        return []
    return [feedback_block(job_id, feedback)]
