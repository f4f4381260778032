"""Scoring helpers shared by the evals (SQuAD-style answer matching)."""

from __future__ import annotations

import re
import string
from collections import Counter


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, answers: list[str]) -> float:
    return max(float(normalize_answer(prediction) == normalize_answer(a)) for a in answers)


def f1(prediction: str, answers: list[str]) -> float:
    def one(gold: str) -> float:
        predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
        common = Counter(predicted) & Counter(expected)
        same = sum(common.values())
        if same == 0:
            return 0.0
        precision, recall = same / len(predicted), same / len(expected)
        return 2 * precision * recall / (precision + recall)

    return max(one(a) for a in answers)
