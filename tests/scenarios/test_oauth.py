"""Installing Parlance in several workspaces through Slack OAuth, end to end: the real app served over HTTP, a
browser played by plain HTTP requests, Slack's consent screen and oauth.v2.access played by the emulator, and
events signed as Slack sends them from each workspace."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, update

from bot import texts
from bot.emulator import ApiCall, EmulatedTeam, SlackEmulator, SlackSender
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.installs import BOT_SCOPES
from storage import jobs, messages
from tests.support.scripted_model import ScriptedModel
from tests.support.slack import ALICE, BOT_USER, CHANNEL, SIGNING_SECRET, TEAM, RunningApp, serve_app, wait_until

BETA = "T0BETA"
BETA_BOT = "U0BOTB"
BETA_CHANNEL = "C0BETA"
BRUNO = "U0BRUNO"
WAIT = 20.0


@pytest.fixture
def oauth_settings(emulator: SlackEmulator, database_url: str) -> Settings:
    return load_settings(
        SLACK_CLIENT_ID=emulator.oauth.client_id,
        SLACK_CLIENT_SECRET=emulator.oauth.client_secret,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        DATABASE_URL=database_url,
        PORT=0,
        JOB_THREADS=2,
    )


@pytest.fixture
def beta(emulator: SlackEmulator) -> EmulatedTeam:
    team = emulator.add_team(BETA, team_domain="beta", team_name="Beta Inc", bot_user_id=BETA_BOT, bot_id="B0BOTB")
    team.add_user(BRUNO, name="bruno", real_name="Bruno Beta")
    team.add_channel(BETA_CHANNEL, name="beta-general")
    return team


@pytest.fixture
def scripted() -> ScriptedModel:
    return ScriptedModel()


@pytest.fixture
def app(oauth_settings: Settings, emulator: SlackEmulator, scripted: ScriptedModel) -> Iterator[RunningApp]:
    with serve_app(oauth_settings, model=scripted) as running:
        emulator.oauth.redirect_urls = [f"{running.url}/slack/oauth_redirect"]  # the app's settings page on Slack
        yield running


def _sender(app: RunningApp, team: EmulatedTeam) -> SlackSender:
    return SlackSender(app_url=f"{app.url}/slack/events", signing_secret=SIGNING_SECRET, emulator=team)


def _start_install(app: RunningApp) -> tuple[str, str]:
    """The browser follows the install link: Slack's authorize URL, and the state cookie to send back."""
    response = httpx.get(f"{app.url}/slack/install", follow_redirects=False)
    assert response.status_code == 302
    return response.headers["location"], response.headers["set-cookie"].split(";")[0]


def _install(app: RunningApp, emulator: SlackEmulator, team: EmulatedTeam, user: str) -> httpx.Response:
    authorize_url, cookie = _start_install(app)
    back = emulator.oauth.authorize(authorize_url, team=team, user=user)
    return httpx.get(back, headers={"Cookie": cookie})


def _store(app: RunningApp, emulator: SlackEmulator) -> SQLAlchemyInstallationStore:
    return SQLAlchemyInstallationStore(client_id=emulator.oauth.client_id, engine=app.parlance.engine)


def _posts_in(emulator: SlackEmulator, channel: str) -> list[ApiCall]:
    return [c for c in emulator.calls("chat.postMessage") if c.ok and c.args.get("channel") == channel]


# -- the install flow --------------------------------------------------------------------------------------------
def test_the_install_link_sends_people_to_slacks_consent_screen_with_a_state_cookie(app, emulator) -> None:
    authorize_url, cookie = _start_install(app)
    parts = urlsplit(authorize_url)
    query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://slack.com/oauth/v2/authorize"
    assert query["client_id"] == emulator.oauth.client_id
    assert query["scope"].split(",") == list(BOT_SCOPES)
    assert query["state"] and cookie == f"slack-app-oauth-state={query['state']}"
    set_cookie = httpx.get(f"{app.url}/slack/install", follow_redirects=False).headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie


