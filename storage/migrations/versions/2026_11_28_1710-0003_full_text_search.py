"""Full-text search over stored messages, scoped to one channel by the index itself.

SQLite: a contentless FTS5 table with a `scope` column holding team+channel as one token, kept in step by
triggers, so a search intersects the channel's postings with the terms' instead of ranking matches from every
channel. PostgreSQL: a GIN index over (team_id, channel_id, to_tsvector('english', text)) through btree_gin when
the extension can be created, else over the text alone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SCOPE = "lower(team_id || channel_id)"
_SQLITE_UP = [
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, scope, content='', tokenize='porter unicode61')",
    f"INSERT INTO messages_fts(rowid, text, scope) SELECT id, text, {_SCOPE} FROM messages",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, text, scope) VALUES (new.id, new.text, lower(new.team_id || new.channel_id));
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text, scope)
        VALUES ('delete', old.id, old.text, lower(old.team_id || old.channel_id));
    END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, text, scope)
        VALUES ('delete', old.id, old.text, lower(old.team_id || old.channel_id));
        INSERT INTO messages_fts(rowid, text, scope) VALUES (new.id, new.text, lower(new.team_id || new.channel_id));
    END""",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TABLE IF EXISTS messages_fts",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_UP:
            op.execute(statement)
    else:
        bind = op.get_bind()
        with bind.begin_nested():  # a failed CREATE EXTENSION (no privilege) must not abort the migration
            try:
                bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gin")
                scoped = True
            except Exception:
                scoped = False
        columns = "team_id, channel_id, to_tsvector('english', text)" if scoped else "to_tsvector('english', text)"
        op.execute(f"CREATE INDEX ix_messages_fts ON messages USING gin ({columns})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_messages_fts")
