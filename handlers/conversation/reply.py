"""Replying to a mention: the conversation so far, fitted to the model's window, and a streamed answer.

The context is the thread (or, for a new thread, the channel's recent messages) with speakers' names, newest
kept and oldest dropped until prompt plus reply fit the model's context window by its own token count.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bot.model.client import ChatMessage, ChatOptions, ModelClient
from handlers.text.guards import ends_in_loop
from handlers.text.lines import ChatLine

SYSTEM_PROMPT = (
    "You are Parlance, a helpful teammate in a Slack workspace. Reply to the last request briefly and "
    "accurately, in the language it was asked in. Use the conversation when it is relevant. You know nothing "
    "about this team, its people, projects, dates or decisions except what the conversation shows: never make "
    "them up. If you do not know, say so plainly instead of guessing."
)
REPLY_TOKENS = 400


def build_messages(request: str, asker: str, context: Sequence[ChatLine], *, place: str) -> list[ChatMessage]:
    messages = [ChatMessage(role="system", content=SYSTEM_PROMPT)]
    if context:
        transcript = "\n".join(f"{line.speaker}: {line.text}" for line in context)
        messages.append(ChatMessage(role="user", content=f"Conversation in {place} so far:\n{transcript}"))
        messages.append(ChatMessage(role="assistant", content="Understood. What would you like me to do?"))
    messages.append(ChatMessage(role="user", content=f"{asker}: {request}"))
    return messages


def fit_context(
    request: str,
    asker: str,
    context: Sequence[ChatLine],
    *,
    model: ModelClient,
    place: str,
    reply_tokens: int = REPLY_TOKENS,
) -> list[ChatLine]:
    """The longest suffix of `context` whose prompt fits the window with room for the reply.

    A binary search over where the kept history starts needs O(log n) token counts, not one per message.
    """
    budget = model.context_window() - reply_tokens
    lines = list(context)

    def fits(start: int) -> bool:
        return model.count_tokens(build_messages(request, asker, lines[start:], place=place)) <= budget

    if fits(0):
        return lines
    low, high = 1, len(lines)  # fits(len) is the request alone; if even that is too long the model says so
    while low < high:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    return lines[low:]


def converse(
    request: str,
    asker: str,
    context: Sequence[ChatLine],
    *,
    model: ModelClient,
    place: str,
    reply_tokens: int = REPLY_TOKENS,
) -> Iterator[str]:
    """Streams the reply. Stops early when the model starts looping, so a loop never reaches Slack in full."""
    kept = fit_context(request, asker, context, model=model, place=place, reply_tokens=reply_tokens)
    messages = build_messages(request, asker, kept, place=place)
    options = ChatOptions(max_tokens=reply_tokens, temperature=0.3, top_p=0.9)
    text = ""
    stream = model.stream(messages, options=options)
    try:
        for piece in stream:
            text += piece
            yield piece
            if ends_in_loop(text):
                return
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # tells the worker to stop generating
