"""The Slack emulator behaves like Slack, as seen by the real slack_sdk and slack_bolt clients.

Every test drives the emulator with the clients the bot uses in production, so a difference between the
emulator and Slack shows up here rather than as a green suite that lies.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier

from bot.app import slack_retry_handlers
from bot.emulator import SlackEmulator, SlackSender, signature
from bot.slack import delivery as slack_io

SECRET = "test-signing-secret"


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    with SlackEmulator() as emulator:
        emulator.add_channel("C1", name="general")
        emulator.add_user("U1", name="alice", real_name="Alice Martin")
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=emu.api_url)


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value.response["error"]


# ----- tokens, methods, arguments -------------------------------------------------------------------------


def test_auth_test_names_the_bot(client: WebClient) -> None:
    answer = client.auth_test()
    assert (answer["team_id"], answer["user_id"], answer["bot_id"]) == ("T0001", "U0BOT", "B0BOT")
    assert answer["url"] == "https://parlance.slack.com/"


def test_tokens_are_checked_and_refused_calls_recorded(emu: SlackEmulator) -> None:
    def post(token: str | None) -> str:
        return error_of(lambda: WebClient(token=token, base_url=emu.api_url).chat_postMessage(channel="C1", text="x"))

    assert post(None) == "not_authed"
    assert post("xoxb-wrong") == "invalid_auth"
    assert post("xapp-test") == "not_allowed_token_type"
    bot = WebClient(token="xoxb-test", base_url=emu.api_url)
    assert error_of(lambda: bot.apps_connections_open(app_token="xoxb-test")) == "not_allowed_token_type"
    assert [c.response["error"] for c in emu.calls("chat.postMessage")] == [
        "not_authed",
        "invalid_auth",
        "not_allowed_token_type",
    ]
    assert emu.messages("C1") == []


def test_unknown_method(client: WebClient) -> None:
    assert error_of(lambda: client.api_call("chat.shout", json={"channel": "C1"})) == "unknown_method"


def test_required_arguments_and_membership(emu: SlackEmulator, client: WebClient) -> None:
    assert error_of(lambda: client.api_call("chat.postMessage", json={"text": "x"})) == "channel_not_found"
    assert error_of(lambda: client.chat_postMessage(channel="C404", text="x")) == "channel_not_found"
    assert error_of(lambda: client.api_call("chat.postMessage", json={"channel": "C1"})) == "no_text"
    emu.add_channel("C2", name="random", is_member=False)
    assert error_of(lambda: client.chat_postMessage(channel="C2", text="x")) == "not_in_channel"
    assert error_of(lambda: client.conversations_history(channel="C2")) == "not_in_channel"
    assert client.conversations_join(channel="C2")["channel"]["is_member"] is True
    assert client.chat_postMessage(channel="#random", text="x")["channel"] == "C2"


# ----- posting, threads, limits --------------------------------------------------------------------------


def test_post_message_json_and_form_bodies_land_in_the_thread(emu: SlackEmulator, client: WebClient) -> None:
    parent = emu.add_message("C1", user="U1", text="question?")
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*answer*"}}]
    by_json = client.chat_postMessage(
        channel="C1",
        text="answer",
        thread_ts=parent,
        blocks=blocks,
        metadata={"event_type": "parlance_reply", "event_payload": {"job": 7}},
    )
    by_form = client.api_call(
        "chat.postMessage", params={"channel": "C1", "text": "form", "thread_ts": parent, "blocks": json.dumps(blocks)}
    )
    assert by_json["message"]["thread_ts"] == parent
    assert by_json["message"]["metadata"] == {"event_type": "parlance_reply", "event_payload": {"job": 7}}
    assert emu.calls("chat.postMessage")[1].args["blocks"] == blocks  # form JSON text arrives decoded
    thread = emu.messages("C1", thread_ts=parent)
    assert [m["text"] for m in thread] == ["question?", "answer", "form"]
    assert thread[0]["reply_count"] == 2 and thread[0]["latest_reply"] == by_form["ts"]
    assert [m["text"] for m in emu.messages("C1")] == ["question?"]  # replies stay out of the channel view
    replies = client.conversations_replies(channel="C1", ts=parent)
    assert [m["ts"] for m in replies["messages"]] == [parent, by_json["ts"], by_form["ts"]]
    assert emu.wait_for("chat.postMessage", count=2)[0].args["channel"] == "C1"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"text": "x", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        (
            {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}]},
            "invalid_blocks",
        ),
        ({"blocks": []}, "no_text"),
    ],
)
def test_slack_limits_are_enforced(client: WebClient, args: dict, error: str) -> None:
    assert error_of(lambda: client.api_call("chat.postMessage", json={"channel": "C1", **args})) == error


def test_content_at_the_limits_is_accepted(client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x" * 40_000)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3000}}
    client.chat_postMessage(channel="C1", text="x", blocks=[section] + [{"type": "divider"}] * 49)


def test_invalid_blocks_explains_where(client: WebClient) -> None:
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}]
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C1", text="x", blocks=too_long)
    assert "json-pointer:/blocks/0/text/text" in info.value.response["errors"][0]


def _feedback_block(**changes: Any) -> dict[str, Any]:
    """The context actions block with feedback buttons, as docs.slack.dev's example has it, with `changes` made:
    a key of the block, of its element (`element.`), or of its positive button (`positive.`); None deletes."""
    block: dict[str, Any] = {
        "type": "context_actions",
        "block_id": "fb1",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": "feedback_buttons_1",
                "positive_button": {"text": {"type": "plain_text", "text": "👍"}, "value": "positive_feedback"},
                "negative_button": {"text": {"type": "plain_text", "text": "👎"}, "value": "negative_feedback"},
            }
        ],
    }
    for key, value in changes.items():
        target, name = block, key
        if key.startswith("element."):
            target, name = block["elements"][0], key.removeprefix("element.")
        elif key.startswith("positive."):
            target, name = block["elements"][0]["positive_button"], key.removeprefix("positive.")
        if value is None:
            target.pop(name)
        else:
            target[name] = value
    return block


def test_feedback_buttons_at_slacks_limits_are_accepted(client: WebClient) -> None:
    at_limits = _feedback_block(
        **{
            "positive.text": {"type": "plain_text", "text": "y" * 75},
            "positive.value": "v" * 2000,
            "positive.accessibility_label": "a" * 75,
            "block_id": "b" * 255,
            "element.action_id": "i" * 255,
        }
    )
    at_limits["elements"] *= 5
    client.chat_postMessage(channel="C1", text="answer", blocks=[at_limits])
    client.chat_postMessage(channel="C1", text="answer", blocks=[_feedback_block(**{"element.action_id": None})])


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"elements": None}, "/blocks/0"),
        ({"elements": []}, "/blocks/0"),
        ({"element.type": "button"}, "/blocks/0/elements/0/type"),
        ({"element.negative_button": None}, "/blocks/0/elements/0"),
        ({"positive.value": None}, "/blocks/0/elements/0/positive_button"),
        ({"positive.value": "v" * 2001}, "/blocks/0/elements/0/positive_button/value"),
        ({"positive.text": {"type": "mrkdwn", "text": "👍"}}, "/blocks/0/elements/0/positive_button/text"),
        ({"positive.text": {"type": "plain_text", "text": "y" * 76}}, "/blocks/0/elements/0/positive_button/text/text"),
        ({"positive.text": {"type": "plain_text", "text": ""}}, "/blocks/0/elements/0/positive_button/text/text"),
        ({"positive.accessibility_label": "a" * 76}, "/blocks/0/elements/0/positive_button/accessibility_label"),
        ({"element.action_id": "i" * 256}, "/blocks/0/elements/0/action_id"),
        ({"block_id": "b" * 256}, "/blocks/0/block_id"),
    ],
)
def test_feedback_buttons_are_checked_as_slack_documents_them(
    emu: SlackEmulator, client: WebClient, changes: dict[str, Any], pointer: str
) -> None:
    blocks = [_feedback_block(**changes)]
    with pytest.raises(SlackApiError) as info:
        client.chat_postMessage(channel="C1", text="answer", blocks=blocks)
    assert info.value.response["error"] == "invalid_blocks"
    assert any(f"[json-pointer:{pointer}]" in problem for problem in info.value.response["errors"])
    posted = client.chat_postMessage(channel="C1", text="answer")
    assert error_of(lambda: client.chat_update(channel="C1", ts=posted["ts"], text="a", blocks=blocks)) == (
        "invalid_blocks"
    )
    too_many = _feedback_block()
    too_many["elements"] *= 6
    assert error_of(lambda: client.chat_postMessage(channel="C1", text="a", blocks=[too_many])) == "invalid_blocks"


def test_a_click_on_feedback_buttons_is_sent_as_slack_sends_it(emu: SlackEmulator, client: WebClient) -> None:
    parent = emu.add_message("C1", user="U1", text="a question")
    client.chat_postMessage(channel="C1", text="answer", thread_ts=parent, blocks=[_feedback_block()])
    [_, message] = emu.messages("C1", thread_ts=parent)
    click = emu.events.feedback_action(
        message, helpful=False, channel_id="C1", user_id="U1", user_name="alice", response_url="https://hooks/x"
    )
    assert click["type"] == "block_actions" and click["user"]["id"] == "U1"
    [action] = click["actions"]
    assert {key: action[key] for key in ("type", "action_id", "block_id", "value")} == {
        "type": "feedback_buttons",
        "action_id": "feedback_buttons_1",
        "block_id": "fb1",
        "value": "negative_feedback",
    }
    assert action["text"] == {"type": "plain_text", "text": "👎"}
    assert click["container"] == {
        "type": "message", "message_ts": message["ts"], "channel_id": "C1", "is_ephemeral": False, "thread_ts": parent,
    }  # fmt: skip
    assert click["message"]["ts"] == message["ts"] and click["response_url"] == "https://hooks/x"
    client.chat_postEphemeral(channel="C1", user="U1", text="only you", blocks=[_feedback_block()])
    [ephemeral] = emu.ephemeral_messages("C1")
    private = emu.events.feedback_action(
        ephemeral, helpful=True, channel_id="C1", user_id="U1", user_name="alice", response_url="https://hooks/y"
    )
    assert private["container"]["is_ephemeral"] is True and "message" not in private
    assert private["actions"][0]["value"] == "positive_feedback"
    with pytest.raises(ValueError, match="no feedback buttons"):
        emu.events.feedback_action(
            emu.messages("C1")[0], helpful=True, channel_id="C1", user_id="U1", user_name="a", response_url="u"
        )


def test_update_delete_and_permalink(emu: SlackEmulator, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="thinking…")
    updated = client.chat_update(channel="C1", ts=posted["ts"], text="done")
    assert updated["message"]["edited"]["user"] == "U0BOT"
    assert [m["text"] for m in emu.messages("C1")] == ["done"]
    theirs = emu.add_message("C1", user="U1", text="mine")
    assert error_of(lambda: client.chat_update(channel="C1", ts=theirs, text="x")) == "cant_update_message"
    assert error_of(lambda: client.chat_delete(channel="C1", ts=theirs)) == "cant_delete_message"
    reply = client.chat_postMessage(channel="C1", text="r", thread_ts=theirs)["ts"]
    link = client.chat_getPermalink(channel="C1", message_ts=reply)["permalink"]
    assert link == f"https://parlance.slack.com/archives/C1/p{reply.replace('.', '')}?thread_ts={theirs}&cid=C1"
    client.chat_delete(channel="C1", ts=posted["ts"])
    assert error_of(lambda: client.chat_delete(channel="C1", ts=posted["ts"])) == "message_not_found"
    assert [m["text"] for m in emu.messages("C1")] == ["mine"]


def test_ephemeral_reactions_and_home(emu: SlackEmulator, client: WebClient) -> None:
    ts = emu.add_message("C1", user="U1", text="hi")
    client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert emu.ephemeral_messages("C1")[0]["text"] == "only you"
    assert emu.messages("C1")[-1]["text"] == "hi"
    client.reactions_add(channel="C1", timestamp=ts, name="eyes")
    assert error_of(lambda: client.reactions_add(channel="C1", timestamp=ts, name="eyes")) == "already_reacted"
    assert error_of(lambda: client.reactions_add(channel="C1", timestamp=ts, name=":eyes:")) == "invalid_name"
    assert emu.messages("C1")[0]["reactions"] == [{"name": "eyes", "users": ["U0BOT"], "count": 1}]
    view = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}]}
    assert client.views_publish(user_id="U1", view=view)["view"]["type"] == "home"
    assert emu.home_views["U1"]["blocks"] == view["blocks"]


def test_users_and_channels_info(client: WebClient) -> None:
    user = client.users_info(user="U1")["user"]
    assert user["real_name"] == "Alice Martin" and user["tz"] == "Europe/Paris"
    assert (user["tz_label"], user["tz_offset"]) in [
        ("Central European Time", 3600),
        ("Central European Summer Time", 7200),
    ]
    assert error_of(lambda: client.users_info(user="U404")) == "user_not_found"
    assert client.conversations_info(channel="C1")["channel"]["name"] == "general"


# ----- reading history -----------------------------------------------------------------------------------


def test_history_pages_with_cursors_and_bounds(emu: SlackEmulator, client: WebClient) -> None:
    stamps = [emu.add_message("C1", user="U1", text=f"m{i}", ts=f"1700000000.00000{i}") for i in range(7)]
    pages = [[m["text"] for m in page["messages"]] for page in client.conversations_history(channel="C1", limit=3)]
    assert pages == [["m6", "m5", "m4"], ["m3", "m2", "m1"], ["m0"]]
    window = client.conversations_history(channel="C1", oldest=stamps[2], latest=stamps[5])
    assert [m["text"] for m in window["messages"]] == ["m4", "m3"]
    inclusive = client.conversations_history(channel="C1", oldest=stamps[2], latest=stamps[5], inclusive=True)
    assert [m["text"] for m in inclusive["messages"]] == ["m5", "m4", "m3", "m2"]
    assert error_of(lambda: client.conversations_history(channel="C1", cursor="bogus")) == "invalid_cursor"


def test_replies_paginate_and_metadata_is_opt_in(emu: SlackEmulator, client: WebClient) -> None:
    parent = emu.add_message("C1", user="U1", text="p")
    for i in range(5):
        client.chat_postMessage(
            channel="C1",
            text=f"r{i}",
            thread_ts=parent,
            metadata={"event_type": "parlance_reply", "event_payload": {"i": i}},
        )
    pages = [
        [m["text"] for m in page["messages"]] for page in client.conversations_replies(channel="C1", ts=parent, limit=2)
    ]
    assert pages == [["p", "r0", "r1"], ["r2", "r3"], ["r4"]]
    plain = client.conversations_replies(channel="C1", ts=parent)["messages"]
    full = client.conversations_replies(channel="C1", ts=parent, include_all_metadata=True)["messages"]
    assert "metadata" not in plain[1]
    assert full[1]["metadata"]["event_payload"] == {"i": 0}
    assert error_of(lambda: client.conversations_replies(channel="C1", ts="1.000001")) == "thread_not_found"


# ----- faults --------------------------------------------------------------------------------------------


def test_rate_limit_sends_retry_after_and_slack_sdk_honours_it(emu: SlackEmulator) -> None:
    emu.fail("chat.postMessage", status=429, retry_after=1)
    patient = WebClient(
        token="xoxb-test", base_url=emu.api_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    started = time.monotonic()
    patient.chat_postMessage(channel="C1", text="hello")
    assert time.monotonic() - started >= 1.0
    first, second = emu.calls("chat.postMessage")
    assert (first.status, first.response["error"], second.status) == (429, "ratelimited", 200)
    assert second.at - first.at >= 1.0
    assert len(emu.messages("C1")) == 1


def test_rate_limit_without_retry_handler_surfaces(emu: SlackEmulator, client: WebClient) -> None:
    emu.fail("conversations.history", retry_after=30)
    with pytest.raises(SlackApiError) as info:
        client.conversations_history(channel="C1")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["retry-after"] == "30"


def test_server_errors_and_dropped_connections(emu: SlackEmulator) -> None:
    quick = FixedValueRetryIntervalCalculator(0.01)
    emu.fail("chat.postMessage", status=503)
    retrying = WebClient(
        token="xoxb-test",
        base_url=emu.api_url,
        retry_handlers=[
            ServerErrorRetryHandler(interval_calculator=quick),
            ConnectionErrorRetryHandler(interval_calculator=quick),
        ],
    )
    retrying.chat_postMessage(channel="C1", text="after outage")
    emu.fail("chat.postMessage", status=0)  # the connection error retry (on by default in slack_sdk) recovers
    retrying.chat_postMessage(channel="C1", text="after drop")
    assert [c.status for c in emu.calls("chat.postMessage")] == [503, 200, 0, 200]
    assert [m["text"] for m in emu.messages("C1")] == ["after outage", "after drop"]


def test_a_drop_after_the_call_was_carried_out_doubles_a_blind_retry_but_not_ours(emu: SlackEmulator) -> None:
    """Slack posted, then the connection broke: slack_sdk's own connection retry posts the message a second time.
    Parlance's handler never repeats a post; the message is found by its metadata instead."""
    quick = FixedValueRetryIntervalCalculator(0.01)
    blind = WebClient(
        token="xoxb-test", base_url=emu.api_url, retry_handlers=[ConnectionErrorRetryHandler(interval_calculator=quick)]
    )
    emu.fail("chat.postMessage", status=0, carried_out=True)
    blind.chat_postMessage(channel="C1", text="twice")
    assert [m["text"] for m in emu.messages("C1")] == ["twice", "twice"]

    careful = WebClient(token="xoxb-test", base_url=emu.api_url, retry_handlers=slack_retry_handlers())
    emu.fail("chat.postMessage", status=0, carried_out=True)
    with pytest.raises(ConnectionError):
        slack_io.post_in_thread(client=careful, channel="C1", thread_ts=None, text="once", job_id=42)
    dropped = emu.calls("chat.postMessage")[-1]
    assert (dropped.status, dropped.response["ts"]) == (0, emu.messages("C1")[-1]["ts"])
    assert [m["text"] for m in emu.messages("C1")] == ["twice", "twice", "once"]
    found = slack_io.find_job_replies(client=careful, channel="C1", thread_ts=None, job_id=42, oldest="0")
    assert found == [dropped.response["ts"]]
    assert emu.calls("conversations.history")[-1].args["include_all_metadata"] == "1"


