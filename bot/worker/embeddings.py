"""Sentence embeddings through transformers (the `embed` role on CUDA, or with WORKER_ENGINE=transformers): mean
pooling and unit length, as sentence-transformers does for all-MiniLM-L6-v2, without depending on it. On CPU the
worker uses llama.cpp instead (bot/worker/llama_embedder.py), which gives the same vectors without torch."""

from __future__ import annotations

import torch

from bot.worker.engine_api import Embedded
from bot.worker.models import LoadedModel


class Embedder:
    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded

    def embed_batch(self, texts: list[str]) -> list[Embedded]:
        """One forward pass for all texts; each is cut at the model's window (the API reports the token counts)."""
        batch = self.loaded.tokenizer(
            texts, padding=True, truncation=True, max_length=self.loaded.context_window, return_tensors="pt"
        )
        batch = batch.to(self.loaded.device)
        with torch.inference_mode():
            hidden = self.loaded.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        vectors = torch.nn.functional.normalize(pooled, dim=-1).float().cpu().tolist()
        counts = batch["attention_mask"].sum(1).tolist()
        return [Embedded(vector, int(count)) for vector, count in zip(vectors, counts, strict=True)]

    def close(self) -> None:
        """Nothing to release: the model is freed with the process (the llama.cpp embedder closes its client)."""
