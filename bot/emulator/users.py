"""Slack user objects, with the time-zone fields users.info returns.

Kept apart from the workspace because the time-zone arithmetic (offset and label at the current date,
so summer time is right) is the only fiddly part of a user.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Slack shows long names; zoneinfo only knows abbreviations. Unknown ones fall back to the abbreviation.
_TZ_LABELS = {
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "UTC": "Coordinated Universal Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "JST": "Japan Standard Time",
    "IST": "India Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
}


def tz_fields(tz: str) -> tuple[str, int]:
    """(tz_label, tz_offset in seconds) for an IANA zone name as of now; unknown zones count as UTC."""
    try:
        now = dt.datetime.now(ZoneInfo(tz))
    except (ZoneInfoNotFoundError, ValueError):
        return "Coordinated Universal Time", 0
    abbreviation = now.tzname() or "UTC"
    offset = now.utcoffset() or dt.timedelta(0)
    return _TZ_LABELS.get(abbreviation, abbreviation), int(offset.total_seconds())


def user_object(
    user_id: str,
    *,
    team_id: str,
    name: str,
    real_name: str | None,
    tz: str,
    is_bot: bool,
    bot: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The `user` object of users.info. `bot` is (bot_id, app_id) for the app's own bot user."""
    label, offset = tz_fields(tz)
    real = real_name or name
    profile: dict[str, Any] = {
        "real_name": real,
        "real_name_normalized": real,
        "display_name": name,
        "display_name_normalized": name,
        "first_name": real.split(" ")[0],
        "status_text": "",
        "status_emoji": "",
        "avatar_hash": "g000000000",
        "team": team_id,
    }
    if bot is not None:
        profile.update({"bot_id": bot[0], "api_app_id": bot[1], "always_active": False})
    return {
        "id": user_id,
        "team_id": team_id,
        "name": name,
        "deleted": False,
        "color": "9f69e7",
        "real_name": real,
        "tz": tz,
        "tz_label": label,
        "tz_offset": offset,
        "profile": profile,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": is_bot,
        "is_app_user": False,
        "updated": int(time.time()),
        "is_email_confirmed": not is_bot,
        "who_can_share_contact_card": "EVERYONE",
    }
