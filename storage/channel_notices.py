"""Notices Parlance gives once per channel, such as "I'm not enabled here" (ALLOWED_CHANNELS).

`claim_notice` is the whole of "once": an INSERT … ON CONFLICT DO NOTHING on (team, channel, notice), so however
many events, retries and processes race, one of them gets to say it. Only ids are kept, never what was said there.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.tables import ChannelNotice, utcnow

NOT_ENABLED = "not_enabled"


def claim_notice(*, session: Session, team_id: str, channel_id: str, notice: str) -> bool:
    """Records that `notice` is being given in the channel; False when it was given before (by anyone)."""
    values = {"team_id": team_id, "channel_id": channel_id, "notice": notice, "created_at": utcnow()}
    return insert_if_absent(session, ChannelNotice, values, keys=["team_id", "channel_id", "notice"]) is not None
