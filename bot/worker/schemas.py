"""The OpenAI-compatible request and response shapes the worker accepts and returns.

Requests ignore fields they do not know (OpenAI clients send many), but reject wrong types and values with a 400,
as vLLM and llama.cpp's server do.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "user", "assistant"]
    content: str


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = "chat"
    messages: list[Message] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=1.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    n: int = Field(default=1, ge=1, le=1)

    @field_validator("stop")
    @classmethod
    def _at_most_four(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @property
    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def reply_budget(self, default: int) -> int:
        return self.max_completion_tokens or self.max_tokens or default


class EmbeddingRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = "embed"
    input: str | list[str] = Field(min_length=1)

    @field_validator("input")
    @classmethod
    def _bounded(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, list) and len(value) > 2048:
            raise ValueError("at most 2048 inputs per request")
        return value


class TokenizeRequest(BaseModel):
    """vLLM's /tokenize body: a plain prompt or chat messages (rendered with the chat template)."""

    model_config = ConfigDict(extra="ignore")

    model: str = "chat"
    prompt: str | None = None
    messages: list[Message] | None = None


def error_body(message: str, *, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape, which vLLM and llama.cpp also return, so one client parses all three."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}
