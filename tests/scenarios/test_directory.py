"""What runners learn from Slack about people and messages, and how a failed Slack call reaches the dispatcher:
one cached users.info per person serves their name, time zone and locale; permalinks are built without an API
call yet read exactly as chat.getPermalink's; every Slack failure leaves `slack_call` as RetryLater or
SlackRefused."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from bot.emulator import SlackEmulator
from bot.jobs.dispatch import RetryLater
from bot.jobs.slack_errors import CONNECTION_RETRY_DELAY, SlackRefused, slack_call
from bot.slack.directory import Directory
from bot.slack.teams import OneTeam
from tests.support.slack import ALICE, BOT_TOKEN, BOT_USER, CHANNEL, TEAM


@pytest.fixture
def client(emulator: SlackEmulator) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=emulator.api_url, retry_handlers=[])  # failures reach us as they are


@pytest.fixture
def directory(client: WebClient) -> Directory:
    return Directory(client, teams=OneTeam(client, bot_user_id=BOT_USER, workspace_url=None))


def test_one_users_info_call_serves_a_persons_name_time_zone_and_locale(
    directory: Directory, emulator: SlackEmulator
) -> None:
    assert directory.display_name(TEAM, ALICE) == "alice"
    assert directory.user(TEAM, ALICE).tz == "Europe/Paris"  # what /sentiment schedules in
    assert directory.user(TEAM, ALICE).locale is None  # the emulator sends none: /translate offers its picker
    [call] = emulator.calls("users.info")
    assert call.args["user"] == ALICE


def test_someone_slack_will_not_describe_is_named_by_id_without_a_time_zone(directory: Directory) -> None:
    unknown = directory.user(TEAM, "U0GONE")
    assert (unknown.name, unknown.tz, unknown.locale) == ("U0GONE", None, None)
    assert directory.display_name(TEAM, None) == "someone"


def test_built_permalinks_read_as_chat_get_permalink_answers(
    directory: Directory, client: WebClient, emulator: SlackEmulator
) -> None:
    root = emulator.add_message(CHANNEL, user=ALICE, text="the release is on Friday")
    reply = client.chat_postMessage(channel=CHANNEL, text="noted", thread_ts=root)["ts"]
    for ts, thread_ts in ((root, None), (reply, root)):
        asked = client.chat_getPermalink(channel=CHANNEL, message_ts=ts)["permalink"]
        assert directory.permalink(CHANNEL, ts, thread_ts) == asked


def test_every_slack_failure_leaves_as_retry_later_or_slack_refused(client: WebClient, emulator: SlackEmulator) -> None:
    emulator.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(RetryLater) as limited, slack_call():
        client.chat_postMessage(channel=CHANNEL, text="hi")
    assert limited.value.delay == 7.0 and "chat.postMessage" in str(limited.value)

    with pytest.raises(SlackRefused) as refused, slack_call():
        client.chat_postMessage(channel="C0NOWHERE", text="hi")
    assert str(refused.value) == "Slack refused chat.postMessage: channel_not_found"

    emulator.fail("chat.postMessage", status=0)
    with pytest.raises(RetryLater) as broken, slack_call():
        client.chat_postMessage(channel=CHANNEL, text="hi")
    assert broken.value.delay == CONNECTION_RETRY_DELAY and "lost the connection" in str(broken.value)
