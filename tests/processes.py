"""Real `python -m bot web` processes for tests that need more than one (exactly-once across processes)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bot.model_access import free_port


@contextmanager
def web_processes(count: int, *, env: dict[str, str], cwd: str) -> Iterator[list[str]]:
    """Starts `count` web processes on one database; yields their /slack/events URLs; stops them after."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(count):
            port = free_port()
            child_env = {**os.environ, **env, "PORT": str(port)}
            processes.append(subprocess.Popen([sys.executable, "-m", "bot", "web"], env=child_env, cwd=cwd))
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            _wait_healthy(url, process)
        yield [f"{url}/slack/events" for url in urls]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"web process exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("web process did not become healthy")
