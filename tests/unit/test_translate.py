"""Translation: markup protection, the output guards, the pipeline's answers, and runs on the real model.

Guard tests use a scripted model (one exact output each); texts of several pieces use `ByText`, which answers by
the text it is asked to translate, because pieces are sent concurrently and a queue would answer them in any order.
The checks of what a translation must keep (numbers, names, negations) are tested in
tests/unit/test_translate_guards.py.
The end-to-end tests run on the worker from the `translate_url` fixture (one per session), or on the server that
MODEL_URL named when the tests started.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.model.client import ChatMessage, ChatOptions, ModelUnavailable, OpenAICompatibleClient, PromptTooLong
from handlers.text.markup import protect, restore
from handlers.translate.checks import rejection
from handlers.translate.scripts import guess_language
from handlers.translate.translation import (
    NOTHING_TO_TRANSLATE,
    UNRELIABLE,
    build_messages,
    build_prompt,
    pieces_of,
    prompt_style,
    translate,
)
from tests.support.scripted_model import ScriptedModel

FLORES = Path(__file__).resolve().parents[3] / "shared" / "eval" / "translation"
SHARED_MODEL_URL = os.environ.get("MODEL_URL")  # read at import: the autouse fixture clears it for each test


class ByText:
    """A model double that translates from a dictionary keyed by the text to translate: the user's message of a
    chat prompt, or the source line of a few-shot document. `base=True` makes it a base model: its server counts
    an empty message as one token, as a model without a chat template does."""

    def __init__(self, answers: dict[str, str], window: int = 2048, *, base: bool = False) -> None:
        self.answers = answers
        self.window = window
        self.base = base
        self.asked: list[str] = []

    def complete(
        self, messages: Sequence[ChatMessage], *, options: ChatOptions | None = None, role: str = "chat"
    ) -> str:
        if messages[0].role == "system":
            source = messages[-1].content
        else:
            source = messages[-1].content.splitlines()[-2].split(": ", 1)[1]
        self.asked.append(source)
        return " " + self.answers[source]

    def context_window(self, role: str = "chat") -> int:
        return self.window

    def count_tokens(self, messages: Sequence[ChatMessage], *, role: str = "chat") -> int:
        if self.base:
            return sum(len(m.content) // 3 for m in messages) + 1
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
    """Every FLORES reference translation is a good translation: the guards must let (almost) all of them pass.

    The checks for broken output (loops, echoes, script, language, length) refuse at most 2 of the 1012. The
    checks of what a translation keeps (numbers, dates, names, negations) refuse at most 3%: those references are free
    where a Slack message's translation should not be. They drop unit conversions ("50 km (31 miles)" → "50 km"),
    rename places beyond recognition (Khufu → Cheops) or say a negation with an antonym ("not injured" → "ileso").
    Measured on all 1012: fr 15, de 23, es 28, ja 14.
    """
    if not FLORES.exists():
        pytest.skip("FLORES devtest not present")
    sources = (FLORES / "eng_Latn.devtest").read_text(encoding="utf-8").splitlines()
    references = (FLORES / f"{name}.devtest").read_text(encoding="utf-8").splitlines()
    causes = [rejection(s, r, target=code, source_language="en") for s, r in zip(sources, references, strict=True)]
    broken = [s for s, cause in zip(sources, causes, strict=True) if cause and cause not in MEANING]
    lost = [s for s, cause in zip(sources, causes, strict=True) if cause in MEANING]
    assert len(broken) <= 2, broken
    assert len(lost) <= 0.03 * len(sources), lost


MEANING = ("number", "date", "name", "negation")


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
    pieces = pieces_of((sentence * 20).strip(), limit=100)
    assert all(len(p) <= 100 for p in pieces) and len(pieces) == 10
    assert " ".join(pieces) == (sentence * 20).strip()
    assert pieces_of("short") == ["short"]


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
    system, user = call.messages
    assert system.role == "system" and "from English to French" in system.content and "[1]" in system.content
    assert user.role == "user" and user.content == "Thanks [1], the deploy is done [2] see [3]"


def test_a_base_model_gets_the_few_shot_document() -> None:
    model = ScriptedModel().enqueue(" Merci [1], le déploiement est terminé")
    result = translate("Thanks <@U1>, the deploy is done", target="fr", model=model, style="few-shot")
    assert result.ok, result
    (call,) = model.calls
    (message,) = call.messages
    assert message.role == "user"
    assert message.content.endswith("English: Thanks [1], the deploy is done\nFrench:")
    assert "English: The meeting has been moved" in message.content  # few-shot pairs, not an instruction


def test_the_prompt_style_is_asked_of_the_model() -> None:
    """A server that renders an empty message as one token has no chat template: a base model."""
    assert prompt_style(ByText({}, base=True)) == "few-shot"
    assert prompt_style(ByText({})) == "chat"
    assert prompt_style(ScriptedModel()) == "chat"  # a server that only estimates: the instruct default
    model = ByText({"Good morning everyone.": "Bonjour à tous."}, base=True)
    assert translate("Good morning everyone.", target="fr", model=model, source="en").ok
    assert model.asked == ["Good morning everyone."]


def test_an_answer_that_lost_a_time_is_asked_for_once_more_and_strictly() -> None:
    model = ScriptedModel().enqueue("La réunion est à 3 heures jeudi.", "La réunion est jeudi à 15 h.")
    result = translate("The meeting is at 3pm on Thursday.", target="fr", model=model)
    assert result.ok and result.text == "La réunion est jeudi à 15 h.", result
    first, second = model.calls
    assert second.options is not None and second.options.temperature == 0
    assert "3pm" not in first.messages[0].content and "3pm" in second.messages[0].content
    assert second.messages[1] == first.messages[1]


@pytest.mark.parametrize(
    ("source", "answers", "cause"),
    [
        ("The meeting is at 3pm on Thursday.", ("La réunion est jeudi.", "La réunion est jeudi."), "number"),
        ("Ask Priya before you merge.", ("Demande avant de fusionner.", "Demande-lui avant de fusionner."), "name"),
        (
            "Don't merge into main until the release.",
            ("Fusionnez dans main avant la sortie.", "Fusionnez dans main jusqu'à la sortie."),
            "negation",
        ),
    ],
)
def test_what_is_lost_twice_is_refused_honestly(source: str, answers: tuple[str, str], cause: str) -> None:
    model = ScriptedModel().enqueue(*answers)
    result = translate(source, target="fr", model=model, source="en")
    assert (result.ok, result.text, result.cause) == (False, UNRELIABLE, cause)
    assert len(model.calls) == 2


def test_a_base_models_second_attempt_is_sampled() -> None:
    model = ScriptedModel().enqueue(" La réunion est jeudi.", " La réunion est jeudi à 15 h.")
    result = translate("The meeting is at 3pm on Thursday.", target="fr", model=model, style="few-shot")
    assert result.ok, result
    first, second = model.calls
    assert first.options is not None and first.options.temperature == 0
    assert second.options is not None and second.options.temperature > 0 and second.options.seed is not None
    assert second.messages == first.messages


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('"Bonjour à tous."', "Bonjour à tous."),
        ("French: Bonjour à tous.", "Bonjour à tous."),
        ("« Bonjour à tous. »", "Bonjour à tous."),
        ("Bonjour à tous.", "Bonjour à tous."),
    ],
)
def test_what_an_instruct_model_adds_around_the_translation_is_removed(answer: str, expected: str) -> None:
    result = translate("Good morning everyone.", target="fr", model=ScriptedModel().enqueue(answer), source="en")
    assert result.ok and result.text == expected, result


def test_the_stricter_instruction_names_what_was_lost() -> None:
    messages = build_messages("Ask @sam and Priya about 2.4 at 3pm.", source="en", target="de", stricter="number")
    assert "2.4, 15:00" in messages[0].content and "German" in messages[0].content  # a time on the 24-hour clock
    messages = build_messages("Ask @sam and Priya about 2.4 at 3pm.", source="en", target="de", stricter="name")
    assert "@sam, Priya" in messages[0].content
    assert build_messages("Hi", source="en", target="de")[0].content.startswith("Translate the user's text from")
    assert "[1]" not in build_messages("Hi", source="en", target="de")[0].content  # or the model writes one
    assert "[1]" in build_messages("Hi [1]", source="en", target="de")[0].content


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
    model = ScriptedModel().enqueue(output, output)
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
    model = ScriptedModel().enqueue(" la la la la la la la la la la la la la la la la la la la la", " la la " * 10)
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


@pytest.fixture(scope="session")
def model_url(request: pytest.FixtureRequest) -> str:
    """The server MODEL_URL named when the tests started (a shared worker), else the session's own worker."""
    return SHARED_MODEL_URL or request.getfixturevalue("translate_url")


