"""HTTP mode: a thin WSGI adapter in front of the Bolt app, served by waitress (a production WSGI server).

`/slack/events` takes events, slash commands and interactivity; `/healthz` says whether the database answers.
Everything that is not a valid Slack request becomes a short JSON error, never a traceback.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.request import BoltRequest
from sqlalchemy import Engine

from bot.metrics import Metrics
from storage.db import ping

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

StartResponse = Callable[..., Any]
_REASONS = {
    200: "OK",
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

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        known = path if path in (EVENTS_PATH, HEALTH_PATH, METRICS_PATH) else "other"
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
        headers = {
            key[5:].lower().replace("_", "-"): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        try:
            request = BoltRequest(body=body, query=environ.get("QUERY_STRING", ""), headers=headers)
        except ValueError:  # Bolt parses the body up front: broken JSON or a broken `payload=` form field
            return _json(start_response, 400, {"ok": False, "error": "invalid_body"})
        try:
            response = self._bolt.dispatch(request)
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            # Bolt's own middleware indexes into the payload before any listener runs (a view without a type, an
            # action list that is empty): a signed but malformed request is the sender's error, not ours.
            logger.warning("malformed Slack payload refused: %s", type(exc).__name__)
            return _json(start_response, 400, {"ok": False, "error": "malformed_payload"})
        payload = response.body.encode("utf-8") if isinstance(response.body, str) else response.body
        if response.status == 404 and not payload:
            return _json(start_response, 404, {"ok": False, "error": "unhandled_request"})
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

        self._server = create_server(
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

    def serve_forever(self) -> None:
        self._server.run()

    def start_in_thread(self) -> None:
        self._thread = threading.Thread(target=self._run_until_closed, name="http-server", daemon=True)
        self._thread.start()

    def _run_until_closed(self) -> None:
        try:
            self._server.run()
        except (OSError, ValueError):
            if not self._closing.is_set():  # closing the sockets under a running loop ends it this way
                raise

    def close(self) -> None:
        self._closing.set()
        self._server.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
