"""`python -m bot COMMAND`: every process Parlance has, behind one parser and one start-up.

Each command reads its settings (a bad one stops it with one line, never a traceback) and configures logging
once, then runs. Building the parser imports nothing heavy, and a command imports what it needs only once it
runs, so every `--help` answers at once without loading a model. `python -m bot.worker` and
`python -m bot.background.clock` are aliases of `python -m bot worker` and `python -m bot clock`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from bot.eval import SKILLS

if TYPE_CHECKING:
    from bot.settings import Settings

PROG = "python -m bot"
DEFAULT_COMMAND = "run"


class _Parser(argparse.ArgumentParser):
    """Reports a bad argument in one line; argparse's own report repeats the whole usage above it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (try --help)\n")


@dataclass(frozen=True)
class Command:
    summary: str
    """One line in `python -m bot --help`."""
    run: Callable[[argparse.Namespace], int | None]
    description: str = ""
    """The text of the command's own `--help`."""
    arguments: str | None = None
    """`module:function` that declares the command's options on its parser, imported only for this command."""


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # slack_sdk logs request bodies at DEBUG; keep message text and tokens out of our logs below DEBUG.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))
    logging.getLogger("slack_bolt").setLevel(max(logging.INFO, logging.getLevelName(level)))
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))  # one line per model call
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth" under bursts; /metrics shows load
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def _settings() -> Settings:
    from bot.settings import get_settings

    return get_settings()


def _slack(args: argparse.Namespace) -> None:
    """`run`, `web` and `local`: `run` is local mode when there are no Slack settings."""
    settings = _settings()
    local = args.command == "local" or (args.command == "run" and not settings.has_slack_credentials)
    # Local mode shares the terminal with a person typing: only warnings, unless LOG_LEVEL asks for more.
    configure_logging("WARNING" if local and "log_level" not in settings.model_fields_set else settings.log_level)
    if local:
        from bot.slack.local import run_local

        run_local(settings)
    else:
        _serve(settings, with_worker=args.command == "run")


def _serve(settings: Settings, *, with_worker: bool) -> None:
    """Serves Slack. On one machine (`python -m bot`) the model worker runs as a child unless MODEL_URL names a
    server; the `web` role alone expects the worker (or vLLM) at MODEL_URL."""
    import contextlib

    from bot.app import build_parlance
    from bot.model.access import open_model_client
    from bot.model.client import OpenAICompatibleClient
    from bot.settings import DEFAULT_MODEL_URL
    from bot.slack.serve import StopBudget, serve_http, serve_socket_mode

    settings.require_slack()
    jobs = with_worker or settings.jobs_in_web  # one machine always runs its jobs in this process
    if not jobs:
        logging.getLogger("bot").info("JOBS_IN_WEB=false: jobs run in `python -m bot jobs` processes")
    budget = StopBudget(settings.shutdown_seconds)  # one budget: serving stops first, the worker last
    with contextlib.ExitStack() as stack:
        if with_worker:
            model = stack.enter_context(open_model_client(settings, wait=False, stop_within=budget.left))
        else:
            model = stack.enter_context(OpenAICompatibleClient(settings.model_url or DEFAULT_MODEL_URL))
        parlance = build_parlance(settings, model=model)
        if with_worker:  # one machine: the digest clock runs in this process too (elsewhere: python -m bot clock)
            from bot.background.clock import start_beside

            start_beside(parlance, stack)
        if settings.socket_mode:
            serve_socket_mode(parlance, budget, jobs=jobs)
        else:
            serve_http(parlance, budget, jobs=jobs)


JOBS_NICE = 10
JOBS_POLL_SECONDS = 0.1


def _jobs(args: argparse.Namespace) -> None:
    """The Procfile's jobs: the dispatcher and the scorer without Slack's HTTP. It lowers its own CPU priority so a
    web process on the same cores acks first (bench/ack_latency.py measures web beside it)."""
    from bot.app import build_parlance
    from bot.model.client import OpenAICompatibleClient
    from bot.settings import DEFAULT_MODEL_URL
    from bot.slack.serve import StopBudget, serve_jobs

    settings = _settings()
    configure_logging(settings.log_level)
    if "job_poll_seconds" not in settings.model_fields_set:  # nothing wakes this process: it looks often (a read)
        settings = settings.model_copy(update={"job_poll_seconds": JOBS_POLL_SECONDS})
    os.nice(JOBS_NICE)
    with OpenAICompatibleClient(settings.model_url or DEFAULT_MODEL_URL) as model:
        serve_jobs(build_parlance(settings, model=model), StopBudget(settings.shutdown_seconds))


