"""The kind of answer a question asks for, and the forms a right answer of that kind is written in: each must
pass, or the check would decline answers that are there."""

from __future__ import annotations

import pytest

from handlers.qa.answer_kinds import Kind, expected_kind, gives_kind

RIGHT = [
    ("what time is the Orvane call?", "The Orvane call is at 4pm [3]."),
    ("what time is the Orvane call?", "It's at 16:00 UTC [3]."),
    ("what time is standup now?", "Standup is now at 9.45 [7]."),
    ("what time is the go/no-go?", "Saturday 6 p.m. [22]"),
    ("how long will orders be read-only?", "About 20 minutes [10]."),
    ("how long do existing customers keep the old price?", "Existing customers get six months at the old price."),
    ("how long is the trial?", "A month [2]."),
    ("how long is the freeze?", "Until Friday [4]."),
    ("how many checkouts actually failed?", "About 1,800 unique checkouts failed [23]."),
    ("how many steps is onboarding v2 now?", "Two steps [8]."),
    ("how much is left for the offsite now?", "10k [9]"),
    ("who's Ruth's onboarding buddy?", "Sun is Ruth's buddy [10]."),  # a name that is also a weekday's short form
    ("which timezone are we using for WAU weeks?", "UTC [5]."),
    ("which build did we roll back?", "Build 7731 [5]."),
    ("which alert paged us first?", "The disk alert on search-03 paged at 14:05 [4]."),
    ("when does Ruth start?", "Wednesday the 5th [16]."),
]
WRONG = [
    ("what time is Ruth's HR orientation?", "Ruth starts on Wednesday the 5th [16]."),  # a day, no time of day
    ("how long is the Postwick contract?", "Postwick costs $0.80 per 1k at 2.4M emails a month [3]."),  # a rate
    ("which alert paged us first?", "The first alert was at 14:05 UTC [4]."),  # when, not which
    ("how many flags did we remove?", "Ewan is taking the payments flags [6]."),
]


@pytest.mark.parametrize(("question", "answer"), RIGHT)
def test_a_right_answer_passes_however_it_is_written(question: str, answer: str) -> None:
    assert gives_kind(question, answer)


@pytest.mark.parametrize(("question", "answer"), WRONG)
def test_an_answer_of_another_kind_fails(question: str, answer: str) -> None:
    assert not gives_kind(question, answer)


def test_questions_that_do_not_say_what_they_want_are_not_checked() -> None:
    assert expected_kind("what did we decide about the vendor?") is None
    assert expected_kind("how long ago did it break?") is None
    assert expected_kind("who's on call?") is Kind.NOT_A_TIME
    assert gives_kind("what's the plan?", "14:05 [1]")
