"""What a translation must keep: numbers and times, names, negations. Plain functions of strings, no model.

Each check must refuse what loses meaning and let a correct translation through in the target language's own
notation; tests/unit/test_translate.py runs them over the FLORES references as well.
"""

from __future__ import annotations

import pytest

from handlers.translate.checks import meaning_lost, rejection
from handlers.translate.names import missing_names, names_in
from handlers.translate.negation import has_negation, is_negative
from handlers.translate.numbers import missing_dates, missing_numbers

# ---------------------------------------------------------------------------------------------- numbers and times


@pytest.mark.parametrize(
    ("source", "output"),
    [
        ("The meeting is at 3pm on Thursday.", "La réunion a lieu jeudi à 15 h."),
        ("The meeting is at 3pm on Thursday.", "Das Meeting ist am Donnerstag um 15:00 Uhr."),
        ("The meeting is at 3pm on Thursday.", "会議は木曜日の午後3時です。"),
        ("The meeting is at 3pm on Thursday.", "会議は木曜日の15時です。"),
        ("The meeting is at 3pm on Thursday.", "La reunión es el jueves a las 3 de la tarde."),
        ("The meeting is at 3 p.m. on Thursday.", "The meeting is on Thursday at 3 PM."),
        ("Stand-up moved to 9:30am.", "Le stand-up est déplacé à 9 h 30."),
        ("It shook at 10:08 p.m. on Monday.", "月曜日の午後10時8分に揺れました。"),
        ("The deploy window opens at 15:00.", "The deploy window opens at 3 pm."),
        ("Report at 12.00 GMT today.", "Rapport aujourd'hui à 12 h GMT."),
        ("We crossed 1,000 users.", "Nous avons dépassé les 1 000 utilisateurs."),
        ("We crossed 1,000 users.", "Wir haben 1.000 Nutzer überschritten."),
        ("We're not shipping dark mode in 2.4.", "Nous ne livrons pas le mode sombre dans la 2,4."),
        ("They raised 45 million dollars.", "彼らは4500万ドルを集めた。"),
        ("Ten people and 10 agents.", "Dix personnes et dix agents."),
        ("Back in the 1960s.", "Dans les années 60."),
        ("She finished 7th.", "Terminó en séptimo lugar."),
        ("Ship it by March 14, 2025.", "Livrez-le d'ici le 14 mars 2025."),
        ("No numbers here.", "Pas de chiffres ici."),
    ],
)
def test_numbers_and_times_may_change_notation(source: str, output: str) -> None:
    assert missing_numbers(source, output) == []


@pytest.mark.parametrize(
    ("source", "output", "missing"),
    [
        ("The meeting is at 3pm on Thursday.", "La réunion est à 3 heures jeudi.", ["3"]),  # 3 o'clock is 3am
        ("The meeting is at 3pm on Thursday.", "La réunion est jeudi.", ["3"]),
        ("Call me before 5:30pm.", "Appelle-moi avant 5:30.", ["5:30"]),
        ("Call me before 5:30pm.", "Appelle-moi avant 17 h.", ["5:30"]),
        ("We're not shipping dark mode in 2.4.", "Nous ne livrons pas le mode sombre dans la 2.5.", ["2.4"]),
        ("Release 2.4 ships with 3 fixes.", "La version 4 sort avec trois correctifs.", ["2.4"]),
        ("We need 250 seats.", "Il nous faut 25 places.", ["250"]),
    ],
)
def test_a_lost_or_changed_number_is_found(source: str, output: str, missing: list[str]) -> None:
    assert missing_numbers(source, output) == missing


# ---------------------------------------------------------------------------------------------- weekdays and months


