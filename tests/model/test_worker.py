"""The real worker with the bundled SmolLM2 over HTTP: completions, streaming, batching, scoring, errors."""

from __future__ import annotations

import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support import workers as conftest_worker

worker_url = conftest_worker.torch_worker_url  # the transformers engine (SmolLM2); llama.cpp: test_llama_engine

pytestmark = pytest.mark.model

QUESTIONS = [
    "What is the capital of France?",
    "Name a colour of the sky.",
    "Write a short greeting for a new teammate.",
    "How many legs does a cat have?",
]


def chat(url: str, content: str, **extra: object) -> httpx.Response:
    body = {"model": "chat", "messages": [{"role": "user", "content": content}], "temperature": 0, **extra}
    return httpx.post(f"{url}/chat/completions", json=body, timeout=120)


def answer(url: str, content: str, max_tokens: int = 12) -> str:
    response = chat(url, content, max_tokens=max_tokens)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def admitted(url: str) -> int:
    health = httpx.get(url.removesuffix("/v1") + "/health", timeout=5).json()
    return sum(health["admitted"].values())


def test_chat_completion(worker_url: str) -> None:
    response = chat(worker_url, "What is the capital of France?", max_tokens=16)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert "Paris" in body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] in ("stop", "length")
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_streamed_completion_matches_the_plain_one(worker_url: str) -> None:
    body = {
        "model": "chat",
        "messages": [{"role": "user", "content": QUESTIONS[2]}],
        "max_tokens": 12,
        "temperature": 0,
        "stream": True,
    }
    pieces, finish = [], None
    with httpx.stream("POST", f"{worker_url}/chat/completions", json=body, timeout=120) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    for line in lines[:-1]:
        for choice in json.loads(line[6:])["choices"]:
            pieces.append(choice["delta"].get("content") or "")
            finish = choice["finish_reason"] or finish
    assert len([p for p in pieces if p]) > 1, "the reply arrived in one piece, not streamed"
    assert finish in ("stop", "length")
    assert "".join(pieces) == answer(worker_url, QUESTIONS[2])


def test_greedy_output_is_the_same_alone_and_batched(worker_url: str) -> None:
    alone = [answer(worker_url, q) for q in QUESTIONS]
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        batched = list(pool.map(lambda q: answer(worker_url, q), QUESTIONS))
    assert batched == alone


def test_label_scoring_returns_top_logprobs(worker_url: str) -> None:
    prompt = "Is this message positive or negative? 'Great job everyone, I love it!' Answer in one word."
    response = chat(worker_url, prompt, max_tokens=1, logprobs=True, top_logprobs=10)
    assert response.status_code == 200, response.text
    entry = response.json()["choices"][0]["logprobs"]["content"][0]
    top = entry["top_logprobs"]
    assert len(top) == 10
    values = [t["logprob"] for t in top]
    assert values == sorted(values, reverse=True) and all(v <= 0 for v in values)
    assert math.isclose(entry["logprob"], values[0], abs_tol=1e-6)  # greedy: the chosen token is the top one
    assert any("positive" in t["token"].lower() for t in top)


def test_scoring_alone_and_in_a_batch_agree(worker_url: str) -> None:
    """Prompts of different lengths are left-padded in one pass; each must score as it does alone."""
    prompts = ["Say yes.", "Reply with one word: is the sea wet?", QUESTIONS[0], "Hi"]

    def top(prompt: str) -> list[tuple[str, float]]:
        response = chat(worker_url, prompt, max_tokens=1, logprobs=True, top_logprobs=3)
        return [
            (t["token"], t["logprob"]) for t in response.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        ]

    alone = [top(p) for p in prompts]
    with ThreadPoolExecutor(len(prompts)) as pool:
        batched = list(pool.map(top, prompts))
    for one, many in zip(alone, batched, strict=True):
        assert [t for t, _ in one] == [t for t, _ in many]
        assert all(math.isclose(a, b, abs_tol=2e-3) for (_, a), (_, b) in zip(one, many, strict=True))


def test_stop_strings_end_the_reply(worker_url: str) -> None:
    response = chat(worker_url, "Count from 1 to 10 separated by commas.", max_tokens=40, stop=["5"])
    text = response.json()["choices"][0]["message"]["content"]
    assert "5" not in text and response.json()["choices"][0]["finish_reason"] == "stop"


