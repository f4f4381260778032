"""What each kind of job does once claimed: read what it needs, call the skill in handlers/, post the reply.

Runners are the bridge between plain-data skills and Slack; they hold no logic of their own beyond choosing
where an answer goes (the thread, the caller only, or the channel). One module per skill.
"""

from __future__ import annotations

import logging

from bot import texts
from bot.jobs.dispatch import Runner
from bot.jobs.runners.context import RunnerContext
from bot.jobs.runners.mention import MentionRunner
from bot.jobs.runners.summarize import SummarizeRunner
from bot.jobs.runners.translate import TranslateRunner
from storage.jobs import ClaimedJob

__all__ = ["RunnerContext", "Runners"]

logger = logging.getLogger(__name__)

_ANSWERED_PRIVATELY = {"summarize", "translate", "sentiment_command"}
_NOBODY_WAITING = {"sentiment_digest", "sentiment_home"}  # scheduled work: the failure is logged, not posted


class Runners:
    """Every job kind and its runner; `as_mapping()` hands them to the dispatcher."""

    def __init__(self, ctx: RunnerContext) -> None:
        self.ctx = ctx
        self._mention = MentionRunner(ctx)
        self._summarize = SummarizeRunner(ctx)
        self._translate = TranslateRunner(ctx)

    def as_mapping(self) -> dict[str, Runner]:
        return {
            "help": self._mention.help,
            "mention": self._mention,
            "summarize": self._summarize,
            "translate": self._translate,
        }

    def tell_user_it_failed(self, job: ClaimedJob, reason: str) -> None:
        """Called by the dispatcher when a job gives up: the user hears it where they are already looking."""
        if job.kind in _NOBODY_WAITING:
            return
        if job.kind in _ANSWERED_PRIVATELY and job.payload.get("deliver") != "thread":
            self.ctx.reply_to_caller(job, texts.SOMETHING_WENT_WRONG)
            return
        try:
            self.ctx.reply_in_thread(job, texts.SOMETHING_WENT_WRONG)
        except Exception as exc:  # posting may be what failed: the asker can still be told privately
            logger.warning("job %d: could not post its failure in the thread (%s); telling the asker only", job.id, exc)
            self.ctx.tell_privately(job, texts.SOMETHING_WENT_WRONG)
