"""HTTP API of the worker: the OpenAI-compatible subset that vLLM and llama.cpp's server also speak.

Routes turn JSON into calls on the engines and results back into JSON. Every failure becomes an OpenAI-style error
body with the right status; a traceback only ever reaches the worker's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from bot.worker.engine_api import Chunk, EngineBusy, EngineFailed, PromptTooLong, Sampling
from bot.worker.runtime import ScoreItem, Worker
from bot.worker.schemas import ChatCompletionRequest, EmbeddingRequest, TokenizeRequest, error_body

logger = logging.getLogger(__name__)

DEFAULT_MAX_TOKENS = 256
DISCONNECT_POLL_S = 0.25
"""How often a non-streaming reply checks that its client is still there (the stream notices on its next write)."""


class ApiError(Exception):
    """An error with its HTTP status, raised anywhere in a route and turned into a JSON body by one handler."""

    def __init__(self, status: int, message: str, *, type_: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type_, self.code = status, message, type_, code


def create_app(worker: Worker) -> FastAPI:
    """The ASGI app for a loaded worker. Models load before this, so a server that answers is a ready server."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        worker.close()

    app = FastAPI(title="Parlance model worker", lifespan=lifespan, docs_url=None, redoc_url=None)
    _install_error_handlers(app)

    @app.get("/health")
    async def health() -> JSONResponse:
        if not worker.healthy():
            return JSONResponse(error_body("generation loop stopped", type_="server_error"), status_code=503)
        admitted = {role: engine.admitted for role, engine in worker.engines.items()}
        return JSONResponse({"status": "ok", "admitted": admitted})

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        data = []
        for role in worker.settings.roles:
            window = worker.engines[role].loaded.context_window if role in worker.engines else _embed_window(worker)
            data.append(
                {
                    "id": role,
                    "object": "model",
                    "created": 0,
                    "owned_by": "parlance",
                    "root": worker.settings.model_ref(role),
                    "max_model_len": window,
                }
            )
        return {"object": "list", "data": data}

    @app.post("/tokenize")
    async def tokenize(body: TokenizeRequest) -> dict[str, Any]:
        role = _generative_role(worker, body.model)
        engine = worker.engines[role]
        if body.messages is not None:
            ids = engine.encode_chat([m.model_dump() for m in body.messages])
        else:
            ids = engine.encode_text(body.prompt or "")
        return {"count": len(ids), "max_model_len": engine.loaded.context_window, "tokens": ids}

    @app.post("/v1/chat/completions", response_model=None)
    async def chat_completions(body: ChatCompletionRequest, request: Request) -> JSONResponse | StreamingResponse:
        role = _generative_role(worker, body.model)
        engine = worker.engines[role]
        prompt_ids = engine.encode_chat([m.model_dump() for m in body.messages])
        max_tokens = body.reply_budget(DEFAULT_MAX_TOKENS)
        engine.check_length(len(prompt_ids), max_tokens)
        engine.admission.check()
        sampling = Sampling(max_tokens, body.temperature, body.top_p, body.stops, body.seed)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        if body.logprobs and max_tokens == 1:
            chunks = _scored_chunks(worker, role, prompt_ids, body)
        else:
            chunks = _generated_chunks(engine, prompt_ids, sampling)
        meta = {"id": completion_id, "created": int(time.time()), "model": role}
        if body.stream:
            return StreamingResponse(
                _sse(chunks, meta, body, len(prompt_ids), engine),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        collected = await _unless_client_leaves(request, _collect(chunks, meta, body, len(prompt_ids), engine))
        if collected is None:  # nobody is left to read an answer; the status only shows in the access log
            return JSONResponse(error_body("the client closed the connection", type_="client_closed"), 499)
        return JSONResponse(collected)

    @app.post("/v1/embeddings")
    async def embeddings(body: EmbeddingRequest) -> dict[str, Any]:
        if worker.role_for(body.model) != "embed" or worker.embedder is None or worker.embed_batcher is None:
            raise ApiError(
                404,
                f"model {body.model!r} is not an embedding model here",
                type_="invalid_request_error",
                code="model_not_found",
            )
        texts = [body.input] if isinstance(body.input, str) else body.input
        # Queued shortest first, so each forward pass holds texts of about one length: a batch is padded to its
        # longest text, and mixed lengths cost a third of the scorer's throughput (bench/sentiment.py).
        by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        batcher = worker.embed_batcher
        in_length_order = await asyncio.gather(*(batcher.submit(texts[i]) for i in by_length))
        vectors: list[list[float]] = [[] for _ in texts]
        for i, embedded in zip(by_length, in_length_order, strict=True):
            vectors[i] = embedded.vector
        tokens = sum(embedded.tokens for embedded in in_length_order)
        return {
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)],
            "model": "embed",
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    return app


async def _unless_client_leaves(request: Request, work: Any) -> Any:
    """Await `work`, but cancel it and return None as soon as the HTTP client has gone (e.g. its timeout fired).

    Cancelling closes the chunk iterator, so the engine cancels the request and frees its slot and KV blocks
    instead of decoding a reply nobody will read.
    """
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=DISCONNECT_POLL_S)
            if done:
                return task.result()
            if await request.is_disconnected():
                logger.info("client of %s went away; cancelling its request", request.url.path)
                return None
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _embed_window(worker: Worker) -> int:
    return worker.embedder.loaded.context_window if worker.embedder else 0


