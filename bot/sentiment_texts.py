"""Every sentence the sentiment feature says to people, in one place (bot/texts.py holds the rest)."""

from handlers.sentiment.schedule import USAGE

HELP = "*Channel mood digests.* " + USAGE
SCHEDULED = "Done: this channel gets a sentiment digest {when}. The first one comes at the next of those times."
STATUS = (
    "Sentiment digests here: {schedule}. "
    "Scored messages in the last 30 days: {scored}; waiting to be scored: {pending}."
)
STATUS_NONE = "no schedule (set one with `/sentiment daily` or `/sentiment weekly`)"
STATUS_OPTED_OUT = (
    "This channel has opted out of sentiment scoring (`/sentiment forget`). "
    "`/sentiment daily` or `/sentiment weekly` turns it back on."
)
OFF = "Sentiment digests for this channel are off. Messages are still scored; `/sentiment forget` stops that too."
FORGOTTEN = (
    "Deleted the sentiment scores of {count} messages in this channel and stopped scoring it. "
    "`/sentiment daily` or `/sentiment weekly` turns it back on."
)
NOW = "Putting together a digest of {span} for this channel…"
NOT_IN_CHANNEL = "`/sentiment` works in channels, not in direct messages."

DIGEST_TITLE = "Sentiment digest for {span}"
NOT_ENOUGH = (
    "*Sentiment digest for {span}*: not enough messages to say much ({count} scored; a digest needs {minimum}). "
    "No chart this time."
)
MOOD_LINE = "Mood: *{mood}* (mean {mean:+.2f} on −1…1) · {positive} positive, {neutral} neutral, {negative} negative"
CHANGE_LINE = "Change from the period before: {change:+.2f} (was {previous:+.2f} over {previous_count} messages)"
NO_PREVIOUS = "Change from the period before: not enough messages then to compare."
THREAD_LINE = "{title}: {link} ({count} messages, mean {mean:+.2f}): “{gist}”"
VOLUME_LINE = "Messages by day: {days}"
HOME_HEADER = "Channel mood"
HOME_EMPTY = "I haven't seen any channel messages yet. Invite me to a channel and try `/sentiment daily` there."
HOME_CHANNEL = "*<#{channel}>*: {schedule}\nLast 30 days: {trend} mean {mean} over {count} messages"
