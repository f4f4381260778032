"""Sentence embeddings on CPU through llama.cpp: the `embed` role without torch.

The bundled MiniLM is written once as a GGUF (bot/worker/embed_gguf.py) and served by llama.cpp's embedded
server with mean pooling; its vectors come out unit length, as sentence-transformers gives them. Each text is
tokenized first so that one longer than the model's 512-token window is cut there (keeping its closing [SEP], as
transformers' truncation does) instead of refused, and so the API can report exact token counts.

Parallel sequences, not one unified KV pool: an encoder's texts never share a prefix, and llama.cpp embeds a
batch of separate sequences several times faster that way (bench/sentiment.py).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx

from bot.worker.engine_api import Embedded, EngineFailed
from bot.worker.llama_engine import LlamaModel, server_meta

logger = logging.getLogger(__name__)

SEQUENCES = 8  # texts llama.cpp encodes side by side in one batch


class LlamaEmbedder:
    """Embeds batches of texts with a GGUF encoder. `embed_batch` blocks; the worker calls it in its executor."""

    def __init__(self, path: Path, *, ref: str, origin: str, threads: int, window: int = 512) -> None:
        import xllamacpp as xlc

        started = time.perf_counter()
        params = xlc.CommonParams()
        params.model.path = str(path)
        params.embedding = True
        params.pooling_type = xlc.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
        params.n_parallel = SEQUENCES
        params.kv_unified = False
        params.n_ctx = window * SEQUENCES
        params.n_batch = params.n_ubatch = window * SEQUENCES  # an encoder takes each sequence in one ubatch
        params.flash_attn_type = xlc.llama_flash_attn_type.LLAMA_FLASH_ATTN_TYPE_ENABLED
        params.fit_params = False  # sizes are given; fitting them to free memory costs a second of start-up
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
        params.warmup = False
        params.verbosity = -1 if not logger.isEnabledFor(logging.DEBUG) else 3
        self.server = xlc.Server(params)
        self._http = httpx.Client(base_url=self.server.listening_address, timeout=30.0)
        meta = server_meta(self._http)
        self.window = min(int(meta.get("n_ctx_train") or window), window)
        self.loaded = LlamaModel(
            ref=ref,
            path=path,
            context_window=self.window,
            parameters=int(meta.get("n_params") or 0),
            file_bytes=path.stat().st_size,
            load_seconds=time.perf_counter() - started,
            origin=origin,
            threads=threads,
            slots=SEQUENCES,
        )

    def tokens(self, text: str) -> list[int]:
        """The text's ids with [CLS] … [SEP], cut at the window."""
        response = self._http.post("/tokenize", json={"content": text, "add_special": True})
        if response.status_code != 200:
            raise EngineFailed(f"llama.cpp answered {response.status_code} to /tokenize")
        ids = [int(t) for t in response.json()["tokens"]]
        return ids if len(ids) <= self.window else ids[: self.window - 1] + ids[-1:]

    def embed_batch(self, texts: list[str]) -> list[Embedded]:
        prompts = [self.tokens(text) for text in texts]
        result: dict[str, Any] = self.server.handle_embeddings({"input": prompts, "model": self.loaded.ref})
        if "error" in result:
            raise EngineFailed(f"llama.cpp could not embed: {result['error'].get('message', 'unknown error')}")
        vectors = sorted(result["data"], key=lambda item: int(item["index"]))
        return [Embedded(list(item["embedding"]), len(ids)) for item, ids in zip(vectors, prompts, strict=True)]

    def close(self) -> None:
        self._http.close()
