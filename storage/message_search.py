"""Full-text search over one channel's stored messages (SQLite FTS5 or PostgreSQL text search)."""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.orm import Session

from storage.messages import StoredMessage

_TERM = re.compile(r"\w+", re.UNICODE)


def search_messages(
    *, session: Session, team_id: str, channel_id: str, terms: list[str], limit: int = 30
) -> list[StoredMessage]:
    """Messages matching any of `terms`, best match first. Terms are reduced to plain words, so user input can
    never become query syntax."""
    words = sorted({w.lower() for term in terms for w in _TERM.findall(term)})[:32]
    if not words:
        return []
    params = {"team": team_id, "channel": channel_id, "limit": limit}
    if session.get_bind().dialect.name == "sqlite":
        scope = "".join(_TERM.findall((team_id + channel_id).lower()))
        params["query"] = f'scope:"{scope}" AND (' + " OR ".join(f'text:"{w}"' for w in words) + ")"
        sql = text(
            "SELECT m.team_id, m.channel_id, m.ts, m.thread_ts, m.user_id, m.text, m.is_bot, m.edited "
            "FROM (SELECT rowid, rank FROM messages_fts WHERE messages_fts MATCH :query ORDER BY rank LIMIT :scan) f "
            "JOIN messages m ON m.id = f.rowid "
            "WHERE m.team_id = :team AND m.channel_id = :channel AND NOT m.deleted ORDER BY f.rank LIMIT :limit"
        )
        params["scan"] = limit * 4
    else:
        params["query"] = " | ".join(words)
        sql = text(
            "SELECT team_id, channel_id, ts, thread_ts, user_id, text, is_bot, edited FROM messages "
            "WHERE to_tsvector('english', text) @@ to_tsquery('english', :query) "
            "AND team_id = :team AND channel_id = :channel AND NOT deleted "
            "ORDER BY ts_rank(to_tsvector('english', text), to_tsquery('english', :query)) DESC LIMIT :limit"
        )
    return [StoredMessage(*row) for row in session.execute(sql, params).all()]
