"""Every kind of job and what its payload holds: the contract between the listeners that record jobs and the
runners that do them.

A payload travels as JSON in `jobs.payload`, from a listener (or the clock) through the queue to a runner. Each kind
has one frozen pydantic model that forbids unknown fields, so a field written under one name and read under another
fails where the job is recorded (bot/jobs/enqueue.py) or claimed (bot/jobs/dispatch.py), not halfway through a
runner. The stored shape is the one rows already in a database have: the same keys, optional fields still optional,
and keys that older versions wrote but nothing reads (`retired`) dropped when such a row is read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

if TYPE_CHECKING:
    from storage.jobs import ClaimedJob


class JobKind(StrEnum):
    """What a job does, spelled as `jobs.kind` stores it."""

    HELP = "help"  # a message for the bot that asks for help: the usage text, in its thread
    MENTION = "mention"  # a mention, a DM or a follow-up in the bot's thread: an answer, in the thread
    SUMMARIZE = "summarize"  # /summarize and the Summarize thread shortcut: a summary for the caller
    TRANSLATE = "translate"  # /translate, the Translate message shortcut, its language picker, flag reactions
    SENTIMENT_COMMAND = "sentiment_command"  # /sentiment daily|weekly|status: they need the caller's time zone
    SENTIMENT_HOME = "sentiment_home"  # the App Home tab was opened: publish the channels' trends
    SENTIMENT_DIGEST = "sentiment_digest"  # a claimed digest to post (the clock, or /sentiment now)
    AGENT_THREAD = "agent_thread"  # someone opened a thread in the bot's Messages tab: suggest what to ask


class InvalidPayload(ValueError):
    """A payload that is not its kind's. The message names the fields and what is wrong with them, never their
    values: payloads hold message text, which is not logged."""


class JobPayload(BaseModel):
    """What every payload model shares: frozen, no unknown fields, and its kind, so a payload cannot be queued
    under another kind's name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ClassVar[JobKind]
    retired: ClassVar[frozenset[str]] = frozenset()  # keys older versions wrote and nothing reads

    @model_validator(mode="before")
    @classmethod
    def _drop_retired(cls, data: Any) -> Any:
        """Jobs queued by an older version still run: the keys it wrote that are no longer read are dropped."""
        if cls.retired and isinstance(data, Mapping):
            return {key: value for key, value in data.items() if key not in cls.retired}
        return data

    @classmethod
    def of(cls, job: ClaimedJob) -> Self:
        """The typed payload of a claimed job, for its runner (the dispatcher checked it before the runner ran)."""
        payload = payload_for(job.kind, job.payload)
        if not isinstance(payload, cls):
            raise InvalidPayload(f"job {job.id} is a {job.kind!r} job, not a {cls.kind.value!r} one")
        return payload

    def stored(self) -> dict[str, Any]:
        """The JSON object kept in `jobs.payload`."""
        return self.model_dump(mode="json")


class MentionPayload(JobPayload):
    """A message meant for the bot (a mention, a DM, a follow-up in a thread it took part in), answered in its
    thread. `text` is the request with the bot's mention taken out."""

    kind = JobKind.MENTION

    ts: str
    thread_ts: str | None = None  # None: a top-level DM, answered at the top level
    user: str
    text: str
    stop_requested: bool = False  # the asker pressed Slack's stop button (storage.jobs.request_stop)

    def stored(self) -> dict[str, Any]:
        """As rows have always held it: the stop mark only once someone pressed stop."""
        data = super().stored()
        if not data.get("stop_requested"):
            data.pop("stop_requested", None)
        return data


class HelpPayload(MentionPayload):
    """A message for the bot whose request is "", "help" or "?": the same fields, answered with the usage text."""

    kind = JobKind.HELP


class SummarizePayload(JobPayload):
    """A summary for the caller (or the channel, when `public`): one thread, or the channel's last `limit`
    messages, or those since `since`."""

    kind = JobKind.SUMMARIZE
    retired = frozenset({"thread_channel"})  # the thread's channel, which is always the job's own

    user: str
    response_url: str | None = None
    public: bool = False
    span: str  # how the reply names what was summarized: "thread", "last 24h", "today (UTC)"…
    thread_ts: str | None = None
    limit: int | None = None
    since: dt.datetime | None = None


# Where a translation goes. "thread": in the source message's thread, for everyone (flag reactions). "ephemeral": to
# the caller alone, through the request's response_url (/translate, the shortcut and its picker).
Delivery = Literal["thread", "ephemeral"]


class TranslatePayload(JobPayload):
    """A translation of `text` (/translate) or of the message at `source_ts` (the shortcut, the picker, a flag
    reaction) into `language`; no language means the caller's own, or a picker when that is English."""

    kind = JobKind.TRANSLATE

    user: str
    response_url: str | None = None
    language: str | None = None
    text: str | None = None
    source_ts: str | None = None
    source_thread_ts: str | None = None  # the source's thread when the request said (the shortcut does)
    deliver: Delivery = "ephemeral"  # rows from /translate never said: theirs went to the caller

    @model_validator(mode="after")
    def _has_something_to_translate(self) -> Self:
        if self.text is None and self.source_ts is None:
            raise ValueError("a translation needs `text` or `source_ts`")
        if self.deliver == "thread" and self.source_ts is None:
            raise ValueError("a translation delivered in a thread needs the `source_ts` of its message")
        return self


class SentimentCommandPayload(JobPayload):
    """`/sentiment daily|weekly [day] [time]` or `/sentiment status`, answered to the caller once their time zone
    is known; `at` and `weekday` are in the caller's local time."""

    kind = JobKind.SENTIMENT_COMMAND

    user: str
    response_url: str | None = None
    action: Literal["daily", "weekly", "status"]
    weekday: int | None = None  # 0 = Monday
    at: dt.time | None = None


class SentimentHomePayload(JobPayload):
    """The App Home tab `user` opened, to publish the channels' trends on."""

    kind = JobKind.SENTIMENT_HOME

    user: str


class SentimentDigestPayload(JobPayload):
    """The digest row (sentiment_digests) to post; the row says the channel's period. `user` asked for it with
    `/sentiment now` and hears, privately, if it has to wait or cannot be made; None: the clock's."""

    kind = JobKind.SENTIMENT_DIGEST

    digest_id: int
    user: str | None = None
    response_url: str | None = None


class AgentThreadPayload(JobPayload):
    """A thread `user` opened with the bot (assistant_thread_started), in the job's DM channel, for the prompts
    the bot suggests there."""

    kind = JobKind.AGENT_THREAD

    user: str
    thread_ts: str


PAYLOADS: Mapping[str, type[JobPayload]] = {
    model.kind: model
    for model in (
        HelpPayload,
        MentionPayload,
        SummarizePayload,
        TranslatePayload,
        SentimentCommandPayload,
        SentimentHomePayload,
        SentimentDigestPayload,
        AgentThreadPayload,
    )
}


def payload_for(kind: str, data: Mapping[str, Any]) -> JobPayload:
    """The typed payload of a stored job; InvalidPayload when the kind is unknown or the data is not its kind's."""
    model = PAYLOADS.get(kind)
    if model is None:
        raise InvalidPayload(f"there is no job kind {kind!r}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}" for error in exc.errors()
        )
        raise InvalidPayload(f"a {kind} payload that does not validate ({problems})") from None
