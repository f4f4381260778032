"""conversations.* methods: reading history and threads, with Slack's cursor pagination."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from bot.emulator.answers import Answer, decode_cursor, encode_cursor, error, flag, integer, ok, text_arg
from bot.emulator.methods.context import MethodContext, member_channel
from bot.emulator.workspace import parse_ts, ts_key

HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT = 100, 999
REPLIES_DEFAULT_LIMIT, REPLIES_MAX_LIMIT = 1000, 1000


def _window(args: dict[str, Any]) -> tuple[Decimal, Decimal, bool] | Answer:
    """(oldest, latest, inclusive) from the arguments, or Slack's error for a malformed bound."""
    oldest = parse_ts(args.get("oldest") or "0")
    if oldest is None:
        return error("invalid_ts_oldest")
    latest = parse_ts(args.get("latest")) if args.get("latest") else Decimal("Infinity")
    if latest is None:
        return error("invalid_ts_latest")
    return oldest, latest, flag(args.get("inclusive", False))


def _in_window(ts: str, window: tuple[Decimal, Decimal, bool]) -> bool:
    oldest, latest, inclusive = window
    key = ts_key(ts)
    return oldest <= key <= latest if inclusive else oldest < key < latest


def _page(
    messages: list[dict[str, Any]], args: dict[str, Any], default: int, most: int
) -> tuple[list[dict[str, Any]], str] | Answer:
    """Cut one page out of the ordered messages. The cursor names the first message of the next page."""
    limit = integer(args.get("limit"), default)
    limit = default if limit <= 0 else min(limit, most)
    start = 0
    if args.get("cursor"):
        ts = decode_cursor(str(args["cursor"]))
        positions = [i for i, m in enumerate(messages) if m["ts"] == ts]
        if ts is None or not positions:
            return error("invalid_cursor")
        start = positions[0]
    page = messages[start : start + limit]
    rest = messages[start + limit :]
    return page, (encode_cursor(rest[0]["ts"]) if rest else "")  # "" is Slack's "no more pages"


def _public(message: dict[str, Any], with_metadata: bool) -> dict[str, Any]:
    out = copy.deepcopy(message)
    if not with_metadata:
        out.pop("metadata", None)
    return out


def history(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    channel_id = text_arg(args, "channel")
    _, problem = member_channel(ctx, channel_id)
    if problem:
        return problem
    window = _window(args)
    if isinstance(window, dict):
        return window
    ws = ctx.workspace
    with ws.lock:
        newest_first = [m for m in reversed(ws.top_level(channel_id)) if _in_window(m["ts"], window)]
        cut = _page(newest_first, args, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT)
        if isinstance(cut, dict):
            return cut
        page, next_cursor = cut
        with_metadata = flag(args.get("include_all_metadata", False))
        return ok(
            messages=[_public(m, with_metadata) for m in page],
            has_more=bool(next_cursor),
            pin_count=0,
            channel_actions_ts=None,
            channel_actions_count=0,
            response_metadata={"next_cursor": next_cursor},
        )


def replies(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    channel_id = text_arg(args, "channel")
    _, problem = member_channel(ctx, channel_id)
    if problem:
        return problem
    window = _window(args)
    if isinstance(window, dict):
        return window
    ws = ctx.workspace
    with ws.lock:
        thread = ws.replies(channel_id, text_arg(args, "ts"))
        if not thread:
            return error("thread_not_found")
        parent, rest = thread[0], [m for m in thread[1:] if _in_window(m["ts"], window)]
        cut = _page(rest, args, REPLIES_DEFAULT_LIMIT, REPLIES_MAX_LIMIT)
        if isinstance(cut, dict):
            return cut
        page, next_cursor = cut
        # Slack puts the parent at the top of the first page only; continuation pages hold replies alone.
        if not args.get("cursor"):
            page = [parent, *page]
        with_metadata = flag(args.get("include_all_metadata", False))
        return ok(
            messages=[_public(m, with_metadata) for m in page],
            has_more=bool(next_cursor),
            response_metadata={"next_cursor": next_cursor},
        )


def info(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    channel = ctx.workspace.channel(text_arg(args, "channel"))
    if channel is None or (channel.get("is_private") and not channel.get("is_member")):
        return error("channel_not_found")
    return ok(channel=ctx.workspace.snapshot(channel))


def join(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    ws = ctx.workspace
    with ws.lock:
        channel = ws.channel(text_arg(args, "channel"))
        if channel is None or (channel.get("is_private") and not channel.get("is_member")):
            return error("channel_not_found")
        if channel.get("is_im") or channel.get("is_private"):
            return error("method_not_supported_for_channel_type")
        if channel.get("is_member"):
            return ok(
                channel=ws.snapshot(channel),
                warning="already_in_channel",
                response_metadata={"warnings": ["already_in_channel"]},
            )
        channel["is_member"] = True
        return ok(channel=ws.snapshot(channel))
