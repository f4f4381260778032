"""`/translate`, the `Translate message` shortcut and flag reactions: find the text, translate it with the
`translate` model role, and deliver it where it was asked for (to the caller, or in the message's thread)."""

from __future__ import annotations

from typing import Any

from bot import texts
from bot.jobs.delivery import Delivery
from bot.jobs.kinds import TranslatePayload
from bot.jobs.model_wait import Waiting
from bot.jobs.runners.deps import RunnerDeps
from bot.jobs.slack_errors import slack_call
from bot.slack.feedback import Skill
from handlers.text.markup import USER
from handlers.translate.languages import LANGUAGES
from handlers.translate.translation import translate
from storage import messages as message_queries
from storage.db import read_session
from storage.jobs import ClaimedJob

PICKER_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "ja", "zh", "ko", "ru", "pl", "sv", "tr", "uk")
_USER_MENTION = USER


class TranslateRunner:
    def __init__(self, deps: RunnerDeps, delivery: Delivery) -> None:
        self.deps = deps
        self.delivery = delivery

    def __call__(self, job: ClaimedJob) -> None:
        payload = TranslatePayload.of(job)
        text = payload.text
        if text is None:
            text = self._source_text(job)
            if text is None:
                self._tell(job, texts.MESSAGE_GONE)
                return
        language = payload.language or self._callers_language(job)
        if language is None:
            self._offer_picker(job)
            return
        if self.deps.model is None:
            self._tell(job, texts.MODEL_NOT_READY)
            return
        result = translate(text, target=language, model=self.deps.model)  # the model away: waited for (`waiting`)
        if not result.ok:
            self._tell(job, result.text)
            return
        name = LANGUAGES[language]
        if payload.deliver == "thread":
            translated = self._without_pings(job, result.text)
            who = self.deps.directory.display_name(job.team_id, payload.user)
            thread_ts = payload.source_thread_ts or self._thread_of(job)
            self.delivery.reply_in_thread(
                job,
                texts.TRANSLATION_IN_THREAD.format(language=name, who=who, text=translated),
                thread_ts=thread_ts,
                feedback=Skill.TRANSLATION,
            )
        else:
            translation = texts.TRANSLATION.format(language=name, text=result.text)
            self.delivery.reply_to_caller(job, translation, feedback=Skill.TRANSLATION)

    # -- where the text comes from -----------------------------------------------------------------------------
    def _source_text(self, job: ClaimedJob) -> str | None:
        """The reacted-to or shortcut message: from storage, else read from Slack (and stored)."""
        payload = TranslatePayload.of(job)
        ts = payload.source_ts
        if ts is None:  # /translate's own text: there is no message
            return None
        with read_session(self.deps.sessions) as session:
            stored = message_queries.get_message(session=session, team_id=job.team_id, channel_id=job.channel_id, ts=ts)
        if stored is not None:
            return stored.text
        message = self._fetch(job.channel_id, ts, payload.source_thread_ts)
        return message.get("text") if message else None

    def _thread_of(self, job: ClaimedJob) -> str | None:
        ts = TranslatePayload.of(job).source_ts
        if ts is None:  # /translate's own text, which is in no thread
            return None
        with read_session(self.deps.sessions) as session:
            stored = message_queries.get_message(session=session, team_id=job.team_id, channel_id=job.channel_id, ts=ts)
        return (stored.thread_ts if stored else None) or ts

    def _fetch(self, channel: str, ts: str, thread_ts: str | None) -> dict[str, Any] | None:
        with slack_call():
            if thread_ts and thread_ts != ts:
                found = self.deps.client.conversations_replies(channel=channel, ts=thread_ts, limit=1000)["messages"]
            else:
                found = self.deps.client.conversations_history(
                    channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
                )["messages"]
        return next((m for m in found if m.get("ts") == ts), None)

    # -- which language --------------------------------------------------------------------------------------
    def _callers_language(self, job: ClaimedJob) -> str | None:
        """The caller's Slack language when it is not English (English speakers are offered a choice)."""
        locale = self.deps.directory.user(job.team_id, TranslatePayload.of(job).user).locale
        code = (locale or "").split("-")[0].lower()
        return code if code in LANGUAGES and code != "en" else None

    def _offer_picker(self, job: ClaimedJob) -> None:
        options = [
            {"text": {"type": "plain_text", "text": LANGUAGES[code]}, "value": code} for code in PICKER_LANGUAGES
        ]
        blocks = [
            {
                "type": "section",
                "block_id": f"{job.channel_id}:{TranslatePayload.of(job).source_ts}",
                "text": {"type": "mrkdwn", "text": texts.PICK_LANGUAGE},
                "accessory": {
                    "type": "static_select",
                    "action_id": "translate_pick",
                    "placeholder": {"type": "plain_text", "text": "Language"},
                    "options": options,
                },
            }
        ]
        self.delivery.reply_to_caller(job, texts.PICK_LANGUAGE, blocks=blocks)

    # -- delivery --------------------------------------------------------------------------------------------
    def waiting(self, job: ClaimedJob) -> Waiting:
        """Notes about the model go where the translation will (`_note`)."""
        return Waiting(tell=lambda text: self._note(job, text))

    def _note(self, job: ClaimedJob, text: str) -> None:
        """A note about the wait, where the translation will go: in the thread it becomes the translation (the
        same message is edited), to the caller it comes before it."""
        payload = TranslatePayload.of(job)
        if payload.deliver == "thread":
            thread_ts = payload.source_thread_ts or self._thread_of(job)
            self.delivery.reply_in_thread(job, text, thread_ts=thread_ts, note=text == texts.MODEL_BUSY)
        else:
            self.delivery.reply_to_caller(job, text)

    def _tell(self, job: ClaimedJob, text: str) -> None:
        """A problem is told to the person who asked, privately, even when the answer would have been public."""
        payload = TranslatePayload.of(job)
        if payload.deliver == "thread" and not payload.response_url:
            self.delivery.tell_privately(job, text, thread_ts=self._thread_of(job))
            return
        self.delivery.reply_to_caller(job, text)

    def _without_pings(self, job: ClaimedJob, text: str) -> str:
        """A translation posted for everyone must not ping again the people the original mentioned."""
        return _USER_MENTION.sub(lambda m: "@" + self.deps.directory.display_name(job.team_id, m.group(1)), text)
