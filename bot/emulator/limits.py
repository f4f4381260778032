"""Slack's limits on message content, checked the way chat.postMessage and chat.update check them.

These are the limits a bot hits in practice: long model answers (text over 40,000 characters, a section over
3,000, a markdown block over 12,000, or a message's markdown blocks over 12,000 together) and long lists (more
than 50 blocks). Real Slack refuses such messages, so the emulator must too, or the code that splits long answers
would never be tested.
"""

from __future__ import annotations

from typing import Any

from bot.emulator.answers import Answer, error

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3_000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2_000
MAX_HEADER_TEXT = 150
MAX_MARKDOWN_TEXT = 12_000  # one markdown block, and all of a message's markdown blocks together
TEXT_TYPES = ("plain_text", "mrkdwn")


def _text_object_problem(obj: Any, pointer: str, limit: int) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        return f"must provide an object with type plain_text or mrkdwn [json-pointer:{pointer}]"
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return f"must be more than 0 characters [json-pointer:{pointer}/text]"
    if len(text) > limit:
        return f"must be less than {limit + 1} characters [json-pointer:{pointer}/text]"
    return None


def _block_problems(block: Any, pointer: str) -> list[str]:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        return [f"missing required field: type [json-pointer:{pointer}]"]
    problems: list[str | None] = []
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"must provide either text or fields [json-pointer:{pointer}]")
        if "text" in block:
            problems.append(_text_object_problem(block["text"], f"{pointer}/text", MAX_SECTION_TEXT))
        fields = block.get("fields", [])
        if len(fields) > MAX_SECTION_FIELDS:
            problems.append(f"no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{pointer}/fields]")
        for i, field in enumerate(fields):
            problems.append(_text_object_problem(field, f"{pointer}/fields/{i}", MAX_FIELD_TEXT))
    elif kind == "header":
        problems.append(_text_object_problem(block.get("text"), f"{pointer}/text", MAX_HEADER_TEXT))
    elif kind == "markdown":  # its text is a plain string of standard Markdown, not a text object
        text = block.get("text")
        if not isinstance(text, str) or not text:
            problems.append(f"must be more than 0 characters [json-pointer:{pointer}/text]")
        elif len(text) > MAX_MARKDOWN_TEXT:
            problems.append(f"must be less than {MAX_MARKDOWN_TEXT + 1} characters [json-pointer:{pointer}/text]")
    return [p for p in problems if p]


def markdown_length(blocks: list[Any]) -> int:
    return sum(len(b.get("text") or "") for b in blocks if isinstance(b, dict) and b.get("type") == "markdown")


def check_blocks(blocks: Any, *, limit: int = MAX_BLOCKS) -> Answer | None:
    """None when the blocks are acceptable, else Slack's invalid_blocks answer (with its json-pointers)."""
    if isinstance(blocks, str):
        return error("invalid_blocks_format")
    if not isinstance(blocks, list):
        return error("invalid_blocks_format")
    if len(blocks) > limit:
        problems = [f"no more than {limit} items allowed [json-pointer:/blocks]"]
    else:
        problems = [p for i, b in enumerate(blocks) for p in _block_problems(b, f"/blocks/{i}")]
    if not problems and markdown_length(blocks) > MAX_MARKDOWN_TEXT:
        return error("msg_blocks_too_long")  # each block fits, together they do not
    if not problems:
        return None
    return error("invalid_blocks", errors=problems, messages=[f"[ERROR] {p}" for p in problems])


def check_message(args: dict[str, Any], *, require_content: bool = True) -> Answer | None:
    """Checks shared by chat.postMessage, chat.postEphemeral and chat.update: content present, within limits."""
    text = args.get("text")
    blocks = args.get("blocks")
    attachments = args.get("attachments")
    if blocks not in (None, "", []):
        problem = check_blocks(blocks)
        if problem:
            return problem
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return error("msg_too_long")
    has_content = bool(text) or bool(blocks) or bool(attachments)
    if require_content and not has_content:
        return error("no_text")
    return None
