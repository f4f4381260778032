"""Model Markdown → Slack mrkdwn, made safe to post.

Models write CommonMark (`**bold**`, `[text](url)`, `# headings`, `- lists`); Slack reads its own mrkdwn
(`*bold*`, `<url|text>`, no headings). Everything outside code is escaped first (`&`, `<`, `>`), so no sequence
the model writes can become a Slack control sequence such as `<!channel>`; only the links we build ourselves
are real.
"""

from __future__ import annotations

import re

from handlers.text.markup import INLINE_CODE, escape, outside

_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)  # unlike a posted message's, a reply may be cut off mid-block
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^\s)]+)\)")
_BARE_URL = re.compile(r"(?<![|<\w])(https?://[^\s<>|)]+)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.M)


def to_mrkdwn(markdown: str) -> str:
    """Converts text outside code blocks and inline code; code is only escaped, never reformatted."""
    return outside(_FENCE, markdown, _convert_prose, _fence)


def _fence(block: str) -> str:
    if not block.endswith("```") or len(block) < 6:
        block += "\n```"  # a reply cut off mid-block still renders as code
    body = block[3:-3]
    first_line, _, rest = body.partition("\n")
    if first_line.strip() and " " not in first_line.strip() and rest:
        body = rest  # Slack has no syntax highlighting; drop the language tag
    return "```" + escape(body.strip("\n")) + "```"


def _convert_prose(text: str) -> str:
    return outside(INLINE_CODE, text, _convert_plain, lambda code: "`" + escape(code[1:-1]) + "`")


def _convert_plain(text: str) -> str:
    links: list[str] = []

    def keep_link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        links.append(f"<{url}|{escape(label).replace('|', '/')}>")
        return f"\x00{len(links) - 1}\x00"

    text = _LINK.sub(keep_link, text)
    text = escape(text)
    text = _HEADING.sub(lambda m: "\x01" + m.group(1).strip("*_ ") + "\x01", text)
    text = _BOLD.sub(lambda m: f"\x01{m.group(2)}\x01", text)
    text = _ITALIC.sub(lambda m: f"_{m.group(1)}_", text)
    text = text.replace("\x01", "*")
    text = _STRIKE.sub(lambda m: f"~{m.group(1)}~", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], text)
