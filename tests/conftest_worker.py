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
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.worker.launch import spawn_worker, wait_until_ready


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_RUNNING: dict[str, str] = {}


@pytest.fixture(scope="session")
def worker_url() -> Iterator[str]:
    """MODEL_URL of a running worker (e.g. "http://127.0.0.1:PORT/v1"), stopped at the end of the session."""
    if "url" in _RUNNING:
        yield _RUNNING["url"]
        return
    port = free_port()
    cache = os.environ.get("PARLANCE_TEST_MODEL_CACHE") or os.environ.get("MODEL_CACHE_DIR")
    env = {
        "WORKER_ROLES": "chat,embed",
        "WORKER_DTYPE": "float32",  # greedy agreement is exact in fp32; bf16 is measured by bench/worker.py
        "WORKER_MAX_BATCH": "16",
        "WORKER_KV_CACHE_TOKENS": "8192",
        "MODEL_CACHE_DIR": cache or str(Path.home() / ".cache" / "parlance" / "models"),
    }
    process = spawn_worker(port=port, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(url, timeout=240, process=process)
        _RUNNING["url"] = url
        yield url
    finally:
        _RUNNING.clear()
        process.terminate()
        try:
            process.wait(timeout=15)
        except Exception:
            process.kill()
            process.wait()
