"""One model call per eval item, retried on a slow or busy model, then counted as failed so the eval goes on.

A shared, loaded server (or a 2-core laptop) times out now and then; before this, one `ReadTimeout` ended
`python -m bot eval translate` after minutes of work with nothing printed. Every eval runs its items through
`Items`: a transient error (`ModelUnavailable`, `ModelBusy`, a timeout) is retried with a growing backoff, any
other `ModelError` (a refused or too-long prompt) fails the item at once since asking again gets the same answer,
and a failed item is scored the way the eval says (no output) and counted in the summary line.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx

from bot.model.client import ModelBusy, ModelError, ModelUnavailable

T = TypeVar("T")
X = TypeVar("X")

RETRIES = 3
BACKOFF_SECONDS = 2.0
TRANSIENT: tuple[type[Exception], ...] = (ModelUnavailable, ModelBusy, httpx.TimeoutException, httpx.TransportError)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--retries` and `--backoff`, the same in every eval."""
    parser.add_argument(
        "--retries", type=int, default=RETRIES, help=f"retries of an item after a model timeout (default {RETRIES})"
    )
    parser.add_argument(
        "--backoff",
        type=float,
        default=BACKOFF_SECONDS,
        help=f"seconds before the first retry, doubled each time (default {BACKOFF_SECONDS:g})",
    )


def failed_summary(failed: int, causes: Counter[str] | None = None) -> str:
    """The summary line's part: "N items failed after retries", with the errors' kinds when there were any."""
    detail = ", ".join(f"{name} {count}" for name, count in (causes or Counter()).most_common())
    return f"{failed} items failed after retries" + (f" ({detail})" if detail else "")


class Items:
    """Runs items' model calls (from any number of threads) and keeps count of the ones that failed."""

    def __init__(
        self,
        *,
        retries: int = RETRIES,
        backoff: float = BACKOFF_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        self.failed = 0
        self.causes: Counter[str] = Counter()
        self._sleep = sleep
        self._lock = threading.Lock()

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Items:
        return cls(retries=args.retries, backoff=args.backoff)

    def call(self, fn: Callable[[], T], *, count: int = 1, accept: Callable[[T], bool] | None = None) -> T | None:
        """`fn()`, retried on a transient model error; None (and `count` items failed) when every try failed.

        `accept` is for pipelines that swallow a model error and degrade instead: a result it rejects is retried
        like an error, and the last one is returned when no try gives a better one."""
        error: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.backoff * 2 ** (attempt - 1))
            try:
                result = fn()
            except TRANSIENT as exc:
                error = exc
                continue
            except ModelError as exc:
                error = exc
                break
            if accept is None or accept(result) or attempt == self.retries:
                return result
        self._fail(error, count)
        return None

    def map(
        self,
        fn: Callable[[X], T],
        items: Sequence[X],
        *,
        parallel: int = 1,
        accept: Callable[[T], bool] | None = None,
    ) -> list[T | None]:
        """`call(fn(item))` for every item, `parallel` at a time; results in order, None for a failed item."""
        with ThreadPoolExecutor(max(1, parallel)) as pool:
            return list(pool.map(lambda item: self.call(lambda: fn(item), accept=accept), items))

    def summary(self) -> str:
        return failed_summary(self.failed, self.causes)

    def _fail(self, error: Exception | None, count: int) -> None:
        with self._lock:
            self.failed += count
            self.causes[type(error).__name__ if error else "rejected"] += count
        tries = "once" if self.retries == 0 else f"{self.retries + 1} times"
        print(f"an item failed (tried {tries}), going on: {error}", file=sys.stderr, flush=True)
