"""Local mode: try Parlance with no Slack workspace.

The real app runs against the built-in Slack emulator; what you type becomes signed Slack requests (messages,
mentions, slash commands, reactions, message shortcuts, the App Home tab) and what the bot makes of them, read back
from the emulated workspace, is printed: each message once it is final, files it uploads (saved to a folder),
what only you can see, and the Home tab. Nothing here holds logic of its own: it is one more adapter over the same
app. The terminal belongs to the conversation, so every log line, the model worker's included, goes to a file.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TextIO

from bot.settings import Settings, load_settings

if TYPE_CHECKING:  # imported where used at run time: local mode loads the app only when it starts
    from bot.app import Parlance
    from bot.emulator import SentResponse, SlackEmulator, SlackSender
    from bot.model.client import ModelClient

LOCAL_DATABASE_URL = "sqlite:///parlance-local.db"
LOG_FILE = "parlance-local.log"
FILES_DIR = "parlance-local-files"
TEAM, CHANNEL, YOU, BOT_USER = "T0LOCAL", "C0GENERAL", "U0YOU", "U0PARLANCE"
POLL_SECONDS = 0.1
MAX_SHARE_BYTES = 20 * 1024 * 1024  # /share: more than the bot reads of a file (bot/slack/files.py)
QUIT_WAIT_SECONDS = 120.0  # on /quit, answers already asked for may still arrive; Ctrl-C skips the wait

INTRO = """\
Parlance local mode: you are @you in #general of an emulated Slack workspace (no Slack account needed).
  plain text                 a message in #general (stored as channel history)
  @parlance <question>       mention the bot; it answers in a thread
  /summarize [args]          /summarize, /summarize 50, /summarize 24h ...
  /translate fr <text>       translate text
  /sentiment [args]          the channel's mood and scheduled digests (/sentiment help; /sentiment now)
  /parlance [forget me]      what Parlance stores about you, and deleting it; /parlance feedback: helpful rates
  /parlance instructions <text>  how Parlance answers in #general (persona, language, tone); `off` removes them
  /share PATH [comment]      share a file from your disk here (text, code, CSV, JSON, PDF become context)
  /react [N] :flag-fr:       react to message N (default: the last one here); a flag asks for a translation
  /shortcut NAME [N]         a message shortcut on message N: summarize_thread or translate_message
  /pick <language>           answer the language menu the translate_message shortcut shows
  /vote up|down [N]          👍 or 👎 on an answer, summary or translation (the last one shown, or message N)
  /home                      open Parlance's App Home tab
  /agent                     open a new chat in Parlance's Messages tab (the agent view); /channel goes back
  /messages                  the last messages here, with their numbers N
  /thread [N]                reply inside the thread of your last mention (or of message N); /channel goes back
  /help                      this list; /quit leaves (Ctrl-D and Ctrl-C work too)
