"""MODEL_URL pointing at an independent OpenAI-compatible server: `transformers serve` (Hugging Face's own
server, not our worker) serving the bundled chat model. The bot's client, and a mention through the real app,
work against it unchanged."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.model.access import free_port
from bot.model.client import ChatMessage, ChatOptions, OpenAICompatibleClient
from tests.support.slack import ALICE, BOT_USER, CHANNEL, sender_for, serve_app

pytestmark = pytest.mark.model


def _bundled_chat_checkpoint() -> Path:
    """The safetensors copy of the bundled SmolLM2 that our worker converted (the worker fixture ran first)."""
    from bot.worker.models import gguf_cache_path, resolve
    from bot.worker.settings import WorkerSettings

    cache = Path(os.environ.get("PARLANCE_TEST_MODEL_CACHE") or WorkerSettings().model_cache_dir)
    return gguf_cache_path(resolve("smollm2", setting="MODEL_CHAT", cache_dir=cache), cache)


@pytest.fixture(scope="module")
def transformers_serve(torch_worker_url):  # the transformers worker converted the checkpoint
    checkpoint = _bundled_chat_checkpoint()
    assert (checkpoint / "model.safetensors").exists()
    executable = shutil.which("transformers", path=str(Path(sys.executable).parent))
    port = free_port()
    process = subprocess.Popen(
        [executable, "serve", str(checkpoint), "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            assert process.poll() is None, "transformers serve exited"
            try:
                if httpx.get(f"{url}/v1/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        yield f"{url}/v1", str(checkpoint)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_client_completes_and_streams_against_transformers_serve(transformers_serve) -> None:
    url, model_name = transformers_serve
    with OpenAICompatibleClient(url, models={"chat": model_name}) as client:
        messages = [ChatMessage(role="user", content="Say hello to the team in one short sentence.")]
        reply = client.complete(messages, options=ChatOptions(max_tokens=16))
        pieces = list(client.stream(messages, options=ChatOptions(max_tokens=16)))
    assert reply.strip()
    assert len(pieces) > 1 and "".join(pieces).strip()


def test_a_mention_is_answered_through_transformers_serve(transformers_serve, settings, emulator) -> None:

    url, model_name = transformers_serve
    with OpenAICompatibleClient(url, models={"chat": model_name}) as model, serve_app(settings, model=model) as app:
        slack = sender_for(app, emulator)
        ts = "1764370000.000100"
        slack.event(slack.mention_event(CHANNEL, ALICE, f"<@{BOT_USER}> say hello", ts=ts))
        deadline = time.monotonic() + 180
        final = ""
        while time.monotonic() < deadline:
            replies = [m for m in emulator.messages(CHANNEL, thread_ts=ts) if m.get("user") == BOT_USER]
            final = replies[0]["text"] if replies else ""
            if final and not final.endswith(" …") and final != "_Thinking…_":
                break
            time.sleep(0.2)
    assert final and "busy" not in final and final != "_Thinking…_"