def test_slacks_redirect_back_stores_the_workspaces_bot(app, emulator) -> None:
    answer = _install(app, emulator, emulator, ALICE)
    assert answer.status_code == 200 and "Thank you!" in answer.text
    [exchange] = emulator.calls("oauth.v2.access")
    assert exchange.ok and exchange.token is None  # client credentials went as HTTP Basic, not as a token
    bot = _store(app, emulator).find_bot(enterprise_id=None, team_id=TEAM)
    assert bot is not None
    assert (bot.bot_token, bot.bot_user_id, bot.bot_id) == (emulator.bot_token, BOT_USER, "B0BOT")
    assert bot.bot_scopes == list(BOT_SCOPES)
    installation = _store(app, emulator).find_installation(enterprise_id=None, team_id=TEAM)
    assert installation is not None and installation.user_id == ALICE


def test_a_reused_forged_or_expired_state_gets_an_error_page_not_a_traceback(app, emulator) -> None:
    authorize_url, cookie = _start_install(app)
    back = emulator.oauth.authorize(authorize_url, team=emulator, user=ALICE)
    assert httpx.get(back, headers={"Cookie": cookie}).status_code == 200
    reused = httpx.get(back, headers={"Cookie": cookie})
    no_cookie = httpx.get(back)
    forged = httpx.get(back, headers={"Cookie": "slack-app-oauth-state=forged"})

    authorize_url, cookie = _start_install(app)
    late = emulator.oauth.authorize(authorize_url, team=emulator, user=ALICE)
    states = SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=app.parlance.engine).oauth_states
    with app.parlance.engine.begin() as connection:  # ten minutes later
        connection.execute(update(states).values(expire_at=dt.datetime(2000, 1, 1)))
    expired = httpx.get(late, headers={"Cookie": cookie})

    for response, status, reason in [
        (reused, 401, "invalid_state"),
        (no_cookie, 400, "invalid_browser"),
        (forged, 400, "invalid_browser"),
        (expired, 401, "invalid_state"),
    ]:
        assert response.status_code == status
        assert response.headers["content-type"].startswith("text/html")
        assert "Something Went Wrong" in response.text and f"reason: {reason}" in response.text
        assert 'href="/slack/install"' in response.text  # a way to start again
        assert "Traceback" not in response.text


def test_a_code_slack_refuses_gets_an_error_page(app, emulator) -> None:
    authorize_url, cookie = _start_install(app)
    back = emulator.oauth.authorize(authorize_url, team=emulator, user=ALICE)
    emulator.oauth.expire_codes()
    answer = httpx.get(back, headers={"Cookie": cookie})
    assert answer.status_code == 401 and "reason: invalid_code" in answer.text
    assert _store(app, emulator).find_bot(enterprise_id=None, team_id=TEAM) is None


def test_the_oauth_paths_take_only_get(app) -> None:
    assert httpx.post(f"{app.url}/slack/install").status_code == 405
    assert httpx.post(f"{app.url}/slack/oauth_redirect").json() == {"ok": False, "error": "method_not_allowed"}


# -- answering each workspace as its own bot ----------------------------------------------------------------------
def test_before_its_install_a_workspaces_events_are_acked_and_dropped_quietly(app, emulator, caplog) -> None:
    slack = _sender(app, emulator)
    with caplog.at_level(logging.INFO):
        sent = slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help"))
    assert sent.status == 200
    time.sleep(0.5)
    assert emulator.calls("chat.postMessage") == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_mention_is_answered_in_its_thread_with_that_workspaces_token(app, emulator) -> None:
    _install(app, emulator, emulator, ALICE)
    slack = _sender(app, emulator)
    ts = "1764360000.000100"
    assert slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help", ts=ts)).status == 200
    [reply] = emulator.wait_for("chat.postMessage")
    assert (reply.args["channel"], reply.args["thread_ts"], reply.args["text"]) == (CHANNEL, ts, texts.HELP)
    assert reply.token == emulator.bot_token
    with app.parlance.sessions() as session:  # our reply is history, under this workspace's bot user
        wait_until(
            lambda: any(
                m.is_bot and m.user_id == BOT_USER
                for m in messages.recent_messages(session=session, team_id=TEAM, channel_id=CHANNEL, limit=10)
            )
        )


