"""A small OpenAI-compatible server over real HTTP (chat completions and embeddings), scripted to
misbehave: for fault-injection tests of the provider chain and the remote embedder (429 with
Retry-After, 5xx, slow answers, streams cut mid-way).

    with FakeOpenAI() as fake:
        fake.script(Reply.status(429, retry_after="1"), Reply.ok("Bonjour"))
        ...  # point a provider at fake.base_url
        fake.requests  # what it received, with arrival times
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    kind: str
    text: str = "Réponse de test."
    status_code: int = 200
    retry_after: str | None = None
    delay_s: float = 0.0
    cut_after: int = 0

    @classmethod
    def ok(cls, text: str = "Réponse de test.") -> Reply:
        return cls("ok", text)

    @classmethod
    def status(cls, code: int, *, retry_after: str | None = None) -> Reply:
        return cls("status", status_code=code, retry_after=retry_after)

    @classmethod
    def slow(cls, delay_s: float, text: str = "Réponse lente.") -> Reply:
        return cls("ok", text, delay_s=delay_s)

    @classmethod
    def raw(cls, payload: dict[str, Any]) -> Reply:
        """Answers 200 with this JSON body, whatever was asked."""
        return cls("raw", json.dumps(payload))

    @classmethod
    def cut(cls, text: str = "Une réponse coupée au milieu", after_words: int = 2) -> Reply:
        """Streams ``after_words`` words, then closes the connection without finishing."""
        return cls("cut", text, cut_after=after_words)


@dataclass
class Received:
    at: float
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeOpenAI:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply.ok()
        self.requests: list[Received] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self._lock:
            self.requests.append(Received(time.monotonic(), body, headers))
            return self._script.popleft() if self._script else self.default

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # the body ends when the connection closes: a cut is a cut

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                reply = fake._next(body, dict(self.headers))
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.kind == "status":
                    self._json(
                        reply.status_code, {"error": {"message": "scripted failure"}}, reply.retry_after
                    )
                elif reply.kind == "raw":
                    self._json(200, json.loads(reply.text))
                elif self.path.endswith("/embeddings"):
                    self._json(200, _embeddings(body))
                elif body.get("stream"):
                    self._stream(reply)
                else:
                    words = reply.text.split()
                    text = " ".join(words[: reply.cut_after]) if reply.kind == "cut" else reply.text
                    if reply.kind == "cut":  # a body shorter than announced
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", "1000")
                        self.end_headers()
                        self.wfile.write(b'{"choices": [{"message": {"content": "' + text.encode())
                        return
                    self._json(200, _completion(body, text))

            def _json(self, code: int, payload: dict[str, Any], retry_after: str | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = reply.text.split()
                if reply.kind == "cut":
                    words = words[: reply.cut_after]
                for i, word in enumerate(words):
                    delta = {"content": word if i == 0 else " " + word}
                    self._event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
                if reply.kind == "cut":
                    return  # connection closes: no finish_reason, no [DONE]
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self.wfile.write(b"data: [DONE]\n\n")

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

        return Handler


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    from comptoir.embedding.fake import FakeEmbedder

    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    vectors = FakeEmbedder(dimension=16).embed(texts)
    return {
        "object": "list",
        "model": body.get("model", "fake"),
        "data": [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)],
    }


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }
