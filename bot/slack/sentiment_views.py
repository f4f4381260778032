"""Slack I/O for sentiment: the digest as mrkdwn, the App Home view, and the few Web API calls they need (the
caller's time zone and thread permalinks come from bot/slack/directory.py).

Formatting lives here, not in handlers/sentiment/digest.py, so the digest itself stays plain data. Quoted gists go
through `neutralize_mentions` like every other text posted on the model's behalf.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import texts
from bot.slack.delivery import neutralize_mentions
from handlers.sentiment.digest import DayMood, Digest

SPARK = "▁▂▃▄▅▆▇█"


def public_channel_name(*, client: WebClient, channel: str) -> str | None:
    """The channel's name when it is public and the bot is in it; None otherwise (kept off the App Home)."""
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError:
        return None
    if info.get("is_private") or info.get("is_im") or info.get("is_mpim") or info.get("is_member") is False:
        return None
    return info.get("name")


def upload_chart(*, client: WebClient, channel: str, png: bytes, title: str, comment: str, filename: str) -> None:
    """The v2 upload flow (files.getUploadURLExternal, POST, files.completeUploadExternal), shared to `channel`."""
    client.files_upload_v2(channel=channel, content=png, filename=filename, title=title, initial_comment=comment)


def chart_filename(digest_id: int) -> str:
    """Each digest's chart has a name of its own, so a retried digest can tell whether its chart is already in
    the channel (file shares carry no message metadata)."""
    return f"sentiment-{digest_id}.png"


def shows_chart(message: dict[str, Any], digest_id: int) -> bool:
    return any(file.get("name") == chart_filename(digest_id) for file in message.get("files") or [])


def span_label(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> str:
    first, last = start.astimezone(tz), (end - dt.timedelta(seconds=1)).astimezone(tz)
    if (end - start) <= dt.timedelta(days=1):
        return f"the day to {end.astimezone(tz):%a %d %b %H:%M}"
    return f"{first:%a %d %b} – {last:%a %d %b}"


def digest_text(digest: Digest, *, span: str, links: Mapping[str, str], minimum: int) -> str:
    """The digest message. `links` maps a thread's root ts to its permalink; a thread without one is named
    without a link."""
    if not digest.enough:
        return texts.DIGEST_NOT_ENOUGH.format(span=span, count=digest.count, minimum=minimum)
    lines = [f"*{texts.DIGEST_TITLE.format(span=span)}*"]
    lines.append(
        texts.DIGEST_MOOD_LINE.format(
            mood=digest.mood,
            mean=digest.mean or 0.0,
            positive=digest.labels.get("positive", 0),
            neutral=digest.labels.get("neutral", 0),
            negative=digest.labels.get("negative", 0),
        )
    )
    if digest.change is not None and digest.previous_mean is not None:
        lines.append(
            texts.DIGEST_CHANGE_LINE.format(
                change=digest.change, previous=digest.previous_mean, previous_count=digest.previous_count
            )
        )
    else:
        lines.append(texts.DIGEST_NO_PREVIOUS)
    for title, thread in (
        ("Most positive thread", digest.most_positive),
        ("Most negative thread", digest.most_negative),
    ):
        if thread is not None:
            link = links.get(thread.thread_ts)
            lines.append(
                texts.DIGEST_THREAD_LINE.format(
                    title=title,
                    link=f"<{link}|open>" if link else "(link unavailable)",
                    count=thread.count,
                    mean=thread.mean,
                    gist=thread.gist,
                )
            )
    lines.append(texts.DIGEST_VOLUME_LINE.format(days=", ".join(f"{d.day:%a %d} {d.count}" for d in digest.days)))
    return neutralize_mentions("\n".join(lines))


def sparkline(days: Sequence[DayMood]) -> str:
    """Daily means as block characters (−1 → ▁, +1 → █); a day without messages is a thin space."""
    marks = []
    for day in days:
        if day.mean is None:
            marks.append("·")
        else:
            marks.append(SPARK[min(len(SPARK) - 1, int((day.mean + 1) / 2 * len(SPARK)))])
    return "".join(marks)


def home_view(channels: Sequence[dict[str, Any]], *, feedback: str | None = None) -> dict[str, Any]:
    """The App Home tab: one section per channel (schedule and 30-day trend), then how helpful people found the
    answers in those channels (`feedback`: bot.slack.feedback.rates_line)."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": texts.HOME_HEADER}}]
    if not channels:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": texts.HOME_EMPTY}})
    for channel in channels[:45]:  # Slack allows 100 blocks in a view; two per channel, three for feedback
        blocks.append({"type": "divider"})
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": texts.HOME_CHANNEL.format(**channel)}})
    if feedback is not None and channels:
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": texts.HOME_FEEDBACK_HEADER}})
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": texts.HOME_FEEDBACK.format(rates=feedback)}}
        )
    return {"type": "home", "blocks": blocks}
