"""Posting to Slack: threads, ephemeral answers, long texts split to fit, and mentions made harmless.

The model's output is untrusted text; everything posted on its behalf goes through `neutralize_mentions` so it
can never ping @channel, @here, @everyone, a user group or a user.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from bot.slack.answer_blocks import fallback_text, markdown_blocks, mrkdwn_to_markdown
from handlers.text import markup

logger = logging.getLogger(__name__)

# Slack rejects a message over 40,000 characters; a section block's text is capped at 3,000. We keep each
# posted chunk well under the section limit so it can also travel in blocks.
MAX_CHUNK = 3000
ZERO_WIDTH_SPACE = "\u200b"

_SPECIAL_MENTION = markup.PING
_USER_MENTION = markup.USER
_BARE_SPECIAL = markup.TYPED_PING


def neutralize_mentions(text: str, *, allowed_users: frozenset[str] = frozenset()) -> str:
    """Turns pings into plain text: `<!channel>` → `@\u200bchannel`, `<@U1>` → `@U1` unless U1 is allowed."""
    text = _SPECIAL_MENTION.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m["name"].split("^")[0], text)
    text = _BARE_SPECIAL.sub(lambda m: "@" + ZERO_WIDTH_SPACE + m[1], text)
    return _USER_MENTION.sub(lambda m: m[0] if m["id"] in allowed_users else "@" + ZERO_WIDTH_SPACE + m["id"], text)


def split_for_slack(text: str, limit: int = MAX_CHUNK) -> list[str]:
    """Splits at paragraph, then line, then word boundaries, keeping code fences balanced across chunks."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        chunk, rest = rest[:cut].rstrip(), rest[cut:].lstrip("\n ")
        if chunk.count("```") % 2 == 1:  # close an open code block here and reopen it in the next chunk
            chunk += "\n```"
            rest = "```\n" + rest
        chunks.append(chunk)
    if rest:
        chunks.append(rest)
    return chunks


REPLY_EVENT_TYPE = "parlance_reply"
# Calls that create something each time they are made. When the connection breaks after Slack carried one out,
# doing it again would post twice, so these are never repeated blindly (see RepeatableCallsRetryHandler).
NOT_REPEATABLE = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.scheduleMessage",
        "files.completeUploadExternal",
        "chat.startStream",  # starts a new streaming message each time
        "chat.appendStream",  # appends the same text again
    }
)
LOOKUP_PAGES = 5  # how far back a retry looks for what it posted before: 5 pages of 200 messages


def reply_metadata(job_id: int) -> dict[str, Any]:
    """Slack message metadata that ties a posted reply to the job that produced it."""
    return {"event_type": REPLY_EVENT_TYPE, "event_payload": {"job_id": str(job_id)}}


def is_reply_of(message: dict[str, Any], job_id: int) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return metadata.get("event_type") == REPLY_EVENT_TYPE and str(payload.get("job_id")) == str(job_id)


def find_job_replies(
    *,
    client: WebClient,
    channel: str,
    thread_ts: str | None,
    job_id: int,
    oldest: str,
    bot_user_id: str | None = None,
) -> list[str]:
    """The ts of the messages job `job_id` already posted (by their metadata), oldest first; with `bot_user_id`
    and none tagged, in a thread, the bot's untagged replies there (`untagged_replies`).

    A process that died, or lost its connection, between Slack creating a reply and our recording it leaves such
    a message behind; a retry edits it instead of posting a second one. Thread replies are read from the thread,
    top-level posts from the channel's history since `oldest` (just before the job was recorded).
    """
    messages = recent_messages(client=client, channel=channel, thread_ts=thread_ts, oldest=oldest)
    tagged = [message["ts"] for message in messages if is_reply_of(message, job_id)]
    if tagged or not thread_ts or not bot_user_id:
        return tagged
    return untagged_replies(messages, thread_ts=thread_ts, bot_user_id=bot_user_id)


def untagged_replies(messages: list[dict[str, Any]], *, thread_ts: str, bot_user_id: str) -> list[str]:
    """The ts of the bot's replies in a thread's `messages` that carry no reply metadata, oldest first.

    Every reply the bot finishes is tagged (posted with its job's metadata, or a stream stopped with it); only a
    native stream cut off before its stop is not: chat.startStream takes no metadata. The jobs of one thread run
    one after another, so such a message in a retried job's thread since the job was recorded is that job's."""
    return [
        m["ts"]
        for m in messages
        if m.get("user") == bot_user_id
        and m.get("ts") != thread_ts
        and (m.get("metadata") or {}).get("event_type") != REPLY_EVENT_TYPE
    ]


