"""How Slack words its answers, and how it reads arguments.

Every Web API method answers `{"ok": true, ...}` or `{"ok": false, "error": "code", ...}` with HTTP 200, and
reads its arguments as strings when they come form-encoded and as JSON values when they come as JSON.
The helpers here keep those two conventions in one place so the methods read like Slack's docs.
"""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

# Arguments that carry JSON. Form bodies send them as JSON text, JSON bodies as values.
JSON_ARGS = ("blocks", "attachments", "metadata", "files", "view", "chunks", "prompts", "loading_messages")

Answer = dict[str, Any]


def ok(**fields: Any) -> Answer:
    return {"ok": True, **fields}


def error(code: str, *, messages: list[str] | None = None, **fields: Any) -> Answer:
    """An error answer. `messages` go to response_metadata, where Slack explains argument errors."""
    answer: Answer = {"ok": False, "error": code, **fields}
    if messages:
        answer["response_metadata"] = {"messages": messages}
    return answer


def missing(*names: str) -> Answer:
    """Slack's answer when required arguments are absent."""
    return error("invalid_arguments", messages=[f"[ERROR] missing required field: {n}" for n in names])


def decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    """Decode JSON text in form arguments (blocks=[...]) so handlers, and tests, see plain values.

    Text that is not valid JSON is left as it is; the method that needs it reports the error.
    """
    decoded = dict(args)
    for name in JSON_ARGS:
        value = decoded.get(name)
        if isinstance(value, str) and value:
            with contextlib.suppress(ValueError):
                decoded[name] = json.loads(value)
    return decoded


def flag(value: Any) -> bool:
    """Slack booleans: JSON true, or "1"/"true" in a form."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes")


def integer(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def text_arg(args: dict[str, Any], name: str) -> str:
    """A string argument, '' when absent. JSON null counts as absent, as it does for Slack."""
    value = args.get(name)
    return "" if value is None else str(value)


def encode_cursor(ts: str) -> str:
    """Slack cursors are opaque; this one is base64 of `next_ts:<ts>`, the shape Slack's own have."""
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def decode_cursor(cursor: str) -> str | None:
    """The ts a cursor points at, or None when it is not one of ours."""
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except ValueError:
        return None
    prefix, _, ts = raw.partition(":")
    return ts if prefix == "next_ts" and ts else None
