"""Every sentence Parlance says to people, in one place so they read alike and tests can import them."""

from handlers.commands import PARLANCE_USAGE, SUMMARIZE_USAGE, TRANSLATE_USAGE
from handlers.sentiment.schedule import USAGE as SENTIMENT_USAGE

HELP = (
    "Hi, I'm *Parlance*, a teammate that runs on your own hardware. Here is what I can do:\n"
    "• *Ask me anything*: mention me, e.g. `@Parlance what did we decide about the release date?` "
    "I answer in a thread using this channel's conversation.\n"
    "• *Summaries*: " + SUMMARIZE_USAGE + "\n"
    "• *Translation*: " + TRANSLATE_USAGE + "\n"
    "• *Feedback*: 👍 / 👎 under my answers, summaries and translations; `/parlance feedback` shows how helpful "
    "they've been here.\n"
    "• `@Parlance help` shows this message."
)

ACK_SUMMARIZE = "Working on a summary of {span}…"  # span_phrase(label): "today (UTC)", "the last 24h"
ACK_TRANSLATE = "Translating into {language}…"
TEXT_TOO_LONG = (
    "That message is {length:,} characters long, more than I can work with ({limit:,}). Please send a shorter one."
)

MODEL_NOT_READY = (
    "I received your message, but my language model isn't reachable right now, so I can't answer yet. "
    "An admin can check the model worker (`python -m bot.worker`) or the MODEL_URL setting."
)
SOMETHING_WENT_WRONG = (
    "Sorry, something went wrong while I was working on that. The error has been logged for the admins."
)

# The agent's loading status while a reply is on its way (assistant.threads.setStatus), and what it rotates through.
LOADING_STATUS = "is thinking…"
LOADING_MESSAGES = ("Reading the conversation…", "Looking through what the team said…", "Writing an answer…")
# What the bot's Messages tab suggests when someone opens a thread with it (assistant.threads.setSuggestedPrompts).
SUGGESTED_PROMPTS_TITLE = "Try asking"
SUGGESTED_PROMPTS = (
    ("What can you do?", "help"),
    ("Explain a term", "Explain what a release candidate is, in two sentences."),
    ("Draft a message", "Help me draft a short, friendly reminder about tomorrow's deadline."),
)
STOPPED = "_(stopped)_"  # ends an answer the asker stopped
MODEL_BUSY = "_My language model is busy or restarting; I'll answer here as soon as it's back._"
MODEL_GAVE_UP = (  # reason: MODEL_WAS_AWAY or MODEL_WAS_BUSY; waited: "10 minutes"
    "_My language model {reason} for {waited}, so I've stopped waiting to answer this. "
    "Please ask again later; an admin can check the model worker (`python -m bot.worker`) or MODEL_URL._"
)
MODEL_WAS_AWAY = "hasn't been answering"  # unreachable, timing out or failing
MODEL_WAS_BUSY = "has been too busy to take this"  # its queue stayed full
MODEL_BUSY_DIGEST = (
    "_My language model is busy or restarting, and the newest messages still need their mood scores; "
    "I'll post the digest in this channel as soon as it's back._"
)
MODEL_GAVE_UP_DIGEST = (
    "_My language model {reason} for {waited}, so I couldn't score the newest messages and I've stopped putting "
    "the digest together. Try `/sentiment now` again later; an admin can check the model worker "
    "(`python -m bot.worker`) or MODEL_URL._"
)
COULD_NOT_ANSWER = (
    "I couldn't produce a useful answer to that with the current model. Try rephrasing, or ask an admin about "
    "configuring a larger model (MODEL_URL)."
)
REQUEST_TOO_LONG_FOR_MODEL = "That request is too long for my language model's context window. Please shorten it."
QUEUED_BEHIND = (  # count: how many of the person's requests are still waiting
    "_You have {count} more requests waiting for me. I take each person's requests one at a time, in the order "
    "they were sent, so that nobody else is kept waiting behind them; yours will all be answered._"
)
NOTHING_FOUND = (
    "I looked through what I have stored of this channel and found nothing about that, so I won't guess. "
    "(I only know messages sent while I was in the channel.)"
)
ANSWER_SOURCES = "*Sources:*"
FILES_UNREADABLE = "_I couldn't read {files}._"  # "diagram.png (I can't read images yet); a.bin (…)"
FILES_CUT = "_I read only the first {limit:,} characters of {files}._"
BOT_SPEAKER = "Parlance"
THREAD_IN_OTHER_CHANNEL = (
    "That thread is in another channel. Run `/summarize <thread link>` in the thread's own channel, or use the "
    "*Summarize thread* shortcut on the thread's first message."
)
NOTHING_TO_SUMMARIZE = "I found no messages from the {span} to summarize."  # "last 24h", "thread", "day so far (UTC)"
SUMMARY_HEADER = "*Summary of {span}* · {count}"  # "today (UTC)", "the thread"; "7 messages"
SUMMARY_HEADER_COUNTED_BY_SPAN = "*Summary of {span}*"  # "the last 10 messages" already says how many
SUMMARY_DECISIONS = "*Decisions*"
SUMMARY_QUESTIONS = "*Open questions*"
SUMMARY_ACTIONS = "*Action items*"
SUMMARY_DEGRADED = "_Extractive summary only: {reason}._"
TRANSLATION = "*{language}:* {text}"
TRANSLATION_IN_THREAD = "*{language}* (asked for by {who}): {text}"
MESSAGE_GONE = "I can't find that message any more; it may have been deleted."
PICK_LANGUAGE = "Which language should I translate this message into?"

