"""Files shared where a question is asked become part of what the answer reads.

For a mention (or a summary) the runner collects the files shared with the messages it reads: a thread's, or
the channel's recent ones. Their text (bot/slack/files.py, handlers/attachments) becomes ChatLines beside the
messages, attributed to "<who> (file <name>)" and linked to the message that shared the file, so Q&A can quote
and cite them like any message. What could not be read is said in one line at the end of the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot import texts
from bot.jobs.runners.deps import RunnerDeps
from bot.jobs.slack_errors import slack_call
from bot.slack.files import read_shared_files
from bot.slack.mrkdwn import escape
from handlers.attachments.reading import MAX_FILE_CHARS, FileText, chunks
from handlers.text.lines import ChatLine
from storage.messages import StoredMessage


@dataclass(frozen=True)
class SharedFiles:
    """The shared files' text as lines (several per file when `split`), and what could not be read."""

    lines: list[ChatLine] = field(default_factory=list)
    unreadable: list[FileText] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)  # names of files read only in part (MAX_FILE_CHARS)

    @property
    def count(self) -> int:
        """How many files were read (so a summary's count of messages can leave them out)."""
        return len({line.speaker for line in self.lines})

    def note(self) -> str:
        """The line an answer ends with when some file could not be read or was read in part; "" otherwise."""
        parts = []
        if self.unreadable:
            files = "; ".join(f"{escape(f.name)} ({f.problem})" for f in self.unreadable)
            parts.append(texts.FILES_UNREADABLE.format(files=files))
        if self.cut:
            parts.append(texts.FILES_CUT.format(limit=MAX_FILE_CHARS, files=", ".join(map(escape, self.cut))))
        return "\n".join(parts)


def shared_files(
    deps: RunnerDeps, *, team_id: str, channel_id: str, messages: list[StoredMessage], split: bool = True
) -> SharedFiles:
    """The files shared with `messages` (the newest few), read from Slack. `split`: in pieces a question can
    find (Q&A), else one line per file (summaries). No file shared: no Slack call at all."""
    # People's files (not the bot's own charts), oldest first; each with the message that shared it.
    shared = [(m, ref) for m in sorted(messages, key=lambda m: float(m.ts)) if not m.is_bot for ref in m.files]
    if not shared:
        return SharedFiles()
    with slack_call():
        read = read_shared_files(client=deps.client, refs=[ref for _, ref in shared])
    lines: list[ChatLine] = []
    unreadable: list[FileText] = []
    cut: list[str] = []
    pieces_of: dict[str, int] = {}  # per message: its files' pieces so far, so each line's ts is unique
    for (message, _), text in zip(shared[len(shared) - len(read) :], read, strict=True):
        if text.text is None:
            unreadable.append(text)
            continue
        if text.truncated:
            cut.append(text.name)
        who = deps.directory.display_name(team_id, message.user_id)
        url = deps.directory.permalink(channel_id, message.ts, message.thread_ts)
        pieces = chunks(text.text) if split else [text.text]
        first = pieces_of.get(message.ts, 0) + 1
        pieces_of[message.ts] = first + len(pieces) - 1
        lines.extend(
            ChatLine(
                ts=f"{message.ts}{index:04d}",  # right after its message, in order
                speaker=f"{who} (file {text.name})",
                text=piece,
                url=url,
                thread_ts=message.thread_ts,
            )
            for index, piece in enumerate(pieces, start=first)
        )
    return SharedFiles(lines, unreadable, cut)
