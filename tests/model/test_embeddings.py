"""Embeddings on CPU through llama.cpp: the bundled MiniLM written as GGUF gives the vectors transformers gives, and
a CPU worker with the default roles runs without torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.worker.embed_gguf import ConversionProblem, ensure_minilm_gguf
from bot.worker.models import gpu_present, resolve

pytestmark = pytest.mark.model

TEXTS = [
    "The deploy failed again.",
    "Staging is down Thursday 2–4pm for the database upgrade.",
    "Ça marche, merci ! 🙏",
    "ok",
    "",
    "Who owns the release notes for v2.4? " * 80,  # ~900 tokens: cut at the 512-token window, as transformers does
]


def _cache_dir() -> Path:
    cache = os.environ.get("PARLANCE_TEST_MODEL_CACHE") or os.environ.get("MODEL_CACHE_DIR")
    return Path(cache) if cache else Path.home() / ".cache" / "parlance" / "models"


def _minilm_dir() -> Path:
    return resolve("minilm", setting="MODEL_EMBED", cache_dir=_cache_dir()).directory


def test_llama_cpp_embeddings_match_transformers(tmp_path: Path) -> None:
    """Same texts, same model: the Q8_0 GGUF through llama.cpp against fp32 transformers, vector by vector."""
    from bot.worker.embeddings import Embedder
    from bot.worker.llama_embedder import LlamaEmbedder
    from bot.worker.models import choose_device_and_dtype, load_embedder

    path = ensure_minilm_gguf(_minilm_dir(), tmp_path)
    llama = LlamaEmbedder(path, ref="minilm", origin="test", threads=2)
    device, _ = choose_device_and_dtype("float32")
    reference = Embedder(load_embedder("minilm", setting="MODEL_EMBED", cache_dir=_cache_dir(), device=device))
    try:
        ours, theirs = llama.embed_batch(TEXTS), reference.embed_batch(TEXTS)
    finally:
        llama.close()
    for text, a, b in zip(TEXTS, ours, theirs, strict=True):
        assert a.tokens == b.tokens, text[:40]
        assert sum(x * x for x in a.vector) == pytest.approx(1.0, rel=1e-4)
        cosine = sum(x * y for x, y in zip(a.vector, b.vector, strict=True))
        assert cosine > 0.995, (text[:40], cosine)
    assert ours[-1].tokens == 512


def test_a_changed_source_model_is_not_converted(tmp_path: Path) -> None:
    source = tmp_path / "model"
    shutil.copytree(_minilm_dir(), source)
    with (source / "vocab.txt").open("a", encoding="utf-8") as vocab:
        vocab.write("extra\n")
    with pytest.raises(ConversionProblem, match="refusing to convert it"):
        ensure_minilm_gguf(source, tmp_path / "cache")
    assert not list((tmp_path / "cache").rglob("*.gguf"))


def test_the_conversion_is_written_once_and_reused(tmp_path: Path) -> None:
    first = ensure_minilm_gguf(_minilm_dir(), tmp_path)
    stamp = first.stat().st_mtime_ns
    assert ensure_minilm_gguf(_minilm_dir(), tmp_path) == first
    assert first.stat().st_mtime_ns == stamp
    assert [p.name for p in first.parent.iterdir()] == [first.name]  # no partial file left behind


@pytest.mark.skipif(gpu_present(), reason="with an NVIDIA driver the worker imports torch to ask CUDA")
def test_a_cpu_worker_with_the_default_roles_never_imports_torch() -> None:
    """Loading chat, translate and embed on llama.cpp, and embedding a text, leave torch and transformers out."""
    script = """
import json, sys
from bot.worker.runtime import Worker
from bot.worker.settings import get_worker_settings
worker = Worker.load(get_worker_settings())
vectors = worker.embedder.embed_batch(["the release is on Friday"])
print(json.dumps({"dims": len(vectors[0].vector), "roles": sorted(worker.engines),
                  "heavy": sorted(m for m in ("torch", "transformers") if m in sys.modules)}))
worker.close()
"""
    env = {**os.environ, "MODEL_CACHE_DIR": str(_cache_dir()), "WORKER_ROLES": "chat,translate,embed"}
    for name in ("MODEL_CHAT", "MODEL_TRANSLATE", "MODEL_EMBED", "WORKER_ENGINE"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"dims": 384, "roles": ["chat", "translate"], "heavy": []}


def test_the_worker_reports_the_tokens_it_embedded(worker_url: str) -> None:
    """Through the default worker: a text longer than the window is cut (not refused) and counted as cut."""
    body = {"model": "embed", "input": [TEXTS[0], TEXTS[-1]]}
    response = httpx.post(f"{worker_url}/embeddings", json=body, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["usage"]["prompt_tokens"] == 7 + 512
