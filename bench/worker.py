"""Benchmark of the model worker: `python bench/worker.py` (about 3 minutes on 2 CPU cores).

Prints load times (GGUF cold vs cached safetensors, worker start to ready), decode throughput of the worker alone
and with concurrent requests beside plain `model.generate` one request after another, time to first streamed
token, sentiment scoring rate, greedy agreement batched vs alone, and the worker's peak resident memory, for each
dtype measured (fp32 always; bf16 where the device supports it natively, or when asked with --dtypes).
On a GPU machine the same command measures CUDA; see bench/gpu.sh.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.model_client import ChatMessage, ChatOptions, OpenAICompatibleClient
from bot.worker.launch import spawn_worker, wait_until_ready

PROMPTS = [
    "Write one sentence about the sea.",
    "What is the capital of France?",
    "Give me a tip for writing clear emails.",
    "Describe a cat in one sentence.",
    "Why do teams hold retrospectives?",
    "Name three primary colours.",
    "Explain what a database index is.",
    "Suggest a name for a coffee shop.",
    "What is a good way to start a meeting?",
    "How do plants make food?",
    "Write a haiku about mountains.",
    "What does HTTP stand for?",
    "Give a short motivational quote.",
    "What is the boiling point of water?",
    "Describe the colour blue to someone.",
    "Why is sleep important?",
]
MESSAGES = [
    "Great job on the release, everyone!",
    "The build is broken again and nobody cares.",
    "Lunch is at noon in the kitchen.",
    "I really appreciate the help today.",
    "This deadline is impossible, I'm frustrated.",
    "Can someone review my pull request?",
    "Thanks, that fixed it!",
    "The meeting moved to 3pm.",
]
LABELS = ["positive", "negative", "neutral"]


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def measure_loads(cache_dir: Path) -> None:
    """Cold: de-quantise the bundled GGUF into an empty cache. Cached: load the safetensors it wrote."""
    from bot.worker.models import choose_device_and_dtype, load_causal_lm

    device, dtype = choose_device_and_dtype("float32")
    cold = load_causal_lm("smollm2", setting="MODEL_CHAT", cache_dir=cache_dir, device=device, dtype=dtype)
    cached = load_causal_lm("smollm2", setting="MODEL_CHAT", cache_dir=cache_dir, device=device, dtype=dtype)
    print(f"load smollm2 cold from GGUF (convert + save): {cold.load_seconds:6.1f} s")
    print(f"load smollm2 from cached safetensors:         {cached.load_seconds:6.1f} s")


def plain_generate(cache_dir: Path, dtype_name: str, prompts: list[str], tokens: int) -> float:
    """Tokens/s of plain `model.generate`, one request after another: the baseline batching must beat."""
    import torch

    from bot.worker.models import choose_device_and_dtype, configure_threads, load_causal_lm

    configure_threads(0)
    device, dtype = choose_device_and_dtype(dtype_name)
    loaded = load_causal_lm("smollm2", setting="MODEL_CHAT", cache_dir=cache_dir, device=device, dtype=dtype)
    tok = loaded.tokenizer
    produced, started = 0, time.perf_counter()
    for prompt in prompts:
        ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)["input_ids"].to(device)  # fmt: skip
        with torch.inference_mode():
            out = loaded.model.generate(ids, max_new_tokens=tokens, do_sample=False, repetition_penalty=1.1)
        produced += out.shape[1] - ids.shape[1]
    return produced / (time.perf_counter() - started)


def run_batch(client: OpenAICompatibleClient, url: str, prompts: list[str], tokens: int, concurrency: int):
    """Send `prompts` with at most `concurrency` in flight; return (texts, aggregate completion tokens/s)."""

    def one(prompt: str) -> tuple[str, int]:
        body = {"model": "chat", "messages": [{"role": "user", "content": prompt}], "max_tokens": tokens,
                "temperature": 0}  # fmt: skip
        data = httpx.post(f"{url}/chat/completions", json=body, timeout=600).json()
        return data["choices"][0]["message"]["content"], data["usage"]["completion_tokens"]

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, prompts))
    elapsed = time.perf_counter() - started
    return [text for text, _ in results], sum(n for _, n in results) / elapsed


def time_to_first_token(client: OpenAICompatibleClient, repeats: int = 5) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        stream = client.stream(user("Hi!"), options=ChatOptions(max_tokens=4))
        next(stream)
        samples.append(time.perf_counter() - started)
        stream.close()
    return statistics.median(samples)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_worker(cache_dir: Path, dtype: str, args: argparse.Namespace) -> None:
    port = 18000 + os.getpid() % 1000
    started = time.perf_counter()
    process = spawn_worker(
        port=port,
        env={"WORKER_ROLES": "chat", "WORKER_DTYPE": dtype, "MODEL_CACHE_DIR": str(cache_dir),
             "WORKER_MAX_BATCH": str(max(args.concurrency)), "WORKER_LOG_LEVEL": "WARNING"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_ready(url, timeout=300, process=process)
        print(f"[{dtype}] worker start to ready (cached weights): {time.perf_counter() - started:5.1f} s")
        client = OpenAICompatibleClient(url, timeout=600)
        client.complete(user("warm up"), options=ChatOptions(max_tokens=2))
        print(f"[{dtype}] time to first streamed token: {time_to_first_token(client) * 1000:6.0f} ms (median of 5)")
        texts_by_concurrency: dict[int, list[str]] = {}
        for concurrency in args.concurrency:
            prompts = PROMPTS[: max(concurrency, args.alone_prompts)]
            texts, rate = run_batch(client, url, prompts, args.tokens, concurrency)
            texts_by_concurrency[concurrency] = texts
            print(f"[{dtype}] {concurrency:3d} concurrent: {rate:7.1f} tok/s aggregate ({len(prompts)} requests)")
        alone = texts_by_concurrency[min(args.concurrency)]
        batched = texts_by_concurrency[max(args.concurrency)][: len(alone)]
        same = sum(a == b for a, b in zip(alone, batched, strict=True))
        print(f"[{dtype}] greedy agreement alone vs {max(args.concurrency)} concurrent: {same}/{len(alone)}")
        conversations = [user(f"Is this message positive, negative or neutral?\nMessage: {m}\nAnswer:")
                         for m in (MESSAGES * (args.messages // len(MESSAGES) + 1))[: args.messages]]  # fmt: skip
        client.label_logprobs_many(conversations[:32], LABELS)
        scoring_started = time.perf_counter()
        client.label_logprobs_many(conversations, LABELS)
        rate = len(conversations) / (time.perf_counter() - scoring_started)
        print(f"[{dtype}] sentiment scoring: {rate:6.1f} messages/s ({len(conversations)} messages)")
        print(f"[{dtype}] worker peak resident memory: {peak_rss_mib(process.pid):6.0f} MiB")
        client.close()
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=32, help="max_tokens per request")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 8, 16])
    parser.add_argument("--alone-prompts", type=int, default=6, help="requests sent at the lowest concurrency")
    parser.add_argument("--messages", type=int, default=200, help="messages scored for sentiment")
    parser.add_argument("--dtypes", default="", help="comma list, default: float32 (+ bfloat16 where native)")
    parser.add_argument("--skip-cold", action="store_true", help="skip the GGUF conversion timing (~20-40 s)")
    args = parser.parse_args()

    import torch

    from bot.worker.models import choose_device_and_dtype

    device, auto_dtype = choose_device_and_dtype("auto")
    native_bf16 = ["bfloat16"] if auto_dtype == torch.bfloat16 else []
    dtypes = args.dtypes.split(",") if args.dtypes else ["float32", *native_bf16]
    print(f"device {device}; dtypes measured: {', '.join(dtypes)}; {os.cpu_count()} CPUs visible")
    with tempfile.TemporaryDirectory(prefix="parlance-bench-") as tmp:
        cache_dir = Path(tmp)
        if args.skip_cold:
            cache_dir = Path(os.environ.get("MODEL_CACHE_DIR", Path.home() / ".cache" / "parlance" / "models"))
        else:
            measure_loads(cache_dir)
        for dtype in dtypes:
            rate = plain_generate(cache_dir, dtype, PROMPTS[: args.alone_prompts // 2 or 1], args.tokens)
            print(f"[{dtype}] plain model.generate, one after another: {rate:6.1f} tok/s")
            bench_worker(cache_dir, dtype, args)


if __name__ == "__main__":
    main()