def test_history_returns_metadata_only_when_asked_as_slack_does(emu: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="tagged", metadata=slack_io.reply_metadata(7))
    [plain] = client.conversations_history(channel="C1")["messages"]
    [full] = client.conversations_history(channel="C1", include_all_metadata=True)["messages"]
    assert "metadata" not in plain
    assert full["metadata"] == {"event_type": "parlance_reply", "event_payload": {"job_id": "7"}}


def test_wait_for_times_out_with_a_readable_dump(emu: SlackEmulator, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="hello")
    with pytest.raises(AssertionError, match=r"chat\.postMessage -> 200 ok \(channel='C1', text='hello'\)"):
        emu.wait_for("chat.postMessage", count=2, timeout=0.1)


# ----- files ---------------------------------------------------------------------------------------------


def test_files_upload_v2_end_to_end(emu: SlackEmulator, client: WebClient) -> None:
    parent = emu.add_message("C1", user="U1", text="chart please")
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    answer = client.files_upload_v2(
        channel="C1",
        thread_ts=parent,
        content=png,
        filename="chart.png",
        title="Sentiment",
        initial_comment="here it is",
    )
    assert answer["file"]["name"] == "chart.png"
    (upload,) = emu.uploaded_files
    assert (upload["filename"], upload["title"], upload["channel_id"], upload["thread_ts"]) == (
        "chart.png",
        "Sentiment",
        "C1",
        parent,
    )
    assert (upload["length"], upload["content"]) == (len(png), png)
    shared = emu.messages("C1", thread_ts=parent)[-1]
    assert shared["text"] == "here it is" and shared["files"][0]["id"] == answer["file"]["id"]


