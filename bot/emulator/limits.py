"""Slack's limits on message content, checked the way chat.postMessage and chat.update check them.

These are the limits a bot hits in practice: long model answers (text over 40,000 characters, a section over
3,000, a markdown block over 12,000, or a message's markdown blocks over 12,000 together) and long lists (more
than 50 blocks). Real Slack refuses such messages, so the emulator must too, or the code that splits long answers
would never be tested. The context_actions block (feedback buttons under an answer) is checked field by field as
docs.slack.dev describes it: its elements, each button's plain_text text, value and accessibility label, and the
lengths Slack allows.
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
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
MAX_CONTEXT_ACTIONS = 5
CONTEXT_ACTION_ELEMENTS = ("feedback_buttons", "icon_button")
MAX_FEEDBACK_BUTTON_TEXT = 75
MAX_FEEDBACK_VALUE = 2_000
MAX_ACCESSIBILITY_LABEL = 75


def _text_object_problem(obj: Any, pointer: str, limit: int, types: tuple[str, ...] = TEXT_TYPES) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in types:
        return f"must provide an object with type {' or '.join(types)} [json-pointer:{pointer}]"
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
    elif kind == "context_actions":
        problems.extend(_context_actions_problems(block, pointer))
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID):
        problems.append(f"must be less than {MAX_BLOCK_ID + 1} characters [json-pointer:{pointer}/block_id]")
    return [p for p in problems if p]


def markdown_length(blocks: list[Any]) -> int:
    return sum(len(b.get("text") or "") for b in blocks if isinstance(b, dict) and b.get("type") == "markdown")


def _context_actions_problems(block: dict[str, Any], pointer: str) -> list[str | None]:
    """`elements`: 1 to 5 feedback_buttons or icon_button elements."""
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"missing required field: elements [json-pointer:{pointer}]"]
    if len(elements) > MAX_CONTEXT_ACTIONS:
        return [f"no more than {MAX_CONTEXT_ACTIONS} items allowed [json-pointer:{pointer}/elements]"]
    problems: list[str | None] = []
    for i, element in enumerate(elements):
        at = f"{pointer}/elements/{i}"
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in CONTEXT_ACTION_ELEMENTS:
            problems.append(f"must be one of {', '.join(CONTEXT_ACTION_ELEMENTS)} [json-pointer:{at}/type]")
            continue
        assert isinstance(element, dict)
        action_id = element.get("action_id")
        if action_id is not None and (not isinstance(action_id, str) or len(action_id) > MAX_ACTION_ID):
            problems.append(f"must be less than {MAX_ACTION_ID + 1} characters [json-pointer:{at}/action_id]")
        if kind == "feedback_buttons":
            for name in ("positive_button", "negative_button"):
                problems.extend(_feedback_button_problems(element.get(name), f"{at}/{name}", name))
        else:  # icon_button: "trash" is the only icon there is; its text has no documented length limit
            if element.get("icon") != "trash":
                problems.append(f"must be one of trash [json-pointer:{at}/icon]")
            problems.append(_text_object_problem(element.get("text"), f"{at}/text", MAX_TEXT, ("plain_text",)))
    return problems


def _feedback_button_problems(button: Any, pointer: str, name: str) -> list[str | None]:
    """A feedback button: plain_text `text` (75), `value` (2,000), optional `accessibility_label` (75)."""
    if not isinstance(button, dict):
        parent, _, _ = pointer.rpartition("/")
        return [f"missing required field: {name} [json-pointer:{parent}]"]
    problems: list[str | None] = [
        _text_object_problem(button.get("text"), f"{pointer}/text", MAX_FEEDBACK_BUTTON_TEXT, ("plain_text",))
    ]
    value = button.get("value")
    if not isinstance(value, str) or not value:
        problems.append(f"missing required field: value [json-pointer:{pointer}]")
    elif len(value) > MAX_FEEDBACK_VALUE:
        problems.append(f"must be less than {MAX_FEEDBACK_VALUE + 1} characters [json-pointer:{pointer}/value]")
    label = button.get("accessibility_label")
    if label is not None and (not isinstance(label, str) or not 0 < len(label) <= MAX_ACCESSIBILITY_LABEL):
        problems.append(
            f"must be between 1 and {MAX_ACCESSIBILITY_LABEL} characters [json-pointer:{pointer}/accessibility_label]"
        )
    return problems


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
