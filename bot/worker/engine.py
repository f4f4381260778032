"""Generation for one causal LM: transformers' ContinuousBatchingManager plus what serving needs around it.

The manager runs a background thread that decodes every running request in one forward pass and lets a new
request join between steps (continuous batching). Around it this module adds what the manager leaves to the
caller: admission with a bounded queue, prompt-length checks, stop strings, the loop guard, cancellation when the
client goes away, and a one-pass scoring path (`score`) for label log-probabilities, which the manager cannot give
(it returns only the chosen token's log-probability, after temperature).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import contextmanager
from typing import Any

import torch

from bot.worker.engine_api import (
    GREEDY_TEMPERATURE,
    Admission,
    Chunk,
    EngineFailed,
    PromptTooLong,
    Sampling,
    Scored,
)
from bot.worker.guards import TextStream, looping_period
from bot.worker.models import LoadedModel

logger = logging.getLogger(__name__)


class ChatEngine:
    """Serves one generative model. Create it, `start()` it, and call `generate` or `score` from the event loop."""

    def __init__(
        self, loaded: LoadedModel, *, max_batch: int, max_queue: int, kv_cache_tokens: int, greedy_only: bool = False
    ) -> None:
        self.loaded = loaded
        self.greedy_only = greedy_only
        self.model = loaded.model
        self.tokenizer = loaded.tokenizer
        self.max_batch = max_batch
        self.max_queue = max_queue
        self.kv_cache_tokens = kv_cache_tokens
        self.admission = Admission(max_queue)
        self.manager: Any = None
        self._attn_impl = self.model.config._attn_implementation
        self.eos_ids = self._eos_ids()
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_ids[0]
        self._plain_lock = threading.Lock()  # one sampled `model.generate` at a time on a greedy-only engine

    def _eos_ids(self) -> list[int]:
        ids = self.model.generation_config.eos_token_id
        ids = [ids] if isinstance(ids, int) else list(ids or [])
        if self.tokenizer.eos_token_id is not None and self.tokenizer.eos_token_id not in ids:
            ids.append(self.tokenizer.eos_token_id)
        return ids

    def start(self) -> None:
        """Create the continuous-batching manager with a KV cache of a fixed size and start its thread.

        The cache size is set explicitly: left to itself the manager sizes it from free memory, which on CPU means
        60% of the machine's RAM.

        A greedy-only engine takes the argmax and nothing else per step. The sampling manager runs a temperature and
        a top-p processor over the whole vocabulary for every sequence at every step (top-p sorts it), plus softmaxes
        for sampling and log-probabilities: with Gemma's 262k-token vocabulary that was about as much CPU time as the
        forward pass itself for a batch of translation pieces.
        """
        from transformers import ContinuousBatchingConfig, GenerationConfig

        page_size = 256
        pad_id = self.pad_id
        cb_config = ContinuousBatchingConfig(
            page_size=page_size,
            num_blocks=max(self.max_batch, -(-self.kv_cache_tokens // page_size)),
            max_batch_tokens=2048,
            max_requests_per_batch=self.max_batch,
            per_request_processors=not self.greedy_only,
            return_logprobs=not self.greedy_only,
        )
        if self.greedy_only:
            generation_config = GenerationConfig(
                do_sample=False, max_new_tokens=256, eos_token_id=self.eos_ids, pad_token_id=pad_id
            )
        else:
            generation_config = GenerationConfig(
                do_sample=True,
                temperature=0.7,  # any value other than 1.0, so the per-request temperature processor exists
                top_p=0.95,  # likewise for top_p
                max_new_tokens=256,
                eos_token_id=self.eos_ids,
                pad_token_id=pad_id,
            )
        with torch.inference_mode():
            self.manager = self.model.init_continuous_batching(
                generation_config=generation_config, continuous_batching_config=cb_config
            )
            self.manager.start()

    def stop(self) -> None:
        if self.manager is not None and self.manager.is_running():
            self.manager.stop(block=True, timeout=5)

    def is_running(self) -> bool:
        return self.manager is not None and self.manager.is_running()

    # ------------------------------------------------------------------ prompts

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        """Prompt ids for a conversation: the model's chat template, or plain turns for a base model without one."""
        if self.tokenizer.chat_template:
            ids = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            return list(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)
        text = "\n\n".join(m["content"] for m in messages)
        return list(self.tokenizer(text)["input_ids"])

    def check_length(self, prompt_tokens: int, max_tokens: int) -> None:
        if prompt_tokens + max_tokens > self.loaded.context_window or prompt_tokens > self.kv_cache_tokens:
            raise PromptTooLong(prompt_tokens, max_tokens, min(self.loaded.context_window, self.kv_cache_tokens))

    @property
    def admitted(self) -> int:
        return self.admission.admitted

    def slot(self) -> Any:
        return self.admission.slot()

    def decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True)

    def encode_text(self, text: str) -> list[int]:
        return list(self.tokenizer(text)["input_ids"])

    # ------------------------------------------------------------------ generation

    async def generate(self, prompt_ids: list[int], sampling: Sampling) -> AsyncIterator[Chunk]:
        """Stream a reply. Closing the iterator early (the client went away) cancels the request and frees its slot."""
        if not self.is_running():
            raise EngineFailed("the generation loop is not running")
        if self.greedy_only and sampling.temperature > 0:
            async for chunk in self._generate_sampled(prompt_ids, sampling):
                yield chunk
            return
        request_id = f"chat-{uuid.uuid4().hex}"
        outputs: asyncio.Queue[Any] = asyncio.Queue()
        self.manager.register_result_handler(request_id, outputs.put_nowait)
        per_request: dict[str, float] = {}
        if not self.greedy_only:
            temperature = sampling.temperature if sampling.temperature > 0 else GREEDY_TEMPERATURE
            per_request = {"temperature": float(temperature), "top_p": float(sampling.top_p)}
        added = self.manager.add_request(
            input_ids=prompt_ids,
            request_id=request_id,
            max_new_tokens=sampling.max_tokens,
            streaming=True,
            eos_token_id=self.eos_ids,
            **per_request,
        )
        if added is None:
            self._forget(request_id)
            raise EngineFailed("the generation loop is not accepting requests")
        text = TextStream(self.decode, sampling.stop)
        sent_tokens = 0
        finished = manager_done = False
        try:
            while not finished:
                output = await outputs.get()
                if output.error is not None:
                    raise EngineFailed(output.error)
                tokens = list(output.generated_tokens)
                finish: str | None = None
                manager_done = output.is_finished()
                if manager_done:
                    finish = "stop" if tokens and tokens[-1] in self.eos_ids else "length"
                elif looping_period(tokens):
                    logger.info("request %s stopped: its reply repeats itself", request_id)
                    finish = "stop"
                delta = text.update(tokens, final=finish is not None)
                if text.stopped:
                    finish = "stop"
                new_ids = tokens[sent_tokens:]
                new_logprobs = list(output.logprobs[sent_tokens : len(tokens)])
                sent_tokens = len(tokens)
                finished = finish is not None
                if delta or finished or new_ids:
                    yield Chunk(delta, new_ids, new_logprobs, finish, completion_tokens=len(tokens))
        finally:
            if not manager_done:  # stopped by us, by the client or by an error: free its KV blocks now
                self.manager.cancel_request(request_id)
            self._forget(request_id)

    async def _generate_sampled(self, prompt_ids: list[int], sampling: Sampling) -> AsyncIterator[Chunk]:
        """A sampled reply on a greedy-only engine: one `model.generate` in a thread, the loop paused meanwhile.

        Rare by design (the roles made greedy-only are asked greedily), so it is simple: the reply arrives as one
        chunk, and closing the iterator stops the generation at its next step.
        """
        cancelled = threading.Event()
        try:
            tokens = await asyncio.to_thread(self._sample_plain, prompt_ids, sampling, cancelled)
        finally:
            cancelled.set()
        while tokens and tokens[-1] == self.tokenizer.pad_token_id and tokens[-1] not in self.eos_ids:
            tokens.pop()
        text = TextStream(self.decode, sampling.stop)
        delta = text.update(tokens, final=True)
        hit_eos = bool(tokens) and tokens[-1] in self.eos_ids
        finish = "stop" if text.stopped or hit_eos or len(tokens) < sampling.max_tokens else "length"
        yield Chunk(delta, tokens, [], finish, completion_tokens=len(tokens))

    def _sample_plain(self, prompt_ids: list[int], sampling: Sampling, cancelled: threading.Event) -> list[int]:
        from transformers import StoppingCriteria, StoppingCriteriaList

        class Cancelled(StoppingCriteria):
            def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool, device=input_ids.device)

        device = self.loaded.device
        ids = torch.tensor([prompt_ids], device=device)
        stops = [s for s in sampling.stop if s]
        with self._plain_lock, self._borrow_model(), torch.inference_mode():
            if sampling.seed is not None:
                torch.manual_seed(sampling.seed)
            out = self.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=sampling.max_tokens,
                do_sample=True,
                temperature=float(sampling.temperature),
                top_p=float(sampling.top_p),
                top_k=0,
                eos_token_id=self.eos_ids,
                pad_token_id=self.pad_id,
                stop_strings=stops or None,
                tokenizer=self.tokenizer if stops else None,
                stopping_criteria=StoppingCriteriaList([Cancelled()]),
            )
        return [int(t) for t in out[0, len(prompt_ids) :]]

    def _forget(self, request_id: str) -> None:
        """Drop the request's result handler, and any outputs that arrived after it (nobody reads that queue)."""
        router = self.manager.output_router
        with router._lock:
            router.result_handlers.pop(request_id, None)
        try:
            while True:
                router.output_queue.get_nowait()
        except queue.Empty:
            pass

    # ------------------------------------------------------------------ scoring

    def score(self, prompts: list[list[int]], *, top_k: int, temperature: float, seed: int | None) -> list[Scored]:
        """One forward pass over a batch of prompts, returning next-token log-probabilities (no generation).

        This is the sentiment path: labels are scored by their log-probabilities after the prompt. It borrows the
        model between two decode steps (the manager's pause) and switches attention back from the paged kernel the
        manager installed, so running chats wait for one pass instead of sharing a second model copy.
        """
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_ids[0]
        width = max(len(p) for p in prompts)
        device = self.loaded.device
        input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
        mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, prompt in enumerate(prompts):  # left padding: every prompt ends at the last column
            input_ids[row, width - len(prompt) :] = torch.tensor(prompt)
            mask[row, width - len(prompt) :] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        with self._borrow_model(), torch.inference_mode():
            logits = self.model(
                input_ids=input_ids.to(device),
                attention_mask=mask.to(device),
                position_ids=positions.to(device),
                use_cache=False,
                logits_to_keep=1,
            ).logits[:, -1, :]
        logprobs = torch.log_softmax(logits.float(), dim=-1).cpu()
        if temperature > 0:
            generator = torch.Generator().manual_seed(seed) if seed is not None else None
            probs = torch.softmax(logits.float().cpu() / temperature, dim=-1)
            chosen = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
        else:
            chosen = logprobs.argmax(dim=-1)
        top_values, top_ids = logprobs.topk(max(top_k, 1), dim=-1)
        results = []
        for row in range(len(prompts)):
            token_id = int(chosen[row])
            top = [(self.decode([int(t)]), float(v)) for t, v in zip(top_ids[row], top_values[row], strict=True)]
            results.append(Scored(self.decode([token_id]), float(logprobs[row, token_id]), top[:top_k]))
        return results

    @contextmanager
    def _borrow_model(self) -> Any:
        if not self.is_running():
            yield
            return
        with self.manager.pause():
            paged = self.model.config._attn_implementation
            self.model.set_attn_implementation(self._attn_impl)
            try:
                yield
            finally:
                self.model.set_attn_implementation(paged)
