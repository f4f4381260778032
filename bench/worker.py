"""Benchmark of the model worker: `python bench/worker.py [--engines llama.cpp,transformers]`.

Starts one worker per engine on the same model (the default chat model unless --model), with every default role
loaded (chat, translate sharing its model, embed), and prints for each: start to ready, single-stream decode
tokens/s, aggregate tokens/s one after another and at 4 concurrent requests (--concurrency), time to first token
on a short prompt and on a ~1,000-token channel-like context, cold and with its prefix cached (the same context
again with another final question: what a channel asked about twice costs), sentiment scoring rate, greedy
agreement alone vs concurrent, and the worker's resident memory (the process and its children). The issue's
targets are printed beside the figures.

On CPU the transformers engine needs a GGUF de-quantised once into MODEL_CACHE_DIR (minutes for 1.5B, then cached)
and decodes a 1.5B model at ~1 tok/s; --transformers-model gives it a smaller one (e.g. smollm2). For the old
transformers-only extras: --cold (GGUF conversion into an empty cache, timed), --plain (plain `model.generate`, one
request after another) and --dtypes. On a GPU machine the same command measures CUDA; see bench/gpu.sh.
About 3-4 minutes per engine on 2 CPU cores with the defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.model.client import ChatMessage, OpenAICompatibleClient
from bot.worker.launch import spawn_worker, wait_until_ready

TARGET_DECODE = 15.0  # tok/s, one stream
TARGET_CACHED_TTFT = 3.0  # s, 1,000-token context whose prefix is cached
TARGET_RSS_MIB = 1536  # MiB, all default roles loaded (issue 14: 1.5 GB; issue 12 asked for 2 GB)

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
LONG_PROMPT = "Tell me a long story about a lighthouse keeper and the sea."
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
PEOPLE = ["alice", "bob", "carol", "dan", "erin", "frank"]
TOPICS = [
    "the deploy of the billing service failed at the migration step",
    "can someone review PR #{n}? it touches the auth middleware",
    "the staging database is at 91% disk again",
    "standup moved to 10:15 tomorrow",
    "customer {n} reports slow exports since Monday",
    "I rolled back release 2.{n} and the errors stopped",
    "the flaky test in test_sync.py failed {n} times this week",
    "who owns the on-call rotation for next weekend?",
]


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def channel_context(root: str, tokens: int, seed: int) -> str:
    """A Slack-like channel transcript with a preamble, about `tokens` tokens by the worker's own tokenizer, to
    which a question is appended."""
    lines = ["Here is the recent history of #eng-platform.", ""]
    n = 0
    while count_tokens(root, "\n".join(lines)) < tokens - 30:  # the question adds ~15-30 tokens
        person = PEOPLE[(n * 5 + seed) % len(PEOPLE)]
        topic = TOPICS[(n * 3 + seed) % len(TOPICS)].format(n=100 + n * 7 + seed)
        lines.append(f"[{9 + n // 12:02d}:{(n * 7) % 60:02d}] {person}: {topic}")
        n += 1
    return "\n".join(lines) + "\n\nQuestion: "


def count_tokens(root: str, content: str) -> int:
    body = {"model": "chat", "messages": [{"role": "user", "content": content}]}
    return int(httpx.post(f"{root}/tokenize", json=body, timeout=60).json()["count"])


def stream(url: str, content: str, max_tokens: int) -> tuple[float, float, int, str]:
    """One streamed greedy request: (time to first token, seconds from first token to the end, completion tokens,
    text)."""
    body = {"model": "chat", "messages": [{"role": "user", "content": content}], "max_tokens": max_tokens,
            "temperature": 0, "stream": True}  # fmt: skip
    started = time.perf_counter()
    first, tokens, pieces = None, 0, []
    with httpx.stream("POST", f"{url}/chat/completions", json=body, timeout=600) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            event = json.loads(line[6:])
            if "error" in event:
                raise RuntimeError(event["error"])
            for choice in event.get("choices", []):
                if choice["delta"].get("content"):
                    first = first if first is not None else time.perf_counter()
                    pieces.append(choice["delta"]["content"])
            if event.get("usage"):
                tokens = event["usage"]["completion_tokens"]
    ended = time.perf_counter()
    first = first if first is not None else ended
    return first - started, ended - first, tokens, "".join(pieces)


def run_batch(url: str, prompts: list[str], tokens: int, concurrency: int) -> tuple[list[str], float]:
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


def tree_rss_mib(pid: int) -> tuple[float, float]:
    """(resident memory of the process and its children now, the process's own peak), MiB."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            total += child.memory_info().rss
    peak = float("nan")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return total / 2**20, peak


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def bench_engine(engine: str, model: str, dtype: str, cache_dir: Path, args: argparse.Namespace) -> None:
    tag = f"[{engine} {model}{'' if engine == 'llama.cpp' else ' ' + dtype}]"
    port = 18000 + os.getpid() % 1000
    env = {"WORKER_ENGINE": engine, "MODEL_CHAT": model, "MODEL_TRANSLATE": model, "WORKER_DTYPE": dtype,
           "MODEL_CACHE_DIR": str(cache_dir), "WORKER_LOG_LEVEL": "WARNING",
           "WORKER_ROLES": "chat,translate,embed"}  # fmt: skip
    for name in ("MODEL_EMBED", "WORKER_MAX_CONTEXT", "WORKER_KV_CACHE_TOKENS", "WORKER_LLAMA_SLOTS"):
        if name in os.environ:
            print(f"{tag} note: {name}={os.environ[name]} from the environment")
    started = time.perf_counter()
    process = spawn_worker(port=port, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    root = url.removesuffix("/v1")
    try:
        wait_until_ready(url, timeout=args.ready_timeout, process=process)
        print(f"{tag} worker start to ready: {time.perf_counter() - started:6.1f} s")
        window = httpx.get(f"{url}/models", timeout=10).json()["data"][0]["max_model_len"]
        rss, _ = tree_rss_mib(process.pid)
        print(f"{tag} resident memory after load (worker + children): {rss:6.0f} MiB, context window {window}")
        stream(url, "warm up", 2)

        short = [stream(url, "Hi!", 4)[0] for _ in range(5)]
        print(f"{tag} time to first token, short prompt: {statistics.median(short) * 1000:7.0f} ms (median of 5)")

        _, decode_s, produced, _ = stream(url, LONG_PROMPT, args.tokens)
        rate = (produced - 1) / decode_s if produced > 1 and decode_s > 0 else float("nan")
        print(f"{tag} single-stream decode: {rate:6.1f} tok/s ({produced} tokens)   "
              f"target >= {TARGET_DECODE:.0f} tok/s: {verdict(rate >= TARGET_DECODE)}")  # fmt: skip

        texts_by_concurrency: dict[int, list[str]] = {}
        for concurrency in sorted({1, *args.concurrency}):
            prompts = PROMPTS[: max(concurrency, args.alone_prompts)]
            texts, rate = run_batch(url, prompts, args.tokens, concurrency)
            texts_by_concurrency[concurrency] = texts
            print(f"{tag} {concurrency:3d} concurrent: {rate:7.1f} tok/s aggregate ({len(prompts)} requests)")
        alone, most = texts_by_concurrency[1], max(texts_by_concurrency)
        pairs = list(zip(alone, texts_by_concurrency[most], strict=False))
        print(f"{tag} greedy agreement alone vs {most} concurrent: {sum(a == b for a, b in pairs)}/{len(pairs)}")

        ask = channel_context(root, args.context_tokens, seed=len(engine))
        size = count_tokens(root, ask + "What went wrong with the deploy?")
        cold, _, _, _ = stream(url, ask + "What went wrong with the deploy?", 8)
        cached, _, _, _ = stream(url, ask + "Who should review the open pull requests?", 8)
        print(f"{tag} time to first token, {size}-token channel context, cold:   {cold:6.2f} s")
        print(f"{tag} time to first token, same context, another question: {cached:6.2f} s   "
              f"target <= {TARGET_CACHED_TTFT:.0f} s: {verdict(cached <= TARGET_CACHED_TTFT)}")  # fmt: skip

        if args.messages:
            client = OpenAICompatibleClient(url, timeout=600)
            conversations = [user(f"Is this message positive, negative or neutral?\nMessage: {m}\nAnswer:")
                             for m in (MESSAGES * (args.messages // len(MESSAGES) + 1))[: args.messages]]  # fmt: skip
            client.label_logprobs_many(conversations[:4], LABELS)
            scoring_started = time.perf_counter()
            client.label_logprobs_many(conversations, LABELS)
            rate = len(conversations) / (time.perf_counter() - scoring_started)
            print(f"{tag} sentiment scoring: {rate:6.1f} messages/s ({len(conversations)} messages)")
            client.close()

        embed = {"model": "embed", "input": MESSAGES}
        assert httpx.post(f"{url}/embeddings", json=embed, timeout=60).status_code == 200  # the role is loaded
        rss, peak = tree_rss_mib(process.pid)
        ok = max(rss, peak) <= TARGET_RSS_MIB
        print(f"{tag} resident memory, all default roles loaded (worker + children): {rss:6.0f} MiB now, "
              f"{peak:6.0f} MiB peak   target <= {TARGET_RSS_MIB} MiB: {verdict(ok)}")  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure_loads(model: str, cache_dir: Path) -> None:
    """Cold: de-quantise the GGUF into an empty cache. Cached: load the safetensors it wrote (transformers only)."""
    from bot.worker.models import choose_device_and_dtype, load_causal_lm

    device, dtype = choose_device_and_dtype("float32")
    cold = load_causal_lm(model, setting="MODEL_CHAT", cache_dir=cache_dir, device=device, dtype=dtype)
    cached = load_causal_lm(model, setting="MODEL_CHAT", cache_dir=cache_dir, device=device, dtype=dtype)
    print(f"[transformers {model}] load cold from GGUF (convert + save): {cold.load_seconds:6.1f} s")
    print(f"[transformers {model}] load from cached safetensors:         {cached.load_seconds:6.1f} s")


def plain_generate(model: str, cache_dir: Path, dtype_name: str, prompts: list[str], tokens: int) -> float:
    """Tokens/s of plain `model.generate`, one request after another: the baseline batching must beat."""
    import torch

    from bot.worker.models import choose_device_and_dtype, configure_threads, load_causal_lm

    configure_threads(0)
    device, dtype = choose_device_and_dtype(dtype_name)
    loaded = load_causal_lm(model, setting="MODEL_CHAT", cache_dir=cache_dir, device=device, dtype=dtype)
    tok = loaded.tokenizer
    produced, started = 0, time.perf_counter()
    for prompt in prompts:
        ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                      return_tensors="pt", return_dict=True)["input_ids"].to(device)  # fmt: skip
        with torch.inference_mode():
            out = loaded.model.generate(ids, max_new_tokens=tokens, do_sample=False, repetition_penalty=1.1)
        produced += out.shape[1] - ids.shape[1]
    return produced / (time.perf_counter() - started)


def main() -> None:
    from bot.worker.settings import WorkerSettings

    default_model = WorkerSettings.model_fields["model_chat"].default
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="", help="comma list of llama.cpp, transformers (default: both on "
                        "CPU; transformers on CUDA)")  # fmt: skip
    parser.add_argument("--model", default=default_model, help=f"chat (and translate) model, default {default_model}")
    parser.add_argument("--transformers-model", default="", help="another (smaller) model for transformers only")
    parser.add_argument("--tokens", type=int, default=64, help="max_tokens per request")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[4],
                        help="comma list of concurrent requests; one after another (1) is always measured")  # fmt: skip
    parser.add_argument("--alone-prompts", type=int, default=4, help="requests sent at each concurrency, at least")
    parser.add_argument("--context-tokens", type=int, default=1000, help="size of the channel-like context")
    parser.add_argument("--messages", type=int, default=32, help="messages scored for sentiment (0: skip)")
    parser.add_argument("--dtypes", default="", help="transformers: comma list, default float32 (+ bfloat16 native)")
    parser.add_argument("--cold", action="store_true", help="transformers: time the GGUF conversion (empty cache)")
    parser.add_argument("--plain", action="store_true", help="transformers: plain model.generate baseline")
    parser.add_argument("--ready-timeout", type=float, default=1800, help="seconds (a first conversion is slow)")
    args = parser.parse_args()

    import torch

    from bot.worker.models import choose_device_and_dtype

    device, auto_dtype = choose_device_and_dtype("auto")
    default_engines = "llama.cpp,transformers" if device.type == "cpu" else "transformers"
    engines = [e.strip() for e in (args.engines or default_engines).split(",") if e.strip()]
    if unknown := sorted(set(engines) - {"llama.cpp", "transformers"}):
        parser.error(f"unknown engine {unknown[0]!r}; choose from llama.cpp, transformers")
    native_bf16 = ["bfloat16"] if auto_dtype == torch.bfloat16 else []
    dtypes = args.dtypes.split(",") if args.dtypes else ["float32", *native_bf16]
    cache_dir = Path(os.environ.get("MODEL_CACHE_DIR", Path.home() / ".cache" / "parlance" / "models"))
    load = os.getloadavg()[0]
    print(f"device {device}; engines {', '.join(engines)}; {len(os.sched_getaffinity(0))} CPUs usable; "
          f"load average {load:.1f} at start (other work on the machine slows every figure)")  # fmt: skip
    for engine in engines:
        if engine == "llama.cpp":
            bench_engine("llama.cpp", args.model, "auto", cache_dir, args)
            continue
        model = args.transformers_model or args.model
        if args.cold:
            with tempfile.TemporaryDirectory(prefix="parlance-bench-") as tmp:
                measure_loads(model, Path(tmp))
        for dtype in dtypes:
            if args.plain:
                rate = plain_generate(model, cache_dir, dtype, PROMPTS[:3], args.tokens)
                print(f"[transformers {model} {dtype}] plain model.generate, one after another: {rate:6.1f} tok/s")
            bench_engine("transformers", model, dtype, cache_dir, args)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
