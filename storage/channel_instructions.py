"""A channel's standing instructions (`/parlance instructions <text>`), kept in channel_settings.

The runners read them once per job and append them to every system prompt of the channel's answers
(bot/jobs/runners/instructions.py); `/parlance` shows them and who set them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.db import insert_if_absent, rows_changed
from storage.tables import ChannelSettings, utcnow


@dataclass(frozen=True, slots=True)
class ChannelInstructions:
    text: str
    set_by: str | None  # the Slack user id of whoever set them last


def channel_instructions(*, session: Session, team_id: str, channel_id: str) -> ChannelInstructions | None:
    row = session.get(ChannelSettings, (team_id, channel_id))
    if row is None or not row.instructions:
        return None
    return ChannelInstructions(row.instructions, row.instructions_by)


def set_instructions(*, session: Session, team_id: str, channel_id: str, text: str, user_id: str) -> None:
    """Sets (or replaces) the channel's instructions. The caller bounds the length (handlers/commands.py)."""
    now = utcnow()
    values = {"team_id": team_id, "channel_id": channel_id, "sentiment_opt_out": False, "created_at": now,
              "updated_at": now}  # fmt: skip
    insert_if_absent(session, ChannelSettings, values, keys=["team_id", "channel_id"])
    session.execute(
        update(ChannelSettings)
        .where(ChannelSettings.team_id == team_id, ChannelSettings.channel_id == channel_id)
        .values(instructions=text, instructions_by=user_id)
        .execution_options(synchronize_session=False)
    )


def clear_instructions(*, session: Session, team_id: str, channel_id: str) -> bool:
    """Removes them (`/parlance instructions off`); False when the channel had none."""
    statement = (
        update(ChannelSettings)
        .where(
            ChannelSettings.team_id == team_id,
            ChannelSettings.channel_id == channel_id,
            ChannelSettings.instructions.is_not(None),
        )
        .values(instructions=None, instructions_by=None)
        .execution_options(synchronize_session=False)
    )
    return rows_changed(session, statement) > 0
