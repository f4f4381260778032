"""The worker's models by role: loading them once at start, and finding the right one for a request."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from bot.worker.batcher import MicroBatcher
from bot.worker.embeddings import Embedder
from bot.worker.engine import ChatEngine, Scored
from bot.worker.models import (
    LoadedModel,
    ModelNotAvailable,
    ModelSource,
    choose_device_and_dtype,
    configure_threads,
    load_causal_lm,
    load_embedder,
    resolve,
)
from bot.worker.settings import WorkerSettings

if TYPE_CHECKING:
    from bot.worker.llama_engine import LlamaEngine

    Engine = ChatEngine | LlamaEngine

logger = logging.getLogger(__name__)


@dataclass
class ScoreItem:
    prompt_ids: list[int]
    top_k: int
    temperature: float
    seed: int | None


@dataclass
class Worker:
    """Everything the HTTP layer serves: one engine per distinct generative model, the embedder, their batchers."""

    settings: WorkerSettings
    engines: dict[str, Engine] = field(default_factory=dict)  # by role; roles may share one engine
    embedder: Embedder | None = None
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "worker-forward"))
    scorers: dict[str, MicroBatcher[ScoreItem, Scored]] = field(default_factory=dict)
    embed_batcher: MicroBatcher[str, list[float]] | None = None

    @classmethod
    def load(cls, settings: WorkerSettings) -> Worker:
        """Load every configured role (sharing one model between roles that name the same one) and log each."""
        device, dtype = choose_device_and_dtype(settings.worker_dtype)
        threads = configure_threads(settings.worker_threads) if device.type == "cpu" else 0
        logger.info("device %s, dtype %s%s", device, dtype, f", {threads} CPU threads" if threads else "")
        worker = cls(settings)
        # The embedder (torch and transformers: seconds of imports and loading) loads in a thread while llama.cpp
        # loads the generative models here outside the GIL, so a warm start takes the longer of the two, not their
        # sum. Never beside a transformers load: from_pretrained sets process-wide torch state as it goes.
        embed_loading: Future[LoadedModel] | None = None
        if "embed" in settings.roles:
            loader = ThreadPoolExecutor(1, "worker-load-embed")
            embed_loading = loader.submit(
                load_embedder,
                settings.model_ref("embed"),
                setting="MODEL_EMBED",
                cache_dir=settings.model_cache_dir,
                device=device,
            )
            loader.shutdown(wait=False)
        sources = {
            ref: resolve(
                ref, setting=f"MODEL_{_first_role_of(settings, ref).upper()}", cache_dir=settings.model_cache_dir
            )
            for ref in {settings.model_ref(role) for role in settings.roles if role != "embed"}
        }
        if embed_loading is not None and any(
            _engine_kind(settings, source, device) != "llama.cpp" for source in sources.values()
        ):
            wait([embed_loading])
        by_ref: dict[str, Engine] = {}
        for role in settings.roles:
            if role == "embed":
                continue
            ref = settings.model_ref(role)
            setting = f"MODEL_{role.upper()}"
            if ref not in by_ref:
                engine = _load_engine(settings, ref, sources[ref], setting=setting, device=device, dtype=dtype)
                engine.start()
                by_ref[ref] = engine
                worker.scorers[ref] = MicroBatcher(
                    _score_items(engine), max_batch=settings.worker_max_batch, executor=worker.executor
                )
                mode = ", greedy-only decode loop" if engine.greedy_only else ""
                logger.info("role %s: %s%s", role, engine.loaded.describe(), mode)
            else:
                logger.info("role %s: shares the model of MODEL_%s", role, _first_role_of(settings, ref).upper())
            worker.engines[role] = by_ref[ref]
        if embed_loading is not None:
            loaded = embed_loading.result()  # an error loading it (a missing package) stops the start like any other
            worker.embedder = Embedder(loaded)
            worker.embed_batcher = MicroBatcher(
                worker.embedder.embed_batch, max_batch=settings.worker_max_batch, executor=worker.executor
            )
            logger.info("role embed: %s", loaded.describe())
        return worker

    def role_for(self, model: str) -> str | None:
        """Requests name a role ("chat") or the configured model reference ("smollm2", a path, a hub id)."""
        if model in self.settings.roles:
            return model
        for role in self.settings.roles:
            if self.settings.model_ref(role) == model:
                return role
        return None

    def scorer(self, role: str) -> MicroBatcher[ScoreItem, Scored]:
        return self.scorers[self.settings.model_ref(role)]

    def healthy(self) -> bool:
        return all(engine.is_running() for engine in self.engines.values())

    def close(self) -> None:
        for engine in {id(e): e for e in self.engines.values()}.values():
            engine.stop()
        self.executor.shutdown(wait=False, cancel_futures=True)


def _first_role_of(settings: WorkerSettings, ref: str) -> str:
    return next(role for role in settings.roles if settings.model_ref(role) == ref)


def _engine_kind(settings: WorkerSettings, source: ModelSource, device: torch.device) -> str:
    """llama.cpp for a GGUF on CPU (several times faster there, reading the quantised weights as they are),
    transformers with continuous batching on CUDA or for other formats. WORKER_ENGINE overrides the choice."""
    if settings.worker_engine != "auto":
        return settings.worker_engine
    return "llama.cpp" if device.type == "cpu" and source.gguf_file else "transformers"


def _load_engine(
    settings: WorkerSettings,
    ref: str,
    source: ModelSource,
    *,
    setting: str,
    device: torch.device,
    dtype: torch.dtype,
) -> Engine:
    """The engine for one generative model, of the kind `_engine_kind` chooses."""
    kind = _engine_kind(settings, source, device)
    if kind == "llama.cpp":
        if not source.gguf_file:
            raise ModelNotAvailable(f"{setting}={ref!r}: WORKER_ENGINE=llama.cpp needs a GGUF file")
        from bot.worker.llama_engine import LlamaEngine

        return LlamaEngine(
            source.directory / source.gguf_file,
            ref=ref,
            origin="gguf (llama.cpp)",
            threads=settings.llama_decode_threads(),
            batch_threads=settings.worker_threads or len(os.sched_getaffinity(0)),
            max_queue=settings.worker_max_queue,
            kv_cache_tokens=settings.worker_kv_cache_tokens,
            slots=settings.worker_llama_slots,
            max_context=settings.worker_max_context,
            prompt_cache_mib=settings.worker_prompt_cache_mib,
        )
    loaded = load_causal_lm(
        ref,
        setting=setting,
        cache_dir=settings.model_cache_dir,
        device=device,
        dtype=dtype,
        max_context=settings.worker_max_context,
        source=source,
    )
    sharing = [r for r in settings.roles if r != "embed" and settings.model_ref(r) == ref]
    return ChatEngine(
        loaded,
        max_batch=settings.worker_max_batch,
        max_queue=settings.worker_max_queue,
        kv_cache_tokens=settings.worker_kv_cache_tokens,
        greedy_only=all(r in settings.greedy_roles for r in sharing),
    )


def _score_items(engine: Engine) -> Callable[[list[ScoreItem]], list[Scored]]:
    """Score a batch in one pass. Items with other top_k/temperature share the pass; each gets its own share."""

    def run(items: list[ScoreItem]) -> list[Scored]:
        top_k = max(item.top_k for item in items)
        greedy = [i for i, item in enumerate(items) if item.temperature <= 0]
        results: dict[int, Scored] = {}
        if greedy:
            for i, scored in zip(
                greedy,
                engine.score([items[i].prompt_ids for i in greedy], top_k=top_k, temperature=0, seed=None),
                strict=True,
            ):
                results[i] = scored
        for i, item in enumerate(items):  # sampled one-token replies are rare; one pass each keeps seeds exact
            if i not in results:
                one = engine.score([item.prompt_ids], top_k=top_k, temperature=item.temperature, seed=item.seed)
                results[i] = one[0]
        return [
            Scored(results[i].token, results[i].logprob, results[i].top[: item.top_k]) for i, item in enumerate(items)
        ]

    return run
