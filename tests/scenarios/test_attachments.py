"""Files people share become context for answers and summaries: through the real app, the emulated Slack's
files.info and private downloads (bot token required), and a scripted model only to see what reaches it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.emulator import SlackEmulator, SlackSender
from bot.settings import Settings
from handlers.attachments.reading import MAX_FILE_CHARS, chunks, read_file
from handlers.qa.answers import QA_SYSTEM_PROMPT
from tests.support.held_model import HeldModel
from tests.support.slack import (
    ALICE,
    BOB,
    BOT_TOKEN,
    BOT_USER,
    CHANNEL,
    RunningApp,
    finished_reply,
    sender_for,
    serve_app,
    wait_until,
)

PLAN = b"# Launch plan\n\nThe launch moves to April 9, after the security review.\n"


def _pdf(text: str) -> bytes:
    """A one-page PDF showing `text`, with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# -- reading a file's bytes -------------------------------------------------------------------------------------
def test_text_code_and_pdf_files_are_read_and_images_get_an_honest_reason() -> None:
    assert read_file("plan.md", "text/markdown", "markdown", PLAN).text == PLAN.decode().strip()
    assert read_file("rows.csv", None, "csv", b"a,b\n1,2").text == "a,b\n1,2"
    assert read_file("app.py", "text/x-python", "python", b"print('hi')").text == "print('hi')"
    assert read_file("report.pdf", "application/pdf", "pdf", _pdf("The budget is 40k.")).text == "The budget is 40k."
    assert read_file("diagram.png", "image/png", "png", b"\x89PNG").problem == "I can't read images yet"
    assert read_file("data.bin", "application/octet-stream", "binary", b"\x00\x01").problem is not None
    assert read_file("broken.pdf", "application/pdf", "pdf", b"%PDF-1.4 nonsense").problem == "I couldn't open the PDF"
    long = read_file("big.txt", "text/plain", "text", b"x" * (MAX_FILE_CHARS + 50))
    assert long.truncated and len(long.text or "") == MAX_FILE_CHARS
    assert all(len(piece) <= 800 for piece in chunks("line\n" * 1000 + "y" * 2000))


# -- the emulator: files.info and url_private --------------------------------------------------------------------
def test_a_shared_files_private_url_needs_the_bot_token(emulator: SlackEmulator) -> None:
    shared = emulator.share_file(user=BOB, name="plan.md", content=PLAN)
    client = WebClient(token=BOT_TOKEN, base_url=emulator.api_url)
    info = client.files_info(file=shared["id"])["file"]
    assert info["name"] == "plan.md" and info["size"] == len(PLAN)
    with pytest.raises(SlackApiError, match="file_not_found"):
        client.files_info(file="F0NOSUCH")
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.api_call("files.info", params={})
    url = info["url_private_download"]
    assert httpx.get(url, headers={"Authorization": f"Bearer {BOT_TOKEN}"}).content == PLAN
    for headers in ({}, {"Authorization": "Bearer xoxb-someone-else"}):
        refused = httpx.get(url, headers=headers)
        assert refused.status_code == 302 and "slack.com" in refused.headers["location"]


# -- through the real app -----------------------------------------------------------------------------------------
@pytest.fixture
def scripted() -> HeldModel:
    return HeldModel(reply="Happy to help.")


@pytest.fixture
def app(settings: Settings, scripted: HeldModel) -> Iterator[RunningApp]:
    with serve_app(settings, model=scripted) as running:
        yield running


@pytest.fixture
def slack(app: RunningApp, emulator: SlackEmulator) -> SlackSender:
    return sender_for(app, emulator)


def _share(slack: SlackSender, emulator: SlackEmulator, name: str, content: bytes, ts: str, **kwargs) -> None:
    shared = emulator.share_file(user=BOB, name=name, content=content)
    slack.event(slack.message_event(CHANNEL, BOB, "here you go", ts=ts, files=[shared], **kwargs))


def test_a_question_is_answered_from_a_shared_file_and_cites_it(slack, emulator, scripted) -> None:
    _share(slack, emulator, "plan.md", PLAN, ts="1764370000.000001")
    scripted.enqueue("The launch moves to April 9 [2].").enqueue_labels({"yes": -0.1, "no": -2.5})  # confirmed
    ts = "1764370001.000001"
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> when is the launch?", ts=ts))
    answer = finished_reply(emulator, ts)
    assert "April 9" in answer and "(file plan.md)" in answer  # the source quoted is the file
    [asked] = [call for call in scripted.calls if call.messages[0].content.startswith(QA_SYSTEM_PROMPT)]
    assert "[2] bob (file plan.md): # Launch plan The launch moves to April 9" in asked.messages[1].content
    [download] = [call for call in emulator.calls("files.info") if call.ok]
    assert download.args["file"]


def test_a_file_it_cannot_read_gets_one_honest_line_in_a_thread(slack, emulator, scripted) -> None:
    parent = "1764370100.000001"
    slack.event(slack.message_event(CHANNEL, ALICE, "look at this", ts=parent))
    _share(slack, emulator, "diagram.png", b"\x89PNG\r\n", ts="1764370101.000001", thread_ts=parent)
    ts = "1764370102.000001"
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> thoughts on this?", ts=ts, thread_ts=parent))
    answer = finished_reply(emulator, parent)
    assert answer.endswith("_I couldn't read diagram.png (I can't read images yet)._")
    assert emulator.calls("files.info") == []  # an image is not even downloaded


def test_a_summary_reads_shared_files_too_and_says_what_it_could_not(slack, emulator) -> None:
    slack.event(slack.message_event(CHANNEL, ALICE, "We agreed to ship the beta on Friday.", ts="1764370200.000001"))
    _share(slack, emulator, "notes.txt", b"Decision: Bob owns the release notes.", ts="1764370201.000001")
    _share(slack, emulator, "photo.jpg", b"\xff\xd8", ts="1764370202.000001")
    slack.command("/summarize", "", user_id=ALICE, channel_id=CHANNEL)
    [summary] = wait_until(lambda: emulator.response_url_posts(), what="the summary")
    assert "release notes" in summary["text"]
    assert "_I couldn't read photo.jpg (I can't read images yet)._" in summary["text"]
    assert "· 3 messages" in summary["text"]  # the file read beside them is not counted as a message


def test_two_files_in_one_message_are_both_read(slack, emulator, scripted) -> None:
    files = [
        emulator.share_file(user=BOB, name="a.txt", content=b"Alpha owns the database migration."),
        emulator.share_file(user=BOB, name="b.csv", content=b"item,owner\nrelease notes,Bob\n"),
    ]
    slack.event(slack.message_event(CHANNEL, BOB, "two files", ts="1764370300.000001", files=files))
    scripted.enqueue("NOT FOUND")
    ts = "1764370301.000001"
    slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> who owns the release notes?", ts=ts))
    finished_reply(emulator, ts)
    asked = next(c for c in scripted.calls if c.messages[0].content.startswith(QA_SYSTEM_PROMPT)).messages[1].content
    assert "bob (file a.txt): Alpha owns the database migration." in asked
    assert "bob (file b.csv): item,owner release notes,Bob" in asked
    assert len([call for call in emulator.calls("files.info") if call.ok]) == 2