@pytest.mark.model
def test_the_model_translates_and_keeps_markup(model_url: str) -> None:
    with OpenAICompatibleClient(model_url, timeout=600) as model:
        result = translate("Good morning, <@U123>!", target="fr", model=model)
    assert result.ok, result
    assert "<@U123>" in result.text
    assert re.search(r"bonjour", result.text, re.I), result.text


@dataclass(frozen=True)
class Said:
    """An ordinary Slack sentence and what its reader would check in any translation of it: each group of
    `numbers` is a set of alternatives of which one must appear (3pm: 15, or 3 with a word for afternoon), the
    `names` must come back as written, and a negative sentence must stay negative."""

    text: str
    numbers: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    negative: bool = False


AFTERNOON = r"(?:après-midi|soir|nachmittags?|abends?|tarde|noche|午後|p\.?\s?m\b)"


def afternoon(hour: int, minute: str = "") -> str:
    """A pattern for an afternoon time as a reader accepts it: 15:30, or 3:30 with a word for afternoon."""
    tail = rf"\D{{0,3}}{minute}" if minute else ""
    h12, h24 = rf"(?<!\d){hour}{tail}(?!\d)", rf"(?<!\d){hour + 12}{tail}(?!\d)"
    return rf"{h24}|{h12}.*{AFTERNOON}|{AFTERNOON}.*{h12}"


