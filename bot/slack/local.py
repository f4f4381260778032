"""Local mode: try Parlance with no Slack workspace.

The real app runs against the built-in Slack emulator; what you type becomes signed Slack requests (messages,
mentions, slash commands) and the bot's answers, read back from the emulator, are printed. Nothing here holds
logic of its own: it is one more adapter over the same app.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from bot.settings import Settings, load_settings

if TYPE_CHECKING:  # imported where used at run time: local mode loads the app only when it starts
    from bot.app import Parlance
    from bot.emulator import SentResponse, SlackEmulator, SlackSender

LOCAL_DATABASE_URL = "sqlite:///parlance-local.db"
TEAM, CHANNEL, YOU, BOT_USER = "T0LOCAL", "C0GENERAL", "U0YOU", "U0PARLANCE"

INTRO = """\
Parlance local mode: you are @you in #general of an emulated Slack workspace (no Slack account needed).
  plain text              a message in #general (stored as channel history)
  @parlance <question>    mention the bot; it answers in a thread
  /summarize [args]       /summarize, /summarize 50, /summarize 24h ...
  /translate fr <text>    translate text
  /sentiment [args]       the channel's mood, and scheduled digests (/sentiment help)
  /parlance [forget me]   what Parlance stores about you, and deleting it
  /thread                 reply inside the thread of your last mention; /channel goes back
  /quit                   leave (Ctrl-D works too)
The language model loads in the background; the first answer can take a minute on a CPU.
"""


def run_local(settings: Settings, *, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> None:
    with contextlib.ExitStack() as stack:
        _run_local(settings, stack, stdin, stdout)


def _run_local(settings: Settings, stack: contextlib.ExitStack, stdin: TextIO, stdout: TextIO) -> None:
    from bot.app import build_parlance
    from bot.emulator import SlackEmulator, SlackSender
    from bot.model.access import open_model_client
    from bot.slack.serve import make_http_server

    bot_token = "xoxb-local-" + secrets.token_hex(8)
    signing_secret = secrets.token_hex(16)
    emulator = SlackEmulator(bot_token=bot_token, team_id=TEAM, bot_user_id=BOT_USER, bot_id="B0PARLANCE")
    emulator.add_user(YOU, name="you", real_name="You")
    emulator.add_channel(CHANNEL, name="general")
    emulator.start()
    database_url = settings.database_url if "database_url" in settings.model_fields_set else LOCAL_DATABASE_URL
    local_settings = load_settings(
        SLACK_BOT_TOKEN=bot_token,
        SLACK_SIGNING_SECRET=signing_secret,
        SLACK_API_URL=emulator.api_url,
        SLACK_CLIENT_ID="",  # the emulated workspace has its bot token: no installs, whatever the environment says
        SLACK_CLIENT_SECRET="",
        DATABASE_URL=database_url,
        PORT=0,
        MODEL_URL=settings.model_url,
        LOG_LEVEL="WARNING",
    )
    model = stack.enter_context(open_model_client(local_settings, wait=False))
    parlance = build_parlance(local_settings, model=model)
    server = make_http_server(parlance, port=0)
    parlance.start()
    server.start_in_thread()
    sender = SlackSender(
        app_url=f"{server.url}/slack/events", signing_secret=signing_secret, team_id=TEAM, emulator=emulator
    )
    printer = _ReplyPrinter(emulator, write=lambda line: print(line, file=stdout, flush=True))
    printer.start()
    print(INTRO, file=stdout, flush=True)
    try:
        _read_loop(sender, stdin, stdout)
    finally:
        _wait_for_answers(parlance, timeout=120)
        printer.stop()
        server.close()
        parlance.close(timeout=5)
        emulator.stop()


def _wait_for_answers(parlance: Parlance, *, timeout: float) -> None:
    """On quit, let the answers already asked for arrive before the emulated workspace goes away."""
    from storage.jobs import pending_job_count

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with parlance.sessions() as session:
            if pending_job_count(session=session) == 0:
                return
        time.sleep(0.1)


def _read_loop(sender: SlackSender, stdin: TextIO, stdout: TextIO) -> None:
    thread_ts: str | None = None
    last_mention_ts: str | None = None
    for raw in stdin:
        line = raw.strip()
        if not line:
            continue
        if line in {"/quit", "/exit"}:
            return
        if line == "/thread":
            thread_ts = last_mention_ts
            print("(now in the thread of your last mention)" if thread_ts else "(no mention yet)", file=stdout)
            continue
        if line == "/channel":
            thread_ts = None
            print("(back in #general)", file=stdout)
            continue
        if line.startswith("/"):
            command, _, text = line.partition(" ")
            response = sender.command(command, text, user_id=YOU, channel_id=CHANNEL, user_name="you")
            _print_command_ack(response, stdout)
            continue
        ts = _next_ts()
        if line.lower().startswith(("@parlance", "@bot")):
            text = f"<@{BOT_USER}> " + line.split(" ", 1)[1] if " " in line else f"<@{BOT_USER}>"
            sender.event(sender.message_event(CHANNEL, YOU, text, ts=ts, thread_ts=thread_ts))
            sender.event(sender.mention_event(CHANNEL, YOU, text, ts=ts, thread_ts=thread_ts))
            last_mention_ts = thread_ts or ts
        else:
            sender.event(sender.message_event(CHANNEL, YOU, line, ts=ts, thread_ts=thread_ts))


def _print_command_ack(response: SentResponse, stdout: TextIO) -> None:
    if response.status != 200:
        print(f"(Slack would show an error: HTTP {response.status})", file=stdout, flush=True)
        return
    if response.body:
        try:
            text = response.json().get("text")
        except ValueError:
            text = response.text
        if text:
            print(f"parlance (only you can see this): {text}", file=stdout, flush=True)


_last_ts = 0.0


def _next_ts() -> str:
    """Slack message ids: unique, increasing seconds.micros."""
    global _last_ts
    _last_ts = max(time.time(), _last_ts + 0.000001)
    return f"{_last_ts:.6f}"


class _ReplyPrinter:
    """Prints what the bot posted to the emulated workspace as it happens."""

    _SHOWN = {"chat.postMessage": "", "chat.update": " (edited)", "chat.postEphemeral": " (only you can see this)"}

    def __init__(self, emulator: SlackEmulator, *, write: Callable[[str], None]) -> None:
        self._emulator = emulator
        self._write = write
        self._seen_calls = 0
        self._seen_responses = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="local-printer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._flush()

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self._flush()

    def _flush(self) -> None:
        calls = self._emulator.calls()
        for call in calls[self._seen_calls :]:
            if call.method in self._SHOWN and call.response.get("ok"):
                where = " in thread" if call.args.get("thread_ts") else ""
                self._write(f"parlance{where}{self._SHOWN[call.method]}: {call.args.get('text', '')}")
        self._seen_calls = len(calls)
        posts = self._emulator.response_url_posts()
        for post in posts[self._seen_responses :]:
            self._write(f"parlance (only you can see this): {post.get('text', '')}")
        self._seen_responses = len(posts)
