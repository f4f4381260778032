"""Reaching the model: the server MODEL_URL names, or the bundled worker started as a child process.

`python -m bot` on one machine, local mode and `python -m bot eval` all need "a model client, whatever it
takes"; this is the one place that decides how, so they behave alike.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import IO

from bot.model.client import ModelClient, OpenAICompatibleClient
from bot.settings import Settings

logger = logging.getLogger(__name__)

WORKER_START_TIMEOUT = 600.0  # a first start converts the bundled GGUF once; later starts take seconds
WORKER_STOP_SECONDS = 10.0  # uvicorn waits up to 5 s for requests in progress; SIGKILL after this


def free_port() -> int:
    """A loopback port nobody is listening on right now (for child processes and tests)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def bundled_worker(
    *,
    wait: bool = True,
    env: dict[str, str] | None = None,
    stop_within: Callable[[], float] | None = None,
    output: IO[bytes] | None = None,
) -> Iterator[str]:
    """Starts `python -m bot.worker` as a child on a free loopback port; yields its MODEL_URL; stops it after.

    A child that dies (out of memory, say) is started again on the same port, so the bot's client finds it where
    it was; jobs that failed meanwhile are retried by the dispatcher. Stopping gives the child what
    `stop_within()` says is left of the process's stop budget (WORKER_STOP_SECONDS without one), then kills it.
    `output`: where the child's log goes instead of this process's stderr (see spawn_worker).
    """
    from bot.worker.launch import wait_until_ready

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    supervisor = _Supervisor(port=port, env=env, output=output)
    supervisor.start()
    try:
        if wait:
            wait_until_ready(url, WORKER_START_TIMEOUT, process=supervisor.process)
        yield url
    finally:
        supervisor.stop(timeout=stop_within() if stop_within is not None else WORKER_STOP_SECONDS)


class _Supervisor:
    def __init__(self, *, port: int, env: dict[str, str] | None, output: IO[bytes] | None = None) -> None:
        self._port = port
        self._env = env
        self._output = output
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from bot.worker.launch import spawn_worker

        self.process = spawn_worker(port=self._port, env=self._env, output=self._output)
        self._thread.start()

    def _watch(self) -> None:
        from bot.worker.launch import spawn_worker

        delay = 1.0
        while not self._stopping.wait(delay):
            with self._lock:  # stop() takes the lock too: no child is started after it began
                if self.process is not None and self.process.poll() is not None and not self._stopping.is_set():
                    logger.warning("the model worker exited with code %s; starting it again", self.process.returncode)
                    self.process = spawn_worker(port=self._port, env=self._env, output=self._output)
                    delay = min(delay * 2, 30.0)

    def stop(self, timeout: float = WORKER_STOP_SECONDS) -> None:
        self._stopping.set()
        with self._lock:
            if self.process is not None:
                _stop(self.process, timeout=timeout)


@contextlib.contextmanager
def open_model_client(
    settings: Settings,
    *,
    wait: bool = True,
    roles: tuple[str, ...] | None = None,
    stop_within: Callable[[], float] | None = None,
    worker_output: IO[bytes] | None = None,
) -> Iterator[ModelClient]:
    """A client for MODEL_URL when set, else for a bundled worker started for as long as the block runs.

    With `wait=False` the block starts at once and requests fail with ModelUnavailable until the worker has
    loaded (the dispatcher retries them), so the Slack side never waits for the model to start. `roles` limits a
    bundled worker to the models a command needs (an eval of Q&A need not load the translation model).
    `worker_output`: where a bundled worker's log goes (local mode: its log file).
    """
    if settings.model_url:
        with OpenAICompatibleClient(settings.model_url) as client:
            yield client
        return
    env = {"WORKER_ROLES": ",".join(roles)} if roles else None
    with (
        bundled_worker(wait=wait, env=env, stop_within=stop_within, output=worker_output) as url,
        OpenAICompatibleClient(url) as client,
    ):
        logger.info("started the bundled model worker at %s", url)
        yield client


def _stop(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=max(1.0, timeout))
        except subprocess.TimeoutExpired:
            logger.warning("the model worker did not stop within %.0f s; killing it", max(1.0, timeout))
            process.kill()
            process.wait()
