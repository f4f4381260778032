"""Feedback buttons under what the bot posts: Slack's context_actions block with one feedback_buttons element
(👍 / 👎), the value each button carries back, and the helpful rates as people read them.

A button's value names the answer's job, its skill and the vote ("answer:42:up"), so a click needs nothing else
to be recorded; the listener (bot/slack/feedback_listeners.py) still checks the job against the database before
it believes the value. The block goes below a finished answer's last message through
bot/slack/answer_blocks.py's `closing_blocks`, whichever way the answer was delivered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot import texts
from storage.feedback import HelpfulRate

ACTION_ID = "answer_feedback"
RATE_DAYS = 7  # the helpful rates of /parlance and the App Home count the votes of the last week


class Skill(StrEnum):
    """What a vote is about, spelled as answer_feedback.skill stores it."""

    ANSWER = "answer"  # a mention, DM or follow-up answered in its thread
    SUMMARY = "summary"
    TRANSLATION = "translation"


MAX_JOB_ID = 2**63 - 1  # jobs.id is a BigInteger: a larger number names no job, and PostgreSQL would refuse it
_VALUE = re.compile(r"^(?P<skill>[a-z]+):(?P<job>[1-9]\d{0,18}):(?P<vote>up|down)$")


@dataclass(frozen=True, slots=True)
class Vote:
    job_id: int
    skill: Skill
    helpful: bool


def vote_value(job_id: int, skill: Skill, *, helpful: bool) -> str:
    return f"{skill.value}:{job_id}:{'up' if helpful else 'down'}"


def parse_vote(value: Any) -> Vote | None:
    """The vote a button's value stands for; None for anything our buttons never carry."""
    match = _VALUE.match(value) if isinstance(value, str) else None
    if match is None or match["skill"] not in set(Skill) or int(match["job"]) > MAX_JOB_ID:
        return None
    return Vote(job_id=int(match["job"]), skill=Skill(match["skill"]), helpful=match["vote"] == "up")


def feedback_block(job_id: int, skill: Skill) -> dict[str, Any]:
    """The context_actions block with 👍 / 👎 for the answer job `job_id` produced."""

    def button(emoji: str, label: str, *, helpful: bool) -> dict[str, Any]:
        return {
            "text": {"type": "plain_text", "text": emoji},
            "value": vote_value(job_id, skill, helpful=helpful),
            "accessibility_label": label,
        }

    return {
        "type": "context_actions",
        "block_id": f"feedback:{job_id}",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": ACTION_ID,
                "positive_button": button("👍", texts.FEEDBACK_HELPFUL_LABEL, helpful=True),
                "negative_button": button("👎", texts.FEEDBACK_NOT_HELPFUL_LABEL, helpful=False),
            }
        ],
    }


def shows_feedback(message: Mapping[str, Any]) -> bool:
    """Whether a message carries our feedback buttons (local mode offers /vote for it)."""
    return any(
        block.get("type") == "context_actions"
        and any(element.get("action_id") == ACTION_ID for element in block.get("elements") or [])
        for block in message.get("blocks") or []
    )


_SKILL_NAMES = {Skill.ANSWER: "Answers", Skill.SUMMARY: "Summaries", Skill.TRANSLATION: "Translations"}


def rates_line(rates: Mapping[str, HelpfulRate]) -> str:
    """ "Answers: 8 of 10 helpful (80 %) · Summaries: no votes yet · Translations: no votes yet"."""
    parts = []
    for skill, name in _SKILL_NAMES.items():
        rate = rates.get(skill.value)
        if rate is None or rate.votes == 0:
            parts.append(f"{name}: {texts.FEEDBACK_NO_VOTES}")
        else:
            percent = round(100 * rate.helpful / rate.votes)
            parts.append(f"{name}: {rate.helpful} of {rate.votes} helpful ({percent} %)")
    return " · ".join(parts)
