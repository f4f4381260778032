"""Generation for one GGUF model on CPU through llama.cpp (the `xllamacpp` wheel's prebuilt binaries).

On a few CPU cores decode is memory-bound: llama.cpp reads the Q4 weights as they are, about 7× fewer bytes per
token than the de-quantised fp32 copy transformers would use, so the same file decodes several times faster. The
engine embeds llama.cpp's own server (parallel slots with continuous batching, prompt caching) in this process and
gives it the same face as the transformers `ChatEngine`: admission with a bounded queue, prompt-length checks, a
stream of `Chunk`s, cancellation when the client goes away, and one-token scoring with log-probabilities.

Prompt caching matters most here: a channel's history is asked about again and again, and prompt processing on
two cores runs at ~60–100 tokens/s, so a 1,000-token context would otherwise cost 10–15 s before the first token.
llama.cpp keeps each slot's KV cache after a request and routes the next prompt to the slot sharing its longest
prefix, so only the new question is processed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.worker.engine_api import Admission, Chunk, EngineFailed, PromptTooLong, Sampling, Scored
from bot.worker.guards import TextStream, looping_period

logger = logging.getLogger(__name__)

LOOP_CHARS = 24  # a reply whose last chars repeat this often is stuck (the text-level twin of looping_period)


@dataclass(frozen=True)
class LlamaModel:
    """What `/v1/models` and the start-up log say about a llama.cpp model."""

    ref: str
    path: Path
    context_window: int
    parameters: int
    file_bytes: int
    load_seconds: float
    origin: str
    threads: int
    slots: int

    def describe(self) -> str:
        return (
            f"{self.ref}: {self.parameters / 1e6:.0f}M parameters, GGUF {self.file_bytes / 2**20:.0f} MiB on cpu "
            f"through llama.cpp ({self.threads} decode threads, {self.slots} slots), context {self.context_window}, "
            f"from {self.origin} in {self.load_seconds:.1f}s"
        )


def server_meta(http: httpx.Client) -> dict[str, Any]:
    """What llama.cpp's server reports about its model (n_params, n_ctx_train…)."""
    data = http.get("/v1/models").json()
    entries = data.get("data") or [{}]
    return dict(entries[0].get("meta") or {})


