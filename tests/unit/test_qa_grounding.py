"""The guards between the model and a history answer, each with the one model output it must catch (scripted);
the real model answering real history is in tests/model/test_grounded_answers.py."""

from __future__ import annotations

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


def _ask(reply: str, question: str = "when is the code freeze?") -> qa.Answer:
    return qa.answer_question(question, LINES, ScriptedModel().enqueue(reply))


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
