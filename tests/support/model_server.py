"""A model server at the network boundary (MODEL_URL) for tests of what happens when the model is slow: it
answers like an OpenAI-compatible server with one fixed reply, and while `stalling` is set it takes every request
and never answers, as a model busy with a long generation (or a process about to be killed) would; `stall_on`
does the same for the requests whose body holds that text only (a slow model on some items)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = "We ship on Friday."


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, *, seconds_per_answer: float = 0.0, max_model_len: int = 2048) -> None:
        """`port`: where a client already looks for it (a free one otherwise). `seconds_per_answer`: each chat
        answer takes that long and they are generated one at a time, as on one CPU worker (bench/fairness.py)."""
        super().__init__(("127.0.0.1", port), _ModelHandler)
        self.seconds_per_answer = seconds_per_answer
        self.max_model_len = max_model_len
        self.generating = threading.Lock()
        self.stalling = threading.Event()
        self.stall_on: str | None = None
        self.released = threading.Event()
        self.stalled_paths: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> ModelServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()


class _ModelHandler(BaseHTTPRequestHandler):
    server: ModelServer

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self._stalled():
            return
        self._json(
            {"object": "list", "data": [{"id": "chat", "object": "model", "max_model_len": self.server.max_model_len}]}
        )

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.loads(raw or b"{}")
        if self._stalled(self.server.stall_on is not None and self.server.stall_on.encode() in raw):
            return
        if self.path.endswith("/tokenize"):
            self._json({"count": sum(len(m["content"]) // 4 + 4 for m in body.get("messages", []))})
            return
        if self.path.endswith("/embeddings"):
            self._json({"data": [{"index": i, "embedding": [0.05] * 384} for i in range(len(body["input"]))]})
            return
        if self.server.seconds_per_answer:
            with self.server.generating:
                time.sleep(self.server.seconds_per_answer)
        if body.get("stream"):
            chunk = {"choices": [{"index": 0, "delta": {"content": ANSWER}, "finish_reason": None}]}
            payload = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        else:
            self._json({"choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}}]})

    def _stalled(self, always: bool = False) -> bool:
        if not (always or self.server.stalling.is_set()):
            return False
        self.server.stalled_paths.append(self.path)
        self.server.released.wait(60)
        self.close_connection = True
        return True

    def _json(self, body: dict[str, object]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
