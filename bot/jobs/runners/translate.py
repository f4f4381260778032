"""`/translate`, the `Translate message` shortcut and flag reactions: find the text, translate it with the
`translate` model role, and deliver it where it was asked for (to the caller, or in the message's thread)."""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import texts
from bot.jobs.runners.context import SLACK_FAILURES, RunnerContext, classify_slack_error
from bot.model.client import ModelBusy, ModelUnavailable
from bot.slack import delivery as slack_io
from handlers.translate.languages import LANGUAGES
from handlers.translate.translation import translate
from storage import messages as message_queries
from storage.jobs import ClaimedJob

PICKER_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "ja", "zh", "ko", "ru", "pl", "sv", "tr", "uk")
_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


class TranslateRunner:
    def __init__(self, ctx: RunnerContext) -> None:
        self.ctx = ctx

    def __call__(self, job: ClaimedJob) -> None:
        payload = job.payload
        text = payload.get("text")
        if text is None:
            text = self._source_text(job)
            if text is None:
                self._tell(job, texts.MESSAGE_GONE)
                return
        language = payload.get("language") or self._callers_language(job)
        if language is None:
            self._offer_picker(job)
            return
        if self.ctx.model is None:
            self._tell(job, texts.MODEL_NOT_READY)
            return
        try:
            result = translate(text, target=language, model=self.ctx.model)
        except (ModelUnavailable, ModelBusy) as exc:
            raise self.ctx.wait_for_model(job, exc, tell=lambda note: self._note(job, note)) from exc
        if not result.ok:
            self._tell(job, result.text)
            return
        name = LANGUAGES[language]
        if payload.get("deliver") == "thread":
            translated = self._without_pings(job, result.text)
            who = self.ctx.name(job.team_id, payload.get("user"))
            thread_ts = payload.get("source_thread_ts") or self._thread_of(job)
            self.ctx.reply_in_thread(
                job, texts.TRANSLATION_IN_THREAD.format(language=name, who=who, text=translated), thread_ts=thread_ts
            )
        else:
            self.ctx.reply_to_caller(job, texts.TRANSLATION.format(language=name, text=result.text))

    # -- where the text comes from -----------------------------------------------------------------------------
    def _source_text(self, job: ClaimedJob) -> str | None:
        """The reacted-to or shortcut message: from storage, else read from Slack (and stored)."""
        ts = job.payload["source_ts"]
        with self.ctx.sessions() as session:
            stored = message_queries.get_message(session=session, team_id=job.team_id, channel_id=job.channel_id, ts=ts)
        if stored is not None:
            return stored.text
        message = self._fetch(job.channel_id, ts, job.payload.get("source_thread_ts"))
        return message.get("text") if message else None

    def _thread_of(self, job: ClaimedJob) -> str:
        ts = job.payload["source_ts"]
        with self.ctx.sessions() as session:
            stored = message_queries.get_message(session=session, team_id=job.team_id, channel_id=job.channel_id, ts=ts)
        return (stored.thread_ts if stored else None) or ts

    def _fetch(self, channel: str, ts: str, thread_ts: str | None) -> dict[str, Any] | None:
        try:
            if thread_ts and thread_ts != ts:
                found = self.ctx.client.conversations_replies(channel=channel, ts=thread_ts, limit=1000)["messages"]
            else:
                found = self.ctx.client.conversations_history(
                    channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
                )["messages"]
        except SLACK_FAILURES as exc:
            raise classify_slack_error(exc) from exc
        return next((m for m in found if m.get("ts") == ts), None)

    # -- which language --------------------------------------------------------------------------------------
    def _callers_language(self, job: ClaimedJob) -> str | None:
        """The caller's Slack language when it is not English (English speakers are offered a choice)."""
        try:
            user = self.ctx.client.users_info(user=job.payload["user"], include_locale=True)["user"]
        except SlackApiError:
            return None
        code = (user.get("locale") or "").split("-")[0].lower()
        return code if code in LANGUAGES and code != "en" else None

    def _offer_picker(self, job: ClaimedJob) -> None:
        options = [
            {"text": {"type": "plain_text", "text": LANGUAGES[code]}, "value": code} for code in PICKER_LANGUAGES
        ]
        blocks = [
            {
                "type": "section",
                "block_id": f"{job.channel_id}:{job.payload['source_ts']}",
                "text": {"type": "mrkdwn", "text": texts.PICK_LANGUAGE},
                "accessory": {
                    "type": "static_select",
                    "action_id": "translate_pick",
                    "placeholder": {"type": "plain_text", "text": "Language"},
                    "options": options,
                },
            }
        ]
        self.ctx.reply_to_caller(job, texts.PICK_LANGUAGE, blocks=blocks)

    # -- delivery --------------------------------------------------------------------------------------------
    def _note(self, job: ClaimedJob, text: str) -> None:
        """A note about the wait, where the translation will go: in the thread it becomes the translation (the
        same message is edited), to the caller it comes before it."""
        if job.payload.get("deliver") == "thread":
            thread_ts = job.payload.get("source_thread_ts") or self._thread_of(job)
            self.ctx.reply_in_thread(job, text, thread_ts=thread_ts, note=text == texts.MODEL_BUSY)
        else:
            self.ctx.reply_to_caller(job, text)

    def _tell(self, job: ClaimedJob, text: str) -> None:
        """A problem is told to the person who asked, privately, even when the answer would have been public."""
        if job.payload.get("deliver") == "thread" and not job.payload.get("response_url"):
            slack_io.respond_ephemeral(
                client=self.ctx.client,
                response_url=None,
                channel=job.channel_id,
                user=job.payload.get("user") or "",
                text=text,
                thread_ts=self._thread_of(job),
            )
            return
        self.ctx.reply_to_caller(job, text)

    def _without_pings(self, job: ClaimedJob, text: str) -> str:
        """A translation posted for everyone must not ping again the people the original mentioned."""
        return _USER_MENTION.sub(lambda m: "@" + self.ctx.name(job.team_id, m.group(1)), text)
