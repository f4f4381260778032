"""Shared fixtures that run the real model worker. Import them from tests/conftest.py:

    from tests.support.workers import worker_url  # noqa: F401

(The worker test modules also pick the fixture up with `worker_url = conftest_worker.worker_url`; the process is
shared through `_RUNNING`, so however many modules register the fixture, one worker serves the session.)

One worker process serves the whole test session with the default models as a user gets them: chat and translate
on Qwen2.5-Coder-1.5B-Instruct through llama.cpp, plus MiniLM embeddings. A second one, started only by the tests
of the transformers engine (`torch_worker_url`), serves SmolLM2-135M through transformers' continuous batching;
its GGUF is converted once into MODEL_CACHE_DIR (default ~/.cache/parlance/models), so only the first run pays for
it. PARLANCE_TEST_MODEL_CACHE points the tests at another cache directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.model.access import free_port
from bot.worker.launch import spawn_worker, wait_until_ready

_RUNNING: dict[str, str] = {}


@contextmanager
def running_worker(
    roles: str,
    *,
    max_batch: int,
    kv_cache_tokens: int,
    timeout: float,
    extra: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """A `python -m bot.worker` child serving `roles` in fp32 with the shared model cache; yields its MODEL_URL.
    `port`: where an app already looks for it (a free one otherwise)."""
    cache = os.environ.get("PARLANCE_TEST_MODEL_CACHE") or os.environ.get("MODEL_CACHE_DIR")
    env = {
        **(extra or {}),
        "WORKER_ROLES": roles,
        "WORKER_DTYPE": "float32",  # greedy agreement is exact in fp32; bf16 is measured by bench/worker.py
        "WORKER_MAX_BATCH": str(max_batch),
        "WORKER_KV_CACHE_TOKENS": str(kv_cache_tokens),
        "MODEL_CACHE_DIR": cache or str(Path.home() / ".cache" / "parlance" / "models"),
    }
    port = port or free_port()
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
    """MODEL_URL of a running worker with the default models (chat, translate, embed), stopped at the end."""
    if "url" in _RUNNING:
        yield _RUNNING["url"]
        return
    with running_worker("chat,translate,embed", max_batch=16, kv_cache_tokens=16384, timeout=240) as url:
        _RUNNING["url"] = url
        try:
            yield url
        finally:
            _RUNNING.clear()


@pytest.fixture(scope="session")
def translate_url(worker_url: str) -> Iterator[str]:
    """The default translate model (the chat model, served by the same worker), or PARLANCE_TEST_TRANSLATE_URL."""
    yield os.environ.get("PARLANCE_TEST_TRANSLATE_URL") or worker_url


@pytest.fixture(scope="session")
def torch_worker_url() -> Iterator[str]:
    """A worker on the transformers engine (SmolLM2-135M and MiniLM), for the tests of that engine."""
    if "torch" in _RUNNING:
        yield _RUNNING["torch"]
        return
    extra = {"MODEL_CHAT": "smollm2", "WORKER_ENGINE": "transformers"}
    with running_worker("chat,embed", max_batch=16, kv_cache_tokens=8192, timeout=600, extra=extra) as url:
        _RUNNING["torch"] = url
        try:
            yield url
        finally:
            _RUNNING.pop("torch", None)