RELEASE_PLANNING = (
    Said("Don't merge into main until the release.", negative=True),
    Said("The meeting is at 3pm on Thursday.", numbers=(afternoon(3),)),
    Said("Priya owns the release notes.", names=("Priya",)),
    Said("We're not shipping dark mode in 2.4.", numbers=(r"2[.,]4",), negative=True),
    Said("Can you ask Marco to review the PR before 5:30pm?", numbers=(afternoon(5, "30"),), names=("Marco",)),
    Said("The code freeze starts on Monday at 9am.", numbers=(r"(?<!\d)9(?!\d)",)),
    Said("Please don't deploy on Fridays after 4pm.", numbers=(afternoon(4),), negative=True),
    Said("Ping @sam if the staging build fails again.", names=("@sam",)),
    Said("We never got the 1,200 signups we expected from the beta.", numbers=(r"1\D?200",), negative=True),
    Said("Release 2.5 is planned for March 14.", numbers=(r"2[.,]5", r"(?<!\d)14(?!\d)")),
)
NEGATION = {  # "don't deploy" may also come out as "avoid deploying"
    "fr": r"\b(?:ne|n['’]|pas|jamais|aucune?)\b|évit",
    "de": r"\b(?:nicht|kein\w*|nie|niemals)\b|vermeid",
    "es": r"\b(?:no|nunca|jamás)\b|evit",
    "ja": r"ない|ません|ず|なかっ|禁止|避け|控え",
}


@pytest.mark.model
@pytest.mark.parametrize("target", ["fr", "de", "es", "ja"])
def test_ordinary_release_planning_messages_keep_what_a_reader_checks(model_url: str, target: str) -> None:
    """What a user noticed with the old model (2 of 9 acceptable: "don't merge into main until release" became
    "don't board the headquarters", "at 3pm" became "3 heures"): every translation posted must keep the numbers
    and times, the names, the negation and the target script, and most messages must get one at all."""
    with OpenAICompatibleClient(model_url, timeout=900) as model, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda said: translate(said.text, target=target, model=model), RELEASE_PLANNING))
    posted = [(said, result.text) for said, result in zip(RELEASE_PLANNING, results, strict=True) if result.ok]
    refused = [
        (said.text, result.cause) for said, result in zip(RELEASE_PLANNING, results, strict=True) if not result.ok
    ]
    assert len(posted) >= 7, refused  # the rest refused honestly: a guard could not verify a date or number
    for said, text in posted:
        assert all(re.search(pattern, text, re.I) for pattern in said.numbers), (said.text, text)
        latin = target != "ja"
        assert all(name in text for name in said.names if latin or name.startswith("@")), (said.text, text)
        assert not said.negative or re.search(NEGATION[target], text, re.I), (said.text, text)
        has_kana = bool(re.search(r"[\u3040-\u30ff]", text))
        assert has_kana if target == "ja" else not has_kana, (said.text, text)
        assert text != said.text


def test_long_lines_keep_their_closing_quotes_when_cut() -> None:
    line = 'He said "stop." ' * 30
    pieces = pieces_of(line.strip(), limit=100)
    assert len(pieces) > 1 and " ".join(pieces) == line.strip()
