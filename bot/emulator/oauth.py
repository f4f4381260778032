"""Slack's side of the OAuth v2 install: the consent screen and oauth.v2.access.

A person who follows the app's install link lands on slack.com's consent screen; when they allow it, Slack sends
their browser back to the app's redirect URL with a one-time `code` and the app's `state`, and the app trades the
code for the workspace's bot token with oauth.v2.access. Tests play the browser: they take the authorize URL the
app redirected to, call `authorize()` (the click on Allow) and follow the URL it returns.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bot.emulator.answers import Answer, error, ok, text_arg
from bot.emulator.teams import EmulatedTeam, TeamRegistry

AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
CODE_SECONDS = 600  # Slack's codes expire after ten minutes, and work once


class ConsentError(ValueError):
    """What Slack's consent screen would show instead of sending the browser back to the app."""


@dataclass
class _Grant:
    team: EmulatedTeam
    user_id: str
    scopes: list[str]
    redirect_uri: str | None  # as given in the authorize URL; oauth.v2.access must then repeat it
    expires_at: float
    used: bool = False


@dataclass
class OAuthApp:
    """The app's credentials as Slack knows them (Basic Information page) and its configured redirect URLs."""

    client_id: str
    client_secret: str
    app_id: str
    teams: TeamRegistry
    redirect_urls: list[str] = field(default_factory=list)
    _grants: dict[str, _Grant] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def authorize(self, url: str, *, team: EmulatedTeam, user: str) -> str:
        """`user` of `team` allows the install that `url` asks for; returns where Slack sends the browser next."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}{parts.path}" != AUTHORIZE_URL:
            raise ConsentError(f"not Slack's authorize URL: {parts.scheme}://{parts.netloc}{parts.path}")
        query = {key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        if query.get("client_id") != self.client_id:
            raise ConsentError("invalid_client_id")
        scopes = [scope for scope in query.get("scope", "").split(",") if scope]
        if not scopes and not query.get("user_scope"):
            raise ConsentError("invalid_scope: the app asked for no scopes")
        given = query.get("redirect_uri") or None
        if given is not None and not any(given.startswith(allowed) for allowed in self.redirect_urls):
            raise ConsentError("bad_redirect_uri: not under any of the app's redirect URLs")
        redirect = given or (self.redirect_urls[0] if self.redirect_urls else None)
        if redirect is None:
            raise ConsentError("the app has no redirect URL: set one with emulator.oauth.redirect_urls")
        self.teams.fresh_token_if_revoked(team)
        code = f"{int(time.time())}.{secrets.token_hex(16)}"
        with self._lock:
            self._grants[code] = _Grant(team, user, scopes, given, time.time() + CODE_SECONDS)
        back = {"code": code, "state": query.get("state", "")}
        return redirect + ("&" if "?" in redirect else "?") + urlencode(back)

    def expire_codes(self) -> None:
        """As if ten minutes went by: every code handed out so far stops working."""
        with self._lock:
            for grant in self._grants.values():
                grant.expires_at = 0.0

    def access(self, args: dict[str, Any], headers: dict[str, str]) -> Answer:
        """oauth.v2.access: client credentials (HTTP Basic or form fields), then the code, then the redirect URI."""
        client_id, client_secret = _basic_credentials(headers.get("authorization", ""))
        client_id = client_id or text_arg(args, "client_id")
        client_secret = client_secret or text_arg(args, "client_secret")
        if client_id != self.client_id:
            return error("invalid_client_id")
        if not secrets.compare_digest(client_secret.encode(), self.client_secret.encode()):
            return error("bad_client_secret")
        if text_arg(args, "grant_type") not in ("", "authorization_code"):
            return error("invalid_grant_type")
        with self._lock:
            grant = self._grants.get(text_arg(args, "code"))
            if grant is None or grant.used or grant.expires_at < time.time():
                return error("invalid_code")
            if grant.redirect_uri is not None and text_arg(args, "redirect_uri") != grant.redirect_uri:
                return error("bad_redirect_uri")
            grant.used = True
        me = grant.team.identity
        return ok(
            access_token=grant.team.bot_token,
            token_type="bot",
            scope=",".join(grant.scopes),
            bot_user_id=me.bot_user_id,
            app_id=self.app_id,
            team={"id": me.team_id, "name": me.team_name},
            enterprise=None,
            is_enterprise_install=False,
            authed_user={"id": grant.user_id},
        )


def _basic_credentials(header: str) -> tuple[str, str]:
    if not header.lower().startswith("basic "):
        return "", ""
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, client_secret = decoded.partition(":")
    return client_id, client_secret
