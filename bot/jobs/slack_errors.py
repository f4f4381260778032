"""The one way a failed Slack call becomes the dispatcher's contract: `with slack_call():` around it.

slack_sdk has already retried rate limits, server errors and repeatable calls whose connection broke by the time
an error reaches a runner. What is left either may pass (RetryLater: the job is tried again later) or will not
(SlackRefused: the job fails with Slack's reason, and the user is told something went wrong).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPException

from slack_sdk.errors import SlackApiError

from bot.jobs.dispatch import RetryLater

# What a Slack call can fail with once slack_sdk's own retries are spent: Slack's answer, or a broken connection.
SLACK_FAILURES: tuple[type[Exception], ...] = (SlackApiError, OSError, HTTPException)
CONNECTION_RETRY_DELAY = 1.0  # a broken connection is usually brief, and the retry first looks for what was posted


class SlackRefused(Exception):
    """Slack refused a call for good (not a rate limit or an outage): the message names the method and Slack's
    error, and ends up in the job's last_error."""


@contextmanager
def slack_call() -> Iterator[None]:
    """Wraps the Slack calls a runner makes, so each failure leaves as RetryLater or SlackRefused whichever call
    it came from. A site that can do without the call catches SlackRefused; RetryLater always reaches the
    dispatcher."""
    try:
        yield
    except SLACK_FAILURES as exc:
        raise _classify(exc) from exc


def _classify(exc: Exception) -> RetryLater | SlackRefused:
    """RetryLater for what may pass (rate limits and server trouble left after slack_sdk's own retries, a broken
    connection), SlackRefused with Slack's reason for the rest."""
    if not isinstance(exc, SlackApiError):
        return RetryLater(f"lost the connection to Slack ({type(exc).__name__}: {exc})", delay=CONNECTION_RETRY_DELAY)
    response = exc.response
    status = response.status_code if response is not None else 0
    method = (getattr(response, "api_url", "") or "").rstrip("/").rsplit("/", 1)[-1] or "a Slack call"
    if status == 429 or status >= 500:
        headers = response.headers or {}
        retry_after = str(headers.get("Retry-After") or headers.get("retry-after") or "")
        delay = float(retry_after) if retry_after.isdigit() else None
        return RetryLater(f"Slack answered HTTP {status} to {method}", delay=delay)
    error = response.get("error") if response is not None else None
    return SlackRefused(f"Slack refused {method}: {error or exc}")
