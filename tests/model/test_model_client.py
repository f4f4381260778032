"""The bot's model client: against the real worker (MODEL_URL), and against fake servers for the error paths of
vLLM and llama.cpp, which cannot be provoked on demand."""

from __future__ import annotations

import math

import httpx
import pytest

from bot.model.client import (
    ChatMessage,
    ChatOptions,
    ModelBusy,
    ModelError,
    ModelUnavailable,
    OpenAICompatibleClient,
    PromptTooLong,
)
from tests.support import workers as conftest_worker
from tests.support.scripted_model import ScriptedModel

worker_url = conftest_worker.torch_worker_url  # the transformers worker (SmolLM2, an 8192-token cache)

QUESTION = [ChatMessage(role="user", content="What is the capital of France?")]
LABELS = ["positive", "negative", "neutral"]


def sentiment_prompt(text: str) -> list[ChatMessage]:
    return [
        ChatMessage(
            role="user",
            content=f"Is the sentiment of this message positive, negative or neutral?\nMessage: {text}\nAnswer:",
        )
    ]


def fake(handler, **kwargs: object) -> OpenAICompatibleClient:
    return OpenAICompatibleClient(
        "http://model.test/v1", transport=httpx.MockTransport(handler), backoff=0.001, **kwargs
    )


# ---------------------------------------------------------------- against the real worker


@pytest.mark.model
def test_complete_and_stream_through_model_url(worker_url: str) -> None:
    with OpenAICompatibleClient(worker_url, timeout=60) as client:
        text = client.complete(QUESTION, options=ChatOptions(max_tokens=12))
        assert "Paris" in text
        pieces = list(client.stream(QUESTION, options=ChatOptions(max_tokens=12)))
        assert len(pieces) > 1 and "".join(pieces) == text


@pytest.mark.model
def test_label_logprobs_single_and_many_agree(worker_url: str) -> None:
    with OpenAICompatibleClient(worker_url, timeout=60) as client:
        texts = ["I love this, great work!", "This is broken and I hate it.", "The meeting is at 3pm."]
        one = [client.label_logprobs(sentiment_prompt(t), LABELS) for t in texts]
        many = client.label_logprobs_many([sentiment_prompt(t) for t in texts], LABELS)
    assert set(one[0]) == set(LABELS)
    assert any(math.isfinite(v) for v in one[0].values())
    for a, b in zip(one, many, strict=True):
        for label in LABELS:
            assert a[label] == b[label] or math.isclose(a[label], b[label], abs_tol=2e-3)


@pytest.mark.model
def test_budgets_and_embeddings(worker_url: str) -> None:
    with OpenAICompatibleClient(worker_url, timeout=60) as client:
        assert client.context_window("chat") == 8192
        assert 20 < client.count_tokens(QUESTION) < 60
        vectors = client.embed(["hello", "world"])
        assert len(vectors) == 2 and len(vectors[0]) == 384
        with pytest.raises(PromptTooLong, match="context window is 8192"):
            client.complete([ChatMessage(role="user", content="word " * 9000)])


# ---------------------------------------------------------------- error paths, no model needed


def test_connection_refused_is_unavailable_after_retries() -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ModelUnavailable, match="cannot reach"):
        fake(refuse, retries=2).complete(QUESTION)
    assert len(calls) == 3


def test_a_busy_server_is_retried_then_answers() -> None:
    answers = iter([httpx.Response(429, json={"error": {"message": "queue full", "code": "queue_full"}})] * 2)

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, httpx.Response(200, json={"choices": [{"message": {"content": "ok"}}]}))

    assert fake(handler).complete(QUESTION) == "ok"
    with pytest.raises(ModelBusy):
        fake(lambda r: httpx.Response(429, json={"error": {"message": "busy"}}), retries=1).complete(QUESTION)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        # vLLM
        (400, {"error": {"message": "This model's maximum context length is 2048 tokens. However, you requested "
                                    "3000 tokens", "type": "BadRequestError"}}, PromptTooLong),
        # llama.cpp server
        (400, {"error": {"message": "the request exceeds the available context size",
                         "type": "exceed_context_size_error"}}, PromptTooLong),
        (413, {}, PromptTooLong),
        (503, {"error": {"message": "Loading model", "type": "unavailable_error"}}, ModelUnavailable),
        (500, {"error": {"message": "boom"}}, ModelUnavailable),
        (400, {"error": {"message": "temperature: must be <= 2"}}, ModelError),
    ],
)  # fmt: skip
def test_server_errors_map_to_our_types(status: int, body: dict, error: type[ModelError]) -> None:
    client = fake(lambda r: httpx.Response(status, json=body), retries=0)
    with pytest.raises(error) as caught:
        client.complete(QUESTION)
    assert type(caught.value) is error


def test_stream_reports_an_error_sent_inside_the_stream() -> None:
    sse = 'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\ndata: {"error": {"message": "loop died"}}\n\n'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=sse, headers={"content-type": "text/event-stream"})

    stream = fake(handler).stream(QUESTION)
    assert next(stream) == "Hi"
    with pytest.raises(ModelUnavailable, match="loop died"):
        next(stream)


def test_label_scores_sum_the_spellings_of_a_label() -> None:
    top = [{"token": "Positive", "logprob": math.log(0.3)}, {"token": " positive", "logprob": math.log(0.2)},
           {"token": "Neg", "logprob": math.log(0.1)}, {"token": "The", "logprob": math.log(0.4)}]  # fmt: skip
    body = {"choices": [{"message": {"content": "The"}, "logprobs": {"content": [{"top_logprobs": top}]}}]}
    scores = fake(lambda r: httpx.Response(200, json=body)).label_logprobs(QUESTION, LABELS)
    assert math.isclose(scores["positive"], math.log(0.5))
    assert math.isclose(scores["negative"], math.log(0.1))
    assert scores["neutral"] == float("-inf")


def test_budget_look_ups_fall_back_when_the_server_cannot_say() -> None:
    client = fake(lambda r: httpx.Response(404, json={"error": {"message": "not found"}}), retries=0)
    assert client.context_window() == 2048
    assert client.count_tokens([ChatMessage(role="user", content="x" * 300)]) == 104


def test_options_reject_misspelt_fields() -> None:
    with pytest.raises(ValueError, match="max_token"):
        ChatOptions(max_token=5)  # type: ignore[call-arg]  # the misspelt field is the point


def test_scripted_model_replays_answers_and_records_prompts() -> None:
    model = ScriptedModel().enqueue("hello there", ModelBusy("busy"))
    assert list(model.stream(QUESTION)) == ["hello", " there"]
    with pytest.raises(ModelBusy):
        model.complete(QUESTION)
    assert model.prompts == [QUESTION, QUESTION]
