"""What people type after /summarize and /translate, read the way they mean it."""

import datetime as dt

import pytest

from handlers.commands import SummarizeRequest, TranslateRequest, UsageError, parse_summarize, parse_translate

NOW = dt.datetime(2026, 11, 28, 15, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", SummarizeRequest(limit=100)),
        ("200", SummarizeRequest(limit=200, span_label="last 200 messages")),
        ("24h", SummarizeRequest(since=NOW - dt.timedelta(hours=24), span_label="last 24h")),
        ("7d public", SummarizeRequest(since=NOW - dt.timedelta(days=7), span_label="last 7d", public=True)),
        ("today", SummarizeRequest(since=NOW.replace(hour=0, minute=30 - 30), span_label="today (UTC)")),
        (
            "https://acme.slack.com/archives/C0GENERAL/p1700000000123456",
            SummarizeRequest(thread_channel="C0GENERAL", thread_ts="1700000000.123456", span_label="thread"),
        ),
        (
            "<https://acme.slack.com/archives/C0GENERAL/p1700000000123456?thread_ts=1700000000.123456&cid=C0GENERAL>",
            SummarizeRequest(thread_channel="C0GENERAL", thread_ts="1700000000.123456", span_label="thread"),
        ),
    ],
)
def test_summarize_arguments(text: str, expected: SummarizeRequest) -> None:
    assert parse_summarize(text, now=NOW) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("yesterday-ish", "I don't understand `yesterday-ish`"),
        ("0", "between 1 and 5,000 messages"),
        ("99999", "between 1 and 5,000 messages"),
        ("400d", "between 1 minute and 90 days"),
        ("24h 7d", "Usage"),
        ("help", "Usage"),
    ],
)
def test_summarize_mistakes_get_a_specific_answer(text: str, hint: str) -> None:
    result = parse_summarize(text, now=NOW)
    assert isinstance(result, UsageError)
    assert hint in result.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fr Hello team", TranslateRequest("fr", "French", "Hello team")),
        ("FR Hello team", TranslateRequest("fr", "French", "Hello team")),
        ("to Japanese: Hello team", TranslateRequest("ja", "Japanese", "Hello team")),
        ("into german: Guten Morgen? no: hello", TranslateRequest("de", "German", "Guten Morgen? no: hello")),
        ("spanish see you <@U123> :wave:", TranslateRequest("es", "Spanish", "see you <@U123> :wave:")),
    ],
)
def test_translate_arguments(text: str, expected: TranslateRequest) -> None:
    assert parse_translate(text) == expected


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("", "Usage"),
        ("xx Hello", "I don't know the language `xx`"),
        ("to Klingon: Hello", "I don't know the language `Klingon`"),
        ("fr", "What should I translate into French?"),
        ("fr " + "a" * 5000, "I can translate up to 4,000"),
    ],
)
def test_translate_mistakes_get_a_specific_answer(text: str, hint: str) -> None:
    result = parse_translate(text)
    assert isinstance(result, UsageError)
    assert hint in result.text
