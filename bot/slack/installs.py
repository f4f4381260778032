"""Installing Parlance in several workspaces through Slack OAuth, and forgetting a workspace that removes it.

With SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set, Bolt's own OAuth flow serves /slack/install and
/slack/oauth_redirect, and slack_sdk's SQLAlchemy stores keep installs and OAuth states in our database (tables
made by migration 0005, never by the stores). Bolt then authorizes each request with that workspace's bot token;
jobs find theirs through `InstalledTeams` (bot/slack/teams.py).

Slack sends `tokens_revoked` and `app_uninstalled` in both modes, and only one listener can take an event, so both
are handled here: the revoked tokens leave the store, and an uninstall also deletes everything stored about the
workspace (storage.forgetting.forget_team).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import Settings
from bot.slack.team_id import UNKNOWN_TEAM, team_id_of
from bot.slack.teams import InstalledTeams
from storage.forgetting import forget_team

logger = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600  # an install link works for ten minutes, once
INSTALL_EVENTS = ("tokens_revoked", "app_uninstalled")

# The bot scopes an install asks for; manifest.yml lists the same (tests/unit/test_manifest.py keeps them in step).
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "im:history",
    "reactions:read",
    "chat:write",
    "commands",
    "users:read",
    "files:write",
    "files:read",
    "channels:read",
    "assistant:write",
)


@dataclass
class OAuthInstalls:
    """What the OAuth mode adds to the app: Bolt's settings and authorize over our stores, and the teams' bots."""

    oauth_settings: OAuthSettings
    authorize: InstallationStoreAuthorize
    store: SQLAlchemyInstallationStore
    teams: InstalledTeams

    @classmethod
    def create(
        cls, settings: Settings, *, engine: Engine, client: WebClient, bolt_logger: logging.Logger
    ) -> OAuthInstalls:
        """`client` talks to SLACK_API_URL: oauth.v2.access and auth.test go there (the emulator, in tests), while
        people are sent to slack.com's own authorize page. `bolt_logger` is the Bolt app's."""
        assert settings.slack_client_id is not None and settings.slack_client_secret is not None
        client_id, client_secret = settings.slack_client_id, settings.slack_client_secret.get_secret_value()
        store = SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=bolt_logger)
        oauth_settings = OAuthSettings(
            client_id=client_id,
            client_secret=client_secret,
            scopes=list(BOT_SCOPES),
            user_scopes=[],
            install_path=INSTALL_PATH,
            install_page_rendering_enabled=False,  # the install link goes straight to Slack's consent screen
            redirect_uri_path=REDIRECT_PATH,
            installation_store=store,
            state_store=SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine, logger=bolt_logger),
            state_expiration_seconds=STATE_SECONDS,
            logger=bolt_logger,
        )
        # Bolt's default authorize calls auth.test on every request; with the cache it does so once per token. An
        # uninstalled team's token is never reused: the store is read first, on every request.
        authorize = InstallationStoreAuthorize(
            logger=bolt_logger,
            installation_store=store,
            client_id=client_id,
            client_secret=client_secret,
            cache_enabled=True,
            client=client,
        )
        return cls(oauth_settings=oauth_settings, authorize=authorize, store=store, teams=InstalledTeams(store, client))

    def ignore_removed_teams(
        self, body: dict[str, Any], context: BoltContext, next_: Callable[[], BoltResponse], logger: logging.Logger
    ) -> BoltResponse:
        """Bolt's before_authorize: a request from a workspace without an install (events still in flight after
        an uninstall) is acked and dropped here, instead of Bolt logging an error for each."""
        team_id = context.team_id
        if team_id is None or (body.get("event") or {}).get("type") in INSTALL_EVENTS:
            return next_()
        if self.teams.is_installed(team_id):
            return next_()
        logger.info("ignored a request from team %s, where the app is not installed", team_id)
        return BoltResponse(status=200, body="")


def register_install_listeners(app: App, *, sessions: sessionmaker[Session], installs: OAuthInstalls | None) -> None:
    """`installs` is None with a single workspace (SLACK_BOT_TOKEN): there is no store, but an uninstall still
    deletes the workspace's data."""
    listeners = InstallListeners(sessions=sessions, installs=installs)
    app.event("tokens_revoked")(listeners.on_tokens_revoked)
    app.event("app_uninstalled")(listeners.on_app_uninstalled)


class InstallListeners:
    def __init__(self, *, sessions: sessionmaker[Session], installs: OAuthInstalls | None) -> None:
        self._sessions = sessions
        self._installs = installs

    def on_tokens_revoked(self, event: dict[str, Any], context: BoltContext, logger: logging.Logger) -> None:
        """A revoked bot token takes the team's installs with it: they hold nothing else we use (no user scopes
        are asked for). Revoked user tokens remove only those users' installs."""
        team_id, tokens = team_id_of(context), event.get("tokens") or {}
        users, bots = list(tokens.get("oauth") or []), list(tokens.get("bot") or [])
        logger.info("tokens revoked in team %s: %d bot, %d user", team_id, len(bots), len(users))
        if self._installs is None or team_id == UNKNOWN_TEAM:
            return
        store = self._installs.store
        for user_id in users:
            store.delete_installation(enterprise_id=context.enterprise_id, team_id=team_id, user_id=user_id)
        if bots:
            store.delete_all(enterprise_id=context.enterprise_id, team_id=team_id)
        self._installs.teams.forget(team_id)

    def on_app_uninstalled(self, context: BoltContext, logger: logging.Logger) -> None:
        """The install goes first, so nothing new is taken from the team while its data is being deleted."""
        team_id = team_id_of(context)
        if team_id == UNKNOWN_TEAM:
            return
        if self._installs is not None:
            self._installs.store.delete_all(enterprise_id=context.enterprise_id, team_id=team_id)
            self._installs.teams.forget(team_id)
        with self._sessions.begin() as session:
            forgotten = forget_team(session=session, team_id=team_id)
        logger.info("app uninstalled from team %s: its data is deleted (%d messages)", team_id, forgotten)
