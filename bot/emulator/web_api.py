"""The HTTP side of the emulator: Slack's Web API, file upload URLs and response_urls on one local port.

The order of checks follows Slack: an injected fault (rate limit, outage) wins, then an unknown method,
then the token, then the method's own argument checks. Every /api/ request is recorded, refused or not,
so tests can assert on retries as well as on successes. A bot token opens the workspace it was issued for
and no other, as on Slack, so an app installed in several teams is caught using the wrong team's token.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.emulator.answers import Answer, decode_json_args, error
from bot.emulator.methods import METHODS, MethodContext
from bot.emulator.methods.files import DOWNLOAD_PATH, UPLOAD_PATH, download, receive_bytes
from bot.emulator.oauth import OAuthApp
from bot.emulator.response_urls import RESPONSE_PATH
from bot.emulator.teams import EmulatedTeam, TeamRegistry
from bot.emulator.workspace import new_id

logger = logging.getLogger(__name__)

DROP = 0  # fault status meaning: read the request, then hang up without answering


@dataclass
class ApiCall:
    """One request to /api/<method> and what the emulator answered (status 0: the connection was dropped)."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int
    response: dict[str, Any]
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response.get("ok") is True

    @property
    def token(self) -> str | None:
        """The token the call carried (`Authorization: Bearer`, or a form's `token` field), if any."""
        bearer = self.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            return bearer[7:].strip() or None
        return str(self.args["token"]) if self.args.get("token") else None


@dataclass
class _Fault:
    status: int
    retry_after: int
    remaining: int
    carried_out: bool = False  # a drop after doing the call: Slack did it, the client never hears so


@dataclass
class _Reply:
    status: int
    body: bytes
    headers: dict[str, str]
    hang_up: bool = False  # recorded as the answer, then the connection is closed instead of sending it


def _json_reply(status: int, answer: Answer, **headers: str) -> _Reply:
    return _Reply(
        status,
        json.dumps(answer).encode(),
        {"Content-Type": "application/json; charset=utf-8", "X-Slack-Req-Id": new_id("", 16).lower(), **headers},
    )


def parse_args(query: str, body: bytes, content_type: str) -> tuple[dict[str, Any], Answer | None]:
    """Arguments from the query string and the body (form, JSON or multipart), and Slack's error for a bad body.

    JSON-valued form fields (blocks=[...]) come back decoded, so handlers and tests see plain values.
    """
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            data = json.loads(body.decode("utf-8")) if body else {}
            if not isinstance(data, dict):
                return args, error("json_not_object")
            args.update(data)
        elif kind.startswith("multipart/"):
            form = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
            for part in form.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if name and not part.get_filename():
                    args[str(name)] = part.get_content()
        elif body:
            args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return args, error("invalid_charset")
    except ValueError:
        return args, error("invalid_json" if kind == "application/json" else "invalid_form_data")
    return decode_json_args(args), None


