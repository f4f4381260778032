""" "Who's doing X?" answered from the channel's action items when the model's answer does not stand."""

from __future__ import annotations

from handlers.qa import answers as qa
from handlers.qa.owners import owner_of
from handlers.text.lines import ChatLine
from tests.support.scripted_model import ScriptedModel


def _lines(*messages: tuple[str, str]) -> list[ChatLine]:
    return [
        ChatLine(ts=f"{i}.000100", speaker=speaker, text=text, url=f"https://x/m{i}")
        for i, (speaker, text) in enumerate(messages, start=1)
    ]


OFFSITE = _lines(
    ("grace", "budget time: offsite 15k, tools 18k"),
    ("akira", "offsite 15k for 9 people seems generous?"),
    ("grace", "I'll submit the final split to finance on thursday. akira can you own the offsite planning?"),
    ("akira", "sure"),
    ("viktor", "roles for the cutover: johanna runs the migration, tomas rollback, ren comms"),
    ("lukas", "I'll do German QA, starting monday"),
    ("tomas", "ok, rollback plan is in the runbook"),
    ("johanna", "migration dry run went fine"),
    ("ren", "I'll draft the support note"),
)


def test_the_one_who_took_the_work_owns_it_not_the_one_who_asked() -> None:
    owner = owner_of("who's planning the offsite?", OFFSITE)
    assert owner is not None and owner.name == "akira"
    assert [line.url for line in owner.sources] == ["https://x/m3", "https://x/m4"]  # the request and the "sure"


def test_i_will_makes_the_speaker_the_owner() -> None:
    owner = owner_of("who's doing German QA?", OFFSITE)
    assert owner is not None and owner.name == "lukas"


def test_in_a_list_of_roles_the_owner_is_the_one_named_for_the_thing_asked() -> None:
    owner = owner_of("who's on rollback?", OFFSITE)
    assert owner is not None and owner.name == "tomas"


def test_nothing_is_answered_when_no_action_item_is_about_the_question() -> None:
    assert owner_of("who's writing the release notes?", OFFSITE) is None
    assert owner_of("who takes over the offsite planning after akira?", OFFSITE) is None  # the question's own name
    assert owner_of("when is the offsite?", OFFSITE) is None  # not a "who" question


def test_when_the_models_answer_does_not_stand_the_action_item_answers_and_is_cited() -> None:
    model = ScriptedModel().enqueue("NOT FOUND", "NOT FOUND")  # the whole channel, then the best matches again
    answer = qa.answer_question("who's planning the offsite?", OFFSITE, model)
    assert answer.found and answer.text.startswith("akira") and "[1]" in answer.text
    assert answer.sources[0].url == "https://x/m3"
    declined = qa.answer_question(
        "who's writing the release notes?", OFFSITE, ScriptedModel().enqueue("NOT FOUND", "NOT FOUND")
    )
    assert not declined.found


def test_an_owner_who_only_spoke_about_the_topic_is_declined_before_the_model_is_asked_to_confirm_it() -> None:
    retro = _lines(
        ("pedro", "I'll quarantine the flaky tests by wednesday"),
        ("noah", "let's park the standup change for next retro, it's a big change"),
    )
    model = (
        ScriptedModel().enqueue("noah is facilitating the next retro [2].").enqueue_labels({"yes": -0.01, "no": -5.0})
    )
    answer = qa.answer_question("who's facilitating the next retro?", retro, model)
    assert not answer.found
    assert [c for c in model.calls if c.method == "label_logprobs"] == []
    reply = "Pedro is quarantining the flaky tests [1]."
    taken = ScriptedModel().enqueue(reply, reply).enqueue_labels({"yes": -0.01, "no": -5.0})
    assert qa.answer_question("who's quarantining the flaky tests?", retro, taken).found
