"""Sentiment of chat messages: plain text in, a label (negative / neutral / positive) and a score in [-1, 1] out.

Two signals come from the model worker, and either can be used alone:

- `embeddings`: MiniLM sentence embeddings read by a small linear head (`sentiment_head.json`, 385 numbers)
  that predicts the mean human rating on the −4…+4 scale. It was fitted on the even-numbered rows of the
  tweets dev set and measured on the odd ones (`python -m bot eval sentiment FILE --train-head` rebuilds it).
  This is the default: one batched embedding call per batch, cheap enough for every message on a CPU.
- `labels`: the chat model's log-probabilities of ` positive` / ` negative` / ` neutral` as the first token
  after an assistant turn started with `Sentiment:` (without that prefix a 135M model rambles instead).
- `combined`: the mean of both ratings, weighted as the head file says.

The rating becomes a score by dividing by 4 (the rating scale's end) and a label by two thresholds chosen on the
training half. Slack markup is turned into the words a reader sees before anything is scored: a mention or a
channel link carries no mood, an emoji does (`:tada:` → "tada", 😀 → "grinning face"), code is not prose.
"""

from __future__ import annotations

import html
import json
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from bot.model.client import ChatMessage, ModelClient
from handlers.text.markup import BARE_URL, CODE_BLOCK, EMOJI, INLINE_CODE, readable

Label = Literal["negative", "neutral", "positive"]
Method = Literal["embeddings", "labels", "combined"]
LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")
HEAD_PATH = Path(__file__).with_name("sentiment_head.json")
RATING_SCALE = 4.0  # the dev set's ratings run from -4 to +4
MAX_CHARS = 1000  # a mood shows in the first paragraphs; longer texts only cost model time

_EMOJI_WORDS = {"+1": "thumbs up", "-1": "thumbs down", "100": "hundred points", "heavy_plus_sign": "plus"}


def normalize(text: str) -> str:
    """What a reader sees in a Slack message, as plain words: markup resolved, code and URLs reduced to a word.

    A link keeps its label (the words someone chose), a bare URL becomes "link"; a mention becomes "@name" or
    "@someone" because who is named says nothing about mood; emoji become their names.
    """
    text = CODE_BLOCK.sub(" code ", text)
    text = INLINE_CODE.sub(" code ", text)
    text = readable(
        text,
        person=lambda _user, label: label or "someone",
        channel=lambda _channel, label: label or "channel",
        link=lambda _url, label: label or "link",
    )
    text = BARE_URL.sub("link", text)
    text = html.unescape(text)  # Slack (and the tweets) escape &, < and >
    text = EMOJI.sub(lambda m: " " + _EMOJI_WORDS.get(m["name"], m["name"].replace("_", " ")) + " ", text)
    text = "".join(_emoji_name(ch) for ch in text)
    return " ".join(text.split())[:MAX_CHARS]


def _emoji_name(ch: str) -> str:
    """😀 → " grinning face "; other characters unchanged. MiniLM's vocabulary has no emoji, their names it knows."""
    if ord(ch) < 0x2190 or unicodedata.category(ch) != "So":
        return "" if ch in "\ufe0f\u200d" else ch
    return " " + unicodedata.name(ch, "").lower() + " "


@dataclass(frozen=True, slots=True)
class Sentiment:
    """One message's mood: `rating` on the −4…+4 scale of the dev set, `score` = rating / 4 clipped to [-1, 1]."""

    label: Label
    score: float
    rating: float


@dataclass(frozen=True)
class Head:
    """The linear head on MiniLM embeddings and the thresholds that turn a rating into a label."""

    weights: tuple[float, ...]
    bias: float
    negative_below: float
    positive_above: float
    labels_weight: float = 0.5  # share of the label rating in `combined`
    labels_scale: float = 2.5  # label-probability difference (−1…1) → rating

    def rating(self, embedding: Sequence[float]) -> float:
        return self.bias + math.fsum(w * x for w, x in zip(self.weights, embedding, strict=True))

    def sentiment(self, rating: float) -> Sentiment:
        if rating > self.positive_above:
            label: Label = "positive"
        elif rating < self.negative_below:
            label = "negative"
        else:
            label = "neutral"
        return Sentiment(label, max(-1.0, min(1.0, rating / RATING_SCALE)), rating)

    def to_json(self) -> str:
        return json.dumps(
            {
                "about": "Linear head on MiniLM embeddings predicting the -4..+4 rating; see handlers/sentiment/scoring.py",  # noqa: E501
                "bias": round(self.bias, 6),
                "negative_below": round(self.negative_below, 4),
                "positive_above": round(self.positive_above, 4),
                "labels_weight": round(self.labels_weight, 4),
                "labels_scale": round(self.labels_scale, 4),
                "weights": [round(w, 6) for w in self.weights],
            }
        )

    @classmethod
    def from_json(cls, raw: str) -> Head:
        data = json.loads(raw)
        return cls(
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            negative_below=float(data["negative_below"]),
            positive_above=float(data["positive_above"]),
            labels_weight=float(data.get("labels_weight", 0.5)),
            labels_scale=float(data.get("labels_scale", 2.5)),
        )


@cache
def default_head() -> Head:
    return Head.from_json(HEAD_PATH.read_text(encoding="utf-8"))


NEUTRAL = Sentiment("neutral", 0.0, 0.0)
_QUESTION = "What is the sentiment of this message? Answer positive, negative or neutral.\n\nMessage: {text}"
_ANSWER_PREFIX = "Sentiment:"


def label_prompt(text: str) -> list[ChatMessage]:
    """The chat-model prompt for one message; the assistant turn is started so the next token is the label."""
    return [
        ChatMessage(role="user", content=_QUESTION.format(text=text)),
        ChatMessage(role="assistant", content=_ANSWER_PREFIX),
    ]


def label_rating(logprobs: dict[str, float], scale: float) -> float:
    """P(positive) − P(negative) among the three labels, times `scale`; a label outside the top 20 counts as ~0."""
    probabilities = {label: math.exp(lp) if lp > -1e9 else 0.0 for label, lp in logprobs.items()}
    total = sum(probabilities.values())
    if total <= 0:
        return 0.0
    return scale * (probabilities.get("positive", 0.0) - probabilities.get("negative", 0.0)) / total


def score_texts(
    texts: Sequence[str], model: ModelClient, *, method: Method = "embeddings", head: Head | None = None
) -> list[Sentiment]:
    """Scores raw Slack texts in one batch; texts with nothing to read (only code, a file share) are neutral."""
    head = head or default_head()
    readable = [normalize(text) for text in texts]
    todo = [i for i, text in enumerate(readable) if text]
    ratings = dict.fromkeys(todo, 0.0)
    if not todo:
        return [NEUTRAL for _ in texts]
    if method in ("embeddings", "combined"):
        vectors = model.embed([readable[i] for i in todo])
        for i, vector in zip(todo, vectors, strict=True):
            ratings[i] = head.rating(vector)
    if method in ("labels", "combined"):
        scores = model.label_logprobs_many([label_prompt(readable[i]) for i in todo], LABELS)
        share = 1.0 if method == "labels" else head.labels_weight
        for i, logprobs in zip(todo, scores, strict=True):
            ratings[i] = (1 - share) * ratings[i] + share * label_rating(logprobs, head.labels_scale)
    return [head.sentiment(ratings[i]) if i in ratings else NEUTRAL for i in range(len(texts))]