def _worker(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from bot.settings import settings_error
    from bot.worker.settings import get_worker_settings

    try:
        settings = get_worker_settings()
    except ValidationError as exc:
        raise settings_error(exc) from None
    configure_logging(settings.worker_log_level.upper())
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the llama.cpp engine tokenizes over loopback HTTP
    log = logging.getLogger("bot.worker")
    import uvicorn  # heavy imports after logging is set, so their warnings are formatted like ours

    from bot.worker.models import ModelNotAvailable
    from bot.worker.runtime import Worker
    from bot.worker.server import create_app

    try:
        worker = Worker.load(settings)
    except ModelNotAvailable as exc:
        log.error("cannot start: %s", exc)
        return 2
    log.info("serving %s on http://%s:%d/v1", settings.worker_roles, settings.worker_host, settings.worker_port)
    uvicorn.run(
        create_app(worker),
        host=settings.worker_host,
        port=settings.worker_port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    return 0


def _clock(args: argparse.Namespace) -> None:
    settings = _settings()
    configure_logging(settings.log_level)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, logging.getLevelName(settings.log_level)))
    # Imported by its name, never run as __main__: its jobs name `bot.background.clock:fire_digest`.
    from bot.background.clock import run_until_stopped

    run_until_stopped(
        database_url=settings.database_url,
        retention_days=settings.retention_days,
        sync_seconds=args.sync_seconds,
        allowed_channels=settings.allowed_channel_ids,
    )


def _eval(args: argparse.Namespace) -> int:
    settings = _settings()
    configure_logging(settings.log_level)
    from bot.eval import run

    return run(args.skill, args.skill_args)


def _migrate(args: argparse.Namespace) -> None:
    settings = _settings()
    configure_logging(settings.log_level)
    from storage.db import make_engine, migrate

    engine = make_engine(settings.database_url)
    migrate(engine)
    logging.getLogger(__name__).info("database schema is up to date")


COMMANDS: dict[str, Command] = {
    "run": Command(
        "everything on one machine (the default): Slack, the model worker and the digest clock; "
        "local mode without Slack settings",
        _slack,
        "Serves Slack (HTTP on $PORT, or Socket Mode when SLACK_APP_TOKEN is set) with the model worker as a "
        "child (unless MODEL_URL names a server) and the digest clock in-process. Without Slack settings it "
        "starts local mode against the built-in Slack emulator.",
    ),
    "web": Command(
        "only the Slack-facing process (the Procfile's web); the model at MODEL_URL",
        _slack,
        "Serves Slack (HTTP on $PORT, or Socket Mode when SLACK_APP_TOKEN is set); the model worker (or vLLM) "
        "is expected at MODEL_URL.",
    ),
    "jobs": Command(
        "only the jobs (the Procfile's jobs): answers, summaries, translations, sentiment scoring",
        _jobs,
        "Runs the jobs that web processes started with JOBS_IN_WEB=false record (and scores sentiment), at a "
        "lower CPU priority than the web processes; the model is at MODEL_URL. Any number may run.",
    ),
    "worker": Command(
        "the model worker (the Procfile's worker): serves WORKER_ROLES on WORKER_HOST:WORKER_PORT",
        _worker,
        "Loads the models of WORKER_ROLES (MODEL_CHAT, MODEL_TRANSLATE, MODEL_EMBED) and serves them, "
        "OpenAI-compatible, on http://WORKER_HOST:WORKER_PORT/v1. Its settings come from the environment or .env "
        "(bot/worker/settings.py).",
    ),
    "clock": Command(
        "the digest scheduler and hourly housekeeping (the Procfile's clock)",
        _clock,
        "Starts the channels' scheduled sentiment digests and, every hour, drops old bookkeeping and (with "
        "RETENTION_DAYS) old messages. Two clocks on one database are harmless.",
        "bot.background.clock:add_arguments",
    ),
    "local": Command(
        "local mode: chat with Parlance in this terminal, against the built-in Slack emulator",
        _slack,
        "Local mode, whatever the Slack settings: a terminal against the built-in Slack emulator.",
    ),
    "eval": Command(
        f"measure a skill on a data file ({', '.join(SKILLS)})",
        _eval,
        "Runs a skill over a data file and prints its metrics beside simple baselines from the same run; "
        "change MODEL_URL or MODEL_* to compare models.",
        "bot.eval:add_arguments",
    ),
    "migrate": Command(
        "bring the database schema up to date and exit",
        _migrate,
        "Brings the database schema up to date and exits; run it once per release, before the new processes "
        "(each process also migrates at start, under a lock).",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; only `command`'s own options are declared, so no other command's module is imported."""
    parser = _Parser(
        prog=PROG,
        description="Parlance, a self-hosted AI teammate for Slack. Settings come from the environment or .env.",
        epilog=f"Without a command: {DEFAULT_COMMAND}. `{PROG} COMMAND --help` tells more about one.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, spec in COMMANDS.items():
        sub = subparsers.add_parser(name, help=spec.summary, description=spec.description or spec.summary)
        if spec.arguments and name == command:
            module, function = spec.arguments.split(":")
            getattr(importlib.import_module(module), function)(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    named = argv[0] if argv and not argv[0].startswith("-") else None
    parser = build_parser(named)
    if named is not None and named not in COMMANDS:
        parser.error(f"unknown command {named!r}")
    args = parser.parse_args(argv)
    args.command = args.command or DEFAULT_COMMAND
    from bot.settings import SettingsError, exit_on_settings_error

    try:
        return int(COMMANDS[args.command].run(args) or 0)
    except SettingsError as exc:
        exit_on_settings_error(exc)
        return 2
