"""Streaming a reply into Slack: a placeholder posted at once, edited as the model writes, continued in new
thread messages when the answer outgrows one message.

Edits are spaced at least `interval` seconds apart (chat.update allows about 50 a minute), so a fast model
never runs into Slack's rate limits; the final text is always written, whatever the spacing. A retried job hands
in the messages its earlier attempt posted: they are edited in turn, and those the final answer no longer needs
(it came out shorter) are deleted, so the thread holds the answer once and nothing of the attempt before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from slack_sdk import WebClient

from bot.slack import delivery as slack_io
from bot.slack.mrkdwn import to_mrkdwn

PLACEHOLDER = "_Thinking…_"
TYPING = " …"


def safe_mrkdwn(markdown: str, *, allowed_users: frozenset[str] = frozenset()) -> str:
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
        limit: int = slack_io.MAX_CHUNK,
        render: Callable[[str], str] = safe_mrkdwn,
        on_posted: Callable[[list[str]], None] | None = None,
    ) -> None:
        """`on_posted` is called with every message the reply now consists of, first one first, whenever that
        changes (a message posted or deleted), so the caller can record them for a retry."""
        self._client = client
        self._on_posted = on_posted
        self._channel = channel
        self._thread_ts = thread_ts
        self._job_id = job_id
        self._interval = interval
        self._limit = limit
        self._render = render
        self._posted: list[str] = list(existing)  # what an earlier attempt of the job posted: edited, not reposted
        self._shown: list[str] = []
        self._text = ""
        self._last_edit = 0.0

    @property
    def text(self) -> str:
        return self._text

    @property
    def posted(self) -> list[str]:
        return list(self._posted)

    @property
    def shown(self) -> list[str]:
        """What each message of the reply shows now, as sent to Slack (rendered, split), first one first."""
        return list(self._shown)

    def start(self, placeholder: str = PLACEHOLDER, *, showing: str | None = None) -> str:
        """Shows the user we are on it; reuses the message a previous attempt of the same job posted. `showing`:
        what that message already says (a note that the model is busy), left in place until the answer comes."""
        if not self._posted:
            self._append(self._post(placeholder))
        elif showing is not None:
            placeholder = showing
        else:
            self._edit(0, placeholder)
        self._shown = [placeholder]
        self._last_edit = time.monotonic()
        return self._posted[0]

    def feed(self, piece: str) -> None:
        self._text += piece
        if time.monotonic() - self._last_edit >= self._interval:
            self._show(final=False)

    def finish(self, text: str | None = None, *, mrkdwn: bool = False) -> list[str]:
        """Writes the complete answer (or `text` instead, e.g. after a guard rejected the stream). `mrkdwn` marks
        text we formatted ourselves (links, quotes): it is only made mention-safe, not converted again."""
        if text is not None:
            self._text = text
        self._show(final=True, mrkdwn=mrkdwn)
        return list(self._posted)

    def show_note(self, text: str) -> None:
        """Replaces whatever the reply shows with a note of ours (the model is busy, or gone); a note already
        showing is not written again."""
        self.finish(text, mrkdwn=True)

    def _show(self, *, final: bool, mrkdwn: bool = False) -> None:
        rendered = slack_io.neutralize_mentions(self._text) if mrkdwn else self._render(self._text)
        chunks = slack_io.split_for_slack(rendered or "…", self._limit)
        if not final:
            chunks[-1] += TYPING
        for index, chunk in enumerate(chunks):
            if index < len(self._shown) and self._shown[index] == chunk:
                continue
            if index < len(self._posted):
                self._edit(index, chunk)
            else:
                self._append(self._post(chunk))
            if index < len(self._shown):
                self._shown[index] = chunk
            else:
                self._shown.append(chunk)
        if final and len(self._posted) > len(chunks):
            self._delete_from(len(chunks))
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

    def _post(self, text: str) -> str:
        [ts] = slack_io.post_in_thread(
            client=self._client, channel=self._channel, thread_ts=self._thread_ts, text=text, job_id=self._job_id
        )
        return ts

    def _edit(self, index: int, text: str) -> None:
        slack_io.update_message(client=self._client, channel=self._channel, ts=self._posted[index], text=text)