# /parlance: what is stored, and forgetting it. Say exactly what happens, and what does not.
PARLANCE_HELP = (
    "*What I store:* the messages of the channels I'm in and of direct messages with me (text, author and time; "
    "an edit replaces the text, a deletion erases it), a mood score for each, what you ask me, for a week "
    "after I've answered, and your 👍/👎 votes on my answers. {retention} I use them for answers, summaries and "
    "mood digests.\n" + PARLANCE_USAGE
)
RETENTION_DAYS = "Messages are deleted {days} days after they were posted."
RETENTION_FOREVER = "Messages are kept until you run `/parlance forget me` or Parlance is uninstalled."
FORGOT_YOU = (
    "Done: I deleted {messages} of yours that I had stored in this workspace, with their mood scores, the "
    "requests I had finished and your votes on my answers, and I won't store your new messages "
    "(`/parlance remember me` undoes that). Slack's own copies are untouched: delete those in Slack if you want "
    "them gone. My own replies stay in the channel's history, even where they quote you."
)
REMEMBER_YOU = (
    "OK: I'll store your new messages in this workspace again, so answers, summaries and mood digests can use "
    "them. What I deleted stays deleted, though `/summarize` may read some of it from Slack again."
)
NOT_FORGOTTEN = "I'm already storing your messages in this workspace; `/parlance forget me` stops that."

# /parlance instructions: a channel's standing instructions for every answer there. {quoted}: the text as a quote.
INSTRUCTIONS_NONE = (
    "*Standing instructions in this channel:* none. `/parlance instructions <text>` sets how I answer here "
    "(a persona, a language, a tone)."
)
INSTRUCTIONS_SHOWN = (
    "*Standing instructions in this channel* (set by {who}):\n{quoted}\n`/parlance instructions off` removes them."
)
INSTRUCTIONS_SET = (
    "Done: I'll follow these instructions in every answer in this channel, on top of my own rules (I still answer "
    "from what was said here and never make things up):\n{quoted}\n"
    "`/parlance` shows them to anyone here; `/parlance instructions off` removes them."
)
INSTRUCTIONS_REMOVED = "Done: this channel has no standing instructions any more; I answer here in my usual way."
INSTRUCTIONS_WERE_NONE = (
    "This channel has no standing instructions to remove. `/parlance instructions <text>` sets some."
)

# ALLOWED_CHANNELS: where Parlance is not enabled. {where}: the channels it is enabled in, or "".
NOT_ENABLED_HERE = (
    "Sorry, I'm not enabled in this conversation, so I don't answer or store anything here.{where} "
    "An admin can enable it by adding its id to the ALLOWED_CHANNELS setting."
)
ENABLED_IN = " You can ask me in {channels}."

