"""Translation: markup protection, the output guards, the pipeline's answers, and one run on the real model.

Guard tests use a scripted model (one exact output each); texts of several pieces use `ByText`, which answers by
the text it is asked to translate, because pieces are sent concurrently and a queue would answer them in any order.
The end-to-end test starts a worker serving the `translate` role with the bundled Gemma 3 270M.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.model_client import ChatMessage, ChatOptions, ModelUnavailable, OpenAICompatibleClient, PromptTooLong
from handlers.markup import protect, restore
from handlers.translate import (
    NOTHING_TO_TRANSLATE,
    UNRELIABLE,
    build_prompt,
    split_sentences,
    translate,
)
from handlers.translate_guards import guess_language, rejection
from tests.scripted_model import ScriptedModel

FLORES = Path(__file__).resolve().parents[2] / "shared" / "eval" / "translation"


class ByText:
    """A model double that translates from a dictionary keyed by the source line of the prompt."""

    def __init__(self, answers: dict[str, str], window: int = 2048) -> None:
        self.answers = answers
        self.window = window
        self.asked: list[str] = []

    def complete(
        self, messages: Sequence[ChatMessage], *, options: ChatOptions | None = None, role: str = "chat"
    ) -> str:
        source = messages[-1].content.splitlines()[-2].split(": ", 1)[1]
        self.asked.append(source)
        return " " + self.answers[source]

    def context_window(self, role: str = "chat") -> int:
        return self.window

    def count_tokens(self, messages: Sequence[ChatMessage], *, role: str = "chat") -> int:
        return sum(len(m.content) // 3 + 4 for m in messages)


# ---------------------------------------------------------------------------------------------- markup


def test_markup_round_trips_byte_for_byte() -> None:
    text = (
        "Hi <@U1> and <!here>, see <https://example.com/a?b=1|the doc> :tada: :+1::skin-tone-2: at 10:30:45, "
        "run `make test` &amp; read [3] &lt;3\n```\nfor x in y:\n    print(x)\n```\n<#C1|ops> https://bare.example/x"
    )
    protected = protect(text)
    assert "<@U1>" not in protected.text and "make test" not in protected.text and "print" not in protected.text
    assert "10:30:45" in protected.text  # a time is not an emoji
    assert "& read" in protected.text and "<3" in protected.text  # the model reads characters, not entities
    assert restore(protected.text, protected) == text


def test_restore_refuses_lost_doubled_or_invented_placeholders() -> None:
    protected = protect("Thanks <@U1>, see :tada:")
    assert protected.text == "Thanks [1], see [2]"
    assert restore("Merci [1], voir", protected) is None
    assert restore("Merci [1] [1], voir [2]", protected) is None
    assert restore("Merci [1], voir [2] [3]", protected) is None
    assert restore("Voir [2], merci [ 1 ]", protected) == "Voir :tada:, merci <@U1>"


def test_model_text_is_escaped_so_it_cannot_form_markup() -> None:
    protected = protect("a <@U1>")
    assert restore("<!channel> & [1]", protected) == "&lt;!channel&gt; &amp; <@U1>"


# ---------------------------------------------------------------------------------------------- guards


@pytest.mark.parametrize(
    ("code", "name"), [("fr", "fra_Latn"), ("de", "deu_Latn"), ("es", "spa_Latn"), ("ja", "jpn_Jpan")]
)
def test_guards_accept_real_translations(code: str, name: str) -> None:
    """Every FLORES reference translation is a good translation: the guards must let (almost) all of them pass."""
    if not FLORES.exists():
        pytest.skip("FLORES devtest not present")
    sources = (FLORES / "eng_Latn.devtest").read_text(encoding="utf-8").splitlines()
    references = (FLORES / f"{name}.devtest").read_text(encoding="utf-8").splitlines()
    refused = [
        s for s, r in zip(sources, references, strict=True) if rejection(s, r, target=code, source_language="en")
    ]
    assert len(refused) <= 2, refused


@pytest.mark.parametrize(
    ("source", "output", "target", "cause"),
    [
        ("The meeting is moved to Thursday.", "", "fr", "empty"),
        ("The meeting is moved to Thursday.", "La réunion la réunion la réunion la réunion la réunion", "fr", "loop"),
        ("We need the report by Friday, please.", "We need the report by Friday, please.", "fr", "echo"),
        ("We need the report by Friday, please.", "We need the report on Friday please!", "de", "echo"),
        ("We need the report by Friday, please.", "We will send you the report on Friday, sure.", "fr", "language"),
        ("We need the report by Friday, please.", "Nous avons besoin du rapport vendredi.", "ja", "script"),
        ("We need the report by Friday, please.", "Нам нужен отчёт к пятнице, пожалуйста.", "fr", "script"),
        (
            "Thanks!",
            "Merci beaucoup pour votre aide précieuse pendant toute cette longue semaine difficile.",
            "fr",
            "length",
        ),
        ("We need the report by Friday, please, for the board meeting.", "Rapport.", "fr", "length"),
    ],
)
def test_guards_reject_degenerate_output(source: str, output: str, target: str, cause: str) -> None:
    assert rejection(source, output, target=target, source_language="en") == cause


def test_guards_let_names_and_numbers_through_unchanged() -> None:
    assert rejection("Tesla Model 3", "Tesla Model 3", target="fr", source_language="en") is None
    assert rejection("OK", "OK", target="de", source_language="en") is None


def test_language_guess_is_cautious() -> None:
    assert guess_language("The team will ship the release on Friday and then take a break.") == "en"
    assert guess_language("Nous avons besoin du rapport pour la réunion de vendredi.") == "fr"
    assert guess_language("会議は木曜日に変更されました。") == "ja"
    assert guess_language("ok") is None


def test_long_lines_are_cut_at_sentence_ends() -> None:
    sentence = "This sentence is about forty characters. "
    pieces = split_sentences((sentence * 20).strip(), limit=100)
    assert all(len(p) <= 100 for p in pieces) and len(pieces) == 10
    assert " ".join(pieces) == (sentence * 20).strip()
    assert split_sentences("short") == ["short"]


# ---------------------------------------------------------------------------------------------- the pipeline


def test_a_good_translation_comes_back_with_its_markup() -> None:
    model = ScriptedModel().enqueue(" Merci [1], le déploiement est terminé [2] voir [3]")
    result = translate(
        "Thanks <@U1>, the deploy is done :tada: see <https://ci.example/1|the logs>", target="fr", model=model
    )
    assert result.ok, result
    assert result.text == "Merci <@U1>, le déploiement est terminé :tada: voir <https://ci.example/1|the logs>"
    (call,) = model.calls
    assert call.role == "translate"
    assert call.options is not None and call.options.stop == ["\n"] and call.options.temperature == 0
    prompt = call.messages[-1].content
    assert prompt.endswith("English: Thanks [1], the deploy is done [2] see [3]\nFrench:")
    assert "English: The meeting has been moved" in prompt  # few-shot pairs, not an instruction


@pytest.mark.parametrize(
    ("output", "target", "cause"),
    [
        (" la la la la la la la la la la la la la la la la la la la la la la", "fr", "loop"),
        (" We need the report by Friday for the board meeting.", "fr", "echo"),
        (" We need the report by Friday for the board meeting.", "ja", "script"),
        ("", "de", "empty"),
    ],
)
def test_degenerate_output_becomes_an_honest_refusal(output: str, target: str, cause: str) -> None:
    model = ScriptedModel().enqueue(output)
    result = translate("We need the report by Friday for the board meeting.", target=target, model=model)
    assert not result.ok
    assert result.text == UNRELIABLE
    assert result.cause == cause


def test_a_lost_placeholder_is_translated_around_the_markup() -> None:
    model = ScriptedModel().enqueue(" Merci, voir", " Merci", " voir le tableau")
    result = translate("Thanks <@U1>, see the board <https://x.example|here>", target="fr", model=model)
    assert result.ok, result
    assert result.text == "Merci <@U1>, voir le tableau <https://x.example|here>"


def test_markup_lost_twice_fails_safe() -> None:
    model = ScriptedModel().enqueue(" Merci, voir", " Merci [2]", " voir")
    result = translate("Thanks <@U1>, see :tada:", target="fr", model=model)
    assert not result.ok and result.cause == "markup" and result.text == UNRELIABLE


def test_lines_code_blocks_and_bullets_keep_their_place() -> None:
    text = "Deploy steps:\n```\nmake deploy\n```\n• Ask <#C1|ops> if it fails.\n\n• Then tell the team."
    model = ByText(
        {
            "Deploy steps:": "Étapes du déploiement :",
            "Ask [2] if it fails.": "Demandez à [2] en cas d'échec.",
            "Then tell the team.": "Ensuite, prévenez l'équipe.",
        }
    )
    result = translate(text, target="fr", model=model, source="en")
    assert result.ok, result
    assert result.text == (
        "Étapes du déploiement :\n```\nmake deploy\n```\n• Demandez à <#C1|ops> en cas d'échec.\n\n"
        "• Ensuite, prévenez l'équipe."
    )
    assert sorted(model.asked) == sorted(["Deploy steps:", "Ask [2] if it fails.", "Then tell the team."])
    assert result.pieces == 3


def test_one_bad_piece_fails_the_whole_text() -> None:
    model = ByText({"Good morning everyone.": "Bonjour à tous.", "The build is green again.": "Ja ja ja ja ja ja " * 4})
    result = translate("Good morning everyone.\nThe build is green again.", target="fr", model=model, source="en")
    assert not result.ok and result.text == UNRELIABLE


def test_text_over_the_context_window_says_what_to_do() -> None:
    model = ScriptedModel(window=200)
    result = translate("We ship on Friday. " * 60, target="de", model=model)
    assert not result.ok and result.cause == "too_long"
    assert "smaller parts" in result.text
    assert not model.calls


def test_a_prompt_the_server_finds_too_long_says_what_to_do() -> None:
    model = ScriptedModel().enqueue(PromptTooLong("prompt of 9000 tokens exceeds the context window"))
    result = translate("We ship on Friday.", target="de", model=model)
    assert not result.ok and result.cause == "too_long" and "smaller parts" in result.text


def test_nothing_but_markup_is_not_sent_to_the_model() -> None:
    model = ScriptedModel()
    result = translate(":tada: <@U1> `make test`", target="fr", model=model)
    assert (result.ok, result.text, result.cause) == (False, NOTHING_TO_TRANSLATE, "nothing")
    assert not model.calls


def test_text_already_in_the_target_language_is_not_translated() -> None:
    result = translate("Nous avons besoin du rapport pour la réunion de vendredi.", target="fr", model=ScriptedModel())
    assert not result.ok and result.cause == "same_language" and "French" in result.text


def test_an_unknown_target_is_refused() -> None:
    result = translate("Hello team", target="tlh", model=ScriptedModel())
    assert not result.ok and result.cause == "unknown_target"


def test_a_model_outage_is_left_to_the_dispatcher() -> None:
    model = ScriptedModel().enqueue(ModelUnavailable("cannot reach the model server"))
    with pytest.raises(ModelUnavailable):
        translate("We ship on Friday.", target="es", model=model)


def test_message_text_is_not_logged_at_info(caplog: pytest.LogCaptureFixture) -> None:
    model = ScriptedModel().enqueue(" la la la la la la la la la la la la la la la la la la la la")
    with caplog.at_level(logging.INFO):
        translate("Secret merger plans for Friday.", target="fr", model=model)
    assert caplog.records
    assert not any("Secret" in r.getMessage() or "la la" in r.getMessage() for r in caplog.records)


def test_prompts_pair_any_two_languages_with_examples() -> None:
    prompt = build_prompt("Guten Morgen", source="de", target="ja")
    assert prompt.startswith("German: Danke für das Update")
    assert "\nJapanese: ご報告ありがとうございます。" in prompt
    assert prompt.endswith("German: Guten Morgen\nJapanese:")
    assert build_prompt("Hello", source="en", target="sv") == "English: Hello\nSwedish:"


# ---------------------------------------------------------------------------------------------- the real model


@pytest.mark.model
def test_the_bundled_model_translates_and_keeps_markup(translate_url: str) -> None:
    with OpenAICompatibleClient(translate_url, timeout=300) as model:
        result = translate("Good morning, <@U123>!", target="fr", model=model)
    assert result.ok, result
    assert "<@U123>" in result.text
    assert re.search(r"bonjour", result.text, re.I), result.text
