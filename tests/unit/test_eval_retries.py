"""A slow model costs an eval the items it timed out on, not the run: retried, counted, and the figures printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.eval import translate
from bot.eval.items import Items
from bot.model.client import ModelBusy, ModelUnavailable, PromptTooLong
from tests.support.model_server import ModelServer

PAIRS = [
    ("Thanks for the quick review.", "Merci pour la relecture rapide."),
    ("The build is green again, STALL.", "La compilation est de nouveau verte."),
    ("Lunch is at noon today.", "Le déjeuner est à midi aujourd'hui."),
    ("Please update the docs, STALL.", "Merci de mettre à jour la documentation."),
]


def test_translate_eval_goes_on_past_lines_the_model_times_out_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "pairs.tsv"
    data.write_text("".join(f"{source}\t{reference}\n" for source, reference in PAIRS), encoding="utf-8")
    with ModelServer() as server:
        server.stall_on = "STALL"  # these lines never get an answer: each request times out on the client
        monkeypatch.setenv("MODEL_URL", server.url)
        argv = [str(data), "--target", "fr", "--source-language", "en", "--timeout", "0.5"]
        code = translate.run([*argv, "--retries", "2", "--backoff", "0.1", "--concurrency", "4"])
        stalled_answers = [path for path in server.stalled_paths if path.endswith("/chat/completions")]
    captured = capsys.readouterr()
    assert code == 0
    assert "translate en→fr: 4 lines" in captured.out
    assert "pipeline (refused line = no translation)" in captured.out
    assert "baseline (source copied unchanged)" in captured.out
    assert "2 items failed after retries (ModelUnavailable 2) (scored as no translation)" in captured.out
    assert len(stalled_answers) == 2 * 3  # each stalled line: the first try and two retries
    assert captured.err.count("an item failed (tried 3 times), going on: the model server timed out") == 2


def test_transient_errors_are_retried_with_growing_waits_and_the_rest_fail_at_once() -> None:
    waits: list[float] = []
    items = Items(retries=3, backoff=1.0, sleep=waits.append)
    outcomes = iter([ModelBusy("queue full"), ModelUnavailable("timed out"), "answer"])

    def flaky() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert items.call(flaky) == "answer"
    assert waits == [1.0, 2.0] and items.failed == 0

    calls: list[int] = []

    def too_long() -> str:
        calls.append(1)
        raise PromptTooLong("does not fit")

    assert items.call(too_long, count=3) is None
    assert len(calls) == 1  # asking again would get the same answer
    assert items.summary() == "3 items failed after retries (PromptTooLong 3)"


def test_a_degraded_result_is_retried_and_kept_when_no_try_does_better() -> None:
    items = Items(retries=2, backoff=0.0)
    tries: list[str] = []

    def degraded() -> str:
        tries.append("extractive only")
        return "extractive only"

    assert items.call(degraded, accept=lambda result: result != "extractive only") == "extractive only"
    assert len(tries) == 3 and items.failed == 0
