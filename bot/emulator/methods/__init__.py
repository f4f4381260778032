"""Every Web API method the emulator answers, on one screen.

A method is a plain function `(context, args) -> answer`. `token` says which token Slack accepts for it:
app-level tokens (xapp-) only open Socket Mode connections; oauth.v2.access takes the app's client credentials
instead of a token; everything else wants a bot token, and sees the workspace that token belongs to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from bot.emulator.answers import Answer
from bot.emulator.methods import assistant, chat, conversations, files, misc, streams
from bot.emulator.methods.context import MethodContext

__all__ = ["METHODS", "Method", "MethodContext"]


@dataclass(frozen=True)
class Method:
    handler: Callable[[MethodContext, dict[str, Any]], Answer]
    token: Literal["bot", "app", "client"] = "bot"


METHODS: dict[str, Method] = {
    "auth.test": Method(misc.auth_test),
    "chat.postMessage": Method(chat.post_message),
    "chat.postEphemeral": Method(chat.post_ephemeral),
    "chat.update": Method(chat.update),
    "chat.delete": Method(chat.delete),
    "chat.getPermalink": Method(chat.get_permalink),
    "chat.startStream": Method(streams.start_stream),
    "chat.appendStream": Method(streams.append_stream),
    "chat.stopStream": Method(streams.stop_stream),
    "assistant.threads.setStatus": Method(assistant.set_status),
    "assistant.threads.setSuggestedPrompts": Method(assistant.set_suggested_prompts),
    "agents.sessions.setStatus": Method(assistant.set_session_status),
    "conversations.history": Method(conversations.history),
    "conversations.replies": Method(conversations.replies),
    "conversations.info": Method(conversations.info),
    "conversations.join": Method(conversations.join),
    "users.info": Method(misc.users_info),
    "reactions.add": Method(misc.reactions_add),
    "views.publish": Method(misc.views_publish),
    "files.info": Method(files.info),
    "files.getUploadURLExternal": Method(files.get_upload_url),
    "files.completeUploadExternal": Method(files.complete_upload),
    "files.upload": Method(misc.files_upload_v1),
    "apps.connections.open": Method(misc.connections_open, token="app"),
    "oauth.v2.access": Method(misc.oauth_v2_access, token="client"),
}