def _generative_role(worker: Worker, model: str) -> str:
    role = worker.role_for(model)
    if role is None or role not in worker.engines:
        served = ", ".join(r for r in worker.settings.roles if r in worker.engines)
        raise ApiError(
            404,
            f"model {model!r} is not served here (serving: {served}; set WORKER_ROLES and MODEL_<ROLE>)",
            type_="invalid_request_error",
            code="model_not_found",
        )
    return role


async def _generated_chunks(engine: Any, prompt_ids: list[int], sampling: Sampling) -> AsyncIterator[Chunk]:
    """The engine's stream, holding a queue slot for exactly as long as it runs (also when the client leaves)."""
    with engine.slot():
        async for chunk in engine.generate(prompt_ids, sampling):
            yield chunk


async def _scored_chunks(
    worker: Worker, role: str, prompt_ids: list[int], body: ChatCompletionRequest
) -> AsyncIterator[Chunk]:
    """max_tokens=1 with logprobs: the one-pass scoring path, batched with other scoring requests."""
    engine = worker.engines[role]
    with engine.slot():
        item = ScoreItem(prompt_ids, body.top_logprobs or 0, body.temperature, body.seed)
        scored = await worker.scorer(role).submit(item)
    yield Chunk(scored.token, [], [scored.logprob], "length", completion_tokens=1, top=scored.top)


def _logprobs_content(chunk: Chunk, engine: Any, top_k: int) -> list[dict[str, Any]]:
    """OpenAI's per-token logprobs entries. The scoring path brings its own top list; generation only the chosen."""
    top = chunk.top
    if top is not None:
        return [
            {
                "token": chunk.text,
                "logprob": chunk.logprobs[0],
                "bytes": list(chunk.text.encode()),
                "top_logprobs": [{"token": t, "logprob": lp, "bytes": list(t.encode())} for t, lp in top[:top_k]],
            }
        ]
    entries = []
    for token_id, logprob in zip(chunk.token_ids, chunk.logprobs, strict=False):
        token = engine.decode([token_id])
        entries.append({"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": []})
    return entries


async def _collect(
    chunks: AsyncIterator[Chunk], meta: dict[str, Any], body: ChatCompletionRequest, prompt_tokens: int, engine: Any
) -> dict[str, Any]:
    text, content, finish, completion = [], [], "stop", 0
    async for chunk in chunks:
        text.append(chunk.text)
        if body.logprobs:
            content.extend(_logprobs_content(chunk, engine, body.top_logprobs or 0))
        finish = chunk.finish_reason or finish
        completion = chunk.completion_tokens
    return {
        **meta,
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(text)},
                "logprobs": {"content": content} if body.logprobs else None,
                "finish_reason": finish,
            }
        ],
        "usage": _usage(prompt_tokens, completion),
    }


async def _sse(
    chunks: AsyncIterator[Chunk], meta: dict[str, Any], body: ChatCompletionRequest, prompt_tokens: int, engine: Any
) -> AsyncIterator[str]:
    """Server-sent events as OpenAI sends them. An error after the first byte can only be reported in the stream."""

    def event(delta: dict[str, Any], finish: str | None, logprobs: Any = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return f"data: {json.dumps({**meta, 'object': 'chat.completion.chunk', 'choices': [choice]})}\n\n"

    completion = 0
    try:
        yield event({"role": "assistant", "content": ""}, None)
        async for chunk in chunks:
            completion = chunk.completion_tokens
            logprobs = {"content": _logprobs_content(chunk, engine, body.top_logprobs or 0)} if body.logprobs else None
            if chunk.text or logprobs:
                yield event({"content": chunk.text}, None, logprobs)
            if chunk.finish_reason:
                yield event({}, chunk.finish_reason)
        usage = {**meta, "object": "chat.completion.chunk", "choices": [], "usage": _usage(prompt_tokens, completion)}
        yield f"data: {json.dumps(usage)}\n\n"
    except (EngineBusy, EngineFailed) as exc:
        yield f"data: {json.dumps(error_body(str(exc), type_='server_error'))}\n\n"
    yield "data: [DONE]\n\n"


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(error_body(exc.message, type_=exc.type_, code=exc.code), status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        # Starlette's own errors: a body that is not UTF-8 JSON, an unknown path, a wrong method.
        type_ = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return JSONResponse(error_body(str(exc.detail), type_=type_), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return JSONResponse(error_body("the request body is not valid JSON", type_="invalid_request_error"), 400)
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        message = f"{where}: {first.get('msg', 'invalid request')}" if where else first.get("msg", "invalid request")
        return JSONResponse(error_body(message, type_="invalid_request_error", param=where or None), status_code=400)

    @app.exception_handler(PromptTooLong)
    async def too_long(request: Request, exc: PromptTooLong) -> JSONResponse:
        return JSONResponse(
            error_body(str(exc), type_="invalid_request_error", code="context_length_exceeded", param="messages"),
            status_code=400,
        )

    @app.exception_handler(EngineBusy)
    async def busy(request: Request, exc: EngineBusy) -> JSONResponse:
        body = error_body(str(exc), type_="rate_limit_error", code="queue_full")
        return JSONResponse(body, status_code=429, headers={"Retry-After": "1"})

    @app.exception_handler(EngineFailed)
    async def failed(request: Request, exc: EngineFailed) -> JSONResponse:
        logger.error("generation failed: %s", exc)
        return JSONResponse(error_body("the model worker failed this request", type_="server_error"), status_code=503)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s", request.url.path)
        return JSONResponse(error_body("internal error in the model worker", type_="server_error"), status_code=500)
