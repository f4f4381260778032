"""Shared fixtures that run the real model worker. Import them from tests/conftest.py:

    from tests.conftest_worker import worker_url  # noqa: F401

(The worker test modules also pick the fixture up with `worker_url = conftest_worker.worker_url`; the process is
shared through `_RUNNING`, so however many modules register the fixture, one worker serves the session.)

One worker process serves the whole test session (chat on the bundled SmolLM2 in fp32, plus MiniLM embeddings).
The GGUF is converted once into MODEL_CACHE_DIR (default ~/.cache/parlance/models), so only the first run pays
for it; PARLANCE_TEST_MODEL_CACHE points the tests at another cache directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.model_access import free_port
from bot.worker.launch import spawn_worker, wait_until_ready

_RUNNING: dict[str, str] = {}


@contextmanager
def running_worker(roles: str, *, max_batch: int, kv_cache_tokens: int, timeout: float) -> Iterator[str]:
    """A `python -m bot.worker` child serving `roles` in fp32 with the shared model cache; yields its MODEL_URL."""
    cache = os.environ.get("PARLANCE_TEST_MODEL_CACHE") or os.environ.get("MODEL_CACHE_DIR")
    env = {
        "WORKER_ROLES": roles,
        "WORKER_DTYPE": "float32",  # greedy agreement is exact in fp32; bf16 is measured by bench/worker.py
        "WORKER_MAX_BATCH": str(max_batch),
        "WORKER_KV_CACHE_TOKENS": str(kv_cache_tokens),
        "MODEL_CACHE_DIR": cache or str(Path.home() / ".cache" / "parlance" / "models"),
    }
    port = free_port()
    process = spawn_worker(port=port, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(url, timeout=timeout, process=process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except Exception:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def worker_url() -> Iterator[str]:
    """MODEL_URL of a running worker (chat + embed), stopped at the end of the session."""
    if "url" in _RUNNING:
        yield _RUNNING["url"]
        return
    with running_worker("chat,embed", max_batch=16, kv_cache_tokens=8192, timeout=240) as url:
        _RUNNING["url"] = url
        try:
            yield url
        finally:
            _RUNNING.clear()


@pytest.fixture(scope="session")
def translate_url() -> Iterator[str]:
    """A worker serving only `translate` (the bundled Gemma 3 270M), or PARLANCE_TEST_TRANSLATE_URL if set."""
    if os.environ.get("PARLANCE_TEST_TRANSLATE_URL"):
        yield os.environ["PARLANCE_TEST_TRANSLATE_URL"]
        return
    with running_worker("translate", max_batch=8, kv_cache_tokens=4096, timeout=600) as url:
        yield url
