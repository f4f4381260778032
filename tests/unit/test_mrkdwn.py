"""What a reader sees in Slack when the model writes Markdown, and what the model can never trigger."""

import pytest

from bot.slack.delivery import neutralize_mentions, split_for_slack
from bot.slack.mrkdwn import to_mrkdwn
from handlers.text.lines import readable_text


@pytest.mark.parametrize(
    ("markdown", "slack"),
    [
        ("This is **important** and *subtle*.", "This is *important* and _subtle_."),
        ("__also bold__ and ~~gone~~", "*also bold* and ~gone~"),
        ("## Next steps\n- ship it\n* test it", "*Next steps*\n• ship it\n• test it"),
        ("See [the docs](https://example.com/a_b) now", "See <https://example.com/a_b|the docs> now"),
        ("```python\nif a < b and **c**:\n    pass\n```", "```if a &lt; b and **c**:\n    pass```"),
        ("Use `x **y**` here", "Use `x **y**` here"),
        ("1 < 2 & 3 > 2", "1 &lt; 2 &amp; 3 &gt; 2"),
        ("unfinished ```code", "unfinished ```code```"),
    ],
)
def test_markdown_becomes_slack_mrkdwn(markdown: str, slack: str) -> None:
    assert to_mrkdwn(markdown) == slack


@pytest.mark.parametrize(
    "sneaky",
    ["<!channel> lunch!", "<!here|here> now", "<!everyone>", "<!subteam^S123|devs> ping", "hi <@U0ALICE>"],
)
def test_the_model_can_never_ping_anyone(sneaky: str) -> None:
    posted = neutralize_mentions(to_mrkdwn(sneaky))
    assert "<!" not in posted and "<@" not in posted


def test_mention_neutralisation_keeps_allowed_users_and_disarms_the_rest() -> None:
    text = "<!channel> <!here> @everyone <@U0ALICE> <@U0BOB|bob> <!subteam^S1|team>"
    result = neutralize_mentions(text, allowed_users=frozenset({"U0ALICE"}))
    assert "<!" not in result
    assert "<@U0ALICE>" in result
    assert "<@U0BOB" not in result
    assert "@\u200beveryone" in result


def test_long_text_is_split_at_paragraphs_and_code_fences_stay_balanced() -> None:
    text = "intro\n\n```\n" + "\n".join(f"line {i}" for i in range(600)) + "\n```\n\nthe end"
    chunks = split_for_slack(text, limit=1000)
    assert len(chunks) > 3
    assert all(len(chunk) <= 1010 for chunk in chunks)
    assert all(chunk.count("```") % 2 == 0 for chunk in chunks)
    assert chunks[-1].endswith("the end")


def test_special_mentions_read_as_people_see_them() -> None:
    text = "<!subteam^S1|@design> on <!date^1392734382^{date}|Feb 18>, <!here>"
    assert readable_text(text, lambda user: user) == "@design on Feb 18, @here"
