"""Running the worker as a child process: `python -m bot` for one-machine installs, and the tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx


class WorkerNotReady(Exception):
    """The worker did not answer /health in time, or exited while starting (its log says why)."""


def spawn_worker(*, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start `python -m bot.worker` on 127.0.0.1:`port` with this interpreter.

    `env` entries are added to (and override) the current environment, e.g. WORKER_ROLES or MODEL_CACHE_DIR. The
    child writes its log to this process's stderr. Stop it with `terminate()` then `wait()`; it shuts down cleanly,
    and on Linux it also stops by itself if this process dies.
    """
    child_env = {**os.environ, **(env or {}), "WORKER_PORT": str(port), "HF_HUB_OFFLINE": "1"}
    # The child must find `bot` from any working directory (tests run in temporary ones).
    package_root = str(Path(__file__).resolve().parents[2])
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, child_env.get("PYTHONPATH")) if p)
    child_env.setdefault("WORKER_HOST", "127.0.0.1")
    preexec = _die_with_parent if sys.platform == "linux" else None
    return subprocess.Popen([sys.executable, "-m", "bot.worker"], env=child_env, preexec_fn=preexec)


def _die_with_parent() -> None:
    """Linux: the kernel sends the worker SIGTERM when its parent dies, even by SIGKILL, so no orphan keeps
    holding the model's memory and port."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


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
