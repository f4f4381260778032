"""Slack's request signing (v0), computed the way Slack computes it.

Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 and the app's signing secret, and sends the result
in X-Slack-Signature next to X-Slack-Request-Timestamp. Working on bytes keeps bodies that are not valid
UTF-8 signable, which the bad-input tests need.
"""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"


def signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-Slack-Signature value for this body at this timestamp."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(signing_secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    """Both signing headers for a request sent now (or at `timestamp`, to test stale requests)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: signature(signing_secret, ts, body)}
