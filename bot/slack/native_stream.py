"""Streaming a reply with Slack's own text streaming: chat.startStream, chat.appendStream and chat.stopStream,
through slack_sdk's `chat_stream()` helper, instead of posting a message and editing it.

Only a reply in a thread can stream (Slack's rule), and outside a DM it names who it is for (the asker's team and
user). The message exists from the first text Slack takes; its ts is recorded at once (`on_posted`), and the stop
carries the job's metadata, so a retried job finds its earlier reply either way and edits it instead of writing a
second one (bot/jobs/delivery.py).

Whatever Slack does not take, the answer is not lost: when Slack refuses streaming (a workspace or plan without
it, an app that is not an agent, a method it does not know) or a stream ends before the answer does (it expired),
the reply continues on the post-and-update path (bot/slack/streaming.py's SlackStream), which edits what was
already streamed and writes the whole answer. A rate limit, an outage or a broken connection is left to the job's
retry, like any other Slack call.

Text is streamed mention-safe. A mention can arrive split across model tokens (`<@U0` then `BOB>`), so the tail
that could still become one is held back until it is complete; what was sent is never taken back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.chat_stream import ChatStream

from bot.slack import delivery as slack_io
from bot.slack.answer_blocks import MAX_MARKDOWN, closing_blocks
from bot.slack.feedback import Skill
from bot.slack.streaming import SlackStream

logger = logging.getLogger(__name__)

BUFFER = 200  # characters collected before a call: a fast model makes a few calls a second, not one a token
FIRST_TEXT = 12  # but the first words go out as soon as there are a few: the asker sees the answer start
_LARGEST_CALL = 4_000  # what one append hands the helper, so its buffer never outgrows a call's 12,000
_HOLD = 40  # a trailing `@word` longer than this is no @here in the making


def is_refusal(exc: SlackApiError) -> bool:
    """Slack answered, and its answer is no (not a rate limit or an outage, which a retry may get past)."""
    response = exc.response
    if response is None:
        return False
    return response.status_code != 429 and response.status_code < 500 and response.get("error") != "ratelimited"


def stable_prefix(text: str) -> str:
    """`text` without a tail that more text could still turn into a ping: an unclosed `<@…` or `<!…` (however
    long: the ping is whole only at its `>`), a `<` that is the last character, or a trailing `@word`."""
    cut = len(text)
    while True:
        held = cut
        opening = text.rfind("<", 0, held)
        if opening >= 0 and ">" not in text[opening:held] and text[opening + 1 : opening + 2] in ("", "!", "@"):
            held = opening
        at = text.rfind("@", 0, held)
        if at >= 0 and held - at <= _HOLD and not any(c.isspace() for c in text[at:held]):
            held = at
        if held == cut:
            return text[:cut]
        cut = held


class NativeStream:
    """The same surface as SlackStream (`feed`, `finish`, `show_note`, `text`, `posted`), streamed natively."""

    def __init__(
        self,
        *,
        client: WebClient,
        channel: str,
        thread_ts: str,
        job_id: int,
        recipient_team_id: str | None,
        recipient_user_id: str | None,
        allowed_users: frozenset[str] = frozenset(),
        on_posted: Callable[[list[str]], None] | None = None,
        on_first_text: Callable[[], None] | None = None,
        on_done: Callable[[], None] | None = None,
        limit: int = MAX_MARKDOWN,
    ) -> None:
        """`on_first_text` is called once, just before the answer's first text goes to Slack (the loading status
        is cleared then); `on_done` once the reply is finished, however it ended (the session goes `active`)."""
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._job_id = job_id
        self._recipients = {"recipient_team_id": recipient_team_id, "recipient_user_id": recipient_user_id}
        self._allowed = allowed_users
        self._on_posted = on_posted
        self._on_first_text = on_first_text
        self._on_done = on_done
        self._limit = limit
        self._text = ""  # the answer as the model wrote it
        self._sent = ""  # its mention-safe form, as far as it went to Slack (buffered in the helper or sent)
        self._in_message = 0  # characters of `_sent` in the current streaming message
        self._stream: ChatStream | None = None
        self._posted: list[str] = []
        self._fallback: SlackStream | None = None

    @property
    def text(self) -> str:
        return self._text

    @property
    def posted(self) -> list[str]:
        return self._fallback.posted if self._fallback is not None else list(self._posted)

    @property
    def fell_back(self) -> bool:
        return self._fallback is not None

    def feed(self, piece: str) -> None:
        self._text += piece
        if self._fallback is not None:
            self._fallback.feed(piece)
            return
        stable = stable_prefix(self._text)
        if len(stable) - len(self._sent) >= (BUFFER if self._sent else FIRST_TEXT):
            self._send(stable, final=False)

    def finish(self, text: str | None = None, *, mrkdwn: bool = False, feedback: Skill | None = None) -> list[str]:
        """Ends the answer. The streamed text ends in a stop that carries the job's metadata and the closing
        blocks (with `feedback`, the 👍 / 👎 buttons: in chat.stopStream's `blocks`, so the final message comes
        with them). A `text` that goes on from what was streamed (a closing note) is streamed too, so the answer
        never shows for a moment without it; a different `text` (an answer we formatted, a guard's replacement)
        is written over what was streamed, on the post-and-update path, whose last message carries them
        instead."""
        try:
            return self._finish(text, mrkdwn=mrkdwn, feedback=feedback)
        finally:
            if self._on_done is not None:
                self._on_done()

    def _finish(self, text: str | None, *, mrkdwn: bool, feedback: Skill | None) -> list[str]:
        if self._fallback is not None:
            return self._fallback.finish(text, mrkdwn=mrkdwn, feedback=feedback)
        if text is not None and text.startswith(self._text) and self._text.strip() and not mrkdwn:
            self._text = text  # the answer goes on (a note about files it could not read): streamed, not rewritten
        if (text is not None and text != self._text) or mrkdwn or not self._text.strip():
            return self._replace(self._text if text is None else text, mrkdwn=mrkdwn, feedback=feedback)
        self._send(self._text, final=True, feedback=feedback)
        if self._fallback is not None:  # the stream ended before the answer did
            return self._fallback.finish(self._text, feedback=feedback)
        return list(self._posted)

    def show_note(self, text: str) -> None:
        """A note of ours in place of the reply (the model is busy): never streamed, always written over."""
        self.finish(text, mrkdwn=True)

    # -- streaming -----------------------------------------------------------------------------------------------
    def _send(self, source: str, *, final: bool, feedback: Skill | None = None) -> None:
        safe = slack_io.neutralize_mentions(source, allowed_users=self._allowed)
        if not safe.startswith(self._sent):  # cannot happen with stable prefixes; never resend what went out
            common = next((i for i, (a, b) in enumerate(zip(safe, self._sent, strict=False)) if a != b), 0)
            safe = self._sent + safe[common:]
        delta = safe[len(self._sent) :]
        try:
            while delta:
                room = self._limit - self._in_message
                if room <= 0:
                    self._stop()  # this message holds all one markdown block can: continue in a new one
                    self._stream, self._in_message = None, 0
                    continue
                part, delta = delta[: min(room, _LARGEST_CALL)], delta[min(room, _LARGEST_CALL) :]
                self._append(part)
            if final:
                self._stop(closing=closing_blocks(self._job_id, feedback))
        except SlackApiError as exc:
            if not is_refusal(exc):
                raise
            self._fall_back(exc)

    def _append(self, part: str) -> None:
        if self._stream is None:
            self._answer_starts()
            self._stream = self._client.chat_stream(
                channel=self._channel,
                thread_ts=self._thread_ts,
                buffer_size=1,  # `feed` decides when text goes out (FIRST_TEXT, then BUFFER at a time)
                **{k: v for k, v in self._recipients.items() if v},
            )
        self._stream.append(markdown_text=part)
        self._sent += part
        self._in_message += len(part)
        self._record()

    def _stop(self, *, closing: list[dict[str, Any]] | None = None) -> None:
        """Stops the streaming message with the job's metadata; `closing`: the blocks below the text of the
        answer's last message (a message stopped because it is full, or to be written over, has none)."""
        if self._stream is None:
            return
        self._stream.stop(metadata=slack_io.reply_metadata(self._job_id), blocks=closing or None)
        self._record()

    def _answer_starts(self) -> None:
        """The first text goes to Slack now, streamed or posted: the loading status ends (once)."""
        if self._on_first_text is not None:
            self._on_first_text()
            self._on_first_text = None

    def _record(self) -> None:
        ts = self._stream.ts if self._stream is not None else None
        if ts and ts not in self._posted:
            self._posted.append(ts)
            if self._on_posted is not None:
                self._on_posted(list(self._posted))

    # -- the post-and-update path ----------------------------------------------------------------------------------
    def _fall_back(self, exc: SlackApiError | None, *, carry_on: bool = True) -> None:
        """From here on the post-and-update path writes the reply; `carry_on` hands it what was written so far."""
        self._answer_starts()
        if exc is not None:
            logger.info(
                "job %d: Slack did not take the stream (%s); posting and editing instead",
                self._job_id,
                exc.response.get("error") if exc.response is not None else exc,
            )
        self._fallback = SlackStream(
            client=self._client,
            channel=self._channel,
            thread_ts=self._thread_ts,
            job_id=self._job_id,
            existing=self._posted,
            allowed_users=self._allowed,
            on_posted=self._on_posted,
            tag_edits=True,  # a stream cut short never got the metadata its stop would have carried
        )
        if carry_on and self._text:
            self._fallback.feed(self._text)

    def _replace(self, text: str, *, mrkdwn: bool, feedback: Skill | None) -> list[str]:
        """Writes `text` as the whole reply: over what was streamed (stopped first), or as a new message."""
        if self._posted:
            try:
                self._stop()
            except SlackApiError as exc:
                if not is_refusal(exc):
                    raise
        self._fall_back(None, carry_on=False)
        assert self._fallback is not None
        return self._fallback.finish(text, mrkdwn=mrkdwn, feedback=feedback)


ReplyStream = SlackStream | NativeStream
"""What a reply is written through: posted and edited, or streamed natively."""
