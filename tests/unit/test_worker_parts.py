"""The worker's pure parts, without a model: loop guard, stop strings, text streaming, admission, settings,
model resolution and the device choice."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.worker.engine_api import Admission, EngineBusy
from bot.worker.guards import TextStream, held_back, looping_period
from bot.worker.models import ModelNotAvailable, ModelSource, choose_device_and_dtype, convert_gguf, resolve
from bot.worker.server import _unless_client_leaves
from bot.worker.settings import WorkerSettings


def test_loop_guard_stops_repeating_tails_only() -> None:
    assert looping_period([5, 6, 7] * 5) == 3
    assert looping_period([1] * 12) == 1
    assert looping_period([1] * 11) == 0  # too short to call it a loop
    assert looping_period(list(range(40))) == 0
    assert looping_period([9, 8] + [3, 4] * 6) == 2


def test_stop_strings_cut_the_text_and_hold_back_partial_matches() -> None:
    pieces = ["Hello", " wor", "ld\n", "User:", " more"]
    stream = TextStream(lambda ids: "".join(pieces[: len(ids)]), stops=["\nUser:"])
    sent = [stream.update(list(range(n))) for n in range(1, len(pieces) + 1)]
    assert "".join(sent) == "Hello world"
    assert sent[2] == "ld"  # "\n" is held back: it may start the stop string
    assert stream.stopped
    assert held_back("abc\nUs", ["\nUser:"]) == 3


def test_text_stream_never_splits_a_character() -> None:
    chunks = ["caf", "caf\ufffd", "café"]
    stream = TextStream(lambda ids: chunks[len(ids) - 1])
    assert [stream.update([0] * n) for n in (1, 2, 3)] == ["caf", "", "é"]


def test_admission_refuses_beyond_the_limit_and_never_leaks() -> None:
    admission = Admission(2)
    with admission.slot(), admission.slot(), pytest.raises(EngineBusy, match="queue is full"):
        admission.check()
    with pytest.raises(RuntimeError), admission.slot():
        raise RuntimeError("the request failed")
    assert admission.admitted == 0


def test_settings_reject_unknown_roles_and_dtypes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKER_ROLES", "chat,sentiment")
    with pytest.raises(ValueError, match="WORKER_ROLES"):
        WorkerSettings()
    monkeypatch.setenv("WORKER_ROLES", "chat")
    monkeypatch.setenv("WORKER_DTYPE", "float16")
    with pytest.raises(ValueError, match="WORKER_DTYPE"):
        WorkerSettings()


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "WORKER_PORT",
        "WORKER_HOST",
        "WORKER_ROLES",
        "MODEL_CHAT",
        "MODEL_TRANSLATE",
        "WORKER_DTYPE",
        "WORKER_ENGINE",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = WorkerSettings(_env_file=None)
    assert (settings.worker_host, settings.worker_port) == ("127.0.0.1", 8081)
    assert settings.roles == ["chat", "translate", "embed"]
    assert settings.model_ref("chat") == settings.model_ref("translate") == "qwen2.5-coder-1.5b"  # one shared model
    assert settings.worker_engine == "auto"
    assert settings.greedy_roles == ["translate"]
    monkeypatch.setenv("WORKER_GREEDY_ROLES", "")
    assert WorkerSettings(_env_file=None).greedy_roles == []
    monkeypatch.setenv("WORKER_GREEDY_ROLES", "translate,sentiment")
    with pytest.raises(ValueError, match="WORKER_GREEDY_ROLES"):
        WorkerSettings(_env_file=None)


def test_a_hub_id_not_in_the_cache_fails_fast_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotAvailable, match=r"MODEL_CHAT='someone/some-model' is not in the local .*hf download"):
        resolve("someone/some-model", setting="MODEL_CHAT", cache_dir=tmp_path)
    with pytest.raises(ModelNotAvailable, match="no such file"):
        resolve("./missing.gguf", setting="MODEL_TRANSLATE", cache_dir=tmp_path)


def test_bundled_models_resolve_without_importing_their_packages(tmp_path: Path) -> None:
    source = resolve("smollm2", setting="MODEL_CHAT", cache_dir=tmp_path)
    assert (source.directory / str(source.gguf_file)).is_file()


def test_the_engine_is_chosen_without_torch_unless_a_gpu_driver_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    """No NVIDIA driver: CPU and llama.cpp, decided without asking torch. A driver: torch says CUDA, and GGUF
    models then go to transformers; WORKER_ENGINE=llama.cpp keeps them on CPU without asking."""
    import torch

    import bot.worker.runtime as runtime

    def torch_asked(requested: str) -> tuple[torch.device, torch.dtype]:
        raise AssertionError("torch was asked for a device")

    gguf = ModelSource("x", Path("."), "x.gguf")
    settings = WorkerSettings(_env_file=None)
    monkeypatch.setattr(runtime, "choose_device_and_dtype", torch_asked)
    monkeypatch.setattr(runtime, "gpu_present", lambda: False)
    assert runtime.Placement(settings).device_type() == "cpu"
    assert runtime._engine_kind(settings, gguf, "cpu") == "llama.cpp"
    monkeypatch.setattr(runtime, "gpu_present", lambda: True)
    forced = WorkerSettings(_env_file=None, worker_engine="llama.cpp")
    assert runtime.Placement(forced).device_type() == "cpu"
    monkeypatch.setattr(runtime, "choose_device_and_dtype", lambda requested: (torch.device("cuda"), torch.bfloat16))
    assert runtime.Placement(settings).device_type() == "cuda"
    assert runtime._engine_kind(settings, gguf, "cuda") == "transformers"
    with pytest.raises(ValueError, match="WORKER_KV_CACHE_TYPE must be q8_0 or f16"):
        WorkerSettings(_env_file=None, worker_kv_cache_type="q4")


def test_cpu_uses_bf16_only_with_native_support(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    import bot.worker.models as models

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: False)
    assert str(choose_device_and_dtype("auto")[1]) == "torch.float32"
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: True)
    assert str(choose_device_and_dtype("auto")[1]) == "torch.bfloat16"
    assert str(choose_device_and_dtype("float32")[1]) == "torch.float32"


class _FakeSaved:
    """Stands in for a converted model or tokenizer: `save_pretrained` writes one file, after both writers met."""

    def __init__(self, name: str, barrier: threading.Barrier | None) -> None:
        self.name, self.barrier = name, barrier
        self.config = type("Config", (), {})()

    def save_pretrained(self, directory: Path) -> None:
        (Path(directory) / self.name).write_text(str(threading.get_ident()))
        if self.barrier is not None:
            self.barrier.wait(timeout=10)  # both conversions have written before either renames


def test_two_conversions_of_one_gguf_at_once_both_succeed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    barrier = threading.Barrier(2)
    model_loader = type("M", (), {"from_pretrained": staticmethod(lambda *a, **k: _FakeSaved("model.bin", barrier))})
    tokenizer_loader = type("T", (), {"from_pretrained": staticmethod(lambda *a, **k: _FakeSaved("tok.json", None))})
    monkeypatch.setattr(transformers, "AutoModelForCausalLM", model_loader)
    monkeypatch.setattr(transformers, "AutoTokenizer", tokenizer_loader)
    target = tmp_path / "cache" / "model-abc"
    target.parent.mkdir()
    source = ModelSource("m", tmp_path, "m.gguf")
    with ThreadPoolExecutor(2) as pool:
        for future in [pool.submit(convert_gguf, source, target) for _ in range(2)]:
            future.result()
    assert sorted(p.name for p in target.iterdir()) == ["model.bin", "tok.json"]
    assert [p.name for p in target.parent.iterdir()] == ["model-abc"]  # no temporary copy left behind


def test_a_non_streaming_reply_is_cancelled_when_its_client_leaves() -> None:
    closed: list[str] = []

    async def chunks() -> AsyncIterator[int]:
        try:
            for n in range(1000):
                await asyncio.sleep(0.01)
                yield n
        finally:
            closed.append("engine request cancelled")

    async def collect() -> list[int]:
        return [n async for n in chunks()]

    class Request:
        url = type("U", (), {"path": "/v1/chat/completions"})()
        polls = 0

        async def is_disconnected(self) -> bool:
            self.polls += 1
            return self.polls >= 2

    async def main() -> Any:
        return await _unless_client_leaves(Request(), collect())

    assert asyncio.run(main()) is None
    assert closed == ["engine request cancelled"]

    class Staying(Request):
        async def is_disconnected(self) -> bool:
            return False

    async def short() -> int:
        await asyncio.sleep(0.01)
        return 7

    assert asyncio.run(_unless_client_leaves(Staying(), short())) == 7