class WebApi:
    """Serves the Web API for the app's workspaces and records every call."""

    def __init__(
        self,
        teams: TeamRegistry,
        *,
        home: EmulatedTeam,
        app_token: str,
        oauth: OAuthApp,
        socket_url: Callable[[], str],
    ) -> None:
        self.teams = teams
        self.home = home  # the workspace app-level calls (Socket Mode) belong to
        self.app_token = app_token
        self.oauth = oauth
        self._socket_url = socket_url
        self._calls: list[ApiCall] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # ----- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.web_api = self
        self._server = server
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}/"
        for team in self.teams.all():
            team.response_urls.base_url = self.base_url
            team.workspace.files_base_url = self.base_url
        # A short poll interval keeps stop() (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="slack-emulator-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ----- what tests use -----------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[ApiCall]:
        with self._lock:
            return [copy.deepcopy(c) for c in self._calls if method is None or c.method == method]

    def fail(self, method: str, *, status: int, retry_after: int, times: int, carried_out: bool = False) -> None:
        if status not in (DROP, 429) and not 500 <= status <= 599:
            raise ValueError(f"fail() takes status 429, 5xx or 0 (drop the connection), not {status}")
        if carried_out and status != DROP:
            raise ValueError("carried_out=True goes with status 0: Slack answers a 429 or a 5xx without doing the call")
        with self._lock:
            self._faults.setdefault(method, deque()).append(_Fault(status, retry_after, times, carried_out))

    # ----- request handling ---------------------------------------------------------------------------

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for key in (method, "*"):
                queue = self._faults.get(key)
                if queue:
                    fault = queue[0]
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        queue.popleft()
                    return fault
        return None

    def handle_api(self, method: str, query: str, body: bytes, headers: dict[str, str]) -> _Reply | None:
        """Answer one Web API call; None means hang up without a response."""
        received = time.time()
        args, body_problem = parse_args(query, body, headers.get("content-type", ""))
        reply = self._answer(method, args, body_problem, headers)
        dropped = reply is None or reply.hang_up
        status = reply.status if reply is not None and not reply.hang_up else DROP
        response = json.loads(reply.body) if reply else {}  # after a carried-out drop: what the client never got
        with self._lock:
            self._calls.append(ApiCall(method, args, headers, status, response, received))
        logger.debug("emulated %s -> %s %s", method, status, response.get("error", "ok"))
        return None if dropped else reply

    def _answer(
        self, method: str, args: dict[str, Any], body_problem: Answer | None, headers: dict[str, str]
    ) -> _Reply | None:
        fault = self._take_fault(method)
        if fault is not None and fault.carried_out:
            reply = self._carry_out(method, args, body_problem, headers)
            reply.hang_up = True
            return reply
        if fault is not None:
            if fault.status == DROP:
                return None
            if fault.status == 429:
                return _json_reply(429, error("ratelimited"), **{"Retry-After": str(fault.retry_after)})
            return _json_reply(fault.status, error("fatal_error"))
        return self._carry_out(method, args, body_problem, headers)

    def _carry_out(
        self, method: str, args: dict[str, Any], body_problem: Answer | None, headers: dict[str, str]
    ) -> _Reply:
        spec = METHODS.get(method)
        if spec is None:
            return _json_reply(200, error("unknown_method", req_method=method))
        if body_problem:
            return _json_reply(200, body_problem)
        problem, team = self._auth_problem(spec.token, headers, args)
        if problem:
            return _json_reply(200, error(problem))
        ctx = MethodContext(team.workspace, self.base_url, self._socket_url, oauth=self.oauth, headers=headers)
        try:
            answer = spec.handler(ctx, args)
        except Exception:  # a bug in the emulator must look like a Slack outage, not hang the app
            logger.exception("emulated %s failed", method)
            return _json_reply(500, error("fatal_error"))
        return _json_reply(200, answer)

    def _auth_problem(
        self, wanted: str, headers: dict[str, str], args: dict[str, Any]
    ) -> tuple[str | None, EmulatedTeam]:
        """Slack reads the token from `Authorization: Bearer`, or from a form's `token` field (never JSON's).
        Returns the error code, if any, and the workspace the token opens."""
        if wanted == "client":  # oauth.v2.access checks the app's client credentials itself
            return None, self.home
        bearer = headers.get("authorization", "")
        token = bearer[7:].strip() if bearer.lower().startswith("bearer ") else ""
        is_json = headers.get("content-type", "").startswith("application/json")
        if not token and not is_json:
            token = str(args.get("token") or "")
        if not token:
            return "not_authed", self.home
        if token == self.app_token:
            return (None if wanted == "app" else "not_allowed_token_type"), self.home
        team = self.teams.owner(token)
        if team is None:
            return ("token_revoked" if self.teams.is_revoked(token) else "invalid_auth"), self.home
        return (None if wanted == "bot" else "not_allowed_token_type"), team

    def handle_other(self, path: str, body: bytes, headers: dict[str, str]) -> _Reply:
        """Upload URLs, private file downloads and response_urls, as files.slack.com and hooks.slack.com answer."""
        if path.startswith("/" + UPLOAD_PATH):
            key = path[len(UPLOAD_PATH) + 1 :]
            team = next((t for t in self.teams.all() if key in t.workspace.snapshot(t.workspace.upload_tokens)), None)
            ctx = MethodContext((team or self.home).workspace, self.base_url, self._socket_url)
            status, text = receive_bytes(ctx, key, body, headers.get("content-type", ""))
        elif path.startswith("/" + DOWNLOAD_PATH):
            status, content, reply_headers = download(self.teams.all(), path[len(DOWNLOAD_PATH) + 1 :], headers)
            return _Reply(status, content, reply_headers)
        elif path.startswith("/" + RESPONSE_PATH):
            key = path[len(RESPONSE_PATH) + 1 :]
            team = next((t for t in self.teams.all() if t.response_urls.issued(key)), self.home)
            status, text = team.response_urls.receive(key, body)
        else:
            status, text = 404, "not found"
        return _Reply(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    web_api: WebApi

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-request is normal here (timeouts, retries); don't print tracebacks.
        logger.debug("emulator http: error while serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SlackEmulator"
    server: _Server  # the handler only ever runs under the emulator's server

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        api = self.server.web_api
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        url = urlsplit(self.path)
        if url.path.startswith("/api/"):
            reply = api.handle_api(url.path[len("/api/") :], url.query, body, headers)
        else:
            reply = api.handle_other(url.path, body, headers)
        if reply is None:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in {**reply.headers, "Content-Length": str(len(reply.body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("emulator http: " + format, *args)
