"""Streaming a reply into Slack: a placeholder posted at once, edited as the model writes, continued in new
thread messages when the answer outgrows one message.

Edits are spaced at least `interval` seconds apart (chat.update allows about 50 a minute), so a fast model
never runs into Slack's rate limits; the final text is always written, whatever the spacing. A retried job hands
in the messages its earlier attempt posted: they are edited in turn, and those the final answer no longer needs
(it came out shorter) are deleted, so the thread holds the answer once and nothing of the attempt before.

Each message shows its part of the answer as a `markdown` block (bot/slack/answer_blocks.py), with the mrkdwn
rendering as its `text`; a part is at most one block's 12,000 characters. This is the post-and-update path:
bot/slack/native_stream.py streams natively where Slack allows it and falls back to this where it does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from slack_sdk import WebClient

from bot.slack import delivery as slack_io
from bot.slack.answer_blocks import MAX_MARKDOWN, closing_blocks, markdown_blocks, mrkdwn_to_markdown
from bot.slack.feedback import Skill
from bot.slack.mrkdwn import to_mrkdwn

PLACEHOLDER = "_Thinking…_"
TYPING = " …"


def safe_mrkdwn(markdown: str, *, allowed_users: frozenset[str] = frozenset()) -> str:
    """The model's Markdown as mention-safe mrkdwn: a message's `text` beside its markdown block."""
    return slack_io.neutralize_mentions(to_mrkdwn(markdown), allowed_users=allowed_users)


class SlackStream:
    def __init__(
        self,
        *,
        client: WebClient,
        channel: str,
        thread_ts: str | None,
        job_id: int | None,
        existing: Sequence[str] = (),
        interval: float = 1.2,
        limit: int = MAX_MARKDOWN,
        allowed_users: frozenset[str] = frozenset(),
        on_posted: Callable[[list[str]], None] | None = None,
        tag_edits: bool = False,
    ) -> None:
        """`on_posted` is called with every message the reply now consists of, first one first, whenever that
        changes (a message posted or deleted), so the caller can record them for a retry. `tag_edits`: the
        `existing` messages may lack the job's metadata (a native stream that was cut short), so edits add it."""
        self._client = client
        self._on_posted = on_posted
        self._channel = channel
        self._thread_ts = thread_ts
        self._job_id = job_id
        self._interval = interval
        self._limit = limit
        self._allowed = allowed_users
        self._tag_edits = tag_edits
        self._posted: list[str] = list(existing)  # what an earlier attempt of the job posted: edited, not reposted
        self._shown: list[tuple[str, str]] = []  # each message's text and markdown, as last written
        self._text = ""
        self._last_edit = 0.0
        self._final_count = 0  # while the finished answer is written: how many messages it takes
        self._feedback: Skill | None = None  # what the finished answer's 👍 / 👎 are about; None: no buttons
        self._closed_at: int | None = None  # the message that shows the closing blocks, as last written

    @property
    def text(self) -> str:
        return self._text

    @property
    def posted(self) -> list[str]:
        return list(self._posted)

    def start(self, placeholder: str = PLACEHOLDER, *, showing: str | None = None) -> str:
        """Shows the user we are on it; reuses the message a previous attempt of the same job posted. `showing`:
        what that message already says (a note that the model is busy), left in place until the answer comes."""
        shown = (placeholder, "")
        if not self._posted:
            self._append(self._post(shown))
        elif showing is not None:  # as show_note wrote it, so the same note is not written again
            shown = (showing, slack_io.neutralize_mentions(mrkdwn_to_markdown(showing)))
        else:
            self._edit(0, shown)
        self._shown = [shown]
        self._last_edit = time.monotonic()
        return self._posted[0]

    def feed(self, piece: str) -> None:
        self._text += piece
        if time.monotonic() - self._last_edit >= self._interval:
            self._show(final=False)

    def finish(self, text: str | None = None, *, mrkdwn: bool = False, feedback: Skill | None = None) -> list[str]:
        """Writes the complete answer (or `text` instead, e.g. after a guard rejected the stream). `mrkdwn` marks
        text we formatted ourselves (links, quotes): it is only made mention-safe, not converted again.
        `feedback`: the last message carries the 👍 / 👎 buttons (closing_blocks), and no earlier one does."""
        if text is not None:
            self._text = text
        self._feedback = feedback
        self._show(final=True, mrkdwn=mrkdwn)
        return list(self._posted)

    def show_note(self, text: str) -> None:
        """Replaces whatever the reply shows with a note of ours (the model is busy, or gone), without buttons; a
        note already showing is not written again."""
        self.finish(text, mrkdwn=True)

    def _parts(self, *, final: bool, mrkdwn: bool) -> list[tuple[str, str]]:
        """The messages the reply consists of now: each one's mrkdwn `text` and the Markdown of its block. Our
        own mrkdwn (`mrkdwn`) is only made mention-safe, and turned into Markdown for the block."""
        allowed = self._allowed
        parts: list[tuple[str, str]] = []
        for chunk in slack_io.split_for_slack(self._text or "…", self._limit):
            if mrkdwn:
                text = slack_io.neutralize_mentions(chunk, allowed_users=allowed)
                markdown = slack_io.neutralize_mentions(mrkdwn_to_markdown(chunk), allowed_users=allowed)
            else:
                text = safe_mrkdwn(chunk, allowed_users=allowed)
                markdown = slack_io.neutralize_mentions(chunk, allowed_users=allowed)
            parts.append((text, markdown))
        if not final:
            text, markdown = parts[-1]
            parts[-1] = (text + TYPING, markdown + TYPING)
        return parts

    def _show(self, *, final: bool, mrkdwn: bool = False) -> None:
        chunks = self._parts(final=final, mrkdwn=mrkdwn)
        self._final_count = len(chunks) if final else 0
        closing_at = len(chunks) - 1 if final and closing_blocks(self._job_id, self._feedback) else None
        for index, chunk in enumerate(chunks):
            unchanged = index < len(self._shown) and self._shown[index] == chunk
            if unchanged and (index == closing_at) == (index == self._closed_at):
                continue
            if index < len(self._posted):
                self._edit(index, chunk)
            else:
                self._append(self._post(chunk, index))
            if index < len(self._shown):
                self._shown[index] = chunk
            else:
                self._shown.append(chunk)
        if final and len(self._posted) > len(chunks):
            self._delete_from(len(chunks))
        self._closed_at = closing_at
        self._last_edit = time.monotonic()

    def _append(self, ts: str) -> None:
        self._posted.append(ts)
        if self._on_posted is not None:
            self._on_posted(list(self._posted))

    def _delete_from(self, index: int) -> None:
        """Deletes the messages from `index` on (an earlier attempt's continuations the answer no longer needs),
        the last first, so a failure halfway leaves the reply's first messages in place."""
        while len(self._posted) > index:
            slack_io.delete_message(client=self._client, channel=self._channel, ts=self._posted[-1])
            self._posted.pop()
            del self._shown[len(self._posted) :]
            if self._on_posted is not None:
                self._on_posted(list(self._posted))

    def _blocks(self, index: int, part: tuple[str, str]) -> list[dict[str, Any]]:
        """The part's markdown block; the last part of a finished answer also carries the closing blocks. Every
        edit names its blocks, so buttons an earlier last message showed come off it (Slack keeps blocks through
        an edit that names none)."""
        blocks = markdown_blocks(part[1])
        if blocks and self._final_count == index + 1:
            blocks += closing_blocks(self._job_id, self._feedback)
        return blocks

    def _post(self, part: tuple[str, str], index: int = 0) -> str:
        [ts] = slack_io.post_in_thread(
            client=self._client,
            channel=self._channel,
            thread_ts=self._thread_ts,
            text=part[0],
            job_id=self._job_id,
            blocks=self._blocks(index, part),
        )
        return ts

    def _edit(self, index: int, part: tuple[str, str]) -> None:
        slack_io.update_message(
            client=self._client,
            channel=self._channel,
            ts=self._posted[index],
            text=part[0],
            blocks=self._blocks(index, part),
            job_id=self._job_id if self._tag_edits else None,
        )
