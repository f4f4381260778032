#!/usr/bin/env bash
# The worker benchmark on a GPU machine (the `device` tool): same figures as on CPU, with CUDA and bf16, in
# well under 5 minutes. Larger batches, because a GPU only gets busy with them.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1
timeout 280 python bench/worker.py --model smollm2 --concurrency 1,16,64 --alone-prompts 8 --tokens 64 --messages 2000 "$@"