The language model loads in the background; the first answer can take a minute on a CPU."""

LOCAL_COMMANDS = (
    "/share",
    "/react",
    "/shortcut",
    "/pick",
    "/vote",
    "/home",
    "/agent",
    "/messages",
    "/thread",
    "/channel",
    "/help",
    "/quit",
)


def run_local(
    settings: Settings, *, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout, workdir: Path | None = None
) -> None:
    """The terminal session; returns when the person quits (/quit, end of input or Ctrl-C), never with a
    traceback for Ctrl-C. Logs, saved files and (by default) the database live in `workdir` (the current
    directory)."""
    workdir = (workdir or Path.cwd()).resolve()
    terminal = Terminal(stdout)
    main_thread = threading.current_thread() is threading.main_thread()
    on_ctrl_c = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        with contextlib.ExitStack() as stack:
            _run_local(settings, stack, stdin, terminal, workdir)
    except KeyboardInterrupt:  # a Ctrl-C while starting: the stack above has closed what it opened
        terminal.say("(stopped)")
    finally:
        terminal.status("model", None)
        terminal.status("writing", None)
        if on_ctrl_c is not None:  # None: a handler not set from Python, which cannot be put back
            signal.signal(signal.SIGINT, on_ctrl_c)


def _run_local(
    settings: Settings, stack: contextlib.ExitStack, stdin: TextIO, terminal: Terminal, workdir: Path
) -> None:
    from bot.app import build_parlance
    from bot.emulator import SlackEmulator, SlackSender
    from bot.model.access import open_model_client
    from bot.slack.serve import make_http_server

    log_path = workdir / LOG_FILE
    worker_log = stack.enter_context(_log_to_file(log_path, settings))
    terminal.say(INTRO)
    terminal.say(f"(logs, the model worker's too: {log_path})")

    bot_token = "xoxb-local-" + secrets.token_hex(8)
    signing_secret = secrets.token_hex(16)
    emulator = SlackEmulator(bot_token=bot_token, team_id=TEAM, bot_user_id=BOT_USER, bot_id="B0PARLANCE")
    emulator.add_user(YOU, name="you", real_name="You")
    emulator.add_channel(CHANNEL, name="general")
    emulator.start()
    stack.callback(emulator.stop)
    printer = ReplyPrinter(emulator, terminal, files_dir=workdir / FILES_DIR)
    printer.start()
    stack.callback(printer.stop)  # after the app has closed: what its last jobs post is still shown
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
        LOG_LEVEL=settings.log_level,
        ALLOWED_CHANNELS=settings.allowed_channels,  # e.g. C0ELSEWHERE: see what #general hears when left out
    )
    model = stack.enter_context(open_model_client(local_settings, wait=False, worker_output=worker_log))
    stack.enter_context(_ModelWatch(model, terminal, log_path))
    parlance = build_parlance(local_settings, model=model)
    server = make_http_server(parlance, port=0)
    parlance.start()
    stack.callback(parlance.close, timeout=5)
    server.start_in_thread()
    stack.callback(server.close)
    _start_clock(parlance, stack, local_settings)
    sender = SlackSender(
        app_url=f"{server.url}/slack/events", signing_secret=signing_secret, team_id=TEAM, emulator=emulator
    )
    try:
        LocalSession(sender, printer, terminal).read(stdin)
        _wait_for_answers(parlance, terminal, timeout=QUIT_WAIT_SECONDS)
    except KeyboardInterrupt:
        terminal.say("(stopping; Ctrl-C again quits at once)")
    _quit_at_once_on_ctrl_c()  # then the stack closes everything, in reverse order


def _quit_at_once_on_ctrl_c() -> None:
    """While local mode closes (jobs handed back, the worker stopped: seconds), a second Ctrl-C ends it there and
    then; the worker child stops with this process (see bot/worker/launch.py)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda *_: os._exit(130))


def _start_clock(parlance: Parlance, stack: contextlib.ExitStack, settings: Settings) -> None:
    """Scheduled digests (`/sentiment daily`) fire in local mode too, as under `python -m bot`."""
    from bot.background.clock import start_beside

    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    start_beside(parlance, stack)


@contextlib.contextmanager
def _log_to_file(path: Path, settings: Settings) -> Iterator[IO[bytes]]:
    """Every log line of this process goes to `path` instead of the terminal; yields the same file, opened for the
    model worker child's output. INFO unless LOG_LEVEL says otherwise: nobody reads it in the chat."""
    level = settings.log_level if "log_level" in settings.model_fields_set else "INFO"
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for old in saved[0]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    try:
        with path.open("ab", buffering=0) as worker_log:
            yield worker_log
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        handler.close()
        for old in saved[0]:
            root.addHandler(old)
        root.setLevel(saved[1])


def _wait_for_answers(parlance: Parlance, terminal: Terminal, *, timeout: float) -> None:
    """On quit, let the answers already asked for arrive before the emulated workspace goes away."""
    from storage.jobs import pending_job_count

    deadline = time.monotonic() + timeout
    told = False
    while time.monotonic() < deadline:
        with parlance.sessions() as session:
            pending = pending_job_count(session=session)
        if pending == 0:
            return
        if not told:
            terminal.say(f"(waiting for {pending} answer(s) still being written; Ctrl-C quits at once)")
            told = True
        time.sleep(POLL_SECONDS)


