"""Files: the v2 upload (files.getUploadURLExternal, a POST of the bytes, files.completeUploadExternal), and the
files people share, read with files.info and downloaded from their url_private.

The upload's middle step goes to a URL the emulator hands out (as Slack hands out files.slack.com URLs), so an app
that skips or botches it fails here as it would against Slack. A shared file's url_private answers only a GET that
carries a bot token of the file's workspace in `Authorization: Bearer`, as Slack documents; anything else gets
what a browser without a session gets, a redirect to the sign-in page.
"""

from __future__ import annotations

import mimetypes
import secrets
import time
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from bot.emulator.answers import Answer, error, integer, missing, ok, text_arg
from bot.emulator.methods.context import MethodContext, member_channel
from bot.emulator.workspace import PendingUpload, Workspace, new_id

UPLOAD_PATH = "upload/v1/"
DOWNLOAD_PATH = "files-pri/"


def get_upload_url(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    absent = [name for name in ("filename", "length") if not text_arg(args, name)]
    if absent:
        return missing(*absent)
    length = integer(args["length"], -1)
    if length < 0:
        return error("invalid_arguments", messages=["[ERROR] length must be a non-negative integer"])
    ws = ctx.workspace
    with ws.lock:
        file_id, token = new_id("F"), secrets.token_urlsafe(16)
        ws.uploads[file_id] = PendingUpload(file_id=file_id, filename=text_arg(args, "filename"), length=length)
        ws.upload_tokens[token] = file_id
    return ok(upload_url=f"{ctx.base_url}{UPLOAD_PATH}{token}", file_id=file_id)


def receive_bytes(ctx: MethodContext, token: str, body: bytes, content_type: str) -> tuple[int, str]:
    """The POST to an upload URL: raw bytes, or a multipart form with a `file` part. Returns (status, text)."""
    ws = ctx.workspace
    with ws.lock:
        file_id = ws.upload_tokens.get(token)
        if file_id is None:
            return 404, "invalid upload url"
        if content_type.startswith("multipart/form-data"):
            body = _multipart_file(body, content_type)
        ws.uploads[file_id].content = body
    return 200, f"OK - {len(body)}"


def _multipart_file(body: bytes, content_type: str) -> bytes:
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)  # bytes (or None) for a part that is not multipart itself
            return payload if isinstance(payload, bytes) else b""
    return b""


def _file_object(ctx: MethodContext, upload: PendingUpload, title: str) -> dict[str, Any]:
    me = ctx.workspace.identity
    mimetype = mimetypes.guess_type(upload.filename)[0] or "application/octet-stream"
    filetype = upload.filename.rpartition(".")[2].lower() if "." in upload.filename else "binary"
    now = int(time.time())
    private = f"https://files.slack.com/files-pri/{me.team_id}-{upload.file_id}/{upload.filename}"
    return {
        "id": upload.file_id,
        "created": now,
        "timestamp": now,
        "name": upload.filename,
        "title": title or upload.filename,
        "mimetype": mimetype,
        "filetype": filetype,
        "pretty_type": filetype,
        "user": me.bot_user_id,
        "user_team": me.team_id,
        "editable": False,
        "size": len(upload.content or b""),
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": True,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": private,
        "url_private_download": private.replace("files-pri", "files-pri/download", 1),
        "permalink": f"https://{me.team_domain}.slack.com/files/{me.bot_user_id}/{upload.file_id}/{upload.filename}",
        "shares": {},
        "channels": [],
        "groups": [],
        "ims": [],
        "has_rich_preview": False,
    }


