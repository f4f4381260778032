"""The small methods: auth.test, users.info, reactions.add, views.publish, apps.connections.open, oauth.v2.access."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from bot.emulator.answers import Answer, error, missing, ok, text_arg
from bot.emulator.methods.context import MethodContext
from bot.emulator.workspace import new_id

MAX_VIEW_BLOCKS = 100


def auth_test(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    me = ctx.workspace.identity
    return ok(
        url=f"https://{me.team_domain}.slack.com/",
        team=me.team_name,
        user=me.bot_name,
        team_id=me.team_id,
        user_id=me.bot_user_id,
        bot_id=me.bot_id,
        is_enterprise_install=False,
    )


def users_info(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    user = ctx.workspace.users.get(text_arg(args, "user"))
    if user is None:
        return error("user_not_found")
    return ok(user=ctx.workspace.snapshot(user))


def reactions_add(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    channel_id, ts, name = (text_arg(args, k) for k in ("channel", "timestamp", "name"))
    if not channel_id or not ts:
        return error("no_item_specified")
    # Slack wants the bare name: "thumbsup", not ":thumbsup:".
    if not name or any(c in name for c in ": \t"):
        return error("invalid_name")
    if ctx.workspace.channel(channel_id) is None:
        return error("channel_not_found")
    problem = ctx.workspace.react(channel_id, ts, name, ctx.workspace.identity.bot_user_id)
    return error(problem) if problem else ok()


def views_publish(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    absent = [name for name in ("user_id", "view") if not args.get(name)]
    if absent:
        return missing(*absent)
    view = args["view"]
    if not isinstance(view, dict) or view.get("type") != "home":
        return error("invalid_arguments", messages=["[ERROR] view.type must be home [json-pointer:/view/type]"])
    if len(view.get("blocks", [])) > MAX_VIEW_BLOCKS:
        return error(
            "invalid_arguments",
            messages=[f"[ERROR] no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]"],
        )
    ws = ctx.workspace
    user_id = text_arg(args, "user_id")
    if user_id not in ws.users:
        return error("user_not_found")
    me = ws.identity
    view_id = new_id("V")
    published = {
        "id": view_id,
        "team_id": me.team_id,
        "type": "home",
        "blocks": copy.deepcopy(view.get("blocks", [])),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": secrets.token_hex(8),
        "title": {"type": "plain_text", "text": "View Title"},
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": me.app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": me.team_id,
        "bot_id": me.bot_id,
    }
    with ws.lock:
        ws.home_views[user_id] = published
    return ok(view=copy.deepcopy(published))


def connections_open(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    return ok(url=ctx.socket_url())


def files_upload_v1(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    """Slack retired files.upload for new apps; the v2 flow above is the only way in."""
    return error("method_deprecated")


def oauth_v2_access(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    """Trades an install's one-time code for the workspace's bot token (bot/emulator/oauth.py checks it)."""
    if ctx.oauth is None:
        return error("invalid_client_id")
    return ctx.oauth.access(args, ctx.headers)
