"""CORS for chat keys, answered per key.

A browser's preflight carries no key, so it is answered for the chat routes to any origin; the real
request then carries the key, whose origins decide (403 for an origin it does not name), and only an
allowed origin gets ``Access-Control-Allow-Origin`` back. Admin routes never get CORS headers: admin keys
do not belong in web pages.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: routes a chat key may use from a web page
CHAT_PATHS = frozenset({"/v1/chat", "/v1/chat/completions", "/v1/models", "/v1/chat/feedback"})
ALLOW_HEADERS = "Authorization, Content-Type"
MAX_AGE_S = "600"


class PerKeyCors:
    def __init__(self, app: ASGIApp, *, state_key: str) -> None:
        self.app = app
        self.state_key = state_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in CHAT_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            await self._preflight(origin, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                allowed = scope.get("state", {}).get(self.state_key)
                if allowed:
                    out = MutableHeaders(scope=message)
                    out["Access-Control-Allow-Origin"] = allowed
                    out["Access-Control-Expose-Headers"] = "Retry-After"
                    out.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    async def _preflight(origin: str, send: Send) -> None:
        headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
            (b"access-control-max-age", MAX_AGE_S.encode()),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
