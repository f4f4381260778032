"""`python -m bot`: the one command that runs Parlance.

- `python -m bot`: everything on one machine. With Slack settings it serves Slack (HTTP on $PORT, or Socket
  Mode when SLACK_APP_TOKEN is set); without them it starts local mode against the built-in Slack emulator.
- `python -m bot web`: only the Slack-facing process (the Procfile's `web`).
- `python -m bot local`: local mode, explicitly.
- `python -m bot migrate`: bring the database schema up to date and exit.
- `python -m bot eval <skill> FILE`: measure a skill on a data file (see bot/eval).
"""

from __future__ import annotations

import argparse
import logging

from bot.settings import Settings, SettingsError, exit_on_settings_error, get_settings


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # slack_sdk logs request bodies at DEBUG; keep message text and tokens out of our logs below DEBUG.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLevelName(level)))
    logging.getLogger("slack_bolt").setLevel(max(logging.INFO, logging.getLevelName(level)))
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLevelName(level)))  # one line per model call
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "queue depth" under bursts; /metrics shows load
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLevelName(level)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Parlance, a self-hosted AI teammate for Slack")
    parser.add_argument("command", nargs="?", default="run", choices=["run", "web", "local", "migrate", "eval"])
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        exit_on_settings_error(exc)
        return
    local = args.command == "local" or (args.command == "run" and not settings.has_slack_credentials)
    # Local mode shares the terminal with a person typing: only warnings, unless LOG_LEVEL asks for more.
    configure_logging("WARNING" if local and "log_level" not in settings.model_fields_set else settings.log_level)
    try:
        if args.command == "eval":
            from bot.eval import run as run_eval

            raise SystemExit(run_eval(args.rest))
        if args.command == "migrate":
            _migrate(settings)
        elif local:
            from bot.slack.local import run_local

            run_local(settings)
        else:
            _serve(settings, with_worker=args.command == "run")
    except SettingsError as exc:
        exit_on_settings_error(exc)


def _migrate(settings: Settings) -> None:
    from storage.db import make_engine, migrate

    engine = make_engine(settings.database_url)
    migrate(engine)
    logging.getLogger(__name__).info("database schema is up to date")


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
    budget = StopBudget(settings.shutdown_seconds)  # one budget: serving stops first, the worker last
    with contextlib.ExitStack() as stack:
        if with_worker:
            model = stack.enter_context(open_model_client(settings, wait=False, stop_within=budget.left))
        else:
            model = stack.enter_context(OpenAICompatibleClient(settings.model_url or DEFAULT_MODEL_URL))
        parlance = build_parlance(settings, model=model)
        if (
            with_worker
        ):  # one machine: the digest clock runs in this process too (elsewhere: python -m bot.background.clock)
            from bot.background.clock import DigestClock

            clock = DigestClock(
                engine=parlance.engine,
                sessions=parlance.sessions,
                wake=parlance.dispatcher.notify,
                retention_days=settings.retention_days,
            )
            clock.start()
            stack.callback(clock.stop)
        if settings.socket_mode:
            serve_socket_mode(parlance, budget)
        else:
            serve_http(parlance, budget)


if __name__ == "__main__":
    main()