class _ModelWatch:
    """One line about the language model: while it loads (the first start checks and assembles its files, once),
    a live line on a terminal; when it answers, one line saying so."""

    def __init__(self, model: ModelClient, terminal: Terminal, log_path: Path) -> None:
        from bot.model.client import OpenAICompatibleClient

        self._url = model.base_url if isinstance(model, OpenAICompatibleClient) else None
        self._terminal = terminal
        self._log_path = log_path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="local-model-watch", daemon=True)

    def __enter__(self) -> _ModelWatch:
        if self._url is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=3)
        self._terminal.status("model", None)

    def _watch(self) -> None:
        from bot.model.access import WORKER_START_TIMEOUT
        from bot.worker.launch import WorkerNotReady, wait_until_ready

        assert self._url is not None
        started = time.monotonic()
        while not self._stop.is_set():
            waited = time.monotonic() - started
            if waited > WORKER_START_TIMEOUT:
                self._terminal.status("model", None)
                self._terminal.say(f"(the language model is not answering; see {self._log_path})")
                return
            self._terminal.status(  # in 5 s steps: each redraw crosses what the person is typing
                "model", f"loading the language model: {waited // 5 * 5:.0f} s (a first start prepares its files once)"
            )
            try:
                wait_until_ready(self._url, 1.0)
            except WorkerNotReady:
                continue
            self._terminal.status("model", None)
            self._terminal.say(f"(the language model is ready, after {time.monotonic() - started:.0f} s)")
            return


class Terminal:
    """Lines for the person, and on a real terminal one live status line below them (carriage return), so
    progress never adds lines. Not a terminal (a pipe, a test): only the lines."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        isatty = getattr(out, "isatty", None)
        self.live = bool(isatty and isatty())
        self._lock = threading.Lock()
        self._parts: dict[str, str] = {}
        self._drawn = False

    def say(self, text: str) -> None:
        with self._lock:
            self._clear()
            self._out.write(text + "\n")
            self._draw()
            self._out.flush()

    def status(self, key: str, text: str | None) -> None:
        """Sets (or, with None, removes) one part of the live status line."""
        with self._lock:
            if self._parts.get(key) == text:
                return
            if text is None:
                self._parts.pop(key, None)
            else:
                self._parts[key] = text
            if self.live:
                self._clear()
                self._draw()
                self._out.flush()

    def _clear(self) -> None:
        if self._drawn:
            self._out.write("\r\x1b[K")
            self._drawn = False

    def _draw(self) -> None:
        if self.live and self._parts:
            width = shutil.get_terminal_size().columns - 1
            self._out.write(("… " + " · ".join(self._parts.values()))[:width])
            self._drawn = True


@dataclass(frozen=True)
class Picker:
    """The last language menu shown to you (the translate_message shortcut asks when it cannot tell)."""

    block_id: str
    message_ts: str
    options: dict[str, str]  # value -> label


def in_progress(text: str) -> bool:
    """A reply still being streamed: the placeholder, or text that ends with the typing mark (bot/slack/streaming)."""
    from bot.slack.streaming import PLACEHOLDER, TYPING

    return text == PLACEHOLDER or text.endswith(TYPING)


def markdown_of(message: dict[str, Any]) -> str:
    """The Markdown a message's markdown blocks show (what Slack renders in place of its `text`), or ""."""
    return "".join(str(b.get("text", "")) for b in message.get("blocks") or [] if b.get("type") == "markdown")


