"""What every engine shares with the HTTP layer: request options, results, errors and admission.

Kept apart from the engines themselves so the llama.cpp path (the CPU default) never imports torch: importing
torch and transformers costs a few seconds of a worker's start and hundreds of MiB it would not use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

# The manager samples or takes the argmax for all requests alike (a manager-wide `do_sample`). We keep sampling on
# and give greedy requests this temperature: every token but the argmax gets probability below e^-100 unless two
# logits lie within ~1e-3, which is below the noise between batched and unbatched kernels anyway.
GREEDY_TEMPERATURE = 1e-5


class EngineBusy(Exception):
    """The bounded queue is full; the server answers 429 and the client retries later."""


class EngineFailed(Exception):
    """The generation loop reported an error for a request or stopped; the server answers 503."""


class PromptTooLong(Exception):
    """Prompt plus max_tokens do not fit in the context window."""

    def __init__(self, prompt_tokens: int, max_tokens: int, window: int) -> None:
        self.prompt_tokens, self.max_tokens, self.window = prompt_tokens, max_tokens, window
        super().__init__(
            f"This model's context window is {window} tokens, but the prompt has {prompt_tokens} tokens "
            f"and {max_tokens} were requested for the reply ({prompt_tokens + max_tokens} in total)."
        )


@dataclass(frozen=True)
class Sampling:
    """Per-request generation options, already validated by the server."""

    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    stop: Sequence[str] = ()
    seed: int | None = None


@dataclass
class Chunk:
    """New text for a reply; the last one carries `finish_reason` ("stop" or "length")."""

    text: str = ""
    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finish_reason: str | None = None
    completion_tokens: int = 0
    top: list[tuple[str, float]] | None = None  # the scoring path's alternatives to the one token; None otherwise


@dataclass
class Scored:
    """One-token result of the scoring path: the chosen token and the top alternatives, raw log-probabilities."""

    token: str
    logprob: float
    top: list[tuple[str, float]]


@dataclass(frozen=True)
class Embedded:
    """One text's sentence embedding (unit length) and the tokens it took, for the API's usage figures."""

    vector: list[float]
    tokens: int


class Admission:
    """The bounded queue: at most `limit` requests running or waiting; the next one is refused, not queued.

    The event loop is single-threaded, so a plain counter is exact. Refusing early (429) lets the client back off
    instead of piling up connections that would time out anyway.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.admitted = 0

    def check(self) -> None:
        if self.admitted >= self.limit:
            raise EngineBusy(f"the worker queue is full ({self.limit} requests); retry shortly")

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.check()
        self.admitted += 1
        try:
            yield
        finally:
            self.admitted -= 1