def complete_upload(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    files = args.get("files")
    if not files:
        return missing("files")
    if not isinstance(files, list) or not all(isinstance(f, dict) and f.get("id") for f in files):
        return error("invalid_arguments", messages=["[ERROR] files must be a list of {id, title}"])
    channel_id = text_arg(args, "channel_id")
    if channel_id:
        _, problem = member_channel(ctx, channel_id)
        if problem:
            return problem
    ws = ctx.workspace
    with ws.lock:
        uploads = [ws.uploads.get(f["id"]) for f in files]
        if any(u is None or u.content is None for u in uploads):
            return error("file_not_found")
        objects = [
            _file_object(ctx, u, str(f.get("title") or ""))
            for u, f in zip(uploads, files, strict=True)
            if u is not None
        ]
        thread_ts = text_arg(args, "thread_ts") or None
        message_ts = None
        if channel_id:
            message = {
                "type": "message",
                "text": text_arg(args, "initial_comment"),
                "files": objects,
                "upload": True,
                "user": ws.identity.bot_user_id,
                "display_as_bot": False,
                "ts": ws.next_ts(),
                "team": ws.identity.team_id,
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
            message_ts = ws.add(channel_id, message)["ts"]
        for upload, obj in zip(uploads, objects, strict=True):
            assert upload is not None
            ws.uploaded_files.append(
                {
                    "file_id": upload.file_id,
                    "filename": upload.filename,
                    "title": obj["title"],
                    "channel_id": channel_id or None,
                    "thread_ts": thread_ts,
                    "initial_comment": text_arg(args, "initial_comment"),
                    "length": len(upload.content or b""),
                    "content": upload.content,
                    "message_ts": message_ts,
                }
            )
            del ws.uploads[upload.file_id]
        return ok(files=objects)


# ----- files people share ------------------------------------------------------------------------------------


def share_file(
    ws: Workspace, *, user: str, name: str, content: bytes, mimetype: str | None = None, title: str | None = None
) -> dict[str, Any]:
    """Stores a file `user` uploaded and returns its file object (a copy)."""
    me = ws.identity
    filetype = name.rpartition(".")[2].lower() if "." in name else "binary"
    with ws.lock:
        file_id = new_id("F")
        now = int(time.time())
        private = f"{ws.files_base_url}{DOWNLOAD_PATH}{me.team_id}-{file_id}/{name}"
        obj = {
            "id": file_id,
            "created": now,
            "timestamp": now,
            "name": name,
            "title": title or name,
            "mimetype": mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream",
            "filetype": filetype,
            "pretty_type": filetype.upper(),
            "user": user,
            "user_team": me.team_id,
            "size": len(content),
            "mode": "hosted",
            "is_external": False,
            "is_public": True,
            "url_private": private,
            "url_private_download": f"{ws.files_base_url}{DOWNLOAD_PATH}download/{me.team_id}-{file_id}/{name}",
            "permalink": f"https://{me.team_domain}.slack.com/files/{user}/{file_id}/{name}",
        }
        ws.shared_files[file_id] = obj
        ws.file_contents[file_id] = content
        return dict(obj)


def info(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    """files.info: a file's object by id (`file`); file_not_found for ids this workspace does not hold."""
    file_id = text_arg(args, "file")
    if not file_id:
        return missing("file")
    ws = ctx.workspace
    with ws.lock:
        obj = ws.shared_files.get(file_id)
        if obj is None:
            return error("file_not_found")
        return ok(file=dict(obj), content="", is_truncated=False, comments=[], response_metadata={"next_cursor": ""})


def download(teams: Any, rest: str, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    """A GET of url_private(_download), `rest` being the path after files-pri/. Returns (status, body, headers)."""
    key = rest.removeprefix("download/").partition("/")[0]  # "<team>-<file id>"
    team_id, _, file_id = key.partition("-")
    team = next((t for t in teams if t.team_id == team_id), None)
    bearer = headers.get("authorization", "")
    token = bearer[7:].strip() if bearer.lower().startswith("bearer ") else ""
    if team is None or not token or token != team.bot_token:
        domain = team.identity.team_domain if team is not None else "slack"
        login = f"https://{domain}.slack.com/?redir=%2Ffiles-pri%2F{key}"
        return 302, b"<html><body>Sign in to Slack</body></html>", {"Location": login, "Content-Type": "text/html"}
    ws = team.workspace
    with ws.lock:
        obj, content = ws.shared_files.get(file_id), ws.file_contents.get(file_id)
    if obj is None or content is None:
        return 404, b"file not found", {"Content-Type": "text/plain"}
    return 200, content, {"Content-Type": obj["mimetype"]}