def test_a_client_that_leaves_frees_its_slot(worker_url: str) -> None:
    body = {
        "model": "chat",
        "messages": [{"role": "user", "content": "Tell me a long story about the sea."}],
        "max_tokens": 400,
        "temperature": 0,
        "stream": True,
    }
    busy_while_streaming = None
    with httpx.stream("POST", f"{worker_url}/chat/completions", json=body, timeout=60) as response:
        for line in response.iter_lines():
            if '"content": "' in line and '"content": ""' not in line:
                busy_while_streaming = admitted(worker_url)
                break  # leaving the line iterator closes the connection: the client hangs up mid-reply
    assert busy_while_streaming == 1
    deadline = time.monotonic() + 10
    while admitted(worker_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert admitted(worker_url) == 0


def test_a_non_streaming_client_that_times_out_frees_its_slot(worker_url: str) -> None:
    body = {
        "model": "chat",
        "messages": [{"role": "user", "content": "Tell me a long story about the sea."}],
        "max_tokens": 400,
        "temperature": 0,
    }
    with pytest.raises(httpx.TimeoutException):
        httpx.post(f"{worker_url}/chat/completions", json=body, timeout=1.5)
    deadline = time.monotonic() + 10  # 400 tokens take far longer than this on a CPU
    while admitted(worker_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert admitted(worker_url) == 0


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        ({"messages": []}, 400, "messages"),
        ({"messages": [{"role": "user", "content": "x"}], "max_tokens": -3}, 400, "max_tokens"),
        ({"messages": "hello"}, 400, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, 400, "role"),
        ({"messages": [{"role": "user", "content": "x"}], "temperature": "hot"}, 400, "temperature"),
        ({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}, 404, "gpt-9"),
    ],
)
def test_bad_requests_get_openai_error_bodies(worker_url: str, payload: dict, status: int, fragment: str) -> None:
    response = httpx.post(f"{worker_url}/chat/completions", json=payload, timeout=30)
    assert response.status_code == status
    error = response.json()["error"]
    assert fragment in error["message"] and error["type"] == "invalid_request_error"


def test_undecodable_bodies_are_400(worker_url: str) -> None:
    for raw in (b'{"messages": [{"role": "user", "content": "\xff\xfe"}]}', b"not json"):
        response = httpx.post(
            f"{worker_url}/chat/completions", content=raw, headers={"content-type": "application/json"}, timeout=30
        )
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_request_error"


def test_prompt_too_long_says_how_long(worker_url: str) -> None:
    response = chat(worker_url, "word " * 9000, max_tokens=10)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded"
    assert "8192" in error["message"] and "prompt has" in error["message"]


def test_models_health_and_tokenize(worker_url: str) -> None:
    models = httpx.get(f"{worker_url}/models", timeout=10).json()["data"]
    chat_model = next(m for m in models if m["id"] == "chat")
    assert chat_model["root"] == "smollm2" and chat_model["max_model_len"] == 8192
    root = worker_url.removesuffix("/v1")
    assert httpx.get(f"{root}/health", timeout=10).json()["status"] == "ok"
    messages = [{"role": "user", "content": QUESTIONS[0]}]
    count = httpx.post(f"{root}/tokenize", json={"model": "chat", "messages": messages}, timeout=10).json()["count"]
    assert count == chat(worker_url, QUESTIONS[0], max_tokens=1).json()["usage"]["prompt_tokens"]


def test_embeddings(worker_url: str) -> None:
    texts = ["The deploy failed again.", "Our release broke in production.", "I like green tea."]
    response = httpx.post(f"{worker_url}/embeddings", json={"model": "embed", "input": texts}, timeout=30)
    assert response.status_code == 200
    vectors = [item["embedding"] for item in response.json()["data"]]
    assert len(vectors) == 3 and len(vectors[0]) == 384
    assert math.isclose(sum(v * v for v in vectors[0]), 1.0, rel_tol=1e-4)

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    # The worker runs a request's texts shortest first; each vector still belongs to its own text.
    for text, vector in zip(texts, vectors, strict=True):
        alone = httpx.post(f"{worker_url}/embeddings", json={"model": "embed", "input": text}, timeout=30)
        assert cosine(alone.json()["data"][0]["embedding"], vector) > 0.999
