"""What each kind of job does once claimed: read what it needs, call the skill in handlers/, post the reply.

Runners are the bridge between plain-data skills and Slack; they hold no logic of their own beyond choosing
where an answer goes (the thread, the caller only, or the channel). One module per skill.
"""

from __future__ import annotations

import logging

from bot import texts
from bot.jobs.delivery import Delivery
from bot.jobs.dispatch import Runner
from bot.jobs.kinds import JobKind, SentimentDigestPayload, TranslatePayload
from bot.jobs.model_wait import WhoWaits, waits_for_model
from bot.jobs.runners.agent import AgentRunner
from bot.jobs.runners.deps import RunnerDeps
from bot.jobs.runners.mention import MentionRunner
from bot.jobs.runners.sentiment import SentimentRunners
from bot.jobs.runners.summarize import SummarizeRunner
from bot.jobs.runners.translate import TranslateRunner
from storage.jobs import ClaimedJob

__all__ = ["RunnerDeps", "Runners"]

logger = logging.getLogger(__name__)

_ANSWERED_PRIVATELY = {JobKind.SUMMARIZE, JobKind.TRANSLATE, JobKind.SENTIMENT_COMMAND}
_NOBODY_WAITING = {
    JobKind.SENTIMENT_DIGEST,
    JobKind.SENTIMENT_HOME,
    JobKind.AGENT_THREAD,
}  # scheduled work: the failure is logged only


class Runners:
    """Every job kind and its runner; `as_mapping()` hands them to the dispatcher."""

    def __init__(self, deps: RunnerDeps) -> None:
        self.delivery = Delivery(
            client=deps.client, sessions=deps.sessions, teams=deps.teams, native_streaming=deps.native_streaming
        )
        self._mention = MentionRunner(deps, self.delivery)
        self._summarize = SummarizeRunner(deps, self.delivery)
        self._translate = TranslateRunner(deps, self.delivery)
        self._sentiment = SentimentRunners(deps, self.delivery)
        self._agent = AgentRunner(deps)
        self._model_wait = deps.model_wait

    def as_mapping(self) -> dict[str, Runner]:
        """One runner for every JobKind (tests/unit/test_dispatch.py checks that none is missing), each waiting
        for the model the same way (bot/jobs/model_wait.py); beside it, who hears about the wait."""
        mention, sentiment = self._mention, self._sentiment
        kinds: dict[str, tuple[Runner, WhoWaits]] = {
            JobKind.HELP: (mention.help, mention.waiting),
            JobKind.MENTION: (mention, mention.waiting),
            JobKind.SUMMARIZE: (self._summarize, self._summarize.waiting),
            JobKind.TRANSLATE: (self._translate, self._translate.waiting),
            JobKind.SENTIMENT_COMMAND: (sentiment.command, sentiment.command_waiting),
            JobKind.SENTIMENT_HOME: (sentiment.home, sentiment.home_waiting),
            JobKind.SENTIMENT_DIGEST: (sentiment.digest, sentiment.digest_waiting),
            JobKind.AGENT_THREAD: (self._agent.thread_started, self._agent.waiting),
        }
        return {kind: waits_for_model(run, who, longest=self._model_wait) for kind, (run, who) in kinds.items()}

    def tell_user_it_failed(self, job: ClaimedJob, reason: str) -> None:
        """Called by the dispatcher when a job gives up: the user hears it where they are already looking."""
        asked_now = job.kind == JobKind.SENTIMENT_DIGEST and SentimentDigestPayload.of(job).user is not None
        if job.kind in _NOBODY_WAITING and not asked_now:  # `/sentiment now`: its caller is waiting
            return
        in_thread = job.kind == JobKind.TRANSLATE and TranslatePayload.of(job).deliver == "thread"
        if (job.kind in _ANSWERED_PRIVATELY or asked_now) and not in_thread:
            self.delivery.reply_to_caller(job, texts.SOMETHING_WENT_WRONG)
            return
        try:
            self.delivery.reply_in_thread(job, texts.SOMETHING_WENT_WRONG)
        except Exception as exc:  # posting may be what failed: the asker can still be told privately
            logger.warning("job %d: could not post its failure in the thread (%s); telling the asker only", job.id, exc)
            self.delivery.tell_privately(job, texts.SOMETHING_WENT_WRONG)
