"""Parlance's settings: one pydantic-settings class, read once from the environment and `.env`.

The public names (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, SLACK_API_URL, DATABASE_URL, PORT,
MODEL_URL) are a contract with deploy scripts, so they are spelled out as aliases rather than derived.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///parlance.db"
DEFAULT_MODEL_URL = "http://127.0.0.1:8081/v1"

_CONVERSATION_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
ALLOW_DIRECT_MESSAGES = "DM"  # in ALLOWED_CHANNELS: every direct message with the bot, whatever its id


def channel_allowed(allowed: frozenset[str] | None, channel_id: str) -> bool:
    """Whether ALLOWED_CHANNELS (as `Settings.allowed_channel_ids`: None is everywhere) lets the bot work in a
    conversation."""
    if allowed is None or channel_id in allowed:
        return True
    return channel_id.startswith("D") and ALLOW_DIRECT_MESSAGES in allowed


_PLACEHOLDERS = {"changeme", "changethis", "xoxb-your-token", "xapp-your-token", "your-signing-secret", "..."}


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable and how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default=DEFAULT_SLACK_API_URL, validation_alias="SLACK_API_URL")
    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    host: str = Field(default="127.0.0.1", validation_alias="HOST")
    port: int = Field(default=3000, ge=0, le=65535, validation_alias="PORT")
    model_url: str | None = Field(default=None, validation_alias="MODEL_URL")
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    web_threads: int = Field(default=16, ge=1, le=256, validation_alias="WEB_THREADS")
    job_threads: int = Field(default=4, ge=1, le=64, validation_alias="JOB_THREADS")
    job_lease_seconds: int = Field(default=300, ge=5, validation_alias="JOB_LEASE_SECONDS")
    jobs_in_web: bool = Field(default=True, validation_alias="JOBS_IN_WEB")
    """Whether `python -m bot web` runs jobs itself; false where `python -m bot jobs` processes run them, so the
    jobs' Python work never shares the Slack-facing process's GIL (the Procfile does that)."""
    job_poll_seconds: float = Field(default=1.0, gt=0, le=60, validation_alias="JOB_POLL_SECONDS")
    """How often an idle dispatcher looks for due jobs (a read; no write lock). In the web process an ack wakes it
    at once; a `jobs` process is woken by nothing else, so there it defaults to 0.1 s."""
    summary_model_writes: bool = Field(default=False, validation_alias="SUMMARY_MODEL_WRITES")
    max_request_bytes: int = Field(default=1_048_576, ge=1024, validation_alias="MAX_REQUEST_BYTES")
    # Multi-workspace install through Slack OAuth: with both set, tokens come from the installation store
    # (one per workspace) instead of SLACK_BOT_TOKEN.
    slack_client_id: str | None = Field(default=None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_CLIENT_SECRET")
    # Stored messages older than this many days are purged on a schedule; unset keeps history forever.
    retention_days: int | None = Field(default=None, ge=1, le=36500, validation_alias="RETENTION_DAYS")
    # How long a request waits for a busy or unreachable model before the user is told it gave up.
    model_wait_seconds: int = Field(default=600, ge=10, le=86400, validation_alias="MODEL_WAIT_SECONDS")
    # The longest an orderly stop on SIGTERM/SIGINT takes; the default fits inside the 30 s that Kubernetes and
    # Heroku wait before they SIGKILL.
    shutdown_seconds: int = Field(default=25, ge=3, le=3600, validation_alias="SHUTDOWN_SECONDS")
    # Comma-separated channel ids (C…, G…; `dm` for direct messages) the bot works in; empty: everywhere. Elsewhere
    # it says once that it is not enabled there, and stores nothing (bot/slack/access.py).
    allowed_channels: str = Field(default="", validation_alias="ALLOWED_CHANNELS")
    # Replies in threads stream through Slack's chat.startStream / appendStream / stopStream; off (or where a
    # workspace refuses them) they are posted and edited as the model writes.
    native_streaming: bool = Field(default=True, validation_alias="NATIVE_STREAMING")

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "slack_client_id",
        "slack_client_secret",
        "retention_days",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _reject_placeholder(value)
            if not value.get_secret_value().startswith("xoxb-"):
                raise ValueError("must be a bot token starting with 'xoxb-' (OAuth & Permissions page)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _reject_placeholder(value)
            if not value.get_secret_value().startswith("xapp-"):
                raise ValueError("must be an app-level token starting with 'xapp-' (Basic Information page)")
        return value

    @field_validator("slack_signing_secret", "slack_client_secret")
    @classmethod
    def _signing_secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _reject_placeholder(value)
        return value

    @field_validator("slack_api_url", "model_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value if value.endswith("/") or "/v1" in value else value + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("must be a SQLAlchemy URL such as sqlite:///parlance.db") from exc
        if url.get_backend_name() not in {"sqlite", "postgresql"}:
            raise ValueError("only sqlite:// and postgresql+psycopg:// URLs are supported")
        if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
            # Plain postgresql:// would pick psycopg2, which we do not ship; psycopg 3 is installed.
            return value.replace("postgresql://", "postgresql+psycopg://", 1)
        return value

    @field_validator("allowed_channels")
    @classmethod
    def _allowed_channels(cls, value: str) -> str:
        ids = []
        for item in (part.strip() for part in value.replace(";", ",").replace(" ", ",").split(",")):
            if not item:
                continue
            if item.upper() == ALLOW_DIRECT_MESSAGES:
                ids.append(ALLOW_DIRECT_MESSAGES)
            elif _CONVERSATION_ID.match(item):
                ids.append(item)
            else:
                raise ValueError(
                    f"must list channel ids such as C0123ABCD (in Slack: the channel's details, at the bottom), "
                    f"separated by commas, or `dm` for direct messages; `{item[:40]}` is not one"
                )
        return ",".join(dict.fromkeys(ids))

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return upper

    @property
    def has_slack_credentials(self) -> bool:
        """Whether a real Slack workspace is configured; without one `python -m bot` starts local mode."""
        return (
            self.slack_bot_token is not None
            or self.slack_signing_secret is not None
            or self.slack_client_id is not None
            or self.slack_client_secret is not None
        )

    @property
    def allowed_channel_ids(self) -> frozenset[str] | None:
        """The conversations the bot works in (ALLOWED_CHANNELS); None when it works everywhere."""
        return frozenset(self.allowed_channels.split(",")) if self.allowed_channels else None

    @property
    def oauth_install(self) -> bool:
        """Installed in several workspaces through Slack OAuth: each one's token comes from its install."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require_slack(self) -> None:
        """Checks that the settings needed to talk to Slack are all present, naming the first one missing."""
        if self.slack_client_id is not None or self.slack_client_secret is not None:
            self._require_oauth_install()
            return
        if self.slack_bot_token is None:
            raise SettingsError(
                "SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-…) from your Slack app's "
                "OAuth & Permissions page"
            )
        if self.slack_signing_secret is None and not self.socket_mode:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set: copy it from your Slack app's Basic Information page "
                "(or set SLACK_APP_TOKEN to use Socket Mode)"
            )

    def _require_oauth_install(self) -> None:
        if self.slack_client_id is None or self.slack_client_secret is None:
            missing = "SLACK_CLIENT_ID" if self.slack_client_id is None else "SLACK_CLIENT_SECRET"
            raise SettingsError(
                f"{missing} is not set: installing in several workspaces needs both SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET (your Slack app's Basic Information page, App Credentials)"
            )
        if self.slack_bot_token is not None:
            raise SettingsError(
                "SLACK_BOT_TOKEN is set together with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: with those, each "
                "workspace's token comes from its install at /slack/install; unset SLACK_BOT_TOKEN"
            )
        if self.socket_mode:
            raise SettingsError(
                "SLACK_APP_TOKEN (Socket Mode) cannot be used with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: "
                "installing in several workspaces needs the HTTP paths /slack/install and /slack/oauth_redirect; "
                "unset SLACK_APP_TOKEN"
            )
        if self.slack_signing_secret is None:
            raise SettingsError("SLACK_SIGNING_SECRET is not set: copy it from your Slack app's Basic Information page")


_ALIASES = {
    name: field.validation_alias
    for name, field in Settings.model_fields.items()
    if isinstance(field.validation_alias, str)  # every field has one, spelled out above
}


def _reject_placeholder(value: SecretStr) -> None:
    if value.get_secret_value().strip().lower() in _PLACEHOLDERS:
        raise ValueError("still holds a placeholder value; paste the real one")


def load_settings(**overrides: Any) -> Settings:
    """Reads the settings, turning pydantic's report into one line that names the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise settings_error(exc, _ALIASES) from None


def settings_error(exc: ValidationError, aliases: dict[str, str] | None = None) -> SettingsError:
    """pydantic's report on any settings class (the worker's too) as one line naming the first bad variable,
    so every process stops on a bad setting the same way."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "settings"
    name = (aliases or {}).get(field, field.upper())
    message = first["msg"].removeprefix("Value error, ")
    return SettingsError(message if message.startswith(name) else f"{name} {message}")


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing the environment."""
    return load_settings()


def exit_on_settings_error(exc: SettingsError) -> None:
    """Stops start-up with one readable line instead of a traceback."""
    print(f"parlance: configuration error: {exc}", file=sys.stderr)
    raise SystemExit(2)
