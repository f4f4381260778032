"""A scripted model that is slow on some requests only: for tests of what happens while an answer is still being
written (follow-ups in its thread, other people's requests, an uninstall). Nothing is timed: a held request waits
until the test releases it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.model.client import ChatMessage, ChatOptions
from tests.support.scripted_model import ScriptedCall, ScriptedModel


@dataclass
class HeldModel(ScriptedModel):
    """Answers every request with `reply` (or the next queued answer), except that a request whose own text (the
    prompt's last message, not the history before it) holds `hold_on` waits for `release()` first. `held`
    counts the requests that reached the model and were held."""

    hold_on: str | None = None
    reply: str = "Here you go: a short answer."
    released: threading.Event = field(default_factory=threading.Event)
    held: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def release(self) -> None:
        self.released.set()

    def _next(self, method: str, messages: Sequence[ChatMessage], options: ChatOptions | None, role: str) -> str:
        with self._lock:
            self.calls.append(ScriptedCall(method, list(messages), options, role))
            answer = self.answers.popleft() if self.answers else self.reply
            hold = self.hold_on is not None and bool(messages) and self.hold_on in messages[-1].content
            if hold:
                self.held += 1
        if hold and not self.released.wait(60):
            raise AssertionError("a held model request was never released")
        if isinstance(answer, Exception):
            raise answer
        return answer
