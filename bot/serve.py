"""The two ways Slack reaches a deployed Parlance: HTTP (waitress) or Socket Mode. Both are thin adapters
over the same `Parlance`; both stop cleanly on SIGTERM/SIGINT, letting running jobs finish first."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from bot.app import Parlance
from bot.web import HTTPServer, SlackWSGIApp

logger = logging.getLogger(__name__)


def make_http_server(parlance: Parlance, *, host: str | None = None, port: int | None = None) -> HTTPServer:
    settings = parlance.settings
    wsgi = SlackWSGIApp(
        parlance.bolt, parlance.engine, max_body_bytes=settings.max_request_bytes, metrics=parlance.metrics
    )
    return HTTPServer(
        wsgi,
        host=host or settings.host,
        port=settings.port if port is None else port,
        max_body=settings.max_request_bytes,
        threads=settings.web_threads,
    )


def serve_http(parlance: Parlance) -> None:
    server = make_http_server(parlance)
    parlance.start()
    logger.info("listening on %s/slack/events (health: /healthz)", server.url)
    _on_shutdown_signal(_leave_server_loop)
    try:
        server.serve_forever()  # waitress closes its sockets itself when the loop is left by SystemExit
    except SystemExit:
        pass
    finally:
        parlance.close()


def _leave_server_loop() -> None:
    raise SystemExit(0)


def start_socket_mode(parlance: Parlance) -> Callable[[], None]:
    """Connects to Slack over Socket Mode without blocking; returns the function that disconnects."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    assert parlance.settings.slack_app_token is not None
    handler = SocketModeHandler(parlance.bolt, app_token=parlance.settings.slack_app_token.get_secret_value())
    handler.connect()
    return handler.close


def serve_socket_mode(parlance: Parlance) -> None:
    parlance.start()
    stopped = threading.Event()
    close = start_socket_mode(parlance)
    logger.info("connected to Slack over Socket Mode")
    _on_shutdown_signal(stopped.set)
    try:
        stopped.wait()
    finally:
        close()
        parlance.close()


def _on_shutdown_signal(callback: Callable[[], None]) -> None:
    def handle(signum: int, _frame: object) -> None:
        logger.info("received %s; shutting down", signal.Signals(signum).name)
        callback()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