def test_complete_upload_without_the_bytes_fails(client: WebClient) -> None:
    file_id = client.files_getUploadURLExternal(filename="a.txt", length=3)["file_id"]
    assert error_of(lambda: client.files_completeUploadExternal(files=[{"id": file_id}])) == "file_not_found"


# ----- signing and a real Bolt app -----------------------------------------------------------------------


def test_signature_verifies_with_slack_sdk() -> None:
    sender_body = b'{"type":"event_callback"}'
    ts = int(time.time())
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid(sender_body, str(ts), signature(SECRET, ts, sender_body))
    assert not verifier.is_valid(sender_body, str(ts), signature("other", ts, sender_body))


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def bolt_app(emu: SlackEmulator) -> Iterator[SlackSender]:
    """A real Bolt app behind a WSGI server, answering like a small Parlance would."""
    app = App(client=WebClient(token="xoxb-test", base_url=emu.api_url), signing_secret=SECRET)

    @app.event("app_mention")
    def mention(event, say):
        say(text=f"seen {event['text']}", thread_ts=event["ts"])

    @app.event("message")
    def message(event):
        pass

    @app.command("/summarize")
    def summarize(ack, command, respond):
        ack()
        respond(text=f"summary of {command['channel_name']}", response_type="in_channel")

    @app.shortcut("translate")
    def translate(ack, shortcut, respond):
        ack()
        respond(text=f"translated {shortcut['message']['text']}")

    server: WSGIServer = make_server("127.0.0.1", 0, SlackRequestHandler(app), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield SlackSender(
            app_url=f"http://127.0.0.1:{server.server_port}/slack/events",
            signing_secret=SECRET,
            team_id="T0001",
            emulator=emu,
        )
    finally:
        server.shutdown()
        server.server_close()


def test_bolt_accepts_sender_events_and_replies_through_the_emulator(emu: SlackEmulator, bolt_app: SlackSender) -> None:
    event = bolt_app.mention_event("C1", "U1", "summarize please")
    assert bolt_app.event(event).status == 200
    (reply,) = emu.wait_for("chat.postMessage")
    assert reply.args["thread_ts"] == event["ts"]
    assert [m["text"] for m in emu.messages("C1", thread_ts=event["ts"])] == [
        "<@U0BOT> summarize please",
        "seen <@U0BOT> summarize please",
    ]
    edit = bolt_app.edit_event("C1", event["ts"], "edited", user="U1")
    assert edit["previous_message"]["text"] == "<@U0BOT> summarize please"
    assert bolt_app.event(edit, retry_num=1).status == 200
    assert emu.messages("C1")[0]["text"] == "edited"
    assert bolt_app.url_verification("abc").json() == {"challenge": "abc"}


def test_user_actions_reach_the_emulated_channel_before_the_app(emu: SlackEmulator, bolt_app: SlackSender) -> None:
    first = bolt_app.message_event("C1", "U1", "first")
    bolt_app.event(first)
    bolt_app.event(first, retry_num=1)  # Slack's retry of the same event stores nothing twice
    reply = bolt_app.message_event("C1", "U1", "in thread", thread_ts=first["ts"])
    assert reply["parent_user_id"] == "U1"
    bolt_app.event(reply)
    reaction = bolt_app.reaction_event("C1", first["ts"], "thumbsup", user="U1")
    assert reaction["item_user"] == "U1"
    bolt_app.event(reaction)
    assert emu.messages("C1")[0]["reactions"][0]["name"] == "thumbsup"
    assert emu.messages("C1")[0]["reply_count"] == 1
    bolt_app.event(bolt_app.delete_event("C1", reply["ts"]))
    assert [m["text"] for m in emu.messages("C1", include_replies=True)] == ["first"]
    with pytest.raises(ValueError, match="add_channel"):
        bolt_app.event(bolt_app.message_event("C999", "U1", "where?"))


def test_bolt_refuses_stale_and_badly_signed_requests(bolt_app: SlackSender) -> None:
    body = json.dumps(bolt_app.events.event_callback(bolt_app.message_event("C1", "U1", "hi"))).encode()
    stale = bolt_app.raw(body, content_type="application/json", timestamp=int(time.time()) - 6 * 60)
    forged = bolt_app.raw(body, content_type="application/json", signature="v0=" + "0" * 64)
    unsigned = bolt_app.raw(body, content_type="application/json", sign=False)
    assert (stale.status, forged.status, unsigned.status) == (401, 401, 401)


def test_commands_and_shortcuts_answer_through_response_urls(emu: SlackEmulator, bolt_app: SlackSender) -> None:
    answer = bolt_app.command("/summarize", "last week", channel_id="C1", user_id="U1")
    assert answer.status == 200 and answer.elapsed < 3
    deadline = time.monotonic() + 5
    while len(emu.response_url_posts()) < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert emu.response_url_posts()[0] == {"text": "summary of general", "response_type": "in_channel"}
    assert emu.messages("C1")[-1]["text"] == "summary of general"
    message = {
        "type": "message",
        "user": "U1",
        "text": "bonjour",
        "ts": emu.add_message("C1", user="U1", text="bonjour"),
    }
    assert bolt_app.message_shortcut("translate", message=message, channel_id="C1", user_id="U1").status == 200
    while len(emu.response_url_posts()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert emu.response_url_posts()[1]["text"] == "translated bonjour"
    assert emu.ephemeral_messages("C1")[0]["text"] == "translated bonjour"


def test_response_url_refuses_bad_payloads(emu: SlackEmulator) -> None:
    url = emu.response_urls.new(channel_id="C1", user_id="U1")
    request = urllib.request.Request(url, data=b"not json", headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert (info.value.code, info.value.read()) == (400, b"invalid_payload")


# ----- Socket Mode ---------------------------------------------------------------------------------------


def test_socket_mode_round_trip_with_slack_sdks_builtin_client(emu: SlackEmulator) -> None:
    from slack_sdk.socket_mode.builtin import SocketModeClient
    from slack_sdk.socket_mode.response import SocketModeResponse

    received = []
    client = SocketModeClient(app_token="xapp-test", web_client=WebClient(token="xoxb-test", base_url=emu.api_url))

    def listener(sm: SocketModeClient, request) -> None:
        received.append(request)
        payload = {"text": "working on it"} if request.type == "slash_commands" else None
        sm.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=payload))

    client.socket_mode_request_listeners.append(listener)
    client.connect()
    try:
        emu.wait_socket_connected(timeout=5)
        assert emu.calls("apps.connections.open")[0].response["url"].startswith("ws://127.0.0.1:")
        event_envelope = emu.socket_event(emu.events.message_event("C1", "U1", "hello"), retry_attempt=1)
        assert emu.wait_socket_ack(event_envelope, timeout=5) is not None
        command_envelope = emu.socket_command("/summarize", "today", channel_id="C1")
        assert emu.wait_socket_ack(command_envelope, timeout=5)["payload"] == {"text": "working on it"}
        assert emu.socket_ping() < 5
        assert [r.type for r in received] == ["events_api", "slash_commands"]
        assert received[0].retry_attempt == 1 and received[0].payload["event"]["text"] == "hello"
        assert received[1].accepts_response_payload is True
        assert emu.messages("C1")[-1]["text"] == "hello"
        assert [a["envelope_id"] for a in emu.socket_acks()] == [event_envelope, command_envelope]
    finally:
        client.close()


def test_socket_mode_refuses_an_unknown_ticket(emu: SlackEmulator) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    good = emu.socket_url()
    bad = good.split("?")[0] + "?ticket=forged"
    with pytest.raises(InvalidStatus) as info:
        connect(bad, open_timeout=5)
    assert info.value.response.status_code == 401
    with connect(good, open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    with pytest.raises(InvalidStatus):
        connect(good, open_timeout=5)  # tickets are single use, as Slack's are


# ----- several workspaces and the OAuth install --------------------------------------------------------------


def test_each_team_has_its_own_bot_token_and_sees_only_its_own_workspace(emu: SlackEmulator, client: WebClient) -> None:
    beta = emu.add_team("T0BETA", team_domain="beta", bot_user_id="U0BOTB", bot_id="B0BOTB")
    beta.add_channel("C2", name="beta-general")
    beta_client = WebClient(token=beta.bot_token, base_url=emu.api_url)
    me = beta_client.auth_test()
    assert (me["team_id"], me["user_id"], me["url"]) == ("T0BETA", "U0BOTB", "https://beta.slack.com/")
    assert error_of(lambda: beta_client.chat_postMessage(channel="C1", text="x")) == "channel_not_found"
    assert error_of(lambda: client.chat_postMessage(channel="C2", text="x")) == "channel_not_found"
    beta_client.chat_postMessage(channel="C2", text="hello beta")
    assert [m["user"] for m in beta.messages("C2")] == ["U0BOTB"] and emu.messages("C1") == []
    assert [c.token for c in emu.calls("chat.postMessage") if c.ok] == [beta.bot_token]
    emu.revoke(beta)
    assert error_of(lambda: beta_client.auth_test()) == "token_revoked"
    assert client.auth_test()["team_id"] == "T0001"


def test_oauth_v2_access_trades_a_code_once_for_the_teams_bot_token(emu: SlackEmulator) -> None:
    from bot.emulator import ConsentError

    emu.oauth.redirect_urls = ["https://app.example/slack/oauth_redirect"]
    url = f"https://slack.com/oauth/v2/authorize?state=s1&client_id={emu.oauth.client_id}&scope=chat:write,commands"
    back = urlsplit(emu.oauth.authorize(url, team=emu, user="U1"))
    assert f"{back.scheme}://{back.netloc}{back.path}" == "https://app.example/slack/oauth_redirect"
    query = {key: values[0] for key, values in parse_qs(back.query).items()}
    assert query["state"] == "s1"
    anonymous = WebClient(base_url=emu.api_url)
    credentials = {"client_id": emu.oauth.client_id, "client_secret": emu.oauth.client_secret}
    answer = anonymous.oauth_v2_access(code=query["code"], **credentials)
    assert (answer["access_token"], answer["token_type"], answer["bot_user_id"]) == ("xoxb-test", "bot", "U0BOT")
    assert answer["team"] == {"id": "T0001", "name": "Parlance"} and answer["authed_user"] == {"id": "U1"}
    assert answer["scope"] == "chat:write,commands" and answer["app_id"] == "A0APP"
    assert error_of(lambda: anonymous.oauth_v2_access(code=query["code"], **credentials)) == "invalid_code"
    wrong = {**credentials, "client_secret": "wrong"}
    assert error_of(lambda: anonymous.oauth_v2_access(code="1.2", **wrong)) == "bad_client_secret"
    with pytest.raises(ConsentError):
        emu.oauth.authorize(url.replace(emu.oauth.client_id, "9.9"), team=emu, user="U1")
    with pytest.raises(ConsentError):
        emu.oauth.authorize("https://example.com/oauth/v2/authorize?client_id=x", team=emu, user="U1")
