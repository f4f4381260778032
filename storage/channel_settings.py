"""Digest schedules (kept in channel_settings) and the digests sent, one row per channel and period.

`claim_digest` is the whole of "exactly once": an INSERT … ON CONFLICT DO NOTHING on (team, channel, period_key).
Whichever clock, retry or catch-up gets there first records the digest and its job; every other one finds the row
and does nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.db import insert_if_absent
from storage.tables import ChannelSettings, Digest, Message, utcnow


@dataclass(frozen=True, slots=True)
class ChannelSentiment:
    """A channel's sentiment settings: schedule spec in UTC ("daily 07:00", "weekly mon 07:00") and the zone it
    was given in, and whether the channel opted out of scoring."""

    team_id: str
    channel_id: str
    schedule: str | None
    timezone: str | None
    opted_out: bool


def _ensure_row(session: Session, team_id: str, channel_id: str) -> None:
    now = utcnow()
    values = {
        "team_id": team_id,
        "channel_id": channel_id,
        "sentiment_opt_out": False,
        "created_at": now,
        "updated_at": now,
    }
    insert_if_absent(session, ChannelSettings, values, keys=["team_id", "channel_id"])


def channel_sentiment(*, session: Session, team_id: str, channel_id: str) -> ChannelSentiment:
    row = session.get(ChannelSettings, (team_id, channel_id))
    if row is None:
        return ChannelSentiment(team_id, channel_id, None, None, False)
    return ChannelSentiment(team_id, channel_id, row.digest_schedule, row.digest_timezone, row.sentiment_opt_out)


def set_schedule(*, session: Session, team_id: str, channel_id: str, schedule: str, timezone: str) -> None:
    """Sets (or replaces) the channel's digest schedule; asking for digests also opts the channel back in."""
    _ensure_row(session, team_id, channel_id)
    session.execute(
        update(ChannelSettings)
        .where(ChannelSettings.team_id == team_id, ChannelSettings.channel_id == channel_id)
        .values(digest_schedule=schedule, digest_timezone=timezone, sentiment_opt_out=False)
        .execution_options(synchronize_session=False)
    )


def clear_schedule(*, session: Session, team_id: str, channel_id: str, opt_out: bool = False) -> None:
    """Stops digests (`/sentiment off`); with opt_out, scoring stops too (`/sentiment forget`)."""
    _ensure_row(session, team_id, channel_id)
    values: dict[str, object] = {"digest_schedule": None}
    if opt_out:
        values["sentiment_opt_out"] = True
    session.execute(
        update(ChannelSettings)
        .where(ChannelSettings.team_id == team_id, ChannelSettings.channel_id == channel_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def opt_in(*, session: Session, team_id: str, channel_id: str) -> None:
    _ensure_row(session, team_id, channel_id)
    session.execute(
        update(ChannelSettings)
        .where(ChannelSettings.team_id == team_id, ChannelSettings.channel_id == channel_id)
        .values(sentiment_opt_out=False)
        .execution_options(synchronize_session=False)
    )


def all_schedules(*, session: Session) -> list[ChannelSentiment]:
    """Every channel with a digest schedule, for the clock (ids and specs only; no message content)."""
    rows = session.scalars(select(ChannelSettings).where(ChannelSettings.digest_schedule.is_not(None)))
    return [
        ChannelSentiment(r.team_id, r.channel_id, r.digest_schedule, r.digest_timezone, r.sentiment_opt_out)
        for r in rows
    ]


def team_channels(*, session: Session, team_id: str, limit: int = 50) -> list[ChannelSentiment]:
    """The team's channels the bot has seen messages in or has settings for (for the App Home)."""
    seen = set(session.scalars(select(Message.channel_id).where(Message.team_id == team_id).distinct().limit(limit)))
    rows = {r.channel_id: r for r in session.scalars(select(ChannelSettings).where(ChannelSettings.team_id == team_id))}
    result = []
    for channel_id in sorted(seen | set(rows))[:limit]:
        r = rows.get(channel_id)
        result.append(
            ChannelSentiment(team_id, channel_id, r.digest_schedule, r.digest_timezone, r.sentiment_opt_out)
            if r is not None
            else ChannelSentiment(team_id, channel_id, None, None, False)
        )
    return result


def claim_digest(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    period_key: str,
    cadence: str,
    period_start: dt.datetime,
    period_end: dt.datetime,
) -> int | None:
    """Records the digest of one channel and period; None when it was already recorded (by anyone)."""
    values = {
        "team_id": team_id,
        "channel_id": channel_id,
        "period_key": period_key,
        "cadence": cadence,
        "period_start": period_start,
        "period_end": period_end,
        "created_at": utcnow(),
    }
    return insert_if_absent(session, Digest, values, keys=["team_id", "channel_id", "period_key"])


@dataclass(frozen=True, slots=True)
class DigestRecord:
    id: int
    cadence: str
    period_start: dt.datetime
    period_end: dt.datetime
    posted: bool


def get_digest(*, session: Session, team_id: str, channel_id: str, digest_id: int) -> DigestRecord | None:
    row = session.get(Digest, digest_id)
    if row is None or row.team_id != team_id or row.channel_id != channel_id:
        return None
    return DigestRecord(row.id, row.cadence, row.period_start, row.period_end, row.posted_at is not None)


def mark_digest_posted(*, session: Session, team_id: str, channel_id: str, digest_id: int) -> None:
    session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.team_id == team_id, Digest.channel_id == channel_id)
        .values(posted_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def count_digests(*, session: Session, team_id: str, channel_id: str) -> int:
    from sqlalchemy import func

    query = select(func.count()).where(Digest.team_id == team_id, Digest.channel_id == channel_id)
    return session.scalar(query) or 0
