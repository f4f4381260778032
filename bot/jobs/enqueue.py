"""Recording jobs, in the caller's transaction: what the listeners and the clock call to queue slow work.

Each function takes a typed payload (bot/jobs/kinds.py), which names its own kind, and owns the dedupe key that
says which repeats are one request: Slack's retries, the same event announced twice, two clocks firing at once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.jobs.kinds import (
    HelpPayload,
    JobPayload,
    MentionPayload,
    SentimentCommandPayload,
    SentimentDigestPayload,
    SentimentHomePayload,
    SummarizePayload,
    TranslatePayload,
)
from storage import jobs as job_queries

HELP_REQUESTS = frozenset({"", "help", "?"})


def enqueue_job(
    *, session: Session, team_id: str, channel_id: str, payload: JobPayload, dedupe_key: str | None = None
) -> int | None:
    """Adds a job of the payload's kind; returns None when a job with the same dedupe key exists."""
    return job_queries.enqueue_job(
        session=session,
        team_id=team_id,
        channel_id=channel_id,
        kind=payload.kind.value,
        payload=payload.stored(),
        dedupe_key=dedupe_key,
    )


def enqueue_reply(
    *, session: Session, team_id: str, channel_id: str, ts: str, thread_ts: str | None, user: str, request: str
) -> None:
    """One reply job per message, whichever events (mention, DM, retries) announce it."""
    model = HelpPayload if request.lower() in HELP_REQUESTS else MentionPayload
    payload = model(ts=ts, thread_ts=thread_ts, user=user, text=request)
    enqueue_job(
        session=session,
        team_id=team_id,
        channel_id=channel_id,
        payload=payload,
        dedupe_key=f"reply:{team_id}:{channel_id}:{ts}",
    )


def enqueue_reaction_translation(*, session: Session, team_id: str, channel_id: str, payload: TranslatePayload) -> None:
    """One translation per message and language, however many people add that flag."""
    key = f"reaction:{team_id}:{channel_id}:{payload.source_ts}:{payload.language}"
    enqueue_job(session=session, team_id=team_id, channel_id=channel_id, payload=payload, dedupe_key=key)


def enqueue_for_command(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    trigger_id: str | None,
    payload: SummarizePayload | TranslatePayload | SentimentCommandPayload,
) -> None:
    """One job per slash command: Slack's retry of a command carries the same trigger_id."""
    key = f"command:{team_id}:{trigger_id}" if trigger_id else None
    enqueue_job(session=session, team_id=team_id, channel_id=channel_id, payload=payload, dedupe_key=key)


def enqueue_for_interaction(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    trigger: str | None,
    payload: SummarizePayload | TranslatePayload,
) -> None:
    """One job per shortcut or picked option, and per language: one picker can be answered more than once."""
    language = payload.language if isinstance(payload, TranslatePayload) else None
    key = f"interaction:{team_id}:{trigger}:{language}" if trigger else None
    enqueue_job(session=session, team_id=team_id, channel_id=channel_id, payload=payload, dedupe_key=key)


def enqueue_home_view(
    *, session: Session, team_id: str, channel_id: str, event_id: str | None, payload: SentimentHomePayload
) -> None:
    """One App Home refresh per app_home_opened event."""
    key = f"home:{team_id}:{event_id}" if event_id else None
    enqueue_job(session=session, team_id=team_id, channel_id=channel_id, payload=payload, dedupe_key=key)


def enqueue_digest_job(*, session: Session, team_id: str, channel_id: str, digest_id: int) -> None:
    """Queues the posting of a claimed digest; one job per digest row, however often this is called."""
    enqueue_job(
        session=session,
        team_id=team_id,
        channel_id=channel_id,
        payload=SentimentDigestPayload(digest_id=digest_id),
        dedupe_key=f"digest:{digest_id}",
    )
