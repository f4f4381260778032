"""History the bot missed is read back from Slack (paged, rate limits honoured) and stored once."""

from slack_sdk import WebClient

from bot.app import slack_retry_handlers
from bot.slack.backfill import backfill_channel
from storage import messages
from tests.support.slack import ALICE, BOB, BOT_TOKEN, CHANNEL, TEAM


def test_backfill_pages_through_history_and_threads_through_a_rate_limit(emulator, sessions) -> None:
    for i in range(450):
        emulator.add_message(
            CHANNEL, user=ALICE if i % 2 else BOB, text=f"old message {i}", ts=f"1700000{i:03d}.000100"
        )
    parent = "1700000100.000100"
    emulator.add_message(CHANNEL, user=BOB, text="a reply in a thread", ts="1700000999.000100", thread_ts=parent)
    emulator.fail("conversations.history", status=429, retry_after=1)
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url, retry_handlers=slack_retry_handlers())

    stored = backfill_channel(client=client, sessions=sessions, team_id=TEAM, channel_id=CHANNEL)

    assert stored == 451
    with sessions() as session:
        recent = messages.recent_messages(session=session, team_id=TEAM, channel_id=CHANNEL, limit=1000)
        thread = messages.thread_messages(session=session, team_id=TEAM, channel_id=CHANNEL, thread_ts=parent)
    assert len(recent) == 451
    assert [m.text for m in thread] == ["old message 100", "a reply in a thread"]
    history_calls = emulator.calls("conversations.history")
    assert history_calls[0].status == 429 and all(call.ok for call in history_calls[1:])
    assert backfill_channel(client=client, sessions=sessions, team_id=TEAM, channel_id=CHANNEL) == 0


def test_backfill_of_a_channel_the_bot_cannot_read_stores_nothing_and_does_not_fail(emulator, sessions) -> None:
    emulator.add_channel("C0PRIVATE", name="secret", is_private=True, is_member=False)
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    assert backfill_channel(client=client, sessions=sessions, team_id=TEAM, channel_id="C0PRIVATE") == 0
