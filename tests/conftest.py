"""Shared fixtures. Tests never touch the developer's environment: each gets its own directory, a clean set of
Parlance variables and its own database. Set TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)
to run the same suite on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings, get_settings, load_settings
from storage.db import make_engine, make_session_factory, migrate, scratch_schema
from tests.support.slack import (
    ALICE,
    APP_TOKEN,
    BOB,
    BOT_TOKEN,
    BOT_USER,
    CHANNEL,
    SIGNING_SECRET,
    TEAM,
    RunningApp,
    sender_for,
    serve_app,
)
from tests.support.workers import torch_worker_url, translate_url, worker_url  # noqa: F401  (real model workers)

if TYPE_CHECKING:  # imported where used at run time, so a test that needs none of them does not load the app
    from bot.emulator import SlackEmulator, SlackSender

_OUR_VARIABLES = (
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL", "DATABASE_URL", "PORT", "HOST",
    "MODEL_URL", "LOG_LEVEL", "SUMMARY_MODEL_WRITES", "WEB_THREADS", "JOB_THREADS", "JOB_LEASE_SECONDS",
    "JOBS_IN_WEB", "JOB_POLL_SECONDS",
    "MAX_REQUEST_BYTES", "RETENTION_DAYS", "SHUTDOWN_SECONDS",
    "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "MODEL_WAIT_SECONDS", "ALLOWED_CHANNELS", "NATIVE_STREAMING",
)  # fmt: skip


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in _OUR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a schema of its own on the PostgreSQL named by TEST_DATABASE_URL."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'parlance.db'}"
        return
    with scratch_schema(base, "t") as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def emulator() -> Iterator[SlackEmulator]:
    from bot.emulator import SlackEmulator

    emu = SlackEmulator(bot_token=BOT_TOKEN, app_token=APP_TOKEN, team_id=TEAM, bot_user_id=BOT_USER, bot_id="B0BOT")
    emu.add_user(ALICE, name="alice", real_name="Alice Example", tz="Europe/Paris")
    emu.add_user(BOB, name="bob", real_name="Bob Example", tz="America/New_York")
    emu.add_channel(CHANNEL, name="general")
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return load_settings(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        PORT=0,
        JOB_THREADS=2,
    )


@pytest.fixture
def running_app(settings: Settings) -> Iterator[RunningApp]:
    with serve_app(settings) as app:
        yield app


@pytest.fixture
def slack(running_app: RunningApp, emulator: SlackEmulator) -> SlackSender:
    return sender_for(running_app, emulator)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL pass (TEST_DATABASE_URL set) only tests that use a database run again; the others (the
    model worker's, the parsers') already ran in the SQLite pass. Said out loud, never skipped silently."""
    if not os.environ.get("TEST_DATABASE_URL"):
        return
    keep = [item for item in items if "database_url" in getattr(item, "fixturenames", ())]
    dropped = [item for item in items if item not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"PostgreSQL pass: {len(keep)} tests that use the database; {len(dropped)} that never touch it "
                "were deselected (they ran in the SQLite pass)."
            )
