"""The worker's models by role: loading them once at start, and finding the right one for a request."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.worker.batcher import MicroBatcher
from bot.worker.engine_api import Embedded, Scored
from bot.worker.models import (
    ModelNotAvailable,
    ModelSource,
    choose_device_and_dtype,
    configure_threads,
    gpu_present,
    load_causal_lm,
    load_embedder,
    resolve,
)
from bot.worker.settings import WorkerSettings

if TYPE_CHECKING:
    import torch

    from bot.worker.embeddings import Embedder
    from bot.worker.engine import ChatEngine
    from bot.worker.llama_embedder import LlamaEmbedder
    from bot.worker.llama_engine import LlamaEngine

    Engine = ChatEngine | LlamaEngine
    Embedding = Embedder | LlamaEmbedder

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
    embedder: Embedding | None = None
    executor: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "worker-forward"))
    scorers: dict[str, MicroBatcher[ScoreItem, Scored]] = field(default_factory=dict)
    embed_batcher: MicroBatcher[str, Embedded] | None = None

    @classmethod
    def load(cls, settings: WorkerSettings) -> Worker:
        """Load every configured role (sharing one model between roles that name the same one) and log each.

        A CPU worker whose models are all GGUF (the default) runs on llama.cpp alone and never imports torch or
        transformers: seconds of start-up and hundreds of MiB saved. torch is imported only when a transformers
        model is configured or an NVIDIA driver is present.
        """
        placement = Placement(settings)
        worker = cls(settings)
        # A torch embedder (seconds of imports and loading) loads in a thread while llama.cpp loads the generative
        # models here outside the GIL, so a warm start takes the longer of the two, not their sum. Never beside a
        # transformers load: from_pretrained sets process-wide torch state as it goes.
        embed_loading: Future[Embedding] | None = None
        if "embed" in settings.roles:
            loader = ThreadPoolExecutor(1, "worker-load-embed")
            embed_loading = loader.submit(_load_embedding, settings, placement)
            loader.shutdown(wait=False)
        sources = {
            ref: resolve(
                ref, setting=f"MODEL_{_first_role_of(settings, ref).upper()}", cache_dir=settings.model_cache_dir
            )
            for ref in {settings.model_ref(role) for role in settings.roles if role != "embed"}
        }
        if embed_loading is not None and any(
            _engine_kind(settings, source, placement.device_type()) != "llama.cpp" for source in sources.values()
        ):
            wait([embed_loading])
        by_ref: dict[str, Engine] = {}
        for role in settings.roles:
            if role == "embed":
                continue
            ref = settings.model_ref(role)
            setting = f"MODEL_{role.upper()}"
            if ref not in by_ref:
                engine = _load_engine(settings, ref, sources[ref], setting=setting, placement=placement)
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
            worker.embedder = embed_loading.result()  # an error loading it (a missing package) stops the start
            worker.embed_batcher = MicroBatcher(
                worker.embedder.embed_batch, max_batch=settings.worker_max_batch, executor=worker.executor
            )
            logger.info("role embed: %s", worker.embedder.loaded.describe())
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
        if self.embedder is not None:
            self.embedder.close()
        self.executor.shutdown(wait=False, cancel_futures=True)


def _first_role_of(settings: WorkerSettings, ref: str) -> str:
    return next(role for role in settings.roles if settings.model_ref(role) == ref)


class Placement:
    """Where transformers models would run, decided only when one is needed: importing torch to ask costs
    seconds, and a CPU worker serving GGUF files through llama.cpp has no use for it."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._chosen: tuple[torch.device, torch.dtype] | None = None
        self._choosing = threading.Lock()  # the embedder's loading thread may ask at the same time as Worker.load

    def device_type(self) -> str:
        """The device type, "cuda" or "cpu"; torch is imported to tell only where an NVIDIA driver is loaded."""
        if self.settings.worker_engine == "llama.cpp" or not gpu_present():
            return "cpu"
        return self.torch()[0].type

    def torch(self) -> tuple[torch.device, torch.dtype]:
        """The device and dtype for transformers, with torch's CPU threads set (once, logged)."""
        with self._choosing:
            if self._chosen is None:
                device, dtype = choose_device_and_dtype(self.settings.worker_dtype)
                threads = configure_threads(self.settings.worker_threads) if device.type == "cpu" else 0
                cores = f", {threads} CPU threads" if threads else ""
                logger.info("transformers on %s, dtype %s%s", device, dtype, cores)
                self._chosen = device, dtype
            return self._chosen


