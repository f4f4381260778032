"""assistant.threads.setStatus, assistant.threads.setSuggestedPrompts and agents.sessions.setStatus: the agent's
loading status in a thread, the prompts its Messages tab suggests, and its session's lifecycle (while a session
is `processing` Slack shows a stop button, whose click is the agent_session_stopped event), with Slack's
argument checks.

setStatus needs the channel, the thread and a status ("" clears it), and rotates through at most 10 loading
messages. setSuggestedPrompts takes one to four prompts, each a title and the message it sends; an agent app
(`agent_view` in its manifest) leaves out `thread_ts`, which only the legacy assistant experience takes.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.emulator.answers import Answer, error, missing, ok, text_arg
from bot.emulator.methods.context import MethodContext

MAX_LOADING_MESSAGES = 10
MAX_PROMPTS = 4
MAX_SESSION_TITLE = 200
SESSION_STATUSES = ("active", "processing", "suspended", "closed")


def _invalid(pointer: str, problem: str) -> Answer:
    return error("invalid_arguments", messages=[f"[ERROR] {problem} [json-pointer:{pointer}]"])


def _target_problem(ctx: MethodContext, channel_id: str, thread_ts: str) -> Answer | None:
    """Slack's answer when the channel, or the thread named in it, does not exist (the workspace lock held)."""
    if ctx.workspace.channel(channel_id) is None:
        return error("channel_not_found")
    if thread_ts and ctx.workspace.find(channel_id, thread_ts) is None:
        return error("invalid_thread_ts")
    return None


def set_status(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    absent = [name for name in ("channel_id", "thread_ts") if not text_arg(args, name)]
    if "status" not in args or args["status"] is None:
        absent.append("status")
    if absent:
        return missing(*absent)
    loading = args.get("loading_messages")
    if loading is not None:
        if not isinstance(loading, list) or not all(isinstance(m, str) and m for m in loading):
            return _invalid("/loading_messages", "must be an array of non-empty strings")
        if len(loading) > MAX_LOADING_MESSAGES:
            return _invalid("/loading_messages", f"no more than {MAX_LOADING_MESSAGES} items allowed")
    ws = ctx.workspace
    channel_id, thread_ts = text_arg(args, "channel_id"), text_arg(args, "thread_ts")
    with ws.lock:
        if problem := _target_problem(ctx, channel_id, thread_ts):
            return problem
        status = text_arg(args, "status")
        if status:
            ws.thread_status[(channel_id, thread_ts)] = {"status": status, "loading_messages": list(loading or [])}
        else:
            ws.thread_status.pop((channel_id, thread_ts), None)
    return ok()


def set_suggested_prompts(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    absent = [name for name in ("channel_id",) if not text_arg(args, name)]
    if not args.get("prompts"):
        absent.append("prompts")
    if absent:
        return missing(*absent)
    prompts = args["prompts"]
    if not isinstance(prompts, list):
        return _invalid("/prompts", "must be an array")
    if len(prompts) > MAX_PROMPTS:
        return _invalid("/prompts", f"no more than {MAX_PROMPTS} items allowed")
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, dict) or not all(
            isinstance(prompt.get(k), str) and prompt[k] for k in ("title", "message")
        ):
            return _invalid(f"/prompts/{i}", "must have a title and a message")
    ws = ctx.workspace
    channel_id, thread_ts = text_arg(args, "channel_id"), text_arg(args, "thread_ts")
    with ws.lock:
        if problem := _target_problem(ctx, channel_id, thread_ts):
            return problem
        ws.suggested_prompts[channel_id] = {"title": text_arg(args, "title"), "prompts": copy.deepcopy(prompts)}
    return ok()


def set_session_status(ctx: MethodContext, args: dict[str, Any]) -> Answer:
    """Creates the thread's agent session if needed and sets its status; the title counts only on creation."""
    absent = [name for name in ("channel_id", "status") if not text_arg(args, name)]
    if absent:
        return missing(*absent)
    status, title = text_arg(args, "status"), text_arg(args, "title")
    if status not in SESSION_STATUSES:
        return _invalid("/status", f"must be one of {', '.join(SESSION_STATUSES)}")
    if len(title) > MAX_SESSION_TITLE:
        return _invalid("/title", f"must be less than {MAX_SESSION_TITLE + 1} characters")
    ws = ctx.workspace
    channel_id, thread_ts = text_arg(args, "channel_id"), text_arg(args, "thread_ts")
    with ws.lock:
        if problem := _target_problem(ctx, channel_id, thread_ts):
            return problem
        session = ws.agent_sessions.setdefault((channel_id, thread_ts), {"title": title})
        session["status"] = status
        return ok(status=status, title=session["title"])
