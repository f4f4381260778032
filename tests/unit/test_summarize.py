"""/summarize as plain data: extractive selection, the grounding guard, map-reduce over several context windows,
and the honest fallback when the model fails. Guards use the ScriptedModel; one test runs the real worker."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pytest

from bot.eval.summarize import parse_dialogue, references
from bot.model.client import ModelUnavailable, OpenAICompatibleClient, PromptTooLong
from handlers.qa.grounding import check
from handlers.summarize.cues import trim
from handlers.summarize.summary import Summary, summarize
from handlers.text.lines import ChatLine
from handlers.text.sentences import split_sentences
from tests.support.scripted_model import ScriptedModel


def chat(*turns: tuple[str, str]) -> list[ChatLine]:
    return [
        ChatLine(ts=f"17000000{i:02d}.000100", speaker=who, text=text, url=f"https://t.slack.com/archives/C1/p{i}")
        for i, (who, text) in enumerate(turns)
    ]


RELEASE_TURNS = (
    ("Alice", "The release candidate for version 2.4 is ready for review."),
    ("Bob", "I ran the integration tests on the release candidate and two of them fail on the payment service."),
    ("Alice", "Can you look into the payment service failures before Thursday?"),
    ("Bob", "Yes, I'll fix the payment tests by Thursday."),
    ("Carol", "After the discussion yesterday we decided to ship version 2.4 on Friday."),
    ("Alice", "Agreed, Friday it is."),
    ("Carol", "Who is writing the release notes for the customers?"),
    ("Dan", "The marketing site redesign is also waiting on the release."),
)
RELEASE = chat(*RELEASE_TURNS)


def all_points(summary: Summary) -> list:
    return [*summary.overview, *summary.decisions, *summary.questions, *summary.actions]


def test_extractive_summary_without_a_model_finds_decisions_questions_and_owners() -> None:
    summary = summarize(RELEASE, None)

    assert summary.message_count == len(RELEASE) and summary.chunks == 1
    assert summary.degraded and "extractive" in summary.degraded
    assert summary.overview and not summary.is_empty
    assert any("decided to ship version 2.4 on Friday" in p.text for p in summary.decisions)
    assert any("release notes" in p.text for p in summary.questions)
    owners = {p.owner for p in summary.actions if "payment" in p.text}
    assert "Bob" in owners  # "I'll fix…" by Bob, and "Can you look…" answered by Bob
    for point in all_points(summary):
        assert point.sources and point.sources[0].url.startswith("https://")
        assert point.text in point.sources[0].text or point.rephrased
        assert not point.rephrased


def test_empty_and_wordless_histories_give_an_empty_summary() -> None:
    assert summarize([], None).is_empty
    assert summarize(chat(("Alice", ":tada:"), ("Bob", "   ")), None).is_empty


def test_a_faithful_rephrasing_is_kept_and_an_invented_one_is_dropped() -> None:
    lines = chat(("Alice", "The release goes out on Friday after the tests pass."))
    model = ScriptedModel().enqueue("Alice says the release goes out on Friday after the tests pass.")
    kept = summarize(lines, model, rephrase=True, concurrency=1)
    assert kept.overview[0].rephrased and kept.overview[0].text.startswith("Alice says the release")
    assert kept.overview[0].sources == (lines[0],)
    assert kept.degraded is None and kept.rephrased == 1

    model = ScriptedModel().enqueue("Alice says the release goes out on Monday with Mr. Smith.")
    dropped = summarize(lines, model, rephrase=True, concurrency=1)
    assert not dropped.overview[0].rephrased and dropped.dropped == 1
    assert dropped.overview[0].text == "The release goes out on Friday after the tests pass."
    model = ScriptedModel().enqueue("Bob tells you Alice says the release goes out on Friday after the tests pass.")
    assert not summarize(lines, model, rephrase=True, concurrency=1).overview[0].rephrased  # not Alice's report
    # The prompt held the message and its speaker; no other channel's text.
    assert "Alice: The release goes out" in model.prompts[0][-1].content


def test_model_unavailable_degrades_to_the_extractive_summary_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    model = ScriptedModel().enqueue(ModelUnavailable("cannot reach the model server"))
    summary = summarize(RELEASE, model, rephrase=True, concurrency=1)
    assert summary.degraded and "unavailable" in summary.degraded
    assert summary.overview and summary.decisions and not summary.rephrased
    assert len(model.calls) == 1  # after one failure the model is not asked again
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "unavailable" in logged or "failed" in logged
    assert all(line.text not in logged for line in RELEASE)  # ids and reasons only, never message text


class NoEmbeddings(ScriptedModel):
    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise ModelUnavailable("cannot reach the model server")


def test_embeddings_unavailable_falls_back_to_word_statistics_and_says_so() -> None:
    summary = summarize(RELEASE, NoEmbeddings(), rephrase=True)
    assert summary.degraded and "unavailable" in summary.degraded
    assert summary.overview and any("decided" in p.text for p in summary.decisions)


def test_a_prompt_too_long_for_one_chunk_skips_that_gist_only() -> None:
    model = ScriptedModel().enqueue(PromptTooLong("too long"), *["Bob says he will fix the payment tests."] * 8)
    summary = summarize(RELEASE, model, abstract=True, rephrase=True, concurrency=1)
    assert summary.degraded is None and summary.overview
    assert len(model.calls) > 1  # the model kept serving the rephrasings


def test_summarize_over_more_than_one_context_window_maps_and_reduces() -> None:
    # 60 messages against a 600-token window: several chunks, each prompt within the window.
    topics = ["the database migration", "the billing dashboard", "the onboarding emails"]
    turns = []
    for n in range(60):
        topic = topics[n // 20]
        turns.append(("Alice" if n % 2 else "Bob", f"Update {n} on {topic}: the work on {topic} is progressing well."))
    turns[25] = ("Carol", "We decided to move the billing dashboard launch to next week.")
    lines = chat(*turns)
    model = ScriptedModel(window=600)
    model.enqueue("Bob and Alice report that the database migration is progressing well.")
    model.enqueue("Mr. Smith cancelled the billing dashboard and fired 3 people.")  # invented: must be dropped
    model.enqueue(*["Alice reports that the work on the onboarding emails is progressing well."] * 30)
    summary = summarize(lines, model, abstract=True, rephrase=False, concurrency=1)

    assert summary.chunks > 1
    for prompt in model.prompts:
        assert model.count_tokens(prompt) <= model.context_window()
    texts = [p.text for p in summary.overview]
    assert all("Smith" not in t for t in texts) and summary.dropped >= 1
    assert any(p.rephrased for p in summary.overview)  # a checked gist leads the overview
    assert all(p.sources for p in summary.overview)
    assert any("decided to move the billing dashboard" in p.text for p in summary.decisions)
    assert {line.ts for p in all_points(summary) for line in p.sources} <= {line.ts for line in lines}


@pytest.mark.parametrize(
    ("generated", "ok"),
    [
        ("Bob will fix the payment tests by Thursday.", True),
        ("Bob will fix the payment tests by Monday.", False),  # a word the source lacks
        ("Bob will fix 3 payment tests by Thursday.", False),  # a number the source lacks
        ("Bob will not fix the payment tests by Thursday.", False),  # negation flipped
        ("Dave will fix the payment tests by Thursday.", False),  # a name the source lacks
        ("The conversation is about payment tests.", False),  # about the chat, not its content
    ],
)
def test_grounding_check(generated: str, ok: bool) -> None:
    assert check(generated, ["Yes, I'll fix the payment tests by Thursday."], names=["Bob"]).ok is ok


def test_sentences_and_interjections() -> None:
    assert split_sentences("Ms. Dawson, take a memo. It goes out at 4 p.m. today! Ok?") == [
        "Ms. Dawson, take a memo.",
        "It goes out at 4 p.m. today!",
        "Ok?",
    ]
    assert trim("Well, yes, we ship Friday.") == "We ship Friday."
    assert trim("No, we do not ship Friday.") == "No, we do not ship Friday."


def test_eval_parses_dialogsum_rows() -> None:
    lines = parse_dialogue("#Person1#: Hi, Kate.\n#Person2#: Hello!\nstill Kate\n")
    assert [(line.speaker, line.text) for line in lines] == [
        ("#Person1#", "Hi, Kate."),
        ("#Person2#", "Hello! still Kate"),
    ]
    assert references({"summary1": "a", "summary2": "b", "topic1": "x"}) == ["a", "b"]


class SmallWindow:
    """The real worker, claiming a small context window so a short test history needs several chunks."""

    def __init__(self, client: OpenAICompatibleClient, window: int) -> None:
        self._client, self._window = client, window

    def context_window(self, role: str = "chat") -> int:
        return self._window

    def __getattr__(self, name: str) -> object:  # complete, embed, count_tokens… go to the real client
        return getattr(self._client, name)


@pytest.mark.model
def test_real_worker_summarizes_more_than_one_window(worker_url: str) -> None:
    lines = chat(*RELEASE_TURNS * 2)  # 16 messages, each topic twice: the reduce step must not repeat itself
    with OpenAICompatibleClient(worker_url) as client:
        model = SmallWindow(client, window=520)
        summary = summarize(lines, model, abstract=True, rephrase=False)  # gists: the model reads each chunk
    assert summary.chunks > 1 and summary.degraded is None
    assert summary.overview and summary.decisions and summary.actions
    overview = [p.text for p in summary.overview]
    assert len(overview) == len(set(overview))
    for point in all_points(summary):
        assert point.sources and all(line in lines for line in point.sources)
        if not point.rephrased:
            assert point.text in point.sources[0].text


def test_grounding_matches_a_rephrasing_in_another_inflection() -> None:
    """The shared Snowball stemmer meets "shipping" and "ships": a faithful rephrasing is not dropped."""
    assert check("Priya is shipping the release on Friday", ["priya ships the release friday"]).ok


def test_sentences_split_in_any_script_and_keep_closing_quotes() -> None:
    assert split_sentences('He said "stop." Then we left.') == ['He said "stop."', "Then we left."]
    assert split_sentences("Привет. Как дела?") == ["Привет.", "Как дела?"]
    assert split_sentences("今日は晴れ。明日は雨！") == ["今日は晴れ。", "明日は雨！"]
