"""The emulated workspace the tests share (its team, bot, channel and people) and the helpers that serve the real
app and talk to it as Slack does."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from bot.settings import Settings

if TYPE_CHECKING:  # imported where used at run time, so a test that needs none of them does not load the app
    from bot.app import Parlance
    from bot.emulator import SlackEmulator, SlackSender
    from bot.model.client import ModelClient
    from bot.slack.web import HTTPServer

T = TypeVar("T")
BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "test-signing-secret-0123456789"
TEAM = "T0001"
BOT_USER = "U0BOT"
CHANNEL = "C0GENERAL"
ALICE = "U0ALICE"
BOB = "U0BOB"


@dataclass
class RunningApp:
    """The real app served by the real HTTP server on a loopback port."""

    parlance: Parlance
    server: HTTPServer
    url: str


@contextmanager
def serve_app(settings: Settings, *, model: ModelClient | None = None) -> Iterator[RunningApp]:
    """The real app (with `model`, or none) behind the real HTTP server on a loopback port, stopped after."""
    from bot.app import build_parlance
    from bot.slack.serve import make_http_server

    parlance = build_parlance(settings, model=model)
    server = make_http_server(parlance, port=0)
    parlance.start()
    server.start_in_thread()
    try:
        yield RunningApp(parlance=parlance, server=server, url=server.url)
    finally:
        server.close()
        parlance.close(timeout=10)


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """Polls until `predicate` returns something truthy and returns it; the timeout only matters when a test fails."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout:.0f}s")
        time.sleep(0.05)


def finished_reply(emulator: SlackEmulator, thread_ts: str, timeout: float = 30.0) -> str:
    """The bot's reply in a thread of #general once the placeholder has become a finished answer (or its native
    stream was stopped)."""

    def finished() -> str:
        replies = [m for m in emulator.messages(CHANNEL, thread_ts=thread_ts) if m.get("user") == BOT_USER]
        unfinished = [
            r
            for r in replies
            if r["text"].endswith(" …")
            or r["text"] == "_Thinking…_"
            or emulator.workspace.is_streaming(CHANNEL, r["ts"])
        ]
        if replies and not unfinished:
            return "\n".join(r["text"] for r in replies)
        return ""

    return wait_until(finished, timeout, f"a finished reply in thread {thread_ts}")


def sender_for(app: RunningApp, emulator: SlackEmulator) -> SlackSender:
    """Sends signed requests to `app` exactly as Slack does."""
    from bot.emulator import SlackSender

    return SlackSender(
        app_url=f"{app.url}/slack/events", signing_secret=SIGNING_SECRET, team_id=TEAM, emulator=emulator
    )
