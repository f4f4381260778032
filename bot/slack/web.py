"""HTTP mode: a thin WSGI adapter in front of the Bolt app, served by waitress (a production WSGI server).

`/slack/events` takes events, slash commands and interactivity; `/healthz` says whether the database answers.
With installs through OAuth, `GET /slack/install` and `GET /slack/oauth_redirect` are handed to Bolt's OAuth flow,
which answers with a redirect, a cookie or a page. Everything that is not a valid Slack request becomes a short
JSON error, never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.oauth import OAuthFlow
from slack_bolt.request import BoltRequest
from sqlalchemy import Engine

from bot.slack.metrics import Metrics
from storage.db import ping

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

StartResponse = Callable[..., Any]
_REASONS = {
    200: "OK",
    302: "Found",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class SlackWSGIApp:
    def __init__(self, bolt: App, engine: Engine, *, max_body_bytes: int, metrics: Metrics | None = None) -> None:
        self._bolt = bolt
        self._engine = engine
        self._max_body = max_body_bytes
        self._metrics = metrics or Metrics()
        flow = bolt.oauth_flow  # installs through OAuth: two more paths, handed to Bolt's flow
        self._oauth_paths = (flow.install_path, flow.redirect_uri_path) if flow is not None else ()
        self._known_paths = (EVENTS_PATH, HEALTH_PATH, METRICS_PATH, *self._oauth_paths)  # labels for /metrics

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        known = path if path in self._known_paths else "other"
        started = time.perf_counter()
        statuses: list[str] = []

        def recording_start_response(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            statuses.append(status.split(" ", 1)[0])
            return start_response(status, headers, *args)

        try:
            return self._route(path, environ, recording_start_response)
        finally:
            self._metrics.requests.labels(known, statuses[0] if statuses else "500").inc()
            self._metrics.request_seconds.labels(known).observe(time.perf_counter() - started)

    def _route(self, path: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            if path == HEALTH_PATH:
                return self._health(start_response)
            if path == METRICS_PATH:
                payload = self._metrics.render()
                start_response(
                    _status(200), [("Content-Type", Metrics.content_type), ("Content-Length", str(len(payload)))]
                )
                return [payload]
            flow = self._bolt.oauth_flow
            if flow is not None and path in self._oauth_paths:
                if method != "GET":
                    return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
                return self._oauth(flow, path, environ, start_response)
            if path != EVENTS_PATH:
                return _json(start_response, 404, {"ok": False, "error": "not_found"})
            if method != "POST":
                return _json(start_response, 405, {"ok": False, "error": "method_not_allowed"})
            return self._slack(environ, start_response)
        except Exception:
            logger.exception("unexpected error serving %s", path)
            return _json(start_response, 500, {"ok": False, "error": "internal_error"})

    def _health(self, start_response: StartResponse) -> Iterable[bytes]:
        try:
            ping(self._engine)
        except Exception as exc:
            logger.warning("health check failed: %s", type(exc).__name__)
            return _json(start_response, 503, {"status": "unavailable", "database": "unreachable"})
        return _json(start_response, 200, {"status": "ok", "database": "ok"})

    def _slack(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _json(start_response, 400, {"ok": False, "error": "invalid_content_length"})
        if length > self._max_body:
            return _json(start_response, 413, {"ok": False, "error": "payload_too_large", "limit": self._max_body})
        raw = environ["wsgi.input"].read(length) if length else b""
        if not raw.strip():
            return _json(start_response, 400, {"ok": False, "error": "empty_body"})
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _json(start_response, 400, {"ok": False, "error": "invalid_utf8"})
        try:
            request = BoltRequest(body=body, query=environ.get("QUERY_STRING", ""), headers=_headers(environ))
        except ValueError:  # Bolt parses the body up front: broken JSON or a broken `payload=` form field
            return _json(start_response, 400, {"ok": False, "error": "invalid_body"})
        try:
            response = self._bolt.dispatch(request)
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            # Bolt's own middleware indexes into the payload before any listener runs (a view without a type, an
            # action list that is empty): a signed but malformed request is the sender's error, not ours.
            logger.warning("malformed Slack payload refused: %s", type(exc).__name__)
            return _json(start_response, 400, {"ok": False, "error": "malformed_payload"})
        if response.status == 404 and not response.body:
            return _json(start_response, 404, {"ok": False, "error": "unhandled_request"})
        return _bolt_response(start_response, response)

    @staticmethod
    def _oauth(flow: OAuthFlow, path: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The install link (a redirect to Slack's consent screen, with the state in a cookie) and Slack's redirect
        back (the state checked against that cookie, the code traded for a token, then a success or failure page)."""
        request = BoltRequest(body="", query=environ.get("QUERY_STRING", ""), headers=_headers(environ))
        if path == flow.install_path:
            return _bolt_response(start_response, flow.handle_installation(request))
        return _bolt_response(start_response, flow.handle_callback(request))


