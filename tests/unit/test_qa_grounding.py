"""The guards between the model and a history answer, each with the one model output it must catch (scripted);
the real model answering real history is in tests/model/test_grounded_answers.py."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.model.client import ModelUnavailable
from handlers.qa import answers as qa
from handlers.text.lines import ChatLine
from tests.support.scripted_model import ScriptedModel


class WordsOnly(ScriptedModel):
    """No embeddings (as with a chat-only server): messages are ranked by their words."""

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise ModelUnavailable("no embed role")


LINES = [
    ChatLine(ts="1.000100", speaker="alice", text="proposal: code freeze on Tuesday", url="https://x/p1"),
    ChatLine(ts="2.000100", speaker="bob", text="the migration needs two more days", url="https://x/p2"),
    ChatLine(ts="3.000100", speaker="alice", text="ok, the code freeze moves to Thursday 2pm", url="https://x/p3"),
    ChatLine(ts="4.000100", speaker="bob", text="I'll own the rollback plan", url="https://x/p4"),
]


def _confirms(yes: float) -> dict[str, float]:
    """The check's scores for "yes" and "no" (first-token log-probabilities), `yes` the share on "yes"."""
    return {"yes": math.log(yes), "no": math.log(1 - yes)}


def _ask(reply: str, question: str = "when is the code freeze?", *, confirmed: float = 0.9) -> qa.Answer:
    return qa.answer_question(question, LINES, WordsOnly().enqueue(reply).enqueue_labels(_confirms(confirmed)))


def test_sources_are_renumbered_in_the_order_the_answer_cites_them() -> None:
    answer = _ask("The freeze moved from Tuesday [1] to Thursday 2pm [3].")
    assert answer.found and answer.text == "The freeze moved from Tuesday [1] to Thursday 2pm [2]."
    assert [line.url for line in answer.sources] == ["https://x/p1", "https://x/p3"]


def test_an_answer_the_messages_do_not_back_is_declined() -> None:
    invented = _ask("Carol is writing the release notes, due Friday [4].", question="who writes the release notes?")
    assert not invented.found
    wrong_number = _ask("The code freeze is on Thursday at 5pm [3].")
    assert not wrong_number.found  # 5 is in no message


def test_the_model_saying_not_found_is_a_decline_not_an_answer() -> None:
    model = WordsOnly().enqueue("NOT FOUND", "NOT FOUND")  # the whole channel, then the best matches again
    answer = qa.answer_question("when is the code freeze?", LINES, model)
    assert not answer.found
    assert len(model.prompts) == 2 and len(model.prompts[1][1].content) < len(model.prompts[0][1].content)


def test_a_later_message_on_the_same_thing_is_read_again_and_the_last_word_wins() -> None:
    model = WordsOnly().enqueue("The code freeze is on Tuesday [1].", "The code freeze is on Thursday 2pm [2].")
    answer = qa.answer_question("when is the code freeze?", LINES, model.enqueue_labels(_confirms(0.9)))
    assert answer.found and answer.text == "The code freeze is on Thursday 2pm [1]."
    assert [line.url for line in answer.sources] == ["https://x/p3"]
    reread = model.prompts[1]
    assert "LAST message" in reread[0].content  # the second reading is told that plans change
    assert "[1] alice: proposal" in reread[1].content and "[2] alice: ok, the code freeze moves" in reread[1].content
    assert "migration" not in reread[1].content  # only the proposal and the later message on the same thing


def test_an_answer_the_model_does_not_confirm_from_its_sources_is_declined() -> None:
    # Grounded word for word, yet not what was asked: the check, shown only [4], says no.
    doubted = _ask("Bob owns the rollback plan [4].", question="who owns the release checklist?", confirmed=0.3)
    assert not doubted.found
    assert _ask("Bob owns the rollback plan [4].", question="who owns the rollback plan?").found


