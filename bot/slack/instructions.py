"""`/parlance instructions <text>|off` and what `/parlance` says about them: a channel's standing instructions.

Like the rest of `/parlance` (bot/slack/privacy.py), each answer is one indexed read or write, given in the ack.
Setting them twice, or removing them twice, leaves the same row, so a retried command changes nothing more.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from bot import texts
from handlers.commands import ParlanceRequest
from storage import channel_instructions

logger = logging.getLogger(__name__)


def quoted(text: str) -> str:
    """The instructions as a Slack quote, line by line (they are shown back only to the person who asked)."""
    return "\n".join(f"> {line}" for line in text.splitlines() or [text])


def answer_instructions(
    request: ParlanceRequest, *, sessions: sessionmaker[Session], team_id: str, channel_id: str, user_id: str
) -> str:
    """Sets, removes or shows the channel's instructions; the words for the caller."""
    if request.action == "instructions" and request.instructions:
        with sessions.begin() as session:
            channel_instructions.set_instructions(
                session=session, team_id=team_id, channel_id=channel_id, text=request.instructions, user_id=user_id
            )
        logger.info("standing instructions set in %s/%s (%d chars)", team_id, channel_id, len(request.instructions))
        return texts.INSTRUCTIONS_SET.format(quoted=quoted(request.instructions))
    if request.action == "instructions_off":
        with sessions.begin() as session:
            removed = channel_instructions.clear_instructions(session=session, team_id=team_id, channel_id=channel_id)
        if removed:
            logger.info("standing instructions removed in %s/%s", team_id, channel_id)
        return texts.INSTRUCTIONS_REMOVED if removed else texts.INSTRUCTIONS_WERE_NONE
    return describe_instructions(sessions=sessions, team_id=team_id, channel_id=channel_id)


def describe_instructions(*, sessions: sessionmaker[Session], team_id: str, channel_id: str) -> str:
    """The line `/parlance` adds about this channel: its instructions and who set them, or that there are none."""
    with sessions() as session:
        found = channel_instructions.channel_instructions(session=session, team_id=team_id, channel_id=channel_id)
    if found is None:
        return texts.INSTRUCTIONS_NONE
    who = f"<@{found.set_by}>" if found.set_by else "someone"
    return texts.INSTRUCTIONS_SHOWN.format(who=who, quoted=quoted(found.text))