@pytest.mark.parametrize(
    ("source", "output", "target", "missing"),
    [
        ("The meeting is at 3pm on Thursday.", "La réunion a lieu jeudi à 15 h.", "fr", []),
        ("Please don't deploy on Fridays.", "Bitte nicht freitags deployen.", "de", []),
        ("Please don't deploy on Fridays.", "No despliegues los viernes.", "es", []),
        ("The freeze starts on Monday.", "O congelamento começa na segunda-feira.", "pt", []),
        ("The meeting is on Thursday.", "会議は木曜日です。", "ja", []),
        ("Release 2.5 is planned for March 14.", "La 2.5 est prévue pour le 14 mars.", "fr", []),
        ("Release 2.5 is planned for March 14.", "2.5のリリースは3月14日の予定です。", "ja", []),
        ("We may ship it.", "Nous pourrions le livrer.", "fr", []),  # "may" is no month
        ("The freeze starts on Monday.", "Le gel commence mardi.", "fr", ["Monday"]),
        ("Please don't deploy on Fridays.", "No despliegues los lunes.", "es", ["Fridays"]),
        ("Release 2.5 is planned for March 14.", "2.5のリリースは4月14日の予定です。", "ja", ["March"]),
        ("The freeze starts on Monday.", "Frysningen börjar på tisdag.", "sv", []),  # no names for Swedish
    ],
)
def test_weekdays_and_months_stay_the_same(source: str, output: str, target: str, missing: list[str]) -> None:
    assert missing_dates(source, output, target=target) == missing


# ---------------------------------------------------------------------------------------------- names


def test_names_are_lone_capitalised_words_handles_and_identifiers() -> None:
    names = names_in("Ask Priya to review the GitHub PR with @sam; config.yaml is on Thursday's list, see v2.")
    assert names.proper == ("Priya",)
    assert names.exact == ("GitHub", "@sam", "config.yaml", "v2")
    # Titles, words after an article and words for peoples are not names a translation has to keep.
    assert (
        names_in("The Declaration of Independence was signed by the German delegates in the Great Hall.").proper == ()
    )
    assert names_in("Marco said the Earth is round.").proper == ()  # first word of the sentence, "the Earth"


@pytest.mark.parametrize(
    ("source", "output", "target"),
    [
        ("Can you ask Marco to review it?", "Peux-tu demander à Marco de le relire ?", "fr"),
        ("Can you ask Marco to review it?", "Puoi chiedere a Marco di rivederlo?", "it"),
        ("Can you ask Marco to review it?", "マルコさんにレビューを頼めますか？", "ja"),  # names may be written in kana
        ("Ping @sam about the GitHub issue.", "Préviens @sam pour le ticket Github.", "fr"),
        ("We ship to Italy and Poland next.", "Nous livrons ensuite en Italie et en Pologne.", "fr"),
        ("We ship to Germany next.", "Wir liefern als Nächstes nach Deutschland.", "de"),
        ("The WiFi is down again.", "Le Wi-Fi est de nouveau en panne.", "fr"),
        ("Please don't deploy on Fridays.", "Merci de ne pas déployer le vendredi.", "fr"),
    ],
)
def test_names_may_take_a_local_form(source: str, output: str, target: str) -> None:
    assert missing_names(source, output, target=target) == []


@pytest.mark.parametrize(
    ("source", "output", "target", "missing"),
    [
        ("Can you ask Marco to review it?", "Peux-tu lui demander de le relire ?", "fr", ["Marco"]),
        ("Ping @sam about the GitHub issue.", "Préviens Sam pour le ticket.", "fr", ["@sam", "GitHub"]),
        ("Edit config.yaml first.", "設定ファイルを先に編集してください。", "ja", ["config.yaml"]),
    ],
)
def test_a_lost_name_is_found(source: str, output: str, target: str, missing: list[str]) -> None:
    assert missing_names(source, output, target=target) == missing


def test_capitalised_words_are_read_in_english_sources_only() -> None:
    """German capitalises every noun: "Release" in a German source is no name."""
    assert (
        missing_names("Das Release ist am Donnerstag.", "The launch is on Thursday.", target="en", source_language="de")
        == []
    )


# ---------------------------------------------------------------------------------------------- negations