def test_the_check_reads_only_the_cited_messages() -> None:
    model = WordsOnly().enqueue("Bob owns the rollback plan [4].").enqueue_labels(_confirms(0.9))
    qa.answer_question("who owns the rollback plan?", LINES, model)
    check = model.prompts[-1][1].content
    assert "bob: I'll own the rollback plan" in check and "code freeze" not in check
    assert "Proposed answer: Bob owns the rollback plan." in check


def test_an_answer_that_notes_what_is_unsaid_is_still_an_answer() -> None:
    answer = _ask("The code freeze moves to Thursday 2pm [3]; the migration is not mentioned.")
    assert answer.found and "Thursday 2pm [1]" in answer.text


def test_a_reply_that_only_cites_quotes_the_cited_message() -> None:
    answer = _ask("[3]")
    assert answer.found and "Thursday 2pm" in answer.text and answer.sources[0].url == "https://x/p3"


def test_the_question_goes_last_so_a_channel_asked_twice_shares_its_prompt() -> None:
    first = qa.qa_messages("when is the code freeze?", LINES)
    second = qa.qa_messages("who owns the rollback plan?", LINES)
    shared = first[1].content.split("Question:")[0]
    assert first[0] == second[0] and second[1].content.startswith(shared)
    assert "[3] alice: ok, the code freeze moves to Thursday 2pm" in shared  # numbered, in time order


def test_questions_about_the_team_are_never_answered_from_imagination() -> None:
    assert qa.is_history_question("who owns the rollback runbook?")
    assert qa.is_history_question("when's the freeze?")
    assert qa.is_history_question("what did we decide about dark mode?")
    assert not qa.is_history_question("what is a rollback runbook?")
    assert not qa.is_question("do what Bob says")


BUDGET = [
    ChatLine(ts="1.000100", speaker="grace", text="budget time: we have $48,000 for Q3", url="https://x/b1"),
    ChatLine(ts="2.000100", speaker="grace", text="finance says the real number is 43k, not 48", url="https://x/b2"),
    ChatLine(ts="3.000100", speaker="akira", text="so the offsite goes down to 10k", url="https://x/b3"),
]


def test_numbers_written_another_way_are_the_same_numbers() -> None:
    assert qa.numbers_in("$43,000") == qa.numbers_in("43k") == {"43000"}
    assert qa.numbers_in("~1.8k unique") == {"1800"}
    answer = qa.answer_question(
        "how much is our Q3 budget?",
        BUDGET,
        WordsOnly().enqueue("The Q3 budget is $43,000 [2].").enqueue_labels(_confirms(0.9)),
    )
    assert answer.found and "$43,000 [1]" in answer.text and answer.sources[0].url == "https://x/b2"
    wrong = qa.answer_question("how much is our Q3 budget?", BUDGET, WordsOnly().enqueue("It is $45,000 [2]."))
    assert not wrong.found  # 45,000 is in no message


def test_a_list_of_citations_cites_each_message() -> None:
    model = WordsOnly().enqueue("The offsite goes down to 10k [2, 3].").enqueue_labels(_confirms(0.9))
    answer = qa.answer_question("how much is left for the offsite?", BUDGET, model)
    assert answer.found and [line.url for line in answer.sources] == ["https://x/b2", "https://x/b3"]
    assert answer.text == "The offsite goes down to 10k [1] [2]."


def test_an_uncited_answer_cites_the_message_holding_its_number() -> None:
    model = WordsOnly().enqueue("The offsite is down to 10k.").enqueue_labels(_confirms(0.9))
    answer = qa.answer_question("how much is left for the offsite now?", BUDGET, model)
    assert answer.found and answer.sources[0].url == "https://x/b3"


def test_an_answer_that_only_restates_the_question_is_declined() -> None:
    assert not _ask("Alice owns the code freeze [1].", question="who is alice?").found