def test_two_workspaces_side_by_side_each_get_their_own_bot_and_only_their_own_history(
    app, emulator, beta, scripted
) -> None:
    assert _install(app, emulator, emulator, ALICE).status_code == 200
    assert _install(app, emulator, beta, BRUNO).status_code == 200
    alpha_slack, beta_slack = _sender(app, emulator), _sender(app, beta)
    alpha_slack.event(alpha_slack.message_event(CHANNEL, ALICE, "alpha plan: ship the rocket on friday"))
    beta_slack.event(beta_slack.message_event(BETA_CHANNEL, BRUNO, "beta plan: paint the barn blue"))
    scripted.enqueue(*["Sounds good to me."] * 6)

    alpha_ts, beta_ts = "1764360100.000100", "1764360100.000200"
    alpha_slack.event(alpha_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> say hi to the team", ts=alpha_ts))
    beta_slack.event(beta_slack.mention_event(BETA_CHANNEL, BRUNO, f"<@{BETA_BOT}> say hi to the team", ts=beta_ts))

    def finished(team: EmulatedTeam, channel: str, ts: str) -> bool:
        bot = team.identity.bot_user_id
        return any(m["text"] == "Sounds good to me." for m in team.messages(channel, thread_ts=ts) if m["user"] == bot)

    wait_until(lambda: finished(emulator, CHANNEL, alpha_ts) and finished(beta, BETA_CHANNEL, beta_ts))

    # Every call about a channel went out with the token of the workspace the channel is in.
    channel_calls = [c for c in emulator.calls() if c.args.get("channel") in (CHANNEL, BETA_CHANNEL)]
    assert channel_calls and all(c.ok for c in channel_calls)
    for call in channel_calls:
        assert call.token == (emulator.bot_token if call.args["channel"] == CHANNEL else beta.bot_token)
    # Each prompt holds its own workspace's history and names, never the other's.
    prompts = ["\n".join(m.content for m in c.messages) for c in scripted.calls if c.method in ("stream", "complete")]
    [alpha_prompt] = [p for p in prompts if "alpha plan" in p]
    [beta_prompt] = [p for p in prompts if "beta plan" in p]
    assert "beta plan" not in alpha_prompt and "bruno" not in alpha_prompt.lower()
    assert "alpha plan" not in beta_prompt and "alice" not in beta_prompt.lower()
    assert "bruno" in beta_prompt and BRUNO not in beta_prompt  # users.info answered Beta's token with his name

    def bots_stored() -> set[str | None]:  # a reply is stored just after Slack shows it: waited for
        with app.parlance.sessions() as session:
            stored = messages.recent_messages(session=session, team_id=BETA, channel_id=BETA_CHANNEL, limit=20)
        return {m.user_id for m in stored if m.is_bot}

    assert wait_until(bots_stored, what="Beta's reply stored") == {BETA_BOT}
    with app.parlance.sessions() as session:
        assert not messages.recent_messages(session=session, team_id=TEAM, channel_id=BETA_CHANNEL, limit=20)


def test_a_digest_is_posted_by_the_bot_of_the_workspace_that_asked(app, emulator, beta) -> None:
    """Digests run as dispatcher jobs like the clock's, so this covers the scheduled ones too."""
    _install(app, emulator, emulator, ALICE)
    _install(app, emulator, beta, BRUNO)
    beta_slack = _sender(app, beta)
    assert beta_slack.command("/sentiment", "now", user_id=BRUNO, channel_id=BETA_CHANNEL).status == 200
    [post] = emulator.wait_for("chat.postMessage", timeout=15)
    assert post.args["channel"] == BETA_CHANNEL and "not enough messages" in post.args["text"]
    assert post.token == beta.bot_token


# -- tokens revoked, app removed -------------------------------------------------------------------------------
def test_revoked_tokens_remove_the_install_and_the_workspace_is_no_longer_answered(app, emulator, beta, caplog) -> None:
    _install(app, emulator, emulator, ALICE)
    _install(app, emulator, beta, BRUNO)
    beta_slack = _sender(app, beta)
    emulator.revoke(beta)
    with caplog.at_level(logging.INFO):
        assert beta_slack.event(beta_slack.tokens_revoked_event(bot=[BETA_BOT])).status == 200
        assert _store(app, emulator).find_bot(enterprise_id=None, team_id=BETA) is None
        assert _store(app, emulator).find_installation(enterprise_id=None, team_id=BETA) is None
        sent = beta_slack.event(beta_slack.mention_event(BETA_CHANNEL, BRUNO, f"<@{BETA_BOT}> help"))
        assert sent.status == 200
        alpha_slack = _sender(app, emulator)
        alpha_slack.event(alpha_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help"))
        emulator.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == CHANNEL)
        time.sleep(0.5)
    assert _posts_in(emulator, BETA_CHANNEL) == []
    assert [c.token for c in emulator.calls() if c.token == beta.bot_token and c.method != "auth.test"] == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_uninstalling_deletes_the_workspaces_install_messages_and_jobs_and_nothing_else(app, emulator, beta) -> None:
    _install(app, emulator, emulator, ALICE)
    _install(app, emulator, beta, BRUNO)
    alpha_slack, beta_slack = _sender(app, emulator), _sender(app, beta)
    for slack, channel, user, bot in [
        (alpha_slack, CHANNEL, ALICE, BOT_USER),
        (beta_slack, BETA_CHANNEL, BRUNO, BETA_BOT),
    ]:
        slack.event(slack.message_event(channel, user, "a message worth keeping"))
        slack.event(slack.mention_event(channel, user, f"<@{bot}> help"))
    emulator.wait_for("chat.postMessage", count=2)
    sessions = app.parlance.sessions

    def stored(team: str, channel: str) -> tuple[int, int]:
        with sessions() as session:
            found = messages.recent_messages(session=session, team_id=team, channel_id=channel, limit=100)
            return len(found), jobs.count_jobs(session=session, team_id=team, channel_id=channel)

    wait_until(lambda: stored(BETA, BETA_CHANNEL)[0] == 3 and stored(TEAM, CHANNEL)[0] == 3)  # with our replies
    before = stored(TEAM, CHANNEL)

    emulator.revoke(beta)
    assert beta_slack.event(beta_slack.app_uninstalled_event()).status == 200
    assert beta_slack.event(beta_slack.tokens_revoked_event(bot=[BETA_BOT])).status == 200  # Slack sends both
    assert stored(BETA, BETA_CHANNEL) == (0, 0)
    assert _store(app, emulator).find_installation(enterprise_id=None, team_id=BETA) is None
    assert stored(TEAM, CHANNEL) == before
    assert _store(app, emulator).find_bot(enterprise_id=None, team_id=TEAM) is not None

    beta_slack.event(beta_slack.mention_event(BETA_CHANNEL, BRUNO, f"<@{BETA_BOT}> help"))
    alpha_slack.event(alpha_slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> help"))
    emulator.wait_for("chat.postMessage", count=2, where=lambda c: c.args.get("channel") == CHANNEL)
    time.sleep(0.5)
    assert len(_posts_in(emulator, BETA_CHANNEL)) == 1  # only the reply from before the uninstall
    assert stored(BETA, BETA_CHANNEL) == (0, 0)


def test_with_a_single_workspace_an_uninstall_deletes_its_data_and_revoked_tokens_are_acked(
    running_app, slack, emulator
) -> None:
    slack.event(slack.message_event(CHANNEL, ALICE, "remember this"))
    sessions = running_app.parlance.sessions
    with sessions() as session:
        assert messages.recent_messages(session=session, team_id=TEAM, channel_id=CHANNEL, limit=10)
    assert slack.event(slack.tokens_revoked_event()).status == 200
    assert slack.event(slack.app_uninstalled_event()).status == 200
    with sessions() as session:
        assert messages.recent_messages(session=session, team_id=TEAM, channel_id=CHANNEL, limit=10) == []


def test_reinstalling_after_an_uninstall_answers_with_the_new_token(app, emulator, beta) -> None:
    _install(app, emulator, beta, BRUNO)
    old_token = beta.bot_token
    beta_slack = _sender(app, beta)
    emulator.revoke(beta)
    beta_slack.event(beta_slack.app_uninstalled_event())
    assert _install(app, emulator, beta, BRUNO).status_code == 200
    assert beta.bot_token != old_token
    beta_slack.event(beta_slack.mention_event(BETA_CHANNEL, BRUNO, f"<@{BETA_BOT}> help"))
    [reply] = emulator.wait_for("chat.postMessage")
    assert reply.token == beta.bot_token


def test_a_web_process_that_cached_the_old_token_answers_with_the_new_one_after_a_reinstall_elsewhere(
    app, emulator, beta, oauth_settings, scripted
) -> None:
    with serve_app(oauth_settings, model=scripted) as other:  # a second web process on the same database
        _install(app, emulator, beta, BRUNO)
        other_slack = _sender(other, beta)
        other_slack.event(other_slack.mention_event(BETA_CHANNEL, BRUNO, f"<@{BETA_BOT}> help"))
        emulator.wait_for("chat.postMessage")  # `other` now holds Beta's token in its cache
        emulator.revoke(beta)
        _sender(app, beta).event(beta.events.app_uninstalled_event())  # handled by `app`, not by `other`
        assert _install(app, emulator, beta, BRUNO).status_code == 200
        other_slack.event(other_slack.mention_event(BETA_CHANNEL, BRUNO, f"<@{BETA_BOT}> help"))
        [_, again] = emulator.wait_for("chat.postMessage", count=2)
        assert again.token == beta.bot_token
        # The stale token was tried once, refused, and the call made again with the new one.
        assert [c for c in emulator.calls() if c.response.get("error") == "token_revoked"]


# -- the schema and the settings -------------------------------------------------------------------------------
def test_the_migrated_tables_are_the_ones_slack_sdks_stores_expect(engine) -> None:
    expected = MetaData()
    SQLAlchemyInstallationStore.build_installations_table(expected, "slack_installations")
    SQLAlchemyInstallationStore.build_bots_table(expected, "slack_bots")
    SQLAlchemyOAuthStateStore.build_oauth_states_table(expected, "slack_oauth_states")
    ours = {table.name for table in expected.sorted_tables}

    def only_ours(item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        """compare_metadata would also report every other table as missing from `expected`."""
        return (name if kind == "table" else item.table.name) in ours

    with engine.connect() as connection:
        options = {"compare_type": True, "include_object": only_ours}
        differences = compare_metadata(MigrationContext.configure(connection, opts=options), expected)
    assert differences == []


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET is not set"),
        ({"SLACK_CLIENT_SECRET": "s3cret-value"}, "SLACK_CLIENT_ID is not set"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s3cret-value"}, "SLACK_SIGNING_SECRET is not set"),
        (
            {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s3cret-value", "SLACK_BOT_TOKEN": "xoxb-1-2-3"},
            "SLACK_BOT_TOKEN is set together with SLACK_CLIENT_ID",
        ),
        (
            {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "s3cret-value", "SLACK_APP_TOKEN": "xapp-1-2-3"},
            "SLACK_APP_TOKEN (Socket Mode) cannot be used with SLACK_CLIENT_ID",
        ),
    ],
)
def test_oauth_settings_name_what_is_missing_or_conflicting(monkeypatch, variables, expected) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.has_slack_credentials  # python -m bot serves Slack instead of starting local mode
    with pytest.raises(SettingsError) as caught:
        settings.require_slack()
    assert str(caught.value).startswith(expected)


def test_oauth_needs_no_bot_token(monkeypatch) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret-value")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-secret-value")
    settings = load_settings()
    settings.require_slack()
    assert settings.oauth_install and "client-secret-value" not in repr(settings)