# Feedback buttons (👍 / 👎) under answers, summaries and translations, and the helpful rates they add up to.
FEEDBACK_HELPFUL_LABEL = "Helpful"  # what a screen reader says for each button (75 characters at most)
FEEDBACK_NOT_HELPFUL_LABEL = "Not helpful"
FEEDBACK_THANKS_HELPFUL = "Thanks for the 👍, glad that helped!"
FEEDBACK_THANKS_NOT_HELPFUL = "Thanks for the 👎: noted that this one didn't help."
FEEDBACK_CHANGED_HELPFUL = "Thanks: I've changed your vote on this one to 👍."
FEEDBACK_CHANGED_NOT_HELPFUL = "Thanks: I've changed your vote on this one to 👎."
FEEDBACK_SAME = "You had already voted that way on this one; your vote stands."
FEEDBACK_UNKNOWN = (
    "I can't find that answer any more (my answers can be rated for a week after I post them), so I didn't "
    "record a vote."
)
FEEDBACK_NOT_RECORDED = (
    "Sorry, that vote didn't reach me in a form I recognise, so I didn't record it. The buttons under my newer "
    "answers work."
)
FEEDBACK_NO_VOTES = "no votes yet"
FEEDBACK_RATES = "*How helpful I've been in this channel (last 7 days):* {rates}"  # rates: bot.slack.feedback
HOME_FEEDBACK_HEADER = "How helpful Parlance has been"
HOME_FEEDBACK = "Votes in the public channels above, last 7 days: {rates}"


def span_phrase(label: str) -> str:
    """A summary span as a noun phrase with its article: "today (UTC)", "the last 24h", "the thread"."""
    label = " ".join(label.split()) or "recent conversation"
    return label if label.lower().startswith(("today", "yesterday", "this ", "the ")) else f"the {label}"


# -- sentiment: /sentiment, digests, the App Home tab ------------------------------------------------------
SENTIMENT_HELP = "*Channel mood digests.* " + SENTIMENT_USAGE
SENTIMENT_SCHEDULED = (
    "Done: this channel gets a sentiment digest {when}. The first one comes at the next of those times."
)
SENTIMENT_STATUS = (
    "Sentiment digests here: {schedule}. "
    "Scored messages in the last 30 days: {scored}; waiting to be scored: {pending}."
)
SENTIMENT_STATUS_NONE = "no schedule (set one with `/sentiment daily` or `/sentiment weekly`)"
SENTIMENT_STATUS_OPTED_OUT = (
    "This channel has opted out of sentiment scoring (`/sentiment forget`). "
    "`/sentiment daily` or `/sentiment weekly` turns it back on."
)
SENTIMENT_OFF = (
    "Sentiment digests for this channel are off. Messages are still scored; `/sentiment forget` stops that too."
)
SENTIMENT_FORGOTTEN = (
    "Deleted the sentiment scores of {count} messages in this channel and stopped scoring it. "
    "`/sentiment daily` or `/sentiment weekly` turns it back on."
)
SENTIMENT_NOW = "Putting together a digest of {span} for this channel…"
SENTIMENT_NOT_IN_CHANNEL = "`/sentiment` works in channels, not in direct messages."

DIGEST_TITLE = "Sentiment digest for {span}"
DIGEST_NOT_ENOUGH = (
    "*Sentiment digest for {span}*: not enough messages to say much ({count} scored; a digest needs {minimum}). "
    "No chart this time."
)
DIGEST_MOOD_LINE = (
    "Mood: *{mood}* (mean {mean:+.2f} on −1…1) · {positive} positive, {neutral} neutral, {negative} negative"
)
DIGEST_CHANGE_LINE = "Change from the period before: {change:+.2f} (was {previous:+.2f} over {previous_count} messages)"
DIGEST_NO_PREVIOUS = "Change from the period before: not enough messages then to compare."
DIGEST_THREAD_LINE = "{title}: {link} ({count} messages, mean {mean:+.2f}): “{gist}”"
DIGEST_VOLUME_LINE = "Messages by day: {days}"
HOME_HEADER = "Channel mood"
HOME_EMPTY = "I haven't seen any channel messages yet. Invite me to a channel and try `/sentiment daily` there."
HOME_CHANNEL = "*<#{channel}>*: {schedule}\nLast 30 days: {trend} mean {mean} over {count} messages"
