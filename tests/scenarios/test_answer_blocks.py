"""Answers are posted as Slack `markdown` blocks: lists, tables and links render as the model wrote them, long
answers continue in further messages of at most 12,000 characters of Markdown, and no block can ping anyone."""

from __future__ import annotations

import pytest

from bot.slack.answer_blocks import mrkdwn_to_markdown
from tests.support.scripted_model import ScriptedModel
from tests.support.slack import ALICE, BOB, BOT_USER, CHANNEL, finished_reply, sender_for, serve_app, wait_until

ANSWER = (
    "Here is the plan:\n\n"
    "| step | owner |\n|---|---|\n| build | <@U0BOB> |\n| ship | <!here> |\n\n"
    "- first item\n- second item\n\n"
    "See [the docs](https://example.com/docs). <!channel> @everyone <!subteam^S1|@design>"
)


@pytest.fixture
def scripted() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def posting_slack(settings, emulator, scripted):
    """The app with native streaming off: answers are posted and edited (the fallback path)."""
    with serve_app(settings.model_copy(update={"native_streaming": False}), model=scripted) as app:
        yield sender_for(app, emulator)


def _markdown(message: dict) -> str:
    return "".join(block["text"] for block in message.get("blocks", []) if block["type"] == "markdown")


def test_a_posted_answer_is_a_markdown_block_with_its_table_list_and_link_and_no_pings(
    posting_slack, scripted, emulator
) -> None:
    scripted.enqueue(ANSWER)
    ts = "1764360000.000001"
    posting_slack.event(posting_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> plan it", ts=ts))
    finished_reply(emulator, ts, timeout=20)
    [reply] = [m for m in emulator.messages(CHANNEL, thread_ts=ts) if m.get("user") == BOT_USER]
    markdown = _markdown(reply)
    assert "| step | owner |\n|---|---|" in markdown  # the table as written, for Slack to render
    assert "- first item\n- second item" in markdown
    assert "[the docs](https://example.com/docs)" in markdown
    for ping in ("<@U0BOB>", "<!here>", "<!channel>", "<!subteam", "@everyone"):
        assert ping not in markdown and ping not in reply["text"]
    assert "@\u200bU0BOB" in markdown  # the name stays readable, the ping is gone


def test_a_summary_is_a_markdown_block_whose_citations_are_markdown_links(slack, emulator) -> None:
    for i, text in enumerate(["We decided to ship on Friday.", "Alice will write the release notes."]):
        slack.event(slack.message_event(CHANNEL, BOB if i else ALICE, text, ts=f"17643600{10 + i}.000001"))
    slack.command("/summarize", "50", user_id=ALICE, channel_id=CHANNEL)
    [answer] = wait_until(lambda: emulator.response_url_posts(), timeout=20)
    block, buttons = answer["blocks"]
    assert block["type"] == "markdown" and buttons["type"] == "context_actions"  # 👍 / 👎 below the summary
    assert "**Summary of the last" in block["text"]  # our mrkdwn bold, as Markdown bold
    assert f"](https://parlance.slack.com/archives/{CHANNEL}/p" in block["text"]  # [n](permalink)
    assert "<https://" not in block["text"]


def test_our_mrkdwn_becomes_markdown_and_quoted_text_stays_literal() -> None:
    mrkdwn = "*Sources:*\n• <https://x.test/p1|Alice>: “use &lt;!here&gt; _never_” ~old~ `*code*`"
    assert mrkdwn_to_markdown(mrkdwn) == (
        "**Sources:**\n- [Alice](https://x.test/p1): “use &lt;!here&gt; *never*” ~~old~~ `*code*`"
    )


def test_the_emulator_refuses_markdown_blocks_over_slacks_limits(emulator) -> None:
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from tests.support.slack import BOT_TOKEN

    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    with pytest.raises(SlackApiError) as one:
        client.chat_postMessage(channel=CHANNEL, text="x", blocks=[{"type": "markdown", "text": "a" * 12_001}])
    assert one.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as together:
        blocks = [{"type": "markdown", "text": "a" * 7_000}, {"type": "markdown", "text": "b" * 7_000}]
        client.chat_postMessage(channel=CHANNEL, text="x", blocks=blocks)
    assert together.value.response["error"] == "msg_blocks_too_long"