def blocks_text(blocks: list[dict[str, Any]]) -> list[str]:
    """Block Kit as lines of text: what a view or a message with blocks says, without its layout."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "section"):
            if block.get("text"):
                lines.append(str(block["text"].get("text", "")))
            lines.extend(str(field.get("text", "")) for field in block.get("fields") or [])
        elif kind == "context":
            lines.append("  ".join(str(e.get("text") or e.get("alt_text") or "") for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("---")
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
    return lines


def size_text(length: int) -> str:
    return f"{length} bytes" if length < 1024 else f"{length / 1024:.1f} KiB"


class ReplyPrinter:
    """Shows what the bot did in the emulated workspace, read from it every POLL_SECONDS: each message once it is
    final (a streamed answer once, when complete; an edit of a shown message again, marked), deletions, files
    (saved under `files_dir`), what only you can see, and your App Home tab when it is published.

    It also numbers every message of the workspace in the order they appear, for /react N and /shortcut NAME N.
    """

    def __init__(self, emulator: SlackEmulator, terminal: Terminal, *, files_dir: Path) -> None:
        self._emulator = emulator
        self._terminal = terminal
        self._files_dir = files_dir
        self._lock = threading.RLock()
        self._numbers: dict[tuple[str, str], int] = {}
        self._order: list[tuple[str, str]] = []
        self._shown: dict[tuple[str, str], str] = {}
        self._seen_ephemerals = 0
        self._prompts_shown: dict[str, dict[str, Any]] = {}
        self._home_id: str | None = None
        self.picker: Picker | None = None
        self.rateable: tuple[str, dict[str, Any]] | None = None  # the last message shown with 👍 / 👎, for /vote
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="local-printer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.flush()
        self._terminal.status("writing", None)

    def _loop(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.flush()

    # ----- lookups for the commands ---------------------------------------------------------------------------

    def message(self, number: int) -> tuple[str, dict[str, Any]] | None:
        """Message `number` (as /messages shows it): its channel and the message as Slack stores it."""
        with self._lock:
            if not 1 <= number <= len(self._order):
                return None
            channel, ts = self._order[number - 1]
        found = self._find(channel, ts)
        return (channel, found) if found is not None else None

    def number(self, channel: str, ts: str) -> int | None:
        with self._lock:
            return self._numbers.get((channel, ts))

    def here(self, channel: str, thread_ts: str | None) -> list[dict[str, Any]]:
        """The messages of the channel (top level) or of one thread, oldest first, as a person sees them."""
        if thread_ts:
            return self._emulator.messages(channel, thread_ts=thread_ts)
        return self._emulator.messages(channel)

    def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        ws = self._emulator.workspace
        with ws.lock:
            found = ws.find(channel, ts)
            return copy.deepcopy(found) if found is not None else None

    # ----- what the bot did ------------------------------------------------------------------------------------

    def flush(self) -> None:
        """Called by the printer's loop and by the commands that look for a message, so two can run at once: the
        workspace is read inside the printer's lock, or both would print the same new ephemeral messages and
        then skip as many of the next ones."""
        ws = self._emulator.workspace
        with self._lock:
            with ws.lock:
                history = {channel: copy.deepcopy(messages) for channel, messages in ws.history.items()}
                ephemerals = copy.deepcopy(ws.ephemerals[self._seen_ephemerals :])
                home = copy.deepcopy(ws.home_views.get(YOU))
                streaming = {key for key, state in ws.streams.items() if state == "streaming"}
                statuses = [copy.deepcopy(status) for status in ws.thread_status.values()]
                prompts = copy.deepcopy(ws.suggested_prompts)
            writing = 0
            present: set[tuple[str, str]] = set()
            for channel, messages in history.items():
                for message in messages:
                    key = (channel, message["ts"])
                    present.add(key)
                    if key not in self._numbers:
                        self._order.append(key)
                        self._numbers[key] = len(self._order)
                    if message.get("user") == BOT_USER or message.get("bot_id"):
                        writing += self._show_message(key, message, streaming=key in streaming)
            for key in [k for k in self._shown if k not in present]:
                self._terminal.say(f"(parlance deleted message [{self._numbers[key]}])")
                del self._shown[key]
            self._terminal.status("writing", f"parlance is writing ({writing} characters so far)" if writing else None)
            thinking = next(iter(statuses), None)  # assistant.threads.setStatus, until the answer starts
            self._terminal.status(
                "thinking",
                f"parlance {thinking['status']} ({' · '.join(thinking['loading_messages'])})"
                if thinking and thinking["loading_messages"]
                else (f"parlance {thinking['status']}" if thinking else None),
            )
            for channel, suggested in prompts.items():
                if self._prompts_shown.get(channel) != suggested:
                    self._prompts_shown[channel] = suggested
                    listed = "\n".join(f"  {p['title']}: {p['message']}" for p in suggested["prompts"])
                    self._terminal.say(f"parlance suggests ({suggested.get('title') or 'try asking'}):\n{listed}")
            for ephemeral in ephemerals:
                self._show_ephemeral(ephemeral)
            self._seen_ephemerals += len(ephemerals)
            if home is not None and home.get("id") != self._home_id:
                self._home_id = home.get("id")
                lines = "\n".join(blocks_text(home.get("blocks", []))).splitlines()
                self._terminal.say("parlance App Home (your Home tab):\n" + "\n".join("  " + li for li in lines))

    def _show_message(self, key: tuple[str, str], message: dict[str, Any], *, streaming: bool = False) -> int:
        """Prints a bot message that is final and not shown as it is now (its markdown block when it has one: what
        Slack shows); returns the characters written so far of one still being streamed (0 otherwise), whether
        it is edited as the model writes or streamed natively (chat.startStream until chat.stopStream)."""
        from bot.slack.feedback import shows_feedback

        text = message.get("text", "")
        if in_progress(text) or streaming:
            return len(text)
        text = markdown_of(message) or text
        if not text and not message.get("files"):
            return 0  # the root Slack gives a thread in the bot's Messages tab: nothing to read
        rateable = shows_feedback(message)
        state = text + ("\x00rateable" if rateable else "")  # the buttons may come in an edit of their own
        if self._shown.get(key) == state:
            return 0
        number = self._numbers[key]
        if rateable:
            self.rateable = (key[0], message)
        if self._shown.get(key, "").partition("\x00")[0] == text:  # same text: only the buttons are new
            self._shown[key] = state
            self._terminal.say(_vote_hint(number))
            return 0
        edited = " (edited)" if key in self._shown else ""
        self._shown[key] = state
        where = " in thread" if message.get("thread_ts") not in (None, message["ts"]) else ""
        lines = [f"[{number}] parlance{where}{edited}: {text}"] if text or not message.get("files") else []
        if not edited:
            lines.extend(self._save_files(message.get("files") or [], shared_by=f"[{number}] parlance"))
        if rateable:
            lines.append(_vote_hint(number))
        if lines:
            self._terminal.say("\n".join(lines))
        return 0

    def _save_files(self, files: list[dict[str, Any]], *, shared_by: str) -> list[str]:
        """Writes each uploaded file's bytes (kept by the emulator) under `files_dir`; one line per file."""
        uploaded = {f["file_id"]: f for f in self._emulator.uploaded_files}
        lines = []
        for file in files:
            content = (uploaded.get(file.get("id", "")) or {}).get("content") or b""
            self._files_dir.mkdir(parents=True, exist_ok=True)
            path = self._files_dir / Path(file.get("name") or file.get("id") or "file").name
            stem, suffix, n = path.stem, path.suffix, 1
            while path.exists() and path.read_bytes() != content:
                n += 1
                path = path.with_name(f"{stem}-{n}{suffix}")
            path.write_bytes(content)
            title = f" “{file['title']}”" if file.get("title") and file.get("title") != file.get("name") else ""
            lines.append(f"{shared_by} shared a file{title}: {path.name} ({size_text(len(content))}), saved to {path}")
        return lines

    def _show_ephemeral(self, ephemeral: dict[str, Any]) -> None:
        from bot.slack.feedback import shows_feedback

        if ephemeral.get("user") not in (None, YOU):
            return
        where = " in thread" if ephemeral.get("thread_ts") else ""
        lines = [f"parlance{where} (only you can see this): {ephemeral.get('text', '')}"]
        if shows_feedback(ephemeral):
            self.rateable = (ephemeral.get("channel") or CHANNEL, ephemeral)
            lines.append(_vote_hint(None))
        for block in ephemeral.get("blocks") or []:
            accessory = block.get("accessory") or {}
            if accessory.get("type") == "static_select":
                options = {o["value"]: o["text"]["text"] for o in accessory.get("options", [])}
                self.picker = Picker(block["block_id"], ephemeral.get("message_ts", ""), options)
                lines.append("  choose with /pick <language>: " + ", ".join(f"{v} ({t})" for v, t in options.items()))
        self._terminal.say("\n".join(lines))


