"""Reading the files people share (the `files:read` scope): files.info, then a download of its url_private with
the bot token in `Authorization: Bearer`, as Slack requires; then handlers/attachments turns the bytes into text.

Bounded everywhere: at most MAX_FILES files per answer, MAX_FILE_BYTES downloaded per file, MAX_FILE_CHARS of
text kept. The token goes only to Slack's own file hosts (or the Web API's host, which is the emulator in tests
and local mode), never to a URL some message made up. Whatever fails becomes a `problem` the answer says out loud.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.attachments.reading import MAX_FILE_BYTES, FileText, kind_of, read_file
from storage.messages import FileRef

logger = logging.getLogger(__name__)

MAX_FILES = 3
DOWNLOAD_TIMEOUT = 20.0


def read_shared_files(*, client: WebClient, refs: list[FileRef]) -> list[FileText]:
    """The text of each file (the newest MAX_FILES of `refs`, which come oldest first), or why it has none."""
    return [_read_one(client, ref) for ref in refs[-MAX_FILES:]]


def _read_one(client: WebClient, ref: FileRef) -> FileText:
    name = ref.name
    if kind_of(name, ref.mimetype, ref.filetype) in {"image", "other"}:
        return read_file(name, ref.mimetype, ref.filetype, b"")  # says why, without a download
    try:
        info = client.files_info(file=ref.id)["file"]
    except SlackApiError as exc:
        reason = exc.response.get("error") if exc.response is not None else "error"
        logger.info("files.info failed for a shared file (%s)", reason)
        missing_scope = reason in {"missing_scope", "not_allowed_token_type"}
        return FileText(
            name, None, "I'm not allowed to read files here" if missing_scope else "Slack wouldn't give it to me"
        )
    if int(info.get("size") or 0) > MAX_FILE_BYTES:
        return FileText(name, None, f"it's larger than the {MAX_FILE_BYTES // (1024 * 1024)} MB I read")
    url = info.get("url_private_download") or info.get("url_private") or ""
    if not _is_slacks(url, client.base_url):
        return FileText(name, None, "it isn't stored in Slack")
    data = _download(url, client.token)
    if data is None:
        return FileText(name, None, "Slack wouldn't let me download it")
    return read_file(name, info.get("mimetype"), info.get("filetype"), data)


def _is_slacks(url: str, api_url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == "files.slack.com" or host.endswith(".slack.com") or host == urlsplit(api_url).hostname


def _download(url: str, token: str | None) -> bytes | None:
    """The file's bytes; None when Slack refuses (without a valid token it redirects to its sign-in page)."""
    if not token:
        return None
    try:
        with httpx.stream(
            "GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=DOWNLOAD_TIMEOUT, follow_redirects=False
        ) as response:
            if response.status_code != 200:
                logger.info("a shared file's download answered %d", response.status_code)
                return None
            data = bytearray()
            for chunk in response.iter_bytes():
                data.extend(chunk)
                if len(data) > MAX_FILE_BYTES:
                    break
            return bytes(data[:MAX_FILE_BYTES])
    except httpx.HTTPError as exc:
        logger.info("a shared file's download failed (%s)", type(exc).__name__)
        return None
