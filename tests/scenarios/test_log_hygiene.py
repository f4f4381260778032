"""What reaches the logs: never a token or the signing secret (not even at DEBUG, not even in a traceback), and
message text only at DEBUG. Exercised through the real app, including the error paths that log tracebacks."""

from __future__ import annotations

import logging
import time

import pytest

from tests.support.scripted_model import ScriptedModel
from tests.support.slack import ALICE, BOT_TOKEN, BOT_USER, CHANNEL, SIGNING_SECRET, sender_for, serve_app

PRIVATE_TEXT = "zebra quartz payroll numbers for march"


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def _busy_afternoon(settings, emulator, caplog: pytest.LogCaptureFixture, level: int) -> str:
    """A message, a mention whose first post fails with Slack errors, a stale and a forged request."""
    caplog.set_level(level)
    model = ScriptedModel().enqueue(f"about {PRIVATE_TEXT}: fine")
    posting = settings.model_copy(update={"native_streaming": False})  # the reply's first post is chat.postMessage
    with serve_app(posting, model=model) as app:
        slack = sender_for(app, emulator)
        slack.event(slack.message_event(CHANNEL, ALICE, PRIVATE_TEXT, ts="1764410000.000100"))
        emulator.fail("chat.postMessage", status=500, times=3)
        ts = "1764410001.000100"
        slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me about {PRIVATE_TEXT}", ts=ts))
        body = b'{"type": "event_callback", "event": {"type": "message", "text": "' + PRIVATE_TEXT.encode() + b'"}}'
        slack.raw(body, content_type="application/json", timestamp=int(time.time()) - 600)
        slack.raw(body, content_type="application/json", signature="v0=" + "0" * 64)
        emulator.wait_for("chat.postMessage", where=lambda call: call.ok, timeout=30)
    return _everything_logged(caplog)


def test_tokens_and_secrets_never_reach_the_logs_even_at_debug(settings, emulator, caplog) -> None:
    logged = _busy_afternoon(settings, emulator, caplog, logging.DEBUG)
    assert "chat.postMessage" in logged  # DEBUG really was on (slack_sdk logs each call)
    assert BOT_TOKEN not in logged
    assert SIGNING_SECRET not in logged


def test_message_text_is_not_logged_at_info(settings, emulator, caplog) -> None:
    logged = _busy_afternoon(settings, emulator, caplog, logging.INFO)
    assert "job" in logged  # the dispatcher did log its work at INFO
    assert PRIVATE_TEXT not in logged
    assert "zebra" not in logged
    assert "will be unused" not in logged  # Bolt's start-up warning about our client and its token: noise
