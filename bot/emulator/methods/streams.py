"""chat.startStream, chat.appendStream, chat.stopStream: a message the app writes as it goes, as Slack documents.

A stream is a reply in a thread (`thread_ts` is required: streamed messages answer a user's request); outside a
DM it names who it is for (`recipient_team_id` and `recipient_user_id`). Text comes as `markdown_text` or as
`markdown_text` chunks, at most 12,000 characters a call. Once stopped, or expired (Workspace.expire_streams), a
stream takes no more text: `message_not_in_streaming_state`. The stop may add `blocks` below the text and the
message's `metadata`. A workspace that does not allow streaming answers every start with its refusal
(Workspace.streaming_refusal, e.g. `not_allowed`).

The message is stored like any other: its `text` is the Markdown so far and, once stopped, a `markdown` block
holds it too.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.emulator.answers import Answer, error, missing, ok, text_arg
from bot.emulator.limits import MAX_MARKDOWN_TEXT, check_blocks
from bot.emulator.methods.chat import bot_message, metadata_problem
from bot.emulator.methods.context import MethodContext, member_channel

SESSION_STATUSES = ("active", "processing", "suspended", "closed")


def _too_long(pointer: str) -> Answer:
    return error(
        "invalid_arguments",
        messages=[f"[ERROR] must be less than {MAX_MARKDOWN_TEXT + 1} characters [json-pointer:{pointer}]"],
    )


def _text_of(args: dict[str, Any]) -> tuple[str, Answer | None]:
    """The Markdown a call brings, from `markdown_text` and the `markdown_text` chunks, or the error for it."""
    pieces: list[str] = []
    if args.get("markdown_text") is not None:
        text = text_arg(args, "markdown_text")
        if len(text) > MAX_MARKDOWN_TEXT:
            return "", _too_long("/markdown_text")
        pieces.append(text)
    chunks = args.get("chunks")
    if chunks is not None:
        if not isinstance(chunks, list):
            return "", error("invalid_arguments", messages=["[ERROR] must be an array [json-pointer:/chunks]"])
        for i, chunk in enumerate(chunks):
            if not isinstance(chunk, dict) or not isinstance(chunk.get("type"), str):
                return "", error("invalid_arguments", messages=[f"[ERROR] missing type [json-pointer:/chunks/{i}]"])
            if chunk["type"] == "markdown_text":  # task_update and plan_update chunks carry no message text
                chunk_text = chunk.get("text")
                if not isinstance(chunk_text, str):
                    return "", missing(f"chunks/{i}/text")
                if len(chunk_text) > MAX_MARKDOWN_TEXT:
                    return "", _too_long(f"/chunks/{i}/text")
                pieces.append(chunk_text)
    return "".join(pieces), None


def start_stream(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    absent = [name for name in ("channel", "thread_ts") if not text_arg(args, name)]
    if absent:
        return missing(*absent)
    channel_id = text_arg(args, "channel")
    channel, problem = member_channel(ctx, channel_id)
    if problem:
        return problem
    assert channel is not None
    if not channel.get("is_im"):
        absent = [name for name in ("recipient_team_id", "recipient_user_id") if not text_arg(args, name)]
        if absent:
            return missing(*absent)
    ws = ctx.workspace
    if ws.streaming_refusal:
        return error(ws.streaming_refusal)
    if text_arg(args, "recipient_user_id") and text_arg(args, "recipient_user_id") not in ws.users:
        return error("user_not_found")
    text, problem = _text_of(args)
    if problem:
        return problem
    with ws.lock:
        parent = ws.find(channel_id, text_arg(args, "thread_ts"))
        if parent is None:
            return error("invalid_thread_ts")
        message = bot_message(ctx, {"text": text, "thread_ts": text_arg(args, "thread_ts")}, ts=ws.next_ts())
        stored = ws.add(channel_id, message)
        ws.streams[(channel_id, stored["ts"])] = "streaming"
        return ok(channel=channel_id, ts=stored["ts"])


def _streaming_message(ctx: MethodContext, args: dict[str, Any]) -> tuple[dict[str, Any] | None, Answer | None]:
    absent = [name for name in ("channel", "ts") if not text_arg(args, name)]
    if absent:
        return None, missing(*absent)
    channel_id, ts = text_arg(args, "channel"), text_arg(args, "ts")
    ws = ctx.workspace
    if ws.channel(channel_id) is None:
        return None, error("channel_not_found")
    message = ws.find(channel_id, ts)
    if message is None:
        return None, error("message_not_found")
    if message.get("bot_id") != ws.identity.bot_id:
        return None, error("cant_update_message")
    if ws.streams.get((channel_id, ts)) != "streaming":
        return None, error("message_not_in_streaming_state")
    return message, None


def append_stream(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    if args.get("markdown_text") is None and not args.get("chunks"):
        return missing("markdown_text")
    text, problem = _text_of(args)
    if problem:
        return problem
    ws = ctx.workspace
    with ws.lock:
        message, problem = _streaming_message(ctx, args)
        if problem:
            return problem
        assert message is not None
        message["text"] = message.get("text", "") + text
        return ok(channel=args["channel"], ts=message["ts"])


def stop_stream(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    text, problem = _text_of(args)
    blocks = args.get("blocks")
    if not problem and blocks not in (None, "", []):
        problem = check_blocks(blocks)
    problem = problem or metadata_problem(args.get("metadata"))
    status = text_arg(args, "session_status")
    if not problem and status and status not in SESSION_STATUSES:
        problem = error("invalid_arguments", messages=["[ERROR] invalid value [json-pointer:/session_status]"])
    if problem:
        return problem
    ws = ctx.workspace
    with ws.lock:
        message, problem = _streaming_message(ctx, args)
        if problem:
            return problem
        assert message is not None
        message["text"] = message.get("text", "") + text
        final: list[dict[str, Any]] = [{"type": "markdown", "text": message["text"]}] if message["text"] else []
        message["blocks"] = final + copy.deepcopy(blocks or [])
        if args.get("metadata"):
            message["metadata"] = {
                "event_type": args["metadata"]["event_type"],
                "event_payload": copy.deepcopy(args["metadata"]["event_payload"]),
            }
        ws.streams[(args["channel"], message["ts"])] = "stopped"
        return ok(channel=args["channel"], ts=message["ts"], message=copy.deepcopy(message))
