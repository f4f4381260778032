"""The bot's Messages tab as an agent: when someone opens a thread there (assistant_thread_started), the prompts it
suggests. Their messages in that thread are answered like mentions (bot/slack/listeners.py, bot/jobs/runners/
mention.py), streamed into the thread."""

from __future__ import annotations

from bot import texts
from bot.jobs.kinds import AgentThreadPayload
from bot.jobs.model_wait import Waiting
from bot.jobs.runners.deps import RunnerDeps
from bot.jobs.slack_errors import slack_call
from storage.jobs import ClaimedJob


class AgentRunner:
    def __init__(self, deps: RunnerDeps) -> None:
        self.deps = deps

    def waiting(self, job: ClaimedJob) -> Waiting:
        """Suggested prompts need no model: nobody is told of a wait."""
        return Waiting(tell=None)

    def thread_started(self, job: ClaimedJob) -> None:
        """Suggests what to ask. An agent app leaves out `thread_ts` (Slack ignores calls that name it there); the
        prompts go to the thread just opened in the job's DM channel."""
        AgentThreadPayload.of(job)  # checks the payload is this kind's
        with slack_call():
            self.deps.client.assistant_threads_setSuggestedPrompts(
                channel_id=job.channel_id,
                title=texts.SUGGESTED_PROMPTS_TITLE,
                prompts=[{"title": title, "message": message} for title, message in texts.SUGGESTED_PROMPTS],
            )
