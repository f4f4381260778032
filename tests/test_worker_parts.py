"""The worker's pure parts, without a model: loop guard, stop strings, text streaming, admission, settings,
model resolution and the device choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.worker.engine import Admission, EngineBusy
from bot.worker.guards import TextStream, held_back, looping_period
from bot.worker.models import ModelNotAvailable, choose_device_and_dtype, resolve
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
    for name in ("WORKER_PORT", "WORKER_HOST", "WORKER_ROLES", "MODEL_CHAT", "WORKER_DTYPE"):
        monkeypatch.delenv(name, raising=False)
    settings = WorkerSettings(_env_file=None)
    assert (settings.worker_host, settings.worker_port) == ("127.0.0.1", 8081)
    assert settings.roles == ["chat", "translate", "embed"]
    assert settings.model_ref("chat") == "smollm2"


def test_a_hub_id_not_in_the_cache_fails_fast_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelNotAvailable, match=r"MODEL_CHAT='someone/some-model' is not in the local .*hf download"):
        resolve("someone/some-model", setting="MODEL_CHAT", cache_dir=tmp_path)
    with pytest.raises(ModelNotAvailable, match="no such file"):
        resolve("./missing.gguf", setting="MODEL_TRANSLATE", cache_dir=tmp_path)


def test_bundled_models_resolve_without_importing_their_packages(tmp_path: Path) -> None:
    source = resolve("smollm2", setting="MODEL_CHAT", cache_dir=tmp_path)
    assert (source.directory / str(source.gguf_file)).is_file()


def test_cpu_uses_bf16_only_with_native_support(monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.worker.models as models

    monkeypatch.setattr(models.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: False)
    assert str(choose_device_and_dtype("auto")[1]) == "torch.float32"
    monkeypatch.setattr(models, "cpu_has_native_bf16", lambda: True)
    assert str(choose_device_and_dtype("auto")[1]) == "torch.bfloat16"
    assert str(choose_device_and_dtype("float32")[1]) == "torch.float32"