def recent_messages(*, client: WebClient, channel: str, thread_ts: str | None, oldest: str) -> list[dict[str, Any]]:
    """A thread's replies, or the channel's top-level messages, since `oldest`, metadata included, oldest first
    (at most LOOKUP_PAGES pages, followed by slack_sdk's own cursor pagination)."""
    common: dict[str, Any] = {"channel": channel, "oldest": oldest, "include_all_metadata": True, "limit": 200}
    if thread_ts:
        first = client.conversations_replies(ts=thread_ts, **common)
    else:
        first = client.conversations_history(**common)
    found = [message for page in islice(first, LOOKUP_PAGES) for message in page.get("messages") or []]
    return sorted(found, key=lambda message: Decimal(message.get("ts") or 0))


class RepeatableCallsRetryHandler(ConnectionErrorRetryHandler):
    """slack_sdk's retry of calls whose connection broke, except calls in NOT_REPEATABLE.

    A broken connection does not say whether Slack carried the call out. Repeating a read or an edit is harmless;
    repeating chat.postMessage can post the same answer twice. Those calls fail to the job instead, whose retry
    first looks for the message it may already have posted (bot.jobs.delivery.Delivery.earlier_replies).
    """

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if urlsplit(request.url).path.rsplit("/", 1)[-1] in NOT_REPEATABLE:
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


def as_markdown_blocks(mrkdwn: str) -> list[dict[str, Any]]:
    """Text we formatted as mrkdwn (and made mention-safe) as the markdown block it is shown with."""
    return markdown_blocks(neutralize_mentions(mrkdwn_to_markdown(mrkdwn)))


def post_in_thread(
    *,
    client: WebClient,
    channel: str,
    thread_ts: str | None,
    text: str,
    job_id: int | None = None,
    blocks: list[dict[str, Any]] | None = None,
    as_markdown: bool = False,
) -> list[str]:
    """Posts `text` (split when long) and returns the ts of each message posted, first one first. `blocks` go with
    a text that fits one message; `as_markdown` shows each message's mrkdwn `text` as a markdown block."""
    posted: list[str] = []
    for chunk in split_for_slack(text):
        kwargs: dict[str, Any] = {"channel": channel, "text": chunk, "unfurl_links": False, "unfurl_media": False}
        if blocks is not None:
            kwargs["blocks"] = blocks
        elif as_markdown and chunk.strip():
            kwargs["blocks"] = as_markdown_blocks(chunk)
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if job_id is not None:
            kwargs["metadata"] = reply_metadata(job_id)
        response = client.chat_postMessage(**kwargs)
        posted.append(response["ts"])
    return posted


def update_message(
    *,
    client: WebClient,
    channel: str,
    ts: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    job_id: int | None = None,
) -> None:
    """Edits a message of ours. `blocks` replace its blocks ([] clears them, None leaves them); `job_id` (re)tags it
    with the job's metadata, for a message that was started without any (a native stream, bot/slack/native_stream)."""
    kwargs: dict[str, Any] = {"channel": channel, "ts": ts, "text": fallback_text(text)}
    if blocks is not None:
        kwargs["blocks"] = blocks
    if job_id is not None:
        kwargs["metadata"] = reply_metadata(job_id)
    client.chat_update(**kwargs)


def delete_message(*, client: WebClient, channel: str, ts: str) -> None:
    """Deletes a message of ours; one already gone (someone deleted it, or an earlier try did) is no error."""
    try:
        client.chat_delete(channel=channel, ts=ts)
    except SlackApiError as exc:
        if exc.response.get("error") != "message_not_found":
            raise


def respond_ephemeral(
    *,
    client: WebClient,
    response_url: str | None,
    channel: str,
    user: str,
    text: str,
    thread_ts: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    as_markdown: bool = False,
) -> None:
    """Answers only the caller: through the command's response_url when we have one, else chat.postEphemeral.
    `blocks` go with the last message; `as_markdown` shows each message's mrkdwn `text` as a markdown block."""
    chunks = split_for_slack(text)
    for index, chunk in enumerate(chunks):
        extra: dict[str, Any] = {"blocks": blocks} if blocks and index == len(chunks) - 1 else {}
        if not extra and as_markdown and chunk.strip():
            extra = {"blocks": as_markdown_blocks(chunk)}
        if response_url:
            webhook = WebhookClient(response_url, retry_handlers=client.retry_handlers)
            result = webhook.send(text=chunk, response_type="ephemeral", **extra)
            if result.status_code >= 400:
                raise RuntimeError(f"response_url answered HTTP {result.status_code}")
            continue
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": chunk, **extra}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        client.chat_postEphemeral(**kwargs)
