"""Engines, sessions and migrations are made here and nowhere else."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Insert, Table, create_engine, event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.dml import UpdateBase

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000
MIGRATION_LOCK_KEY = 72_617_726  # any constant shared by every Parlance process


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with SQLite set up for several threads and processes: WAL journal and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        writer = _OneWriterAtATime()
        event.listen(engine, "begin", writer.begin)
        event.listen(engine, "commit", writer.end)
        event.listen(engine, "rollback", writer.end)
        event.listen(engine.pool, "checkin", writer.checked_in)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


@contextmanager
def scratch_schema(postgres_url: str, prefix: str) -> Iterator[str]:
    """A URL for a PostgreSQL schema of its own, dropped afterwards: tests and benchmarks share one database
    without seeing each other's rows, and every process given the URL lands in the same schema."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling starts transactions late and lets SAVEPOINT/RELEASE commit early;
    # we switch it off and emit BEGIN ourselves (SQLAlchemy's documented recipe) so transactions are real.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class _OneWriterAtATime:
    """Transactions on one SQLite file: the writers of this process take turns on a lock before BEGIN IMMEDIATE.

    IMMEDIATE takes SQLite's write lock at BEGIN, waiting out the busy timeout if another process holds it. A
    DEFERRED transaction that reads and then writes fails at once ("database is locked") when another writer
    committed in between, which several web processes on one file make common. But SQLite's busy handler is not
    a queue: a waiter sleeps longer and longer between tries (up to 100 ms) while newer ones get the lock, so with
    twenty threads writing, an unlucky ack waited 2.6 s for transactions that each held the lock for
    milliseconds (bench/ack_latency.py). Inside the process a plain lock hands the turn on at once; between
    processes the busy timeout still applies.

    Sessions that only read (`read_session`) begin DEFERRED and take no turn: WAL lets them run beside the writer.
    """

    def __init__(self) -> None:
        self._turn = threading.Lock()

    def begin(self, connection: Any) -> None:
        if connection.get_execution_options().get(_READ_ONLY, False):
            connection.exec_driver_sql("BEGIN")
            return
        if not self._turn.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        connection.info[_HOLDS_TURN] = True
        try:
            _begin_immediate(connection.connection.dbapi_connection)
        except BaseException:
            self._release(connection.info)
            raise

    def end(self, connection: Any) -> None:
        self._release(connection.info)

    def checked_in(self, _dbapi_connection: Any, record: Any) -> None:
        """A connection back in the pool has ended its transaction, however it ended."""
        self._release(record.info)

    def _release(self, info: dict[str, Any]) -> None:
        if info.pop(_HOLDS_TURN, False):
            self._turn.release()


def _begin_immediate(raw: Any) -> None:
    """BEGIN IMMEDIATE, tried again every millisecond or two while another process holds SQLite's write lock.

    SQLite's own busy handler backs off to 100 ms between tries, so beside a `python -m bot jobs` process on the
    same file an ack that met one of its writes waited up to 180 ms (bench/ack_latency.py). Only this statement
    runs without the busy timeout; every other one keeps it.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.0005
    raw.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


_HOLDS_TURN = "parlance_holds_write_turn"
_READ_ONLY = "parlance_read_only"


def read_session(sessions: sessionmaker[Session]) -> Session:
    """A session from `sessions` for reads only: on SQLite it never takes (or waits for) the write lock, so it
    must not write. PostgreSQL reads never block writers; there it is an ordinary session."""
    engine = sessions.kw["bind"]
    return sessions(bind=engine.execution_options(**{_READ_ONLY: True}))


def insert_if_absent(session: Session, model: type[DeclarativeBase], values: dict[str, Any], *, keys: list[str]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL alike.

    Used wherever Slack may deliver the same thing twice (retries, mention + message events), so a duplicate
    is a no-op inside the caller's transaction instead of an error that would abort it. Returns the new row's
    primary key, or None when the row was already there.
    """
    new = insert_all_absent(session, model, [values], keys=keys)
    return new[0] if new else None


def insert_all_absent(
    session: Session, model: type[DeclarativeBase], rows: list[dict[str, Any]], *, keys: list[str]
) -> list[Any]:
    """`insert_if_absent` for many rows in one statement: the primary keys of the rows that were new.

    The statement is built once per table and its values are bound parameters: built afresh with the values in
    it, each call cost about 1 ms of SQLAlchemy, most of an ack's time (bench/ack_latency.py)."""
    if not rows:
        return []
    statement = insert_absent_statement(inspect(model).local_table, tuple(keys), session.get_bind().dialect.name)
    return list(session.execute(statement, rows if len(rows) > 1 else rows[0]).scalars())


@lru_cache(maxsize=64)
def insert_absent_statement(table: Table, keys: tuple[str, ...], dialect: str) -> Insert:
    """INSERT … ON CONFLICT (keys) DO NOTHING RETURNING the primary key, for values given when it runs."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    primary_key = next(iter(table.primary_key.columns))
    return insert(table).on_conflict_do_nothing(index_elements=list(keys)).returning(primary_key)


def rows_changed(session: Session, statement: UpdateBase) -> int:
    """Runs an UPDATE or DELETE and says how many rows it matched. Session.execute is typed to return a plain
    Result whatever the statement; for these it is a CursorResult, the kind that carries rowcount."""
    result = cast("CursorResult[Any]", session.execute(statement))
    return result.rowcount or 0


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Brings the schema up to `revision` with Alembic; safe to run on every start."""
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several processes starting together must not run the same revision twice: hold a lock for the
            # whole upgrade (SQLite's BEGIN IMMEDIATE already serialises writers).
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def alembic_config(connection: Any = None, url: str | None = None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s"
    )
    if url:
        config.set_main_option("sqlalchemy.url", url)
    config.attributes["connection"] = connection
    return config


def ping(engine: Engine) -> None:
    """Raises when the database cannot answer; /healthz uses it."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
