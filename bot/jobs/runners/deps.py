"""What every runner is handed: the Slack client, the database, who the bot is, names and links, the model, and
the settings that shape the answers. Built once in bot/app.py; runners only read it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.model.client import ModelClient
from bot.slack.directory import Directory
from bot.slack.teams import Teams, current_team
from storage.messages import slack_ts


@dataclass(frozen=True)
class RunnerDeps:
    client: WebClient
    sessions: sessionmaker[Session]
    teams: Teams  # who the bot is in each workspace; `bot_user_id` is its id in the one the job acts for
    directory: Directory
    model: ModelClient | None = None  # None when no model is configured
    summary_model_writes: bool = False  # SUMMARY_MODEL_WRITES: worth it with a capable model only
    retention_days: int | None = None  # RETENTION_DAYS: nothing older is read back from Slack either
    model_wait: dt.timedelta = dt.timedelta(seconds=600)  # MODEL_WAIT_SECONDS: how long a request waits for the model
    native_streaming: bool = True  # NATIVE_STREAMING: replies in threads stream through Slack's chat.*Stream

    @property
    def bot_user_id(self) -> str | None:
        return self.teams.bot_user_id(current_team.get())

    def oldest_kept_ts(self) -> str | None:
        """The Slack ts before which messages are purged (None: kept forever), so reading history from Slack
        never brings back what retention deleted."""
        if self.retention_days is None:
            return None
        return slack_ts(dt.datetime.now(dt.UTC) - dt.timedelta(days=self.retention_days))
