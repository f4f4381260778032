"""Running the worker as a child process: `python -m bot` for one-machine installs, and the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import httpx


class WorkerNotReady(Exception):
    """The worker did not answer /health in time, or exited while starting (its log says why)."""


def spawn_worker(
    *, port: int, env: dict[str, str] | None = None, output: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Start `python -m bot.worker` (`python -m bot worker` by the name the tests look for) on 127.0.0.1:`port`
        with this interpreter.

        `env` entries are added to (and override) the current environment, e.g. WORKER_ROLES or MODEL_CACHE_DIR. The
        child writes its log to this process's stderr, or to `output` (an open file: local mode keeps the terminal for
    the chat) with its stdout too. Stop it with `terminate()` then `wait()`; it shuts down cleanly,
        and on Linux it also stops by itself if this process dies. It runs in a process group of its own, so a Ctrl-C
        in the terminal reaches only this process, which stops it last, after the jobs that still need it.
    """
    child_env = {**os.environ, **(env or {}), "WORKER_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    # The child must find `bot` from any working directory (tests run in temporary ones).
    package_root = str(Path(__file__).resolve().parents[2])
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, child_env.get("PYTHONPATH")) if p)
    child_env.setdefault("WORKER_HOST", "127.0.0.1")
    return subprocess.Popen(
        [sys.executable, "-m", "bot.worker"],
        env=child_env,
        preexec_fn=die_with_parent(),
        process_group=0,
        stdout=output,
        stderr=output,
    )


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` for a child that must not outlive the thread starting it, so no orphan keeps holding the
    model's memory and port (Linux; None elsewhere).

    The kernel sends the child SIGTERM when that thread dies, even by SIGKILL, but only one generation down: a
    killed grandparent (a test runner above `python -m bot`) reaches the worker only if every link has it, so the
    tests and benches start their `python -m bot` children with it too. A parent that died between fork and prctl
    would never signal, hence the getppid() check after it.
    """
    if sys.platform != "linux":
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the forked child must not load libraries
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def wait_until_ready(base_url: str, timeout: float, *, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll `<base_url>/health` until it answers 200. `base_url` may end in /v1 (as MODEL_URL does).

    With `process`, a child that exits while starting fails at once instead of after the whole timeout.
    """
    root = base_url.rstrip("/").removesuffix("/v1")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise WorkerNotReady(f"the model worker exited with code {process.returncode} while starting")
        try:
            if httpx.get(f"{root}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise WorkerNotReady(f"the model worker at {root} was not ready after {timeout:.0f}s")