def _engine_kind(settings: WorkerSettings, source: ModelSource, device_type: str) -> str:
    """llama.cpp for a GGUF on CPU (several times faster there, reading the quantised weights as they are),
    transformers with continuous batching on CUDA or for other formats. WORKER_ENGINE overrides the choice."""
    if settings.worker_engine != "auto":
        return settings.worker_engine
    return "llama.cpp" if device_type == "cpu" and source.gguf_file else "transformers"


def _load_embedding(settings: WorkerSettings, placement: Placement) -> Embedding:
    """The `embed` role: llama.cpp on CPU for the bundled MiniLM (written once as GGUF) or any GGUF encoder,
    transformers on CUDA, for other formats, or with WORKER_ENGINE=transformers."""
    ref = settings.model_ref("embed")
    source = resolve(ref, setting="MODEL_EMBED", cache_dir=settings.model_cache_dir)
    if settings.worker_engine == "transformers":
        on_llama = False
    elif source.gguf_file:
        on_llama = True
    else:  # the bundled MiniLM is written as GGUF once; other directories need transformers
        on_llama = ref == "minilm" and placement.device_type() == "cpu"  # "cpu" too under WORKER_ENGINE=llama.cpp
    if on_llama:
        from bot.worker.llama_embedder import LlamaEmbedder

        if source.gguf_file:
            path, origin = source.directory / source.gguf_file, "gguf (llama.cpp)"
        else:
            from bot.worker.embed_gguf import ConversionProblem, ensure_minilm_gguf

            try:
                path = ensure_minilm_gguf(source.directory, settings.model_cache_dir)
            except ConversionProblem as exc:
                raise ModelNotAvailable(f"MODEL_EMBED={ref!r}: {exc}") from exc
            origin = "the bundled safetensors, as GGUF (llama.cpp)"
        return LlamaEmbedder(path, ref=ref, origin=origin, threads=settings.cpu_threads())
    from bot.worker.embeddings import Embedder

    device, _ = placement.torch()
    return Embedder(
        load_embedder(ref, setting="MODEL_EMBED", cache_dir=settings.model_cache_dir, device=device, source=source)
    )


def _load_engine(
    settings: WorkerSettings,
    ref: str,
    source: ModelSource,
    *,
    setting: str,
    placement: Placement,
) -> Engine:
    """The engine for one generative model, of the kind `_engine_kind` chooses."""
    kind = _engine_kind(settings, source, placement.device_type())
    if kind == "llama.cpp":
        if not source.gguf_file:
            raise ModelNotAvailable(f"{setting}={ref!r}: WORKER_ENGINE=llama.cpp needs a GGUF file")
        from bot.worker.llama_engine import LlamaEngine

        return LlamaEngine(
            source.directory / source.gguf_file,
            ref=ref,
            origin="gguf (llama.cpp)",
            threads=settings.llama_decode_threads(),
            batch_threads=settings.cpu_threads(),
            max_queue=settings.worker_max_queue,
            kv_cache_tokens=settings.worker_kv_cache_tokens,
            kv_cache_type=settings.worker_kv_cache_type,
            slots=settings.worker_llama_slots,
            max_context=settings.worker_max_context,
            prompt_cache_mib=settings.worker_prompt_cache_mib,
        )
    from bot.worker.engine import ChatEngine

    device, dtype = placement.torch()
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
