"""Translation quality of a model role without the HTTP worker: the same pipeline, prompts and guards, with the
model run in this process by plain batched `model.generate` (greedy, fp32, as the worker's tests run it).

Why: on a busy 2-core machine the worker's continuous-batching loop spent ~2 s per decode step on Gemma 3 270M
(its 262k-token vocabulary), so `python -m bot eval translate` could not finish a useful slice in minutes. Greedy
output does not depend on the serving path, so figures from here are the worker's figures, only cheaper.

    .venv/bin/python bench/translate.py --model gemma3-270m --target fr --offset 200 --limit 40
    .venv/bin/python bench/translate.py --model smollm2 --target fr --offset 200 --limit 40
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from bot.eval.translate import _FLORES_CODES, report, translate_all
from bot.model.client import ChatMessage, ChatOptions
from bot.worker.engine import ChatEngine
from bot.worker.models import load_causal_lm

FLORES = Path(__file__).resolve().parents[2] / "shared" / "eval" / "translation"
NAMES = {"fr": "fra_Latn", "de": "deu_Latn", "es": "spa_Latn", "ja": "jpn_Jpan"}


class InProcessModel:
    """A `ModelClient` (complete, context_window, count_tokens) that batches concurrent `complete` calls into one
    greedy `generate`, so the pipeline's concurrent pieces share forward passes as they would in the worker."""

    def __init__(self, ref: str, *, max_batch: int = 8) -> None:
        cache = Path.home() / ".cache" / "parlance" / "models"
        self.loaded = load_causal_lm(
            ref, setting="MODEL_TRANSLATE", cache_dir=cache, device=torch.device("cpu"), dtype=torch.float32
        )
        self.tokenizer = self.loaded.tokenizer
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.max_batch = max_batch
        self.requests: queue.Queue[tuple[list[int], ChatOptions, Future[str]]] = queue.Queue()
        threading.Thread(target=self._loop, daemon=True).start()

    def _encode(self, messages: Sequence[ChatMessage]) -> list[int]:
        # The worker's own prompt encoding (chat template, or plain text for a base model), so prompts match.
        return ChatEngine.encode_chat(SimpleNamespace(tokenizer=self.tokenizer), [m.model_dump() for m in messages])

    def complete(
        self, messages: Sequence[ChatMessage], *, options: ChatOptions | None = None, role: str = "chat"
    ) -> str:
        future: Future[str] = Future()
        self.requests.put((self._encode(messages), options or ChatOptions(), future))
        return future.result()

    def context_window(self, role: str = "chat") -> int:
        return self.loaded.context_window

    def count_tokens(self, messages: Sequence[ChatMessage], *, role: str = "chat") -> int:
        return len(self._encode(messages))

    def _batches(self) -> Iterator[list[tuple[list[int], ChatOptions, Future[str]]]]:
        while True:
            batch = [self.requests.get()]
            try:
                while len(batch) < self.max_batch:
                    batch.append(self.requests.get(timeout=0.05))
            except queue.Empty:
                pass
            yield batch

    def _loop(self) -> None:
        for batch in self._batches():
            try:
                texts = self._generate([ids for ids, _, _ in batch], max(o.max_tokens for _, o, _ in batch))
                for (_, options, future), text in zip(batch, texts, strict=True):
                    for stop in options.stop:
                        text = text.split(stop, 1)[0]
                    future.set_result(text)
            except Exception as exc:  # surface to the callers instead of hanging them
                for _, _, future in batch:
                    future.set_exception(exc)

    @torch.inference_mode()
    def _generate(self, prompts: list[list[int]], max_tokens: int) -> list[str]:
        padded = self.tokenizer.pad({"input_ids": prompts}, return_tensors="pt")
        out = self.loaded.model.generate(
            **padded,
            max_new_tokens=max_tokens,
            do_sample=False,
            stop_strings=["\n"],
            tokenizer=self.tokenizer,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        width = padded["input_ids"].shape[1]
        return [self.tokenizer.decode(row[width:], skip_special_tokens=True) for row in out]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gemma3-270m", help="a MODEL_TRANSLATE value: gemma3-270m, smollm2, ...")
    parser.add_argument("--target", default="fr", choices=sorted(NAMES))
    parser.add_argument("--offset", type=int, default=200)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sources = (FLORES / "eng_Latn.devtest").read_text(encoding="utf-8").splitlines()
    references = (FLORES / f"{NAMES[args.target]}.devtest").read_text(encoding="utf-8").splitlines()
    window = slice(args.offset, args.offset + args.limit)
    sources, references = sources[window], references[window]
    model = InProcessModel(args.model)
    print(f"model {args.model} ({model.loaded.describe()})")
    results, elapsed = translate_all(sources, target=args.target, source=_FLORES_CODES["eng"], model=model)
    report(results, sources, references, target=args.target, source="en", offset=args.offset, elapsed=elapsed)


if __name__ == "__main__":
    main()