@pytest.mark.parametrize(
    ("text", "language", "negative"),
    [
        ("Don't merge into main until the release.", "en", True),
        ("We’re not shipping dark mode in 2.4.", "en", True),
        ("We never got the signups.", "en", True),
        ("I can't make it.", "en", True),
        ("Not only the docs but also the code.", "en", False),
        ("No matter what, we ship on Friday.", "en", False),
        ("Merge after the release.", "en", False),
        ("Ne fusionnez pas avant la sortie.", "fr", True),
        ("Il ne reste que deux jours.", "fr", False),  # ne ... que: only
        ("N'oubliez pas la réunion.", "fr", False),  # "remember the meeting"
        ("Wir liefern den Dark Mode nicht.", "de", True),
        ("No obstante, lo lanzamos.", "es", False),  # however
        ("Hoy no publicamos.", "es", True),
        ("Hej, vi släpper inte idag.", "sv", False),  # no list: never demands a negation
    ],
)
def test_a_negative_source_is_recognised(text: str, language: str, negative: bool) -> None:
    assert is_negative(text, language) is negative


@pytest.mark.parametrize(
    ("text", "language", "negation"),
    [
        ("Ne fusionnez pas dans main avant la sortie.", "fr", True),
        ("Fusionnez dans main avant la sortie.", "fr", False),
        ("Nicht vor dem Release in main mergen.", "de", True),
        ("Kein Merge vor dem Release.", "de", True),
        ("No fusiones en main hasta el lanzamiento.", "es", True),
        ("Non fare il merge prima del rilascio.", "it", True),
        ("Não faça merge antes do lançamento.", "pt", True),
        ("Niet mergen voor de release.", "nl", True),
        ("リリースまでmainにマージしないでください。", "ja", True),
        ("リリースまでmainにマージしてください。", "ja", False),
        ("Das ist unmöglich.", "de", True),  # a negation said with an antonym still counts
        ("N'oubliez pas de déployer vendredi.", "fr", False),  # "remember to deploy": the opposite of "don't"
        ("Vi släpper inte idag.", "sv", None),
    ],
)
def test_a_translation_says_not_in_its_own_words(text: str, language: str, negation: bool | None) -> None:
    assert has_negation(text, language) is negation


# ---------------------------------------------------------------------------------------------- the verdict


@pytest.mark.parametrize(
    ("source", "output", "target", "cause"),
    [
        # The user's report: a time read as "3 hours", a negation turned around, a name dropped.
        ("The meeting is at 3pm on Thursday.", "Die Besprechung ist am Donnerstag um 3 Stunden.", "de", "number"),
        (
            "Don't merge into main until the release.",
            "Fusionnez dans la branche principale avant la sortie.",
            "fr",
            "negation",
        ),
        (
            "Priya owns the release notes, ask Priya.",
            "Les notes de version appartiennent à l'équipe, demandez-lui.",
            "fr",
            "name",
        ),
        ("Don't merge into main until the release.", "Ne fusionnez pas dans main avant la sortie.", "fr", None),
        # Seen from the model: "don't deploy on Fridays" as "don't forget to deploy on Saturday".
        ("Please don't deploy on Fridays after 4pm.", "N'oubliez pas de déployer le samedi après 16 h.", "fr", "date"),
        (
            "Please don't deploy on Fridays after 4pm.",
            "N'oubliez pas de déployer le vendredi après 16 h.",
            "fr",
            "negation",
        ),
        ("We're not shipping dark mode in 2.4.", "2.4ではダークモードを出荷しません。", "ja", None),
        ("The meeting is at 3pm on Thursday.", "La reunión es el jueves a las 15:00.", "es", None),
    ],
)
def test_what_a_translation_lost_is_the_verdict(source: str, output: str, target: str, cause: str | None) -> None:
    assert meaning_lost(source, output, target=target, source_language="en") == cause
    assert rejection(source, output, target=target, source_language="en") == cause


def test_a_language_without_a_negation_list_is_not_judged_on_negation() -> None:
    assert meaning_lost("Don't merge yet.", "Slå inte ihop än.", target="sv", source_language="en") is None
    assert meaning_lost("Don't merge yet.", "Slå ihop nu.", target="sv", source_language="en") is None
