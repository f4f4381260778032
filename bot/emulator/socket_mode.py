"""Socket Mode: the websocket Slack pushes events over when the app has no public URL.

Slack hands out a one-time `wss://…/link/?ticket=…` URL from apps.connections.open, greets each connection
with `hello`, sends envelopes (`events_api`, `slash_commands`, `interactive`) and waits for the app to ack
each `envelope_id`. This server does the same on ws://127.0.0.1, using the `websockets` package, which is a
dev dependency and so is imported here only.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

logger = logging.getLogger(__name__)

ENVELOPE_TYPES = ("events_api", "slash_commands", "interactive")


class SocketModeServer:
    """One local Socket Mode endpoint. Thread-safe: tests call in while the server thread runs."""

    def __init__(self, *, app_id: str) -> None:
        self.app_id = app_id
        self._cond = threading.Condition()
        self._tickets: set[str] = set()
        self._connections: list[ServerConnection] = []
        self._acks: list[dict[str, Any]] = []
        self.connects = 0  # handshakes completed so far, to see reconnects
        self._server: Server | None = None
        self.port = 0

    # ----- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._server = serve(
            self._handle, "127.0.0.1", 0, process_request=self._check_ticket, compression=None, logger=logger
        )
        self.port = self._server.socket.getsockname()[1]
        threading.Thread(target=self._server.serve_forever, name="slack-emulator-socket", daemon=True).start()

    def stop(self) -> None:
        """Close every connection with 1001 (going away), as Slack does when it drains a host."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def new_url(self) -> str:
        """A fresh single-use URL, what apps.connections.open answers."""
        ticket = str(uuid.uuid4())
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # ----- connections --------------------------------------------------------------------------------

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        ticket = parse_qs(url.query).get("ticket", [""])[0]
        with self._cond:
            if url.path.rstrip("/") == "/link" and ticket in self._tickets:
                self._tickets.discard(ticket)
                return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket: call apps.connections.open\n")

    def _handle(self, connection: ServerConnection) -> None:
        try:
            connection.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": len(self._connections) + 1,
                        "debug_info": {
                            "host": "applink-emulator",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": self.app_id},
                    }
                )
            )
            with self._cond:
                self._connections.append(connection)
                self.connects += 1
                self._cond.notify_all()
            for message in connection:
                self._receive(message)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if connection in self._connections:
                    self._connections.remove(connection)
                self._cond.notify_all()

    def _receive(self, message: str | bytes) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            logger.warning("socket mode: client sent something that is not JSON (%d bytes)", len(message))
            return
        if not isinstance(data, dict) or "envelope_id" not in data:
            logger.warning("socket mode: client sent a message without envelope_id")
            return
        with self._cond:
            self._acks.append({**data, "received_at": time.time()})
            self._cond.notify_all()

    # ----- what the emulator exposes ------------------------------------------------------------------

    def wait_connected(self, timeout: float = 10.0, *, connects: int = 1) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.connects >= connects and self._connections, timeout):
                raise AssertionError(
                    f"no Socket Mode client connected within {timeout}s (connects so far: {self.connects})"
                )

    def send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
    ) -> str:
        """Push one envelope to the newest connection, as Slack pushes to one of the app's connections."""
        if envelope_type not in ENVELOPE_TYPES:
            raise ValueError(f"envelope_type must be one of {ENVELOPE_TYPES}, not {envelope_type!r}")
        envelope_id = str(uuid.uuid4())
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type == "slash_commands" or (
                envelope_type == "interactive" and payload.get("type") in ("view_submission", "block_suggestion")
            )
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            envelope.update({"retry_attempt": retry_attempt, "retry_reason": retry_reason})
        with self._cond:
            if not self._connections:
                raise RuntimeError(
                    "no Socket Mode client is connected: start the app, then emu.wait_socket_connected()"
                )
            connection = self._connections[-1]
        connection.send(json.dumps(envelope))
        return envelope_id

    def acks(self) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(a) for a in self._acks]

    def wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((a for a in self._acks if a["envelope_id"] == envelope_id), None)

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(
                    f"envelope {envelope_id} was not acked within {timeout}s; "
                    f"acks so far: {[a['envelope_id'] for a in self._acks]}"
                )
            return dict(found() or {})

    def ping(self, timeout: float = 5.0) -> float:
        """Ping the newest client and return the round trip in seconds (proves the client answers pongs)."""
        with self._cond:
            if not self._connections:
                raise RuntimeError("no Socket Mode client is connected")
            connection = self._connections[-1]
        started = time.monotonic()
        if not connection.ping(secrets.token_bytes(4)).wait(timeout):
            raise AssertionError(f"Socket Mode client did not answer a ping within {timeout}s")
        return time.monotonic() - started
