"""Keeps message text out of third-party log lines at INFO, and one misleading warning out of every start.

Our own code logs message text only at DEBUG. Bolt's signature check, however, logs the whole request body at
INFO when a signature is wrong, and a forged or stale request can carry real messages (a replayed capture, say).
The filter keeps the line (worth seeing: someone is sending us unsigned requests) without the body.
"""

from __future__ import annotations

import logging

from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

_BODY_MARKER = ", body: "
# Bolt reads SLACK_BOT_TOKEN from the environment by itself and, since we hand it a client built with that same
# token, warns at every start that the token "will be unused". Nothing is wrong; the line only alarms operators.
_CLIENT_AND_TOKEN = warning_client_prioritized_and_token_skipped()


class _DropRequestBody(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _BODY_MARKER in message and record.levelno > logging.DEBUG:
            record.msg = message.split(_BODY_MARKER, 1)[0] + ", body: (not logged))"
            record.args = ()
        return True


class _DropClientAndTokenWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _CLIENT_AND_TOKEN


def tidy_third_party_logs(bolt_logger: logging.Logger) -> None:
    """Idempotent: installs the filters once, on Bolt's request-verification logger and on the logger given to
    the Bolt app."""
    for target, kind in (
        (logging.getLogger("slack_bolt.RequestVerification"), _DropRequestBody),
        (bolt_logger, _DropClientAndTokenWarning),
    ):
        if not any(isinstance(f, kind) for f in target.filters):
            target.addFilter(kind())
