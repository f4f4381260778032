"""Recording jobs, in the caller's transaction: what the listeners and the clock call to queue slow work.

Each function takes a typed payload (bot/jobs/kinds.py), which names its own kind, and owns the dedupe key that
says which repeats are one request: Slack's retries, the same event announced twice, two clocks firing at once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.jobs.kinds import (
    AgentThreadPayload,
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
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    payload: JobPayload,
    dedupe_key: str | None = None,
    thread_ts: str | None = None,
) -> int | None:
    """Adds a job of the payload's kind; returns None when a job with the same dedupe key exists. The payload's
    `user` (every kind a person asks for has one) is recorded as who asked, for the queue's per-person limits;
    `thread_ts` orders the job after the thread's earlier ones (replies only: see `enqueue_reply`)."""
    user = getattr(payload, "user", None)
    return job_queries.enqueue_job(
        session=session,
        team_id=team_id,
        channel_id=channel_id,
        kind=payload.kind.value,
        payload=payload.stored(),
        dedupe_key=dedupe_key,
        user_id=user if isinstance(user, str) else None,
        thread_ts=thread_ts,
    )


def enqueue_reply(
    *, session: Session, team_id: str, channel_id: str, ts: str, thread_ts: str | None, user: str, request: str
) -> None:
    """One reply job per message, whichever events (mention, DM, retries) announce it.

    A reply in a thread is recorded with its thread: from this transaction on the thread is the bot's (a
    follow-up there is answered without a mention, even while this answer is still being written), and it runs
    after the thread's earlier replies, whose answers it then reads. Recording, not the first post, is what
    makes the thread ours, because the listener's enqueue and the follow-up's check read the same table in
    transactions: there is no moment between the mention being accepted and the bot knowing its thread."""
    model = HelpPayload if request.lower() in HELP_REQUESTS else MentionPayload
    payload = model(ts=ts, thread_ts=thread_ts, user=user, text=request)
    enqueue_job(
        session=session,
        team_id=team_id,
        channel_id=channel_id,
        payload=payload,
        dedupe_key=f"reply:{team_id}:{channel_id}:{ts}",
        thread_ts=thread_ts,
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


def enqueue_agent_thread(
    *, session: Session, team_id: str, channel_id: str, event_id: str | None, payload: AgentThreadPayload
) -> None:
    """One set of suggested prompts per assistant_thread_started event."""
    key = f"agent-thread:{team_id}:{event_id}" if event_id else None
    enqueue_job(session=session, team_id=team_id, channel_id=channel_id, payload=payload, dedupe_key=key)


def enqueue_digest_job(
    *,
    session: Session,
    team_id: str,
    channel_id: str,
    digest_id: int,
    user: str | None = None,
    response_url: str | None = None,
) -> None:
    """Queues the posting of a claimed digest; one job per digest row, however often this is called. `user` (and
    the command's `response_url`): who asked for it with `/sentiment now`, to be told if it must wait."""
    enqueue_job(
        session=session,
        team_id=team_id,
        channel_id=channel_id,
        payload=SentimentDigestPayload(digest_id=digest_id, user=user, response_url=response_url),
        dedupe_key=f"digest:{digest_id}",
    )
