"""Every sentence Parlance says to people, in one place so they read alike and tests can import them."""

from handlers.commands import SUMMARIZE_USAGE, TRANSLATE_USAGE

HELP = (
    "Hi, I'm *Parlance*, a teammate that runs on your own hardware. Here is what I can do:\n"
    "• *Ask me anything*: mention me, e.g. `@Parlance what did we decide about the release date?` "
    "I answer in a thread using this channel's conversation.\n"
    "• *Summaries*: " + SUMMARIZE_USAGE + "\n"
    "• *Translation*: " + TRANSLATE_USAGE + "\n"
    "• `@Parlance help` shows this message."
)

ACK_SUMMARIZE = "Working on a summary of the {span}…"
ACK_TRANSLATE = "Translating into {language}…"
TEXT_TOO_LONG = (
    "That message is {length:,} characters long, more than I can work with ({limit:,}). Please send a shorter one."
)

MODEL_NOT_READY = (
    "I received your message, but my language model isn't reachable right now, so I can't answer yet. "
    "An admin can check the model worker (`python -m bot.worker`) or the MODEL_URL setting."
)
SKILL_NOT_READY = (
    "I received your request, but {skill} isn't available in this version of Parlance yet. "
    "Mention me with `help` to see what works today."
)
SOMETHING_WENT_WRONG = (
    "Sorry, something went wrong while I was working on that. The error has been logged for the admins."
)
