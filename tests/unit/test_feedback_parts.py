"""The feedback buttons' parts that need no Slack: the values they carry and read back, the block within Slack's
limits, and the helpful rates as people read them."""

from __future__ import annotations

import pytest

from bot.emulator.limits import check_blocks
from bot.slack.feedback import Skill, Vote, feedback_block, parse_vote, rates_line, shows_feedback, vote_value
from storage.feedback import HelpfulRate


@pytest.mark.parametrize("skill", list(Skill))
@pytest.mark.parametrize("helpful", [True, False])
def test_a_buttons_value_reads_back_as_its_vote(skill: Skill, helpful: bool) -> None:
    value = vote_value(9_223_372_036_854_775_807, skill, helpful=helpful)  # the largest BigInteger id
    assert parse_vote(value) == Vote(job_id=9_223_372_036_854_775_807, skill=skill, helpful=helpful)


@pytest.mark.parametrize(
    "value",
    [None, 42, "", "answer:1", "answer:0:up", "answer:-1:up", "answer:01:up", "answers:1:up", "ANSWER:1:UP",
     "answer:1:up ", "answer:1:up:again", "answer:99999999999999999999:up", "answer:9223372036854775808:up",
     "summary:1:maybe"],
)  # fmt: skip
def test_values_our_buttons_never_carry_are_refused(value: object) -> None:
    assert parse_vote(value) is None


def test_the_block_is_within_slacks_limits_and_recognisable() -> None:
    block = feedback_block(9_223_372_036_854_775_807, Skill.TRANSLATION)
    assert check_blocks([block]) is None
    assert shows_feedback({"blocks": [{"type": "divider"}, block]})
    assert not shows_feedback({"blocks": [{"type": "divider"}]}) and not shows_feedback({})


def test_rates_read_per_skill_in_a_fixed_order() -> None:
    rates = {"summary": HelpfulRate(helpful=1, votes=3), "answer": HelpfulRate(helpful=8, votes=10)}
    assert rates_line(rates) == (
        "Answers: 8 of 10 helpful (80 %) · Summaries: 1 of 3 helpful (33 %) · Translations: no votes yet"
    )
    assert rates_line({}) == "Answers: no votes yet · Summaries: no votes yet · Translations: no votes yet"
