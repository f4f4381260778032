"""The teamchat eval's scorer against the rules in its README, and one tiny run without a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import texts
from bot.eval import teamchat
from bot.eval.teamchat import has_keyword, is_decline, matches_any, normalize, scoring_text


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("15:00", "15.00"),
        ("15 00", "15:00"),
        ("3pm", "3 p.m."),
        ("3 pm", "3 p.m."),
        ("8 a.m.", "8am"),
        ("$12,000", "12000"),
        ("1,800", "1800"),
        ("PR #481", "pr 481"),
        ("v2.9.4", "v 2 9 4"),
        ("search-03", "search 03"),
        ("Café", "cafe"),
        ("checkout_total", "checkout total"),
    ],
)
def test_normalization_makes_these_the_same(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


def test_keywords_are_whole_words_with_an_optional_plural() -> None:
    assert not has_keyword("see you tomorrow", "tom")
    assert has_keyword("Tom owns it", "tom")
    assert not has_keyword("we need 19 of them", "9")
    assert not has_keyword("about 90", "9")
    assert has_keyword("9 of them", "9")
    assert has_keyword("we ship on Thursdays", "thursday")
    assert has_keyword("two fixes landed", "fix")
    assert has_keyword("budget is $12,000", "12000")
    assert has_keyword("the fix is PR #481", "pr 481")
    assert not has_keyword("the fix is PR 418", "481")
    assert has_keyword("review at 3 p.m.", "3pm")
    assert has_keyword("freeze 15:00 UTC", "15.00")


def test_an_answer_needs_every_keyword_of_one_alternative() -> None:
    alternatives = [["fatima", "friday"], ["fatima", "fri"]]
    assert matches_any("Fatima, on Fri at 11", alternatives)
    assert not matches_any("Fatima, thursday", alternatives)
    assert not matches_any("anything", [])


@pytest.mark.parametrize(
    "text",
    [
        texts.NOTHING_FOUND,
        "I couldn't find that.",
        "I could not find anything about it",
        "I can't find it",
        "Found nothing.",
        "Not found",
        "There's no mention of release notes.",
        "It's not mentioned in the channel.",
        "I don't know.",
        "Nothing about that here.",
        "That wasn't discussed.",
        "The channel doesn't say.",
        "No date was given.",
        "The vendor isn't named.",
        "Nobody mentioned who runs the retro.",
        "That never came up.",
    ],
)
def test_decline_phrases_are_recognised(text: str) -> None:
    assert is_decline(text)


@pytest.mark.parametrize(
    "text",
    [
        "The code freeze is on Thursday the 13th.",
        "Tom is writing the rollback runbook.",
        "about 1,800 checkouts failed",
        "the agent named Bo in the notes",
        "no time to review today, tomorrow then",
    ],
)
def test_a_confident_answer_is_not_a_decline(text: str) -> None:
    assert not is_decline(text)


def test_links_are_not_scored() -> None:
    text = scoring_text(
        "• tom: runbook <https://example.slack.com/archives/C1/p1700000000000000|[1]> &amp; PR 42 (https://git.example.com/pull/481)"
    )
    assert "481" not in normalize(text).split()
    assert "&" in text and "runbook" in text


CONVERSATION = {
    "id": "t-001",
    "channel": "#release",
    "topic": "not given to the bot",
    "messages": [
        {"id": "m1", "user": "priya", "text": "proposal: code freeze Tuesday", "thread": None, "minutes": 0},
        {"id": "m2", "user": "tom", "text": "payments fix lands wednesday", "thread": None, "minutes": 2},
        {"id": "m3", "user": "priya", "text": "ok, the code freeze moves to Thursday", "thread": None, "minutes": 5},
        {"id": "m4", "user": "kenji", "text": "<@priya> the fix is <https://git.example.com/pull/481|PR 481>",
         "thread": "m3", "minutes": 7},
    ],
    "questions": [
        {"q": "when is the code freeze?", "answer_any": [["thursday"]], "kind": "when"},
        {"q": "which PR is the fix?", "answer_any": [["481"]], "kind": "number"},
        {"q": "who writes the release notes? |", "answer_any": [], "kind": "unanswerable"},
    ],
    "summary_facts": [{"fact": "code freeze moved to Thursday", "keywords_any": [["freeze", "thursday"]]}],
}  # fmt: skip


def test_conversation_lines_look_like_the_bots() -> None:
    lines = teamchat.conversation_lines(CONVERSATION)
    assert [line.speaker for line in lines] == ["priya", "tom", "priya", "kenji"]
    assert lines[3].text == "@priya the fix is PR 481 (https://git.example.com/pull/481)"
    assert lines[0].ts == "1700000000.000000" and lines[3].thread_ts == lines[2].ts == "1700000300.000000"
    assert lines[3].url.startswith("https://example.slack.com/archives/C1/p1700000420000000?thread_ts=")


def test_a_run_without_a_model_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "tiny.jsonl"
    data.write_text(json.dumps(CONVERSATION) + "\n" + json.dumps({**CONVERSATION, "id": "t-002"}) + "\n")
    assert teamchat.run([str(data), "--limit", "1", "--no-model", "--show-misses"]) == 0
    out = capsys.readouterr().out
    assert "1 conversations" in out
    assert "Q&A accuracy (3 questions" in out
    assert "decline rate on unanswerable questions" in out and "false-decline rate" in out
    assert "summary fact recall (1 summaries" in out
    assert "whole channel (ceiling)                      100.0" in out
    assert "0 items failed after retries, scored 0: 0 questions, 0 summaries" in out
