"""Gathers single requests that arrive together into one batch for one forward pass.

Scoring a label or embedding a message is one short forward pass; doing 32 of them together costs little more than
one. Each caller awaits its own item while a background task runs whatever has queued up, in a worker thread so
the event loop keeps serving streams.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class MicroBatcher(Generic[Item, Result]):
    """Calls `run(items) -> results` (same order) on batches of at most `max_batch` queued items."""

    def __init__(self, run: Callable[[list[Item]], list[Result]], *, max_batch: int, executor: Executor) -> None:
        self._run = run
        self._max_batch = max_batch
        self._executor = executor
        self._queue: asyncio.Queue[tuple[Item, asyncio.Future[Result]]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._loop())
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _loop(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(0)  # let callers that arrived in the same tick join this batch
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            batch = [(item, fut) for item, fut in batch if not fut.cancelled()]
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._run, [item for item, _ in batch])
            except Exception as exc:  # the batch fails as a whole; each caller gets the error
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
