"""Sentence embeddings (MiniLM by default) for the `embed` role: mean pooling and unit length, as
sentence-transformers does for all-MiniLM-L6-v2, without depending on sentence-transformers."""

from __future__ import annotations

import threading

import torch

from bot.worker.models import LoadedModel


class Embedder:
    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        # A fast tokenizer keeps its padding and truncation settings in shared state that every call sets: a
        # count on the event loop while a batch is tokenized in the executor left the batch unpadded (ValueError
        # under load, bench/load.py). Tokenizing is quick next to the forward pass, which runs outside the lock.
        self._tokenizing = threading.Lock()

    def count_tokens(self, text: str) -> int:
        with self._tokenizing:
            return len(self.loaded.tokenizer(text)["input_ids"])

    def embed_batch(self, texts: list[str]) -> list[list[float]]:
        """One forward pass for all texts; each is cut at the model's window (the API reports the token counts)."""
        with self._tokenizing:
            batch = self.loaded.tokenizer(
                texts, padding=True, truncation=True, max_length=self.loaded.context_window, return_tensors="pt"
            )
        batch = batch.to(self.loaded.device)
        with torch.inference_mode():
            hidden = self.loaded.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).float().cpu().tolist()
