"""People who asked Parlance not to keep their messages (`/parlance forget me`, until `/parlance remember me`).

The listeners check this before storing a message (storage.messages.save_message), so an opted-out person's
messages are never written, not written and deleted later.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from storage.db import insert_if_absent, rows_changed
from storage.tables import UserOptOut, utcnow


def opt_user_out(*, session: Session, team_id: str, user_id: str) -> None:
    """Records that a person's messages must not be stored (idempotent: a repeated request changes nothing)."""
    values = {"team_id": team_id, "user_id": user_id, "created_at": utcnow()}
    insert_if_absent(session, UserOptOut, values, keys=["team_id", "user_id"])


def opt_user_back_in(*, session: Session, team_id: str, user_id: str) -> bool:
    """Undoes `opt_user_out`; False when they had not opted out."""
    changed = rows_changed(
        session,
        delete(UserOptOut)
        .where(UserOptOut.team_id == team_id, UserOptOut.user_id == user_id)
        .execution_options(synchronize_session=False),
    )
    return bool(changed)


def opted_out_among(*, session: Session, team_id: str, user_ids: Collection[str]) -> set[str]:
    """Which of these people opted out: one query for a whole page of history (and one on every stored message,
    so the statement is built once: built per call it cost more than the insert it guards)."""
    return set(session.scalars(_OPTED_OUT, {"team_id": team_id, "user_ids": list(user_ids)}))


_OPTED_OUT = select(UserOptOut.user_id).where(
    UserOptOut.team_id == bindparam("team_id"), UserOptOut.user_id.in_(bindparam("user_ids", expanding=True))
)
