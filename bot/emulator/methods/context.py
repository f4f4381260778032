"""What a Web API method gets besides its arguments."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.emulator.answers import Answer, error
from bot.emulator.workspace import Workspace

if TYPE_CHECKING:
    from bot.emulator.oauth import OAuthApp


@dataclass
class MethodContext:
    """The workspace the token opens, plus the few things that depend on where the emulator listens."""

    workspace: Workspace
    base_url: str  # "http://127.0.0.1:PORT/", for URLs the app must call back (file uploads)
    socket_url: Callable[[], str]  # starts Socket Mode if needed and returns a fresh ws:// URL
    oauth: OAuthApp | None = None  # the app's client credentials, for oauth.v2.access
    headers: dict[str, str] = field(default_factory=dict)  # oauth.v2.access reads HTTP Basic credentials


def member_channel(ctx: MethodContext, channel_id: str) -> tuple[dict[str, Any] | None, Answer | None]:
    """The channel if the bot may post to it or read it, else Slack's error for why not.

    Slack hides private channels the bot is not in (channel_not_found) and refuses public ones it has not
    joined (not_in_channel).
    """
    channel = ctx.workspace.channel(channel_id) if channel_id else None
    if channel is None:
        return None, error("channel_not_found")
    if not ctx.workspace.is_member(channel_id):
        return None, error("channel_not_found" if channel.get("is_private") else "not_in_channel")
    return channel, None