class LlamaEngine:
    """Serves one GGUF model with llama.cpp. Create it (loads the model), then call `generate` or `score`."""

    def __init__(
        self,
        path: Path,
        *,
        ref: str,
        origin: str,
        threads: int,
        batch_threads: int = 0,
        max_queue: int,
        kv_cache_tokens: int,
        kv_cache_type: str = "q8_0",
        slots: int,
        max_context: int = 0,
        prompt_cache_mib: int = 128,
    ) -> None:
        import xllamacpp as xlc

        started = time.perf_counter()
        params = xlc.CommonParams()
        params.model.path = str(path)
        params.n_ctx = kv_cache_tokens
        params.n_parallel = slots
        params.kv_unified = True  # one KV pool: a long prompt may use what idle slots do not
        params.cache_prompt = True
        params.cache_ram_mib = prompt_cache_mib
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = batch_threads or threads
        # No repacked copy of the weights for the CPU's matmul layout: it saved little prompt time on 2 cores and
        # cost ~600 MB of memory beside the mapped file (RSS 2.07 → 1.48 GB for the 1.5B model).
        params.no_extra_bufts = True
        params.n_batch = 512
        # Sizes are given here; llama.cpp's fitting of them to free memory probes the model first (~1 s of start).
        params.fit_params = False
        if kv_cache_type == "q8_0":  # a quantised V cache needs flash attention
            params.cache_type_k = params.cache_type_v = xlc.ggml_type.GGML_TYPE_Q8_0
            params.flash_attn_type = xlc.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_ENABLED
        params.warmup = True
        params.verbosity = -1 if not logger.isEnabledFor(logging.DEBUG) else 3
        params.endpoint_props = True
        self.server = xlc.Server(params)
        self._http = httpx.Client(base_url=self.server.listening_address, timeout=30.0)
        meta = server_meta(self._http)
        window = min(int(meta.get("n_ctx_train") or kv_cache_tokens), kv_cache_tokens)
        if max_context:
            window = min(window, max_context)
        self.loaded = LlamaModel(
            ref=ref,
            path=path,
            context_window=window,
            parameters=int(meta.get("n_params") or 0),
            file_bytes=path.stat().st_size,
            load_seconds=time.perf_counter() - started,
            origin=origin,
            threads=threads,
            slots=slots,
        )
        self.greedy_only = False
        self.admission = Admission(max_queue)
        # handle_completions blocks its thread until the reply is done; every admitted request may hold one while
        # llama.cpp queues it for a free slot, so the pool is as large as the queue.
        self._executor = ThreadPoolExecutor(max(2, min(max_queue, 64)), "llama-request")
        self._running = True

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """The model is loaded and serving from construction; kept for the engines' common face."""

    def stop(self) -> None:
        self._running = False
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def is_running(self) -> bool:
        return self._running

    # ------------------------------------------------------------------ prompts

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        """Prompt ids with the model's own chat template (from the GGUF), as llama.cpp itself would build them."""
        prompt = self._post("/apply-template", {"messages": messages})["prompt"]
        return self.encode_text(prompt, special=True)

    def encode_text(self, text: str, *, special: bool = False) -> list[int]:
        body = {"content": text, "add_special": special, "parse_special": special}
        return [int(t) for t in self._post("/tokenize", body)["tokens"]]

    def decode(self, tokens: list[int]) -> str:
        return str(self._post("/detokenize", {"tokens": tokens})["content"])

    def check_length(self, prompt_tokens: int, max_tokens: int) -> None:
        if prompt_tokens + max_tokens > self.loaded.context_window:
            raise PromptTooLong(prompt_tokens, max_tokens, self.loaded.context_window)

    @property
    def admitted(self) -> int:
        return self.admission.admitted

    def slot(self) -> Any:
        return self.admission.slot()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._http.post(path, json=body)
        if response.status_code != 200:
            raise EngineFailed(f"llama.cpp answered {response.status_code} to {path}")
        return dict(response.json())

    # ------------------------------------------------------------------ generation

    def _body(self, prompt_ids: list[int], sampling: Sampling, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": prompt_ids,
            "max_tokens": sampling.max_tokens,
            "temperature": float(sampling.temperature),
            "top_p": float(sampling.top_p),
            "stream": stream,
            "cache_prompt": True,
        }
        if sampling.temperature <= 0:
            body["top_k"] = 1  # the argmax, whatever the server's default samplers are
        if sampling.seed is not None:
            body["seed"] = int(sampling.seed)
        if stops := stop_strings(sampling.stop):
            body["stop"] = stops  # llama.cpp stops there too, instead of decoding past it
        return body

    async def generate(self, prompt_ids: list[int], sampling: Sampling) -> AsyncIterator[Chunk]:
        """Stream a reply. Closing the iterator early (the client went away) stops llama.cpp at its next token."""
        if not self.is_running():
            raise EngineFailed("the engine is stopped")
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancelled = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            loop.call_soon_threadsafe(pieces.put_nowait, ("chunk", chunk))
            return cancelled.is_set()  # True stops the generation

        def run() -> None:
            try:
                result = self.server.handle_completions(self._body(prompt_ids, sampling, stream=True), on_chunk)
                loop.call_soon_threadsafe(pieces.put_nowait, ("done", result))
            except Exception as exc:  # the binding raises plain exceptions for failed requests
                loop.call_soon_threadsafe(pieces.put_nowait, ("error", exc))

        future = loop.run_in_executor(self._executor, run)
        text = TextStream(lambda _ids: "", stop_strings(sampling.stop))
        generated = ""
        produced = 0
        try:
            while True:
                kind, item = await pieces.get()
                if kind == "error":
                    raise EngineFailed(f"llama.cpp failed: {item}")
                if kind == "done":
                    if isinstance(item, dict) and "error" in item:
                        raise EngineFailed(str(item["error"].get("message", item["error"])))
                    break
                if isinstance(item, dict) and "error" in item:
                    raise EngineFailed(str(item["error"].get("message", item["error"])))
                choice = (item.get("choices") or [{}])[0]
                piece = choice.get("text") or ""
                finish = choice.get("finish_reason")
                if piece:
                    produced += 1  # a piece may hold several tokens (text held back near a stop string)
                    generated += piece
                if isinstance(item.get("usage"), dict):  # the last chunk carries llama.cpp's own count
                    produced = int(item["usage"].get("completion_tokens") or produced)
                if not finish and _loops(generated):
                    logger.info("llama.cpp request stopped: its reply repeats itself")
                    finish = "stop"
                delta = text.feed(piece, final=finish is not None)
                if text.stopped:
                    finish = "stop"
                if delta or finish:
                    yield Chunk(delta, [], [], "length" if finish == "length" else finish, completion_tokens=produced)
                if finish:
                    return
            tail = text.feed("", final=True)
            yield Chunk(tail, [], [], "stop", completion_tokens=produced)
        finally:
            cancelled.set()
            if not future.done():
                future.add_done_callback(lambda f: f.exception())  # ends at the next token; nobody reads it

    # ------------------------------------------------------------------ scoring

    def score(self, prompts: list[list[int]], *, top_k: int, temperature: float, seed: int | None) -> list[Scored]:
        """Next-token log-probabilities after each prompt (the label-scoring path), one short request each.

        llama.cpp reports the top alternatives with `n_probs`; the label scorer needs only those. Called from the
        worker's executor thread, so the blocking calls do not hold up the event loop.
        """
        results = []
        for prompt in prompts:
            body = self._body(prompt, Sampling(max_tokens=1, temperature=temperature, seed=seed), stream=False)
            body["n_probs"] = max(top_k, 1)
            body["logprobs"] = max(top_k, 1)
            reply = self.server.handle_completions(body)
            if "error" in reply:
                raise EngineFailed(str(reply["error"].get("message", reply["error"])))
            content = ((reply["choices"][0].get("logprobs") or {}).get("content") or [{}])[0]
            top = [(str(t["token"]), float(t["logprob"])) for t in content.get("top_logprobs") or []]
            token = str(content.get("token", reply["choices"][0].get("text", "")))
            results.append(Scored(token, float(content.get("logprob", 0.0)), top[:top_k]))
        return results


def _loops(text: str) -> bool:
    """Whether the text ends in one unit repeated back to back (a small model's loop): the token guard applied to
    characters, since this engine streams text. A unit without letters or digits ("-----", "|---|") is markup."""
    period = looping_period(text, max_period=40, min_repeats=4, min_span=LOOP_CHARS)
    return bool(period) and any(c.isalnum() for c in text[-period:])


def stop_strings(stops: Sequence[str]) -> list[str]:
    return [s for s in stops if s]
