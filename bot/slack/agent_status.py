"""The agent's loading status in a thread (assistant.threads.setStatus): "is thinking…" with a few rotating loading
messages while a reply is on its way, in place of a placeholder message, cleared when the answer starts. And the
agent session's status (agents.sessions.setStatus): `processing` while the reply is written, so Slack shows its
stop button, `active` once it is done.

A status is a courtesy, never the answer: a workspace that refuses it (an app that is not an agent there, a
missing scope) or a failed call is logged and the reply goes on. Slack also drops a status by itself after two
minutes without a message, and when the app posts in the thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http.client import HTTPException

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import texts

logger = logging.getLogger(__name__)


def show_loading(*, client: WebClient, channel: str, thread_ts: str) -> bool:
    """Shows the loading status in the thread; whether Slack took it."""
    return _set(client, channel, thread_ts, texts.LOADING_STATUS, list(texts.LOADING_MESSAGES))


def clear_loading(*, client: WebClient, channel: str, thread_ts: str) -> None:
    _set(client, channel, thread_ts, "", None)


def start_session(*, client: WebClient, channel: str, thread_ts: str, user: str | None) -> None:
    """The agent's session in the thread is `processing`: Slack shows its stop button (agent_session_stopped)."""
    _call(
        client.agents_sessions_setStatus,
        channel_id=channel,
        thread_ts=thread_ts,
        status="processing",
        initiator_user_id=user,
    )


def end_session(*, client: WebClient, channel: str, thread_ts: str) -> None:
    """The reply is written (or stopped): the session is `active` again, and the stop button goes."""
    _call(client.agents_sessions_setStatus, channel_id=channel, thread_ts=thread_ts, status="active")


def _call(method: Callable[..., object], **kwargs: object) -> bool:
    try:
        method(**{k: v for k, v in kwargs.items() if v is not None})
    except (SlackApiError, OSError, HTTPException) as exc:
        logger.info("could not set the agent session's status (%s)", type(exc).__name__)
        return False
    return True


def _set(client: WebClient, channel: str, thread_ts: str, status: str, loading: list[str] | None) -> bool:
    try:
        client.assistant_threads_setStatus(
            channel_id=channel, thread_ts=thread_ts, status=status, loading_messages=loading
        )
    except (SlackApiError, OSError, HTTPException) as exc:
        logger.info("could not set the loading status in %s (%s)", channel, type(exc).__name__)
        return False
    return True
