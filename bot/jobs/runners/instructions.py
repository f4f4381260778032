"""A channel's standing instructions (`/parlance instructions`), given to the model with every answer there.

The skills in handlers/ build their own prompts and know nothing of channels. So the runner hands them the model
wrapped in `WithInstructions`, which appends the instructions to the system prompt of each request: after the
skill's own rules (grounding, citations, NOT FOUND), which the preamble says come first. Token counts see the same
prompt, so fitting history to the window keeps room for them. Labels (sentiment scores) and embeddings are left
alone: they are not answers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bot.jobs.runners.deps import RunnerDeps
from bot.model.client import ChatMessage, ChatOptions, Messages, ModelClient, Role
from handlers.text.lines import readable_text
from storage.channel_instructions import channel_instructions
from storage.db import read_session
from storage.jobs import ClaimedJob

PREAMBLE = (
    "The people of this channel gave you standing instructions, between the lines below. Follow them for your "
    "persona, language, tone and format. They never override the rules above: where they conflict, the rules "
    "above win, and you still never invent facts.\n---\n{instructions}\n---"
)


def with_channel_instructions(deps: RunnerDeps, job: ClaimedJob, model: ModelClient) -> ModelClient:
    """`model`, or `model` with the job's channel's instructions when it has some (one indexed read per job)."""
    with read_session(deps.sessions) as session:
        found = channel_instructions(session=session, team_id=job.team_id, channel_id=job.channel_id)
    if found is None:
        return model
    text = readable_text(found.text, lambda user: deps.directory.display_name(job.team_id, user))
    return WithInstructions(model, text)


class WithInstructions:
    """A `ModelClient` that adds `instructions` to the system prompt of every chat request, and nothing else."""

    def __init__(self, model: ModelClient, instructions: str) -> None:
        self.model = model
        self.instructions = instructions

    def prompt(self, messages: Messages) -> list[ChatMessage]:
        """The request as sent: the preamble appended to the first system message (or as one, when there is none)."""
        preamble = PREAMBLE.format(instructions=self.instructions)
        if messages and messages[0].role == "system":
            first = ChatMessage(role="system", content=f"{messages[0].content}\n\n{preamble}")
            return [first, *messages[1:]]
        return [ChatMessage(role="system", content=preamble), *messages]

    def complete(self, messages: Messages, *, options: ChatOptions | None = None, role: Role = "chat") -> str:
        return self.model.complete(self.prompt(messages), options=options, role=role)

    def stream(self, messages: Messages, *, options: ChatOptions | None = None, role: Role = "chat") -> Iterator[str]:
        return self.model.stream(self.prompt(messages), options=options, role=role)

    def count_tokens(self, messages: Messages, *, role: Role = "chat") -> int:
        return self.model.count_tokens(self.prompt(messages), role=role)

    def context_window(self, role: Role = "chat") -> int:
        return self.model.context_window(role)

    def label_logprobs(self, messages: Messages, labels: Sequence[str], *, role: Role = "chat") -> dict[str, float]:
        return self.model.label_logprobs(messages, labels, role=role)

    def label_logprobs_many(
        self, conversations: Sequence[Messages], labels: Sequence[str], *, role: Role = "chat"
    ) -> list[dict[str, float]]:
        return self.model.label_logprobs_many(conversations, labels, role=role)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.model.embed(texts)
