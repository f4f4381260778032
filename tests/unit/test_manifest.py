"""The Slack app manifest asks for exactly what the code listens to, so one paste creates a working app."""

from pathlib import Path

import yaml

from bot.slack.installs import BOT_SCOPES, REDIRECT_PATH
from bot.slack.listeners import COMMANDS, EVENTS, SHORTCUTS

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# Each Events API subscription and the scope that lets Slack send it.
_EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "reaction_added": "reactions:read",
    "app_home_opened": None,
    "assistant_thread_started": "assistant:write",
    "agent_session_stopped": "assistant:write",
    "tokens_revoked": None,
    "app_uninstalled": None,
}


def test_slash_commands_match_the_listeners() -> None:
    assert {command["command"] for command in MANIFEST["features"]["slash_commands"]} == set(COMMANDS)


def test_subscribed_events_match_the_listeners() -> None:
    subscribed = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert {name.split(".")[0] for name in subscribed} == set(EVENTS)


def test_scopes_are_exactly_what_the_events_and_replies_need() -> None:
    subscribed = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    needed = {_EVENT_SCOPES[name] for name in subscribed if _EVENT_SCOPES[name]}
    needed |= {"chat:write", "commands", "users:read", "files:write", "files:read", "channels:read"}
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_an_install_through_oauth_asks_for_the_manifests_scopes() -> None:
    assert list(BOT_SCOPES) == MANIFEST["oauth_config"]["scopes"]["bot"]


def test_the_oauth_redirect_url_is_the_path_the_app_serves() -> None:
    assert [url.endswith(REDIRECT_PATH) for url in MANIFEST["oauth_config"]["redirect_urls"]] == [True]


def test_message_shortcuts_match_the_listeners() -> None:
    assert {shortcut["callback_id"] for shortcut in MANIFEST["features"]["shortcuts"]} == set(SHORTCUTS)
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_commands_and_events_point_at_the_one_events_path() -> None:
    urls = [command["url"] for command in MANIFEST["features"]["slash_commands"]]
    urls.append(MANIFEST["settings"]["event_subscriptions"]["request_url"])
    urls.append(MANIFEST["settings"]["interactivity"]["request_url"])
    assert all(url.endswith("/slack/events") for url in urls)


def test_the_app_is_an_agent_with_a_description() -> None:
    """`agent_view` gives the bot Slack's agent messaging experience (threads in its Messages tab, the split view,
    loading states, native streaming); Slack shows the description to people who open it."""
    agent = MANIFEST["features"]["agent_view"]
    assert isinstance(agent["agent_description"], str) and 20 < len(agent["agent_description"]) <= 1000
    assert "assistant_view" not in MANIFEST["features"]  # the legacy assistant experience, replaced by the agent's
    assert MANIFEST["features"]["app_home"]["messages_tab_enabled"] is True
