"""Settings of the model worker, read once from the environment (or `.env`) and passed in.

The worker has its own class so the Slack process does not need torch-related settings, and the worker does not
need Slack secrets.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROLES = ("chat", "translate", "embed")


class WorkerSettings(BaseSettings):
    """Everything `python -m bot.worker` can be told. Each field maps to the env var of the same name, upper-cased."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    worker_host: str = "127.0.0.1"
    worker_port: int = Field(default=8081, ge=1, le=65535)
    worker_roles: str = "chat,translate,embed"
    """Comma-separated roles this worker serves; a role not listed answers 404 with the setting to change."""

    model_chat: str = "qwen2.5-coder-1.5b"
    """Bundled alias (`qwen2.5-coder-1.5b`, `qwen2.5-coder-0.5b`, `smollm2`, `gemma3-270m`), a local directory or
    GGUF file, or a hub id already in the cache."""
    model_translate: str = "qwen2.5-coder-1.5b"
    """The same model as chat by default: one instruct model translates better than Gemma 270M base few-shot
    (FLORES chrF, README) and sharing it saves its memory and load time."""
    model_embed: str = "minilm"
    model_cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "parlance" / "models")
    """GGUF models are de-quantised once and kept here as safetensors, so later starts skip the conversion."""

    worker_engine: str = "auto"
    """auto (CUDA: transformers; CPU: llama.cpp for GGUF models, transformers otherwise), transformers or llama.cpp."""
    worker_llama_slots: int = Field(default=4, ge=1, le=64)
    """llama.cpp: requests decoded together (parallel slots); each keeps its prompt cached for the next request."""
    worker_llama_threads: int = Field(default=0, ge=0)
    """llama.cpp decode threads; 0: all cores on a machine with more than 4, else one fewer than the cores. llama.cpp
    threads spin while they wait, so decoding on every core collapses (25 → 2 tok/s on 2 cores) as soon as the
    Slack process or the embedder needs one; prompts are still processed on all cores (WORKER_THREADS)."""
    worker_prompt_cache_mib: int = Field(default=128, ge=0)
    """llama.cpp: host memory for prompts parked when their slot is reused (llama.cpp's default, 8 GiB, grew the
    worker past 3 GB); the slots' own KV caches come on top. 128 MiB of q8_0 cache holds as many prompts as the
    256 MiB of f16 did before (about eight 1,000-token channel contexts)."""
    worker_dtype: str = "auto"
    """auto (CUDA: bf16; CPU: bf16 where the processor has native bf16, else fp32), float32 or bfloat16."""
    worker_threads: int = Field(default=0, ge=0)
    """torch CPU threads; 0 uses the cores this process may run on."""
    worker_max_batch: int = Field(default=32, ge=1)
    """Most sequences decoded in one forward pass (and most prompts scored at once)."""
    worker_max_queue: int = Field(default=256, ge=1)
    """Most requests admitted (running plus waiting) per model; beyond it the worker answers 429."""
    worker_kv_cache_tokens: int = Field(default=12288, ge=256)
    """Size of the paged KV cache in tokens, shared by all running requests of one model (and the longest prompt
    plus reply one request may have). 12,288 holds four 2,000-token channel questions at once with room to spare;
    llama.cpp clears its whole pool at start, so each 4,096 tokens more is ~60 MiB more resident memory with the
    1.5B model (`bench/worker.py`: 1,526 MiB peak at 12,288, 1,584 MiB at 16,384, against a 1.5 GB target)."""
    worker_kv_cache_type: str = "q8_0"
    """llama.cpp: how the KV cache stores keys and values, `q8_0` (half the memory of `f16`, with flash
    attention; what the default 16k-token cache costs drops by ~200 MiB) or `f16`."""
    worker_max_context: int = Field(default=0, ge=0)
    """Cap on prompt plus reply tokens; 0 uses the model's own context window."""
    worker_greedy_roles: str = "translate"
    """Comma-separated roles whose model decodes greedy-only: no per-request temperature/top-p processors and no
    per-token log-probabilities in the decode loop. With a 262k-token vocabulary (Gemma) those processors sort and
    softmax the whole vocabulary for every sequence at every step, which about doubled a batch's time on CPU. A
    request with temperature > 0 to such a role is still served, sampled, by a one-off `model.generate` that
    pauses the loop. Applies to a model only when every role sharing it is listed; empty turns it off."""
    worker_log_level: str = "INFO"

    @field_validator("worker_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        roles = [r.strip() for r in value.split(",") if r.strip()]
        unknown = sorted(set(roles) - set(ROLES))
        if unknown or not roles:
            raise ValueError(f"WORKER_ROLES must list some of {', '.join(ROLES)}; got {value!r}")
        return ",".join(roles)

    @field_validator("worker_greedy_roles")
    @classmethod
    def _known_greedy_roles(cls, value: str) -> str:
        roles = [r.strip() for r in value.split(",") if r.strip()]
        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"WORKER_GREEDY_ROLES must list some of {', '.join(ROLES)} (or nothing); got {value!r}")
        return ",".join(roles)

    @field_validator("worker_engine")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("auto", "transformers", "llama.cpp"):
            raise ValueError("WORKER_ENGINE must be auto, transformers or llama.cpp")
        return value

    @field_validator("worker_kv_cache_type")
    @classmethod
    def _known_kv_cache_type(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("q8_0", "f16"):
            raise ValueError("WORKER_KV_CACHE_TYPE must be q8_0 or f16")
        return value

    @field_validator("worker_dtype")
    @classmethod
    def _known_dtype(cls, value: str) -> str:
        if value not in ("auto", "float32", "bfloat16"):
            raise ValueError("WORKER_DTYPE must be auto, float32 or bfloat16")
        return value

    def cpu_threads(self) -> int:
        """WORKER_THREADS, or the cores this process may run on (a container often grants fewer than it has)."""
        return self.worker_threads or len(os.sched_getaffinity(0))

    def llama_decode_threads(self) -> int:
        if self.worker_llama_threads:
            return self.worker_llama_threads
        cores = self.cpu_threads()
        return cores if cores > 4 else max(1, cores - 1)

    @property
    def roles(self) -> list[str]:
        return self.worker_roles.split(",")

    @property
    def greedy_roles(self) -> list[str]:
        return [r for r in self.worker_greedy_roles.split(",") if r]

    def model_ref(self, role: str) -> str:
        """The configured model reference for a role (the value of MODEL_<ROLE>)."""
        return {"chat": self.model_chat, "translate": self.model_translate, "embed": self.model_embed}[role]


@lru_cache
def get_worker_settings() -> WorkerSettings:
    """Read the settings once; tests call `get_worker_settings.cache_clear()` after changing the environment."""
    return WorkerSettings()