def test_citations_are_tidied_into_the_sentence_they_back() -> None:
    assert qa.tidy_citations("Bob owns the rollback plan. Messages [6] and [7] indicate this.") == (
        "Bob owns the rollback plan [6] [7]."
    )
    assert qa.tidy_citations("The freeze is on Thursday, as stated in message [4].") == "The freeze is on Thursday [4]."
    assert qa.tidy_citations("Budget is 43k [1, 10].") == "Budget is 43k [1] [10]."
    answer = _ask("Bob owns the rollback plan. Messages [4] and [3] indicate this.", question="who owns the rollback?")
    assert answer.found and answer.text == "Bob owns the rollback plan [1] [2]."


def test_an_answer_of_the_wrong_kind_is_declined_before_the_model_is_asked_to_confirm_it() -> None:
    """Asked for a time of day, the model gives the freeze's day: grounded word for word, confidently confirmed,
    and still no answer to what was asked."""
    model = WordsOnly().enqueue("The code freeze moves to Thursday [3].").enqueue_labels(_confirms(0.95))
    answer = qa.answer_question("what time is the retro?", LINES, model)
    assert not answer.found
    assert [c for c in model.calls if c.method == "label_logprobs"] == []  # declined before the confirming pass
    right_kind = _ask("The code freeze is on Thursday at 2pm [3].", question="what time is the code freeze?")
    assert right_kind.found and "2pm" in right_kind.text


def test_an_answer_that_words_the_question_its_own_way_stands_and_cites_where_its_fact_is() -> None:
    """ "The code freeze is scheduled for Thursday 2pm", uncited: "scheduled" is no fact to find in a message, and
    the message to cite is the one that says Thursday 2pm, not the first one about the code freeze."""
    answer = _ask("The code freeze is scheduled for Thursday 2pm.", question="when does the code freeze happen?")
    assert answer.found and [line.url for line in answer.sources] == ["https://x/p3"]


def test_a_number_the_question_says_may_be_repeated() -> None:
    answer = _ask("The 2.4 code freeze moves to Thursday 2pm [3].", question="when is the 2.4 code freeze?")
    assert answer.found and "Thursday 2pm" in answer.text


def test_an_answer_citing_the_message_next_to_its_source_also_cites_its_source() -> None:
    reply, reread = "The code freeze moves to Thursday 2pm [2].", "The code freeze moves to Thursday 2pm [1]."
    model = WordsOnly().enqueue(reply, reread).enqueue_labels(_confirms(0.9))  # [3] is later: read again with [2]
    answer = qa.answer_question("when is the code freeze?", LINES, model)
    assert answer.found and "https://x/p3" in [line.url for line in answer.sources]
    assert answer.text.count("[") == 2  # both marked, each linked by the renderer


def test_reading_a_later_message_again_never_trades_a_backed_answer_for_an_unbacked_one() -> None:
    lines = [
        *LINES,
        ChatLine(ts="5.000100", speaker="carol", text="code freeze checklist is in the doc", url="https://x/p5"),
    ]
    model = WordsOnly().enqueue(
        "The code freeze moves to Thursday 2pm [3].", "Carol owns the code freeze on Monday [2]."
    )
    answer = qa.answer_question("when is the code freeze?", lines, model.enqueue_labels(_confirms(0.9)))
    assert len([c for c in model.calls if c.method == "complete"]) == 2  # the later message was read again
    assert answer.found and "Thursday 2pm" in answer.text and answer.sources[0].url == "https://x/p3"


def test_a_month_or_weekday_written_short_is_the_same_date() -> None:
    lines = [
        ChatLine(ts="1.000100", speaker="olivia", text="customer email has to go out by feb 13", url="https://x/e1")
    ]
    answer = qa.answer_question(
        "when does the customer email go out?",
        lines,
        WordsOnly().enqueue("The customer email goes out on February 13 [1].").enqueue_labels(_confirms(0.9)),
    )
    assert answer.found and "February 13" in answer.text
