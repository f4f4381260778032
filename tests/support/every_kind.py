"""One request of every job kind, sent as Slack sends them, and what each person waiting for one was shown.

Shared by the tests of waiting for the model: tests/scenarios/test_model_wait.py (no model ever comes) and
tests/model/test_model_warmup.py (the real worker starts late). Each request comes from its own person, so what
each was told privately can be told apart: Alice mentions the bot, runs /translate and opens the App Home tab; Bob
runs /summarize; Carol uses the Translate-message shortcut, then its language picker; Dave runs /sentiment now;
Erin adds a flag reaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot import texts
from tests.support.slack import ALICE, BOB, BOT_USER, CHANNEL, TEAM, wait_until

if TYPE_CHECKING:
    from bot.emulator import SlackEmulator, SlackSender

CAROL, DAVE, ERIN = "U0CAROL", "U0DAVE", "U0ERIN"
CHATTER = (
    "We shipped the release on Friday, great work everyone!",
    "The deploy to staging failed twice before it went through.",
    "Carol owns the QA sign-off for the next release.",
)


@dataclass(frozen=True)
class EveryKind:
    """Where the answers to the requests go: the mention's and the flagged message's threads (public), and the
    message Carol asked to translate (hers, privately). The rest are told by person (`told_privately`)."""

    mention: str
    flagged: str
    source: str


def send_every_kind(sender: SlackSender, emulator: SlackEmulator) -> EveryKind:
    """Sends a mention, a flag reaction, /translate, /summarize, the Translate-message shortcut and then its picker,
    /sentiment now and app_home_opened; the channel's messages before them are what the digest must score."""
    for user, name in ((CAROL, "carol"), (DAVE, "dave"), (ERIN, "erin")):
        emulator.add_user(user, name=name, real_name=f"{name.title()} Example", tz="UTC")
    said = [_say(sender, BOB, text) for text in CHATTER]
    flagged, source = said[0], said[2]

    mention = sender.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> tell me a story about our launch")
    assert sender.event(mention).status == 200
    assert sender.event(sender.reaction_event(CHANNEL, flagged, "flag-fr", user=ERIN)).status == 200
    assert sender.command("/translate", "fr Good morning, team!", user_id=ALICE, channel_id=CHANNEL).status == 200
    assert sender.command("/summarize", "", user_id=BOB, channel_id=CHANNEL).status == 200
    message = {"type": "message", "user": BOB, "ts": source, "text": CHATTER[2]}
    assert (
        sender.message_shortcut("translate_message", message=message, channel_id=CHANNEL, user_id=CAROL).status == 200
    )
    [picker] = wait_until(lambda: _pickers(emulator), what="the language picker offered to Carol")
    assert sender.interactive(_pick_french(emulator, picker)).status == 200
    now = sender.command("/sentiment", "now", user_id=DAVE, channel_id=CHANNEL)
    assert now.status == 200 and now.json()["text"] == texts.SENTIMENT_NOW.format(span="the last 24 hours")
    home = {"type": "app_home_opened", "user": ALICE, "channel": "D0ALICE", "tab": "home"}
    assert sender.event(home).status == 200
    return EveryKind(mention=mention["ts"], flagged=flagged, source=source)


def bot_replies(emulator: SlackEmulator, thread_ts: str) -> list[dict[str, Any]]:
    """Our messages in a thread of #general, as people see them now."""
    return [m for m in emulator.messages(CHANNEL, thread_ts=thread_ts) if m.get("user") == BOT_USER]


def bot_posts(emulator: SlackEmulator) -> list[dict[str, Any]]:
    """Our top-level messages in #general (a digest, when it is posted as text)."""
    return [m for m in emulator.messages(CHANNEL) if m.get("user") == BOT_USER]


def shown(emulator: SlackEmulator, ts: str) -> list[str]:
    """Every text one of our messages showed, in order: as posted, then each edit."""
    texts_shown = [c.args["text"] for c in emulator.calls("chat.postMessage") if c.ok and c.response["ts"] == ts]
    texts_shown += [c.args["text"] for c in emulator.calls("chat.update") if c.ok and c.args["ts"] == ts]
    return texts_shown


def told_privately(emulator: SlackEmulator, user: str) -> list[str]:
    """What `user` was shown privately in #general (response_url answers and ephemeral messages), in order."""
    return [m.get("text", "") for m in emulator.ephemeral_messages(CHANNEL) if m["user"] == user]


def home_publishes(emulator: SlackEmulator, user: str) -> int:
    return len([c for c in emulator.calls("views.publish") if c.ok and c.args["user_id"] == user])


def gave_up_prefix(template: str = texts.MODEL_GAVE_UP) -> str:
    """The start of a gave-up sentence up to how long it waited: it names the reason (the model not answering)."""
    return template.split("{waited}")[0].format(reason=texts.MODEL_WAS_AWAY)


def _say(sender: SlackSender, user: str, text: str) -> str:
    event = sender.message_event(CHANNEL, user, text)
    assert sender.event(event).status == 200
    return str(event["ts"])


def _pickers(emulator: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in emulator.ephemeral_messages(CHANNEL) if m["user"] == CAROL and m.get("blocks")]


def _pick_french(emulator: SlackEmulator, picker: dict[str, Any]) -> dict[str, Any]:
    """Carol picks French in the picker, as Slack sends it: a block_actions payload with its own response_url."""
    block = picker["blocks"][0]
    return {
        "type": "block_actions",
        "user": {"id": CAROL},
        "team": {"id": TEAM},
        "trigger_id": "trigger-carol-pick",
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": picker["message_ts"], "is_ephemeral": True},
        "response_url": emulator.response_urls.new(channel_id=CHANNEL, user_id=CAROL),
        "actions": [
            {
                "action_id": block["accessory"]["action_id"],
                "block_id": block["block_id"],
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "French"}, "value": "fr"},
            }
        ],
    }
