"""Sentence embeddings (MiniLM by default) for the `embed` role: mean pooling and unit length, as
sentence-transformers does for all-MiniLM-L6-v2, without depending on sentence-transformers."""

from __future__ import annotations

import torch

from bot.worker.models import LoadedModel


class Embedder:
    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded

    def count_tokens(self, text: str) -> int:
        return len(self.loaded.tokenizer(text)["input_ids"])

    def embed_batch(self, texts: list[str]) -> list[list[float]]:
        """One forward pass for all texts; each is cut at the model's window (the API reports the token counts)."""
        batch = self.loaded.tokenizer(
            texts, padding=True, truncation=True, max_length=self.loaded.context_window, return_tensors="pt"
        ).to(self.loaded.device)
        with torch.inference_mode():
            hidden = self.loaded.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).float().cpu().tolist()