def _headers(environ: dict[str, Any]) -> dict[str, str | Sequence[str]]:
    headers: dict[str, str | Sequence[str]] = {
        key[5:].lower().replace("_", "-"): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return headers


def _bolt_response(start_response: StartResponse, response: BoltResponse) -> list[bytes]:
    payload = response.body.encode("utf-8") if isinstance(response.body, str) else response.body
    response_headers = [(name, value) for name, values in response.headers.items() for value in values]
    start_response(_status(response.status), [*response_headers, ("Content-Length", str(len(payload)))])
    return [payload]


def _status(code: int) -> str:
    return f"{code} {_REASONS.get(code, 'Status')}"


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(_status(status), [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


class HTTPServer:
    """waitress in a thread we can stop: used by `python -m bot web`, local mode and the tests alike."""

    def __init__(self, wsgi_app: SlackWSGIApp, *, host: str, port: int, threads: int = 8, max_body: int) -> None:
        from waitress.server import create_server

        # Untyped on purpose: types-waitress leaves out what this class reads (effective_host, effective_port, the
        # socket map) and types the loop's trigger as an int.
        self._server: Any = create_server(
            wsgi_app,
            host=host,
            port=port,
            threads=threads,
            # waitress buffers the body before our app sees it; its own (plain-text) limit is only a backstop
            # above ours, so a body over MAX_REQUEST_BYTES normally gets our JSON 413.
            max_request_body_size=4 * max_body,
            ident="parlance",
            clear_untrusted_proxy_headers=True,
        )
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    @property
    def port(self) -> int:
        return self._server.effective_port

    @property
    def url(self) -> str:
        return f"http://{self._server.effective_host}:{self.port}"

    def start_in_thread(self) -> None:
        self._thread = threading.Thread(target=self._run_until_closed, name="http-server", daemon=True)
        self._thread.start()

    def _run_until_closed(self) -> None:
        try:
            self._server.run()
        except (OSError, ValueError):
            if not self._closing.is_set():  # closing the sockets under a running loop ends it this way
                raise

    def stop_accepting(self) -> None:
        """Closes the listening socket, so new connections are refused at once (Slack then retries on another
        process) while requests already received are still answered."""
        from waitress import wasyncore

        if not self._in_loop(lambda: wasyncore.dispatcher.close(self._server)):  # not waitress's close(): it
            wasyncore.dispatcher.close(self._server)  # would also stop the loop that answers those requests

    def wait_idle(self, timeout: float) -> bool:
        """Waits until no request is being read, handled or answered; False if `timeout` passed first.

        waitress has no public call for this, so it reads the task queue and the connections' buffers.
        """
        deadline = time.monotonic() + timeout
        while True:
            tasks = self._server.task_dispatcher
            if not (tasks.active_count or tasks.queue or any(map(_busy, list(self._server._map.values())))):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)

    def close(self) -> None:
        """Stops serving now, dropping connections still open (after `wait_idle`: idle keep-alive ones)."""
        from waitress import wasyncore

        self._closing.set()
        if not self._in_loop(lambda: wasyncore.close_all(self._server._map, ignore_all=True)):
            with contextlib.suppress(OSError):  # already closed by the ending loop
                self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server.task_dispatcher.shutdown(timeout=1)

    def _in_loop(self, action: Callable[[], object]) -> bool:
        """Runs `action` in the server's loop thread (waitress's sockets belong to it); False if none runs."""
        if self._thread is None or not self._thread.is_alive():
            return False
        done = threading.Event()

        def run() -> None:
            try:
                action()
            finally:
                done.set()

        try:
            self._server.trigger.pull_trigger(run)
        except OSError:  # the loop is already ending and has closed its trigger: there is nothing to run it in
            return False
        return done.wait(timeout=2)


def _busy(channel: object) -> bool:
    """A waitress connection reading a request, holding one to handle, or still sending an answer."""
    return bool(
        getattr(channel, "requests", None)
        or getattr(channel, "request", None) is not None
        or getattr(channel, "total_outbufs_len", 0)
    )
