"""chat.* methods: what the bot posts, edits and deletes."""

from __future__ import annotations

import copy
from typing import Any

from bot.emulator.answers import Answer, error, flag, missing, ok, text_arg
from bot.emulator.limits import check_message
from bot.emulator.methods.context import MethodContext, member_channel


def resolve_channel(ctx: MethodContext, value: str) -> str:
    """Slack lets chat.postMessage name a channel by id, by `#name`, or by a user id (that user's DM)."""
    ws = ctx.workspace
    with ws.lock:
        if value in ws.channels:
            return value
        name = value.removeprefix("#")
        for channel_id, channel in ws.channels.items():
            if channel.get("name") == name:
                return channel_id
        if value[:1] in ("U", "W") and value in ws.users:
            dm = next((cid for cid, c in ws.channels.items() if c.get("is_im") and c.get("user") == value), None)
            return dm or ws.add_channel("D" + value[1:], name=value, user=value)["id"]
        return value


def metadata_problem(metadata: Any) -> Answer | None:
    """Message metadata must be {"event_type": str, "event_payload": object}, as Slack's schema says."""
    if metadata in (None, ""):
        return None
    if not isinstance(metadata, dict):
        return error("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not isinstance(metadata.get("event_payload"), dict):
        return error("invalid_metadata_schema")
    return None


def bot_message(ctx: MethodContext, args: dict[str, Any], *, ts: str) -> dict[str, Any]:
    """The message object Slack stores for a post by this app's bot user."""
    me = ctx.workspace.identity
    message: dict[str, Any] = {
        "type": "message",
        "user": me.bot_user_id,
        "bot_id": me.bot_id,
        "app_id": me.app_id,
        "text": text_arg(args, "text"),
        "ts": ts,
        "team": me.team_id,
        "bot_profile": {
            "id": me.bot_id,
            "app_id": me.app_id,
            "name": me.bot_name,
            "deleted": False,
            "team_id": me.team_id,
        },
    }
    for key in ("blocks", "attachments"):
        if args.get(key):
            message[key] = copy.deepcopy(args[key])
    if args.get("metadata"):
        message["metadata"] = {
            "event_type": args["metadata"]["event_type"],
            "event_payload": copy.deepcopy(args["metadata"]["event_payload"]),
        }
    thread_ts = text_arg(args, "thread_ts")
    if thread_ts:
        message["thread_ts"] = thread_ts
        if flag(args.get("reply_broadcast", False)):
            message["subtype"] = "thread_broadcast"
    return message


def post_message(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    channel_id = resolve_channel(ctx, text_arg(args, "channel"))
    _, problem = member_channel(ctx, channel_id)
    problem = problem or check_message(args) or metadata_problem(args.get("metadata"))
    if problem:
        return problem
    ws = ctx.workspace
    with ws.lock:
        stored = ws.add(channel_id, bot_message(ctx, args, ts=ws.next_ts()))
        return ok(channel=channel_id, ts=stored["ts"], message=copy.deepcopy(stored))


def post_ephemeral(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    if not text_arg(args, "user"):
        return missing("user")
    channel_id = resolve_channel(ctx, text_arg(args, "channel"))
    _, problem = member_channel(ctx, channel_id)
    problem = problem or check_message(args)
    if problem:
        return problem
    ws = ctx.workspace
    if args["user"] not in ws.users:
        return error("user_not_in_channel")
    with ws.lock:
        ts = ws.next_ts()
        ws.ephemerals.append(
            {
                "channel": channel_id,
                "user": args["user"],
                "message_ts": ts,
                **{k: copy.deepcopy(args[k]) for k in ("text", "blocks", "thread_ts") if k in args},
            }
        )
    return ok(message_ts=ts)


def _own_message(
    ctx: MethodContext, args: dict[str, Any], ts_name: str, refusal: str
) -> tuple[dict[str, Any] | None, Answer | None]:
    """The bot's own stored message named by channel + ts, or the error Slack gives."""
    channel_id = text_arg(args, "channel")
    if ctx.workspace.channel(channel_id) is None:
        return None, error("channel_not_found")
    message = ctx.workspace.find(channel_id, text_arg(args, ts_name))
    if message is None:
        return None, error("message_not_found")
    if message.get("bot_id") != ctx.workspace.identity.bot_id:
        return None, error(refusal)
    return message, None


def update(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    if not any(k in args for k in ("text", "blocks", "attachments")):
        return error("no_text")
    problem = check_message(args, require_content=False) or metadata_problem(args.get("metadata"))
    if problem:
        return problem
    ws = ctx.workspace
    with ws.lock:
        message, problem = _own_message(ctx, args, "ts", "cant_update_message")
        if problem:
            return problem
        assert message is not None
        if "text" in args:
            message["text"] = text_arg(args, "text")
        for key in ("blocks", "attachments"):
            if key in args:  # Slack keeps the old blocks unless the update names new ones ([] clears them).
                if args[key]:
                    message[key] = copy.deepcopy(args[key])
                else:
                    message.pop(key, None)
        if args.get("metadata"):
            message["metadata"] = copy.deepcopy(args["metadata"])
        message["edited"] = {"user": ws.identity.bot_user_id, "ts": ws.next_ts()}
        return ok(channel=args["channel"], ts=message["ts"], text=message["text"], message=copy.deepcopy(message))


def delete(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    ws = ctx.workspace
    with ws.lock:
        message, problem = _own_message(ctx, args, "ts", "cant_delete_message")
        if problem:
            return problem
        assert message is not None
        ts = message["ts"]
        ws.delete(args["channel"], ts)
        return ok(channel=args["channel"], ts=ts)


def get_permalink(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    ws = ctx.workspace
    channel_id, ts = text_arg(args, "channel"), text_arg(args, "message_ts")
    if ws.channel(channel_id) is None:
        return error("channel_not_found")
    with ws.lock:
        message = ws.find(channel_id, ts)
        if message is None:
            return error("message_not_found")
        link = f"https://{ws.identity.team_domain}.slack.com/archives/{channel_id}/p{ts.replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
    return ok(channel=channel_id, permalink=link)
