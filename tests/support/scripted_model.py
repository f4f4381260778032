"""A scripted `ModelClient` for handler guard tests only: queued answers, recorded prompts.

End-to-end tests use the real worker (tests/support/workers.py). Use this when a handler test needs one exact
model output, such as an empty or looping reply, to check a guard. Handlers take the model as an argument, so
nothing is patched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bot.model.client import ChatMessage, ChatOptions, ModelError


@dataclass
class ScriptedCall:
    method: str
    messages: list[ChatMessage]
    options: ChatOptions | None
    role: str


@dataclass
class ScriptedModel:
    """Answers from a queue. Enqueue a string (the reply) or a `ModelError` (raised instead)."""

    answers: deque[str | ModelError] = field(default_factory=deque)
    labels: deque[dict[str, float]] = field(default_factory=deque)
    calls: list[ScriptedCall] = field(default_factory=list)
    window: int = 2048

    def enqueue(self, *answers: str | ModelError) -> ScriptedModel:
        self.answers.extend(answers)
        return self

    def enqueue_labels(self, *scores: dict[str, float]) -> ScriptedModel:
        self.labels.extend(scores)
        return self

    @property
    def prompts(self) -> list[list[ChatMessage]]:
        return [call.messages for call in self.calls]

    def _next(self, method: str, messages: Sequence[ChatMessage], options: ChatOptions | None, role: str) -> str:
        self.calls.append(ScriptedCall(method, list(messages), options, role))
        if not self.answers:
            raise AssertionError(f"ScriptedModel.{method} called with no answer queued")
        answer = self.answers.popleft()
        if isinstance(answer, ModelError):
            raise answer
        return answer

    def complete(
        self, messages: Sequence[ChatMessage], *, options: ChatOptions | None = None, role: str = "chat"
    ) -> str:
        return self._next("complete", messages, options, role)

    def stream(
        self, messages: Sequence[ChatMessage], *, options: ChatOptions | None = None, role: str = "chat"
    ) -> Iterator[str]:
        answer = self._next("stream", messages, options, role)
        yield from _words(answer)

    def label_logprobs(
        self, messages: Sequence[ChatMessage], labels: Sequence[str], *, role: str = "chat"
    ) -> dict[str, float]:
        self.calls.append(ScriptedCall("label_logprobs", list(messages), None, role))
        if not self.labels:
            raise AssertionError("ScriptedModel.label_logprobs called with no scores queued")
        return self.labels.popleft()

    def label_logprobs_many(
        self, conversations: Sequence[Sequence[ChatMessage]], labels: Sequence[str], *, role: str = "chat"
    ) -> list[dict[str, float]]:
        return [self.label_logprobs(conv, labels, role=role) for conv in conversations]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """As wide as MiniLM's (384), so the background sentiment scorer takes them instead of logging errors."""
        return [[float(len(text)), 1.0, *([0.0] * 382)] for text in texts]

    def context_window(self, role: str = "chat") -> int:
        return self.window

    def count_tokens(self, messages: Sequence[ChatMessage], *, role: str = "chat") -> int:
        return sum(len(m.content) // 3 + 4 for m in messages)


def _words(text: str) -> Iterator[str]:
    """Stream like a model does: each word with its leading space."""
    first, *rest = text.split(" ")
    yield first
    for word in rest:
        yield " " + word
