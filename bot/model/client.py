"""The bot's one way to reach a language model: an OpenAI-compatible HTTP client.

Handlers take a `ModelClient` and never know which server is behind it: our worker (`python -m bot.worker`), vLLM
or llama.cpp's server, chosen by MODEL_URL. Errors arrive as `ModelError` subclasses whose messages are safe to
log; `bot/` turns them into words for Slack. No torch here, so the Slack process starts fast.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any, Literal, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)

Role = str  # "chat", "translate", "embed", or any name the server knows


class ModelError(Exception):
    """The model could not answer. The message says why, in words fit for a log line."""


class ModelUnavailable(ModelError):
    """The server cannot be reached, timed out, or failed (5xx); retrying later may work."""


class ModelBusy(ModelError):
    """The server's queue is full (429/503 with a full queue); retry after a short wait."""


class PromptTooLong(ModelError):
    """The prompt does not fit the model's context window; shorten the history and try again."""


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class ChatOptions(BaseModel):
    """Generation options. A misspelt option fails here instead of being ignored by the server."""

    model_config = ConfigDict(extra="forbid")

    max_tokens: int = Field(default=256, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: list[str] = Field(default_factory=list, max_length=4)
    seed: int | None = None


Messages = Sequence[ChatMessage]


class ModelClient(Protocol):
    """What handlers may ask of a model. Every backend (and the tests' ScriptedModel) implements this."""

    def complete(self, messages: Messages, *, options: ChatOptions | None = None, role: Role = "chat") -> str: ...

    def stream(
        self, messages: Messages, *, options: ChatOptions | None = None, role: Role = "chat"
    ) -> Iterator[str]: ...

    def label_logprobs(self, messages: Messages, labels: Sequence[str], *, role: Role = "chat") -> dict[str, float]: ...

    def label_logprobs_many(
        self, conversations: Sequence[Messages], labels: Sequence[str], *, role: Role = "chat"
    ) -> list[dict[str, float]]: ...

    def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    def context_window(self, role: Role = "chat") -> int: ...

    def count_tokens(self, messages: Messages, *, role: Role = "chat") -> int: ...


class OpenAICompatibleClient:
    """`ModelClient` over the OpenAI HTTP API, as served by our worker, vLLM and llama.cpp.

    `base_url` is MODEL_URL, ending in /v1. `models` maps roles to the model names the server knows; by default the
    role itself is sent (our worker serves roles by name; vLLM takes them via --served-model-name; llama.cpp ignores
    the field). Connection errors and full queues are retried `retries` times with a short, growing backoff.
    `transport` lets tests put a fake server behind the client.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 120.0,
        api_key: str | None = None,
        retries: int = 3,
        backoff: float = 0.25,
        models: dict[str, str] | None = None,
        concurrency: int = 32,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.root_url = self.base_url.removesuffix("/v1")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=5.0), headers=headers, transport=transport)
        self._retries = retries
        self._backoff = backoff
        self._models = models or {}
        self._concurrency = concurrency
        self._windows: dict[str, int] = {}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpenAICompatibleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ generation

    def complete(self, messages: Messages, *, options: ChatOptions | None = None, role: Role = "chat") -> str:
        body = self._chat_body(messages, options or ChatOptions(), role)
        data = self._post_json(f"{self.base_url}/chat/completions", body)
        return data["choices"][0]["message"].get("content") or ""

    def stream(self, messages: Messages, *, options: ChatOptions | None = None, role: Role = "chat") -> Iterator[str]:
        """Yield text pieces as they are generated. Closing the iterator closes the connection, and our worker then
        cancels the request. Retries happen only before the first piece, so no text is ever repeated."""
        body = {**self._chat_body(messages, options or ChatOptions(), role), "stream": True}
        started = False
        for attempt in range(self._retries + 1):
            try:
                with self._http.stream("POST", f"{self.base_url}/chat/completions", json=body) as response:
                    if response.status_code != 200:
                        response.read()
                        raise _error_for(response)
                    for piece in _sse_text(response):
                        started = True
                        yield piece
                    return
            except (ModelBusy, httpx.TransportError) as exc:
                # A stream cut after its first piece is not retried here: the new one would repeat the start.
                if started or attempt == self._retries or isinstance(exc, httpx.ReadTimeout):
                    raise _wrap(exc) from exc
                self._sleep(attempt)

    # ------------------------------------------------------------------ scoring

    def label_logprobs(self, messages: Messages, labels: Sequence[str], *, role: Role = "chat") -> dict[str, float]:
        """Log-probability of each label as the reply's first token, from one forward pass (max_tokens=1).

        A label counts every top token that spells it or its start ("Positive", " positive", "pos"), summed in
        probability; a label absent from the top 20 gets -inf. Labels are best chosen to differ in their first
        token.
        """
        body = {
            **self._chat_body(messages, ChatOptions(max_tokens=1), role),
            "logprobs": True,
            "top_logprobs": 20,
        }
        data = self._post_json(f"{self.base_url}/chat/completions", body)
        content = (data["choices"][0].get("logprobs") or {}).get("content") or []
        top = content[0].get("top_logprobs", []) if content else []
        return {label: _label_score(label, top) for label in labels}

    def label_logprobs_many(
        self, conversations: Sequence[Messages], labels: Sequence[str], *, role: Role = "chat"
    ) -> list[dict[str, float]]:
        """Score many conversations at once. Requests go out concurrently, and the worker batches them into shared
        forward passes; the result keeps the input order."""
        if not conversations:
            return []
        with ThreadPoolExecutor(min(self._concurrency, len(conversations))) as pool:
            return list(pool.map(lambda conv: self.label_logprobs(conv, labels, role=role), conversations))

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        data = self._post_json(f"{self.base_url}/embeddings", {"model": self._model("embed"), "input": list(texts)})
        return [item["embedding"] for item in sorted(data["data"], key=lambda item: item["index"])]

    # ------------------------------------------------------------------ budgets

    def context_window(self, role: Role = "chat") -> int:
        """The model's context window from /v1/models (vLLM's and our `max_model_len`, llama.cpp's `n_ctx_train`).
        Falls back to 2048 when the server does not say."""
        if role not in self._windows:
            window = 2048
            with suppress(ModelError, ValueError, KeyError, TypeError):
                data = self._get_json(f"{self.base_url}/models")
                for entry in data.get("data", []):
                    if entry.get("id") in (self._model(role), role) or len(data.get("data", [])) == 1:
                        meta = entry.get("meta") or {}
                        window = int(entry.get("max_model_len") or meta.get("n_ctx_train") or window)
                        break
            self._windows[role] = window
        return self._windows[role]

    def count_tokens(self, messages: Messages, *, role: Role = "chat") -> int:
        """Prompt tokens with the chat template applied, from the server's /tokenize (vLLM and our worker). Other
        servers get an estimate of one token per 3 characters, which overcounts English a little, on purpose."""
        body = {"model": self._model(role), "messages": [m.model_dump() for m in messages]}
        with suppress(ModelError, ValueError, KeyError, TypeError):
            data = self._post_json(f"{self.root_url}/tokenize", body, retry=False)
            if "count" in data:
                return int(data["count"])
        return sum(len(m.content) // 3 + 4 for m in messages)

    # ------------------------------------------------------------------ HTTP

    def _model(self, role: Role) -> str:
        return self._models.get(role, role)

    def _chat_body(self, messages: Messages, options: ChatOptions, role: Role) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self._model(role),
            "messages": [m.model_dump() for m in messages],
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": options.top_p,
        }
        if options.stop:
            body["stop"] = options.stop
        if options.seed is not None:
            body["seed"] = options.seed
        return body

    def _post_json(self, url: str, body: dict[str, Any], *, retry: bool = True) -> dict[str, Any]:
        return self._request("POST", url, body, retry=retry)

    def _get_json(self, url: str) -> dict[str, Any]:
        return self._request("GET", url, None, retry=True)

    def _request(self, method: str, url: str, body: dict[str, Any] | None, *, retry: bool) -> dict[str, Any]:
        attempts = self._retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                response = self._http.request(method, url, json=body)
                if response.status_code == 200:
                    return response.json()
                raise _error_for(response)
            except (ModelBusy, httpx.TransportError) as exc:
                if attempt == attempts - 1 or isinstance(exc, httpx.ReadTimeout):
                    raise _wrap(exc) from exc
                self._sleep(attempt)
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int) -> None:
        time.sleep(self._backoff * (2**attempt))


def _wrap(exc: Exception) -> ModelError:
    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return ModelUnavailable(f"the model server timed out ({type(exc).__name__})")
    return ModelUnavailable(f"cannot reach the model server ({type(exc).__name__}: {exc})")


def _error_for(response: httpx.Response) -> ModelError:
    """Map a non-200 answer to our error types, reading OpenAI-style bodies from any of the three servers."""
    message, code = f"HTTP {response.status_code}", ""
    try:
        error = response.json().get("error", {})
        if isinstance(error, dict):
            message = str(error.get("message") or message)
            code = str(error.get("code") or error.get("type") or "")
        elif isinstance(error, str):
            message = error
    except (ValueError, AttributeError):
        pass
    status = response.status_code
    lowered = f"{message} {code}".lower()
    if status == 413 or "context_length" in lowered or "context length" in lowered or "exceed_context" in lowered:
        return PromptTooLong(message)
    if status in (429, 503):
        return ModelBusy(message) if status == 429 or "queue" in lowered else ModelUnavailable(message)
    if status >= 500:
        return ModelUnavailable(f"the model server failed: {message}")
    return ModelError(f"the model server refused the request ({status}): {message}")


def _sse_text(response: httpx.Response) -> Iterator[str]:
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        event = json.loads(payload)
        if "error" in event:
            error = event["error"]
            raise ModelUnavailable(str(error.get("message") if isinstance(error, dict) else error))
        for choice in event.get("choices", []):
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text


def _label_score(label: str, top: list[dict[str, Any]]) -> float:
    wanted = label.strip().lower()
    matches = []
    for entry in top:
        token = str(entry.get("token", "")).strip().lower()
        if token and (token == wanted or (len(token) >= 3 and wanted.startswith(token))):
            matches.append(float(entry["logprob"]))
    if not matches:
        return float("-inf")
    peak = max(matches)
    return peak + math.log(sum(math.exp(m - peak) for m in matches))
