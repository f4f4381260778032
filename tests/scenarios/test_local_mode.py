"""The README's first command with no Slack settings: local mode in a terminal, as a newcomer uses it.

Each test runs `python -m bot` as a child with its input piped (or its output on a pseudo-terminal) and reads what
it prints. The model is a scripted server at MODEL_URL (tests/support/model_server.py), or a closed port where no
answer needs one: these tests are about the terminal and the Slack path; real answers are tested elsewhere.
"""

from __future__ import annotations

import io
import json
import os
import pty
import queue
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import texts
from bot.slack.answer_blocks import mrkdwn_to_markdown
from tests.support.model_server import ModelServer, _ModelHandler

NO_MODEL = "http://127.0.0.1:9/v1"
STREAMED = ["Friday ", "is ", "when ", "we ", "ship, ", "once ", "QA ", "signs ", "off."]
STREAMED_ANSWER = "".join(STREAMED)
TIMEOUT = 120


class _SlowStreamHandler(_ModelHandler):
    """Streams its answer a word every 0.3 s, so the bot edits its reply several times while it writes."""

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"
        if not json.loads(raw).get("stream"):
            self.rfile = io.BytesIO(raw)  # the base handler reads the body itself
            super().do_POST()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in STREAMED:
            chunk = {"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
            time.sleep(0.3)
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True


@pytest.fixture
def scripted_model() -> Iterator[str]:
    with ModelServer() as server:
        yield server.url


@pytest.fixture
def slow_model() -> Iterator[str]:
    with ModelServer() as server:
        server.RequestHandlerClass = _SlowStreamHandler
        yield server.url


ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, model_url: str, **extra: str) -> dict[str, str]:
    """A bare environment; PYTHONPATH names this checkout, so the child runs its code whatever is installed."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MODEL_URL": model_url, "PYTHONPATH": str(ROOT), **extra}


def _local(
    tmp_path: Path, typed: list[str], *, model_url: str = NO_MODEL, **env: str
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        input="\n".join([*typed, "/quit"]) + "\n",
        env=_env(tmp_path, model_url, **env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_local_mode_answers_what_a_person_types(tmp_path: Path) -> None:
    typed = ["we ship the release on friday", "@parlance help", "/translate to Klingon: hello", "/parlance"]
    result = _local(tmp_path, typed)
    assert "Parlance local mode" in result.stdout
    assert "parlance in thread: " + mrkdwn_to_markdown(texts.HELP).splitlines()[0] in result.stdout  # its block
    assert "parlance (only you can see this): I don't know the language `Klingon`" in result.stdout
    assert "parlance (only you can see this): *What I store:* " in result.stdout
    assert (tmp_path / "parlance-local.db").exists()


def test_local_mode_sets_channel_instructions_and_shows_a_channel_left_out(tmp_path: Path) -> None:
    result = _local(tmp_path, ["/parlance instructions Answer in French.", "/parlance"])
    assert "parlance (only you can see this): " + texts.INSTRUCTIONS_SET.splitlines()[0] in result.stdout
    assert "*Standing instructions in this channel* (set by <@U0YOU>):" in result.stdout
    left_out = _local(tmp_path, ["@parlance hello", "/summarize"], ALLOWED_CHANNELS="C0ELSEWHERE")
    notice = texts.NOT_ENABLED_HERE.format(where=texts.ENABLED_IN.format(channels="<#C0ELSEWHERE>"))
    assert f"parlance in thread: {notice}" in left_out.stdout
    assert f"parlance (only you can see this): {notice}" in left_out.stdout


def test_a_shared_file_is_read_and_one_it_cannot_read_is_named(tmp_path: Path, scripted_model: str) -> None:
    (tmp_path / "notes.txt").write_text("Decision: we ship on Friday.\n")
    (tmp_path / "diagram.png").write_bytes(b"\x89PNG\r\n")
    typed = [f"/share {tmp_path / 'notes.txt'} the notes", f"/share {tmp_path / 'diagram.png'}", "/share nowhere.txt",
             "@parlance have a look at these"]  # fmt: skip
    out = _local(tmp_path, typed, model_url=scripted_model).stdout
    assert "(you shared notes.txt, 29 bytes)" in out and "(no file at nowhere.txt)" in out
    assert "_I couldn't read diagram.png (I can't read images yet)._" in out


def test_logs_go_to_a_file_whose_path_is_printed_not_to_the_terminal(tmp_path: Path) -> None:
    result = _local(tmp_path, ["@parlance help"])
    log = tmp_path / "parlance-local.log"
    assert f"(logs, the model worker's too: {log})" in result.stdout
    assert "INFO" not in result.stdout + result.stderr
    assert re.search(r"job 1 \(\w+\) done", log.read_text())
    assert result.stderr == ""


def test_an_unknown_command_gets_our_short_list_not_bolts_hint(tmp_path: Path) -> None:
    result = _local(tmp_path, ["/help", "/x"])
    assert result.stdout.count("/react [N] :flag-fr:") == 2  # the intro, then /help
    assert "(/x is not a command here. Slack commands: /summarize, /translate, /sentiment, /parlance" in result.stdout
    assert "HTTP 404" not in result.stdout
    assert "@app.command" not in result.stdout + result.stderr + (tmp_path / "parlance-local.log").read_text()


def test_a_streamed_answer_is_printed_once_when_it_is_final(tmp_path: Path, slow_model: str) -> None:
    result = _local(tmp_path, ["@parlance tell me about release day"], model_url=slow_model)
    assert result.stdout.count("parlance in thread: " + STREAMED_ANSWER) == 1
    assert result.stdout.count("parlance in thread") == 1  # no placeholder, no half-written edits
    assert "\r" not in result.stdout  # output is not a terminal: no live progress line


def test_a_streamed_answer_shows_live_progress_on_a_terminal(tmp_path: Path, slow_model: str) -> None:
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        stdin=subprocess.PIPE,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=_env(tmp_path, slow_model),
        cwd=tmp_path,
    )
    os.close(follower)
    assert process.stdin is not None
    process.stdin.write(b"@parlance tell me about release day\n/quit\n")
    process.stdin.close()
    seen = b""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    os.close(leader)
    assert process.wait(timeout=30) == 0
    shown = seen.decode()
    assert "\r\x1b[K… parlance is writing (" in shown
    assert shown.count("parlance in thread: " + STREAMED_ANSWER) == 1


def test_reactions_shortcuts_and_the_home_tab_reach_the_app(tmp_path: Path, scripted_model: str) -> None:
    typed = [
        "great work on the release, team",
        "/react :flag-fr:",  # the last message
        "@parlance help",
        "/thread",
        "QA signs off tomorrow",
        "/shortcut summarize_thread",  # the last message of the thread
        "/channel",
        "/shortcut translate_message 1",
        "/home",
        "/messages",
    ]
    result = _local(tmp_path, typed, model_url=scripted_model)
    out = result.stdout
    assert "(you reacted :flag-fr: to message [1])" in out
    assert "parlance in thread: **French** (asked for by you): " in out
    assert "(you used summarize_thread on message [" in out
    assert "parlance (only you can see this): *Summary of the thread*" in out
    assert "parlance (only you can see this): " + texts.PICK_LANGUAGE in out
    assert "choose with /pick <language>: " in out and "fr (French)" in out
    assert "parlance App Home (your Home tab):\n  " + texts.HOME_HEADER in out
    assert "[1] you: great work on the release, team" in out


def test_a_chart_the_bot_uploads_is_shown_and_saved(tmp_path: Path, scripted_model: str) -> None:
    said = ["we ship on friday", "great work team", "the build is broken again", "love the new design"]
    result = _local(tmp_path, [*said, "QA signs off tomorrow", "/sentiment now"], model_url=scripted_model)
    [line] = [li for li in result.stdout.splitlines() if "shared a file" in li]
    saved = tmp_path / "parlance-local-files" / "sentiment-1.png"
    assert line.endswith(f": sentiment-1.png ({saved.stat().st_size / 1024:.1f} KiB), saved to {saved}")
    assert saved.read_bytes().startswith(b"\x89PNG")


class _Session:
    """`python -m bot` typed into line by line, reading what it prints as it prints it."""

    def __init__(self, tmp_path: Path, model_url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(tmp_path, model_url),
            cwd=tmp_path,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if text in line:
                return line
        raise AssertionError(f"local mode never printed {text!r}")

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        """Waits for the exit; returns the exit code and what went to stderr."""
        assert self.process.stderr is not None
        code = self.process.wait(timeout=timeout)
        return code, self.process.stderr.read()


def test_the_language_menu_of_the_translate_shortcut_can_be_answered(tmp_path: Path, scripted_model: str) -> None:
    session = _Session(tmp_path, scripted_model)
    session.type("great work on the release, team")
    session.type("/shortcut translate_message")
    session.wait_for("choose with /pick <language>: ")
    session.type("/pick French")
    translated = session.wait_for("parlance (only you can see this): *French:* ")
    session.type("/quit")
    assert session.finish()[0] == 0
    assert translated.strip() == "parlance (only you can see this): *French:* We ship on Friday."


def test_answers_can_be_rated_with_vote_and_parlance_feedback_counts_the_votes(
    tmp_path: Path, scripted_model: str
) -> None:
    session = _Session(tmp_path, scripted_model)
    session.type("we ship the release on friday")
    session.type("@parlance tell me a joke")
    hint = session.wait_for("was this helpful? /vote up ")
    number = hint.split("/vote up ")[1].split(" ")[0]
    session.type(f"/vote down {number}")
    session.wait_for("parlance in thread (only you can see this): " + texts.FEEDBACK_THANKS_NOT_HELPFUL)
    session.type("/vote up")  # the last answer with buttons: the same one, so the vote changes
    session.wait_for("parlance in thread (only you can see this): " + texts.FEEDBACK_CHANGED_HELPFUL)
    session.type("/vote sideways")
    session.wait_for("(usage: /vote up [N] or /vote down [N])")
    session.type("/vote up 1")
    session.wait_for("(message 1 has no 👍 / 👎 buttons)")
    session.type("/summarize")
    session.wait_for("parlance (only you can see this): *Summary of")
    session.wait_for("was this helpful? /vote up (👍) or /vote down (👎)")  # a private answer has no number
    session.type("/vote down")
    session.wait_for("parlance (only you can see this): " + texts.FEEDBACK_THANKS_NOT_HELPFUL)
    session.type("/parlance feedback")
    rates = session.wait_for("parlance (only you can see this): *How helpful")
    session.type("/quit")
    assert session.finish()[0] == 0
    assert "Answers: 1 of 1 helpful (100 %) · Summaries: 0 of 1 helpful (0 %)" in rates


def test_ctrl_c_stops_local_mode_cleanly(tmp_path: Path) -> None:
    session = _Session(tmp_path, NO_MODEL)
    session.type("/x")
    session.wait_for("is not a command here")  # local mode is up and reading
    session.process.send_signal(signal.SIGINT)
    code, err = session.finish()
    assert code == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    session.wait_for("(stopping; Ctrl-C again quits at once)")


def test_the_agent_view_in_local_mode_suggests_prompts_and_answers_in_its_thread(tmp_path: Path) -> None:
    """/agent opens a chat in the bot's Messages tab: its suggested prompts are printed, and what you type next is
    a DM in that thread, answered there (in-process, so this tree's code is what runs)."""
    from bot.settings import load_settings
    from bot.slack.local import run_local

    out = io.StringIO()
    typed = io.StringIO("/agent\nhelp\n/quit\n")
    run_local(load_settings(MODEL_URL=NO_MODEL), stdin=typed, stdout=out, workdir=tmp_path)
    shown = out.getvalue()
    assert f"parlance suggests ({texts.SUGGESTED_PROMPTS_TITLE}):" in shown
    assert all(f"  {title}: {message}" in shown for title, message in texts.SUGGESTED_PROMPTS)
    assert "parlance in thread: " + mrkdwn_to_markdown(texts.HELP).splitlines()[0] in shown
