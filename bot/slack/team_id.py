"""The workspace a Slack request came from, read the same way for every kind of request."""

from __future__ import annotations

from slack_bolt import BoltContext

UNKNOWN_TEAM = "unknown"  # what a request that names no workspace is stored under


def team_id_of(context: BoltContext) -> str:
    """Bolt reads the team once per request, from wherever that kind of request carries it (`team_id` in commands,
    `team.id` in shortcuts and actions, the installing team in `authorizations` for events, shared channels
    included), and authorizes the request with that team's token. Storing and queueing under the same id keeps the
    data, the token a job acts with and a later `/parlance forget me` in one workspace."""
    return context.team_id or UNKNOWN_TEAM
