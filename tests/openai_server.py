"""A local OpenAI-compatible endpoint for the tests: chat and text completions whose answer each test chooses.

A test subclasses Endpoint with its `answer` (and, to keep what it was sent, its own record in `received`),
then serves it with `serving`, which yields the endpoint's root URL (http://127.0.0.1:PORT/v1).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar


class Endpoint(BaseHTTPRequestHandler):
    """/v1/chat/completions and /v1/completions on 127.0.0.1; every request's (path, body) kept in `received`."""

    received: ClassVar[list[Any]] = []

    def answer(self, body: dict[str, Any]) -> str:
        raise NotImplementedError

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.record(body)
        self.send_body(json.dumps(completion(self.path, body["model"], self.answer(body))).encode())

    def record(self, body: dict[str, Any]) -> None:
        self.received.append((self.path, body))

    def send_body(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def completion(path: str, model: str, text: str) -> dict[str, Any]:
    """The reply of a chat completion (a path ending in /chat/completions) or of a text completion."""
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    if path.endswith("/chat/completions"):
        choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        return {
            "id": "t",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [choice],
            "usage": usage,
        }
    choice = {"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}
    return {"id": "t", "object": "text_completion", "created": 0, "model": model, "choices": [choice], "usage": usage}


@contextmanager
def serving(endpoint: type[Endpoint]) -> Iterator[str]:
    """`endpoint` served on a free local port, its `received` emptied first: the root URL, ending in /v1."""
    endpoint.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
