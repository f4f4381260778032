"""What each kind of job does once claimed: read what it needs, call the skill in handlers/, post the reply.

Runners are the bridge between plain-data skills and Slack; they hold no logic of their own beyond choosing
where an answer goes (the thread, the caller only, or the channel). One module per skill.
"""

from __future__ import annotations

import logging

from bot import texts
from bot.jobs.delivery import Delivery
from bot.jobs.dispatch import Runner
from bot.jobs.kinds import JobKind, TranslatePayload
from bot.jobs.runners.deps import RunnerDeps
from bot.jobs.runners.mention import MentionRunner
from bot.jobs.runners.sentiment import SentimentRunners
from bot.jobs.runners.summarize import SummarizeRunner
from bot.jobs.runners.translate import TranslateRunner
from storage.jobs import ClaimedJob

__all__ = ["RunnerDeps", "Runners"]

logger = logging.getLogger(__name__)

_ANSWERED_PRIVATELY = {JobKind.SUMMARIZE, JobKind.TRANSLATE, JobKind.SENTIMENT_COMMAND}
_NOBODY_WAITING = {JobKind.SENTIMENT_DIGEST, JobKind.SENTIMENT_HOME}  # scheduled work: the failure is logged only


class Runners:
    """Every job kind and its runner; `as_mapping()` hands them to the dispatcher."""

    def __init__(self, deps: RunnerDeps) -> None:
        self.delivery = Delivery(client=deps.client, sessions=deps.sessions, teams=deps.teams)
        self._mention = MentionRunner(deps, self.delivery)
        self._summarize = SummarizeRunner(deps, self.delivery)
        self._translate = TranslateRunner(deps, self.delivery)
        self._sentiment = SentimentRunners(deps)

    def as_mapping(self) -> dict[str, Runner]:
        """One runner for every JobKind (tests/test_dispatch.py checks that none is missing)."""
        return {
            JobKind.HELP: self._mention.help,
            JobKind.MENTION: self._mention,
            JobKind.SUMMARIZE: self._summarize,
            JobKind.TRANSLATE: self._translate,
            JobKind.SENTIMENT_COMMAND: self._sentiment.command,
            JobKind.SENTIMENT_HOME: self._sentiment.home,
            JobKind.SENTIMENT_DIGEST: self._sentiment.digest,
        }

    def tell_user_it_failed(self, job: ClaimedJob, reason: str) -> None:
        """Called by the dispatcher when a job gives up: the user hears it where they are already looking."""
        if job.kind in _NOBODY_WAITING:
            return
        in_thread = job.kind == JobKind.TRANSLATE and TranslatePayload.of(job).deliver == "thread"
        if job.kind in _ANSWERED_PRIVATELY and not in_thread:
            self.delivery.reply_to_caller(job, texts.SOMETHING_WENT_WRONG)
            return
        try:
            self.delivery.reply_in_thread(job, texts.SOMETHING_WENT_WRONG)
        except Exception as exc:  # posting may be what failed: the asker can still be told privately
            logger.warning("job %d: could not post its failure in the thread (%s); telling the asker only", job.id, exc)
            self.delivery.tell_privately(job, texts.SOMETHING_WENT_WRONG)
