"""A Slack emulator at the network boundary, for the test-suite and for local mode.

The app under test talks to it exactly as it talks to Slack: its WebClient points at `emu.api_url`, Socket
Mode connects to the URL apps.connections.open hands out, and SlackSender posts signed events to the app.
Nothing in the app knows it is not Slack.

    with SlackEmulator() as emu:
        emu.add_channel("C1", name="general")
        client = WebClient(token="xoxb-test", base_url=emu.api_url)
        ...
        emu.wait_for("chat.postMessage")
"""

from bot.emulator.emulator import SlackEmulator
from bot.emulator.oauth import ConsentError
from bot.emulator.sender import SentResponse, SlackSender
from bot.emulator.signing import signature
from bot.emulator.teams import EmulatedTeam
from bot.emulator.web_api import ApiCall

__all__ = ["ApiCall", "ConsentError", "EmulatedTeam", "SentResponse", "SlackEmulator", "SlackSender", "signature"]
