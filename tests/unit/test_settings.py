"""Start-up settings: a wrong or missing value stops the bot with one line that names the variable."""

import subprocess
import sys

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///parlance.db"
    assert settings.port == 3000
    assert settings.host == "127.0.0.1"
    assert not settings.has_slack_credentials


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN must be a bot token"),
        ("SLACK_BOT_TOKEN", "changeme", "SLACK_BOT_TOKEN still holds a placeholder"),
        ("SLACK_APP_TOKEN", "xoxb-not-an-app-token", "SLACK_APP_TOKEN must be an app-level token"),
        ("PORT", "eighty", "PORT Input should be a valid integer"),
        ("PORT", "70000", "PORT Input should be less than or equal to 65535"),
        ("DATABASE_URL", "mysql://root@localhost/db", "DATABASE_URL only sqlite"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL must be an http"),
    ],
)
def test_malformed_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(expected)


def test_missing_signing_secret_is_named_when_slack_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-3")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET is not set"):
        load_settings().require_slack()


def test_socket_mode_needs_no_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-3")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-2-3")
    settings = load_settings()
    settings.require_slack()
    assert settings.socket_mode


def test_plain_postgresql_url_uses_the_installed_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1/test")
    assert load_settings().database_url == "postgresql+psycopg://postgres@127.0.0.1/test"


def test_dotenv_file_is_read(tmp_path) -> None:
    (tmp_path / ".env").write_text("PORT=4321\n")
    assert load_settings().port == 4321


def test_bad_setting_stops_start_up_with_one_line_and_no_traceback(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "web"],
        env={"PATH": "/usr/bin:/bin", "PORT": "eighty"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "parlance: configuration error: PORT Input should be a valid integer, unable to parse string as an integer"
    ]


def test_secrets_never_appear_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cr3t-value")
    shown = repr(load_settings()) + str(load_settings())
    assert "xoxb-very-secret" not in shown
    assert "s3cr3t-value" not in shown
