"""Real `python -m bot web` processes for tests that need more than one (exactly-once across processes), and
`python -m bot` itself with its model worker child."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import psutil

from bot.model.access import free_port
from bot.worker.launch import die_with_parent

STOP_WAIT_SECONDS = 40  # beyond SHUTDOWN_SECONDS' default (25): a process still there after it is killed


@contextmanager
def web_processes(count: int, *, env: dict[str, str], cwd: str) -> Iterator[list[str]]:
    """Starts `count` web processes on one database; yields their /slack/events URLs; stops them after."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    try:
        for _ in range(count):
            port = free_port()
            processes.append(start_bot("web", env={**env, "PORT": str(port)}, cwd=cwd))
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            wait_healthy(url, process)
        yield [f"{url}/slack/events" for url in urls]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            stop_bot(process)


def start_bot(*args: str, env: dict[str, str], cwd: str) -> subprocess.Popen[bytes]:
    """`python -m bot ARGS` that dies with the test run (even one killed with SIGKILL), and its worker with it."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args], env={**os.environ, **env}, cwd=cwd, preexec_fn=die_with_parent()
    )


def stop_bot(process: subprocess.Popen[bytes], timeout: float = STOP_WAIT_SECONDS) -> None:
    """Waits for a process told to stop; one that does not is killed with its children (the model worker)."""
    try:
        process.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        child.kill()
    process.kill()
    process.wait()


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
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
