"""Keeps message text out of third-party log lines at INFO.

Our own code logs message text only at DEBUG. Bolt's signature check, however, logs the whole request body at
INFO when a signature is wrong, and a forged or stale request can carry real messages (a replayed capture, say).
The filter keeps the line (worth seeing: someone is sending us unsigned requests) without the body.
"""

from __future__ import annotations

import logging

_BODY_MARKER = ", body: "


class _DropRequestBody(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _BODY_MARKER in message and record.levelno > logging.DEBUG:
            record.msg = message.split(_BODY_MARKER, 1)[0] + ", body: (not logged))"
            record.args = ()
        return True


def keep_request_bodies_out_of_logs() -> None:
    """Idempotent: installs the filter once on Bolt's request-verification logger."""
    target = logging.getLogger("slack_bolt.RequestVerification")
    if not any(isinstance(f, _DropRequestBody) for f in target.filters):
        target.addFilter(_DropRequestBody())