def _vote_hint(number: int | None) -> str:
    where = f" {number}" if number is not None else ""
    return f"  was this helpful? /vote up{where} (👍) or /vote down{where} (👎)"


class LocalSession:
    """What you type, turned into what Slack would send the app."""

    def __init__(self, sender: SlackSender, printer: ReplyPrinter, terminal: Terminal) -> None:
        self._sender = sender
        self._printer = printer
        self._terminal = terminal
        self._thread_ts: str | None = None
        self._last_mention_ts: str | None = None
        self._agent_thread: tuple[str, str] | None = None  # (your DM with the bot, thread ts) while /agent is open

    def read(self, stdin: TextIO) -> None:
        for raw in stdin:
            line = raw.strip()
            if not line:
                continue
            if line in {"/quit", "/exit"}:
                return
            self.handle(line)

    def handle(self, line: str) -> None:
        if not line.startswith("/"):
            self._say(line)
            return
        command, _, rest = line.partition(" ")
        rest = rest.strip()
        local = {
            "/help": lambda: self._terminal.say(INTRO),
            "/thread": lambda: self._enter_thread(rest),
            "/channel": self._leave_thread,
            "/share": lambda: self._share(rest),
            "/react": lambda: self._react(rest),
            "/shortcut": lambda: self._shortcut(rest),
            "/pick": lambda: self._pick(rest),
            "/vote": lambda: self._vote(rest),
            "/home": self._home,
            "/agent": self._open_agent,
            "/messages": self._list,
        }
        from bot.slack.listeners import COMMANDS

        if command in local:
            local[command]()
        elif command in COMMANDS:
            response = self._sender.command(command, rest, user_id=YOU, channel_id=CHANNEL, user_name="you")
            self._print_command_ack(response)
        else:
            self._terminal.say(
                f"({command} is not a command here. Slack commands: {', '.join(COMMANDS)}; "
                f"local mode: {', '.join(LOCAL_COMMANDS)}. /help says more)"
            )

    # ----- messages --------------------------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        sender = self._sender
        ts = sender.events.next_ts()  # the workspace's clock: one ts for the message and its mention event
        if self._agent_thread is not None:  # a DM to the agent, in its thread: no mention needed
            channel, thread_ts = self._agent_thread
            sender.event(sender.message_event(channel, YOU, line, ts=ts, thread_ts=thread_ts))
            return
        if line.lower().startswith(("@parlance", "@bot")):
            text = f"<@{BOT_USER}> " + line.split(" ", 1)[1] if " " in line else f"<@{BOT_USER}>"
            sender.event(sender.message_event(CHANNEL, YOU, text, ts=ts, thread_ts=self._thread_ts))
            sender.event(sender.mention_event(CHANNEL, YOU, text, ts=ts, thread_ts=self._thread_ts))
            self._last_mention_ts = self._thread_ts or ts
        else:
            sender.event(sender.message_event(CHANNEL, YOU, line, ts=ts, thread_ts=self._thread_ts))

    def _share(self, rest: str) -> None:
        """A file from disk, uploaded to the emulated Slack and shared in a message here (Slack's file_share)."""
        path_text, _, comment = rest.partition(" ")
        path = Path(path_text).expanduser()
        if not path_text or not path.is_file():
            self._terminal.say("(usage: /share PATH [comment]; PATH must be a file)" if not path_text else
                               f"(no file at {path})")  # fmt: skip
            return
        sender, team = self._sender, self._sender.emulator
        assert team is not None  # local mode's sender always applies what you do to the emulated workspace
        shared = team.share_file(user=YOU, name=path.name, content=path.read_bytes()[:MAX_SHARE_BYTES])
        ts = sender.events.next_ts()
        sender.event(sender.message_event(CHANNEL, YOU, comment, ts=ts, thread_ts=self._thread_ts, files=[shared]))
        self._terminal.say(f"(you shared {path.name}, {size_text(shared['size'])})")

    def _enter_thread(self, rest: str) -> None:
        if rest:
            target = self._target(rest)
            if target is None:
                return
            self._thread_ts = target[1].get("thread_ts") or target[1]["ts"]
            self._terminal.say(f"(now in the thread of message [{rest.strip('[]')}])")
            return
        self._thread_ts = self._last_mention_ts
        self._terminal.say("(now in the thread of your last mention)" if self._thread_ts else "(no mention yet)")

    def _leave_thread(self) -> None:
        self._thread_ts = None
        self._agent_thread = None
        self._terminal.say("(back in #general)")

    def _open_agent(self) -> None:
        """Opening a chat in the bot's Messages tab: Slack starts a thread in your DM with the bot and tells it
        (assistant_thread_started); what you type next goes to that thread."""
        event = self._sender.agent_thread_started_event(YOU)
        self._sender.event(event)
        thread = event["assistant_thread"]
        self._agent_thread = (thread["channel_id"], thread["thread_ts"])
        self._terminal.say("(you opened a chat with Parlance in its Messages tab; type to it, /channel goes back)")

    def _list(self) -> None:
        self._printer.flush()
        shown = self._printer.here(CHANNEL, self._thread_ts)[-10:]
        if not shown:
            self._terminal.say("(no messages here yet)")
        for message in shown:
            who = "parlance" if message.get("user") == BOT_USER or message.get("bot_id") else "you"
            text = message.get("text") or " ".join(f.get("name", "") for f in message.get("files") or [])
            text = text.replace(f"<@{BOT_USER}>", "@parlance").replace(f"<@{YOU}>", "@you")
            number = self._printer.number(CHANNEL, message["ts"])
            self._terminal.say(f"[{number}] {who}: {text[:100]}{'…' if len(text) > 100 else ''}")

    def _target(self, number: str | None) -> tuple[str, dict[str, Any]] | None:
        """Message [number], or the last message where you are (#general or the thread you are in)."""
        self._printer.flush()
        if number:
            found = self._printer.message(int(number.strip("[]"))) if number.strip("[]").isdigit() else None
            if found is None:
                self._terminal.say(f"(no message {number}; /messages lists them)")
            return found
        here = self._printer.here(CHANNEL, self._thread_ts)
        if not here:
            self._terminal.say("(no message here yet)")
            return None
        return CHANNEL, here[-1]

    # ----- reactions, shortcuts, the picker, App Home ---------------------------------------------------------

    def _react(self, rest: str) -> None:
        words = rest.split()
        emoji = next((w.strip(":") for w in words if not w.strip("[]").isdigit()), "")
        if not emoji:
            self._terminal.say("(usage: /react [N] :flag-fr:)")
            return
        target = self._target(next((w for w in words if w.strip("[]").isdigit()), None))
        if target is None:
            return
        channel, message = target
        self._sender.event(self._sender.reaction_event(channel, message["ts"], emoji, user=YOU))
        self._terminal.say(f"(you reacted :{emoji}: to message [{self._printer.number(channel, message['ts'])}])")

    def _shortcut(self, rest: str) -> None:
        from bot.slack.listeners import SHORTCUTS

        name, _, number = rest.partition(" ")
        if name not in SHORTCUTS:
            self._terminal.say(f"(usage: /shortcut {' | '.join(SHORTCUTS)} [N])")
            return
        target = self._target(number.strip() or None)
        if target is None:
            return
        channel, message = target
        response = self._sender.message_shortcut(
            name, message=message, channel_id=channel, user_id=YOU, user_name="you"
        )
        if response.status != 200:
            self._terminal.say(f"(Slack would show an error: HTTP {response.status})")
            return
        self._terminal.say(f"(you used {name} on message [{self._printer.number(channel, message['ts'])}])")

    def _pick(self, rest: str) -> None:
        picker = self._printer.picker
        if picker is None:
            self._terminal.say("(no language menu is showing; /shortcut translate_message [N] opens one)")
            return
        choice = rest.strip().lower()
        value = next((v for v, label in picker.options.items() if choice in (v.lower(), label.lower())), None)
        if value is None:
            self._terminal.say(f"(choose one of: {', '.join(picker.options)})")
            return
        response = self._sender.block_action(
            "translate_pick",
            block_id=picker.block_id,
            value=value,
            label=picker.options[value],
            channel_id=CHANNEL,
            user_id=YOU,
            user_name="you",
            message_ts=picker.message_ts,
        )
        if response.status != 200:
            self._terminal.say(f"(Slack would show an error: HTTP {response.status})")

    def _vote(self, rest: str) -> None:
        """A click on 👍 or 👎 under message N, or under the last answer shown with the buttons (a summary or a
        translation only you can see included)."""
        from bot.slack.feedback import shows_feedback

        choice, _, number = rest.partition(" ")
        if choice.lower() not in ("up", "down"):
            self._terminal.say("(usage: /vote up [N] or /vote down [N])")
            return
        if number.strip():
            target = self._target(number.strip())
            if target is None:
                return
            if not shows_feedback(target[1]):
                self._terminal.say(f"(message {number.strip()} has no 👍 / 👎 buttons)")
                return
        else:
            self._printer.flush()
            target = self._printer.rateable
            if target is None:
                self._terminal.say("(no answer with 👍 / 👎 buttons yet)")
                return
        channel, message = target
        response = self._sender.click_feedback(
            message, helpful=choice.lower() == "up", channel_id=channel, user_id=YOU, user_name="you"
        )
        if response.status != 200:
            self._terminal.say(f"(Slack would show an error: HTTP {response.status})")

    def _home(self) -> None:
        self._sender.event(self._sender.home_opened_event(YOU))
        self._terminal.say("(you opened Parlance's Home tab; it shows here when the bot has published it)")

    def _print_command_ack(self, response: SentResponse) -> None:
        if response.status != 200:
            self._terminal.say(f"(Slack would show an error: HTTP {response.status})")
            return
        if response.body:
            try:
                text = response.json().get("text")
            except ValueError:
                text = response.text
            if text:
                self._terminal.say(f"parlance (only you can see this): {text}")
