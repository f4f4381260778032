"""Slack retries an event it thinks we missed; the event id decides whether we have seen it already."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.tables import SlackEvent, utcnow


def claim_event(*, session: Session, team_id: str, event_id: str) -> bool:
    """Records the event in the caller's transaction; False when it was recorded before (a retry).

    Because the row commits together with the message and job it produced, a crash before the commit leaves
    no trace and Slack's retry is processed normally.
    """
    values = {"team_id": team_id, "event_id": event_id, "received_at": utcnow()}
    return insert_if_absent(session, SlackEvent, values, keys=["team_id", "event_id"]) is not None
