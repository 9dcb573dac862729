"""A remote OpenAI-compatible ``/v1/embeddings`` endpoint (text-embeddings-inference, vLLM, Infinity,
OpenAI): one GPU embedding server shared by many API processes. Batched, with a timeout per request and
up to three attempts on 429, 5xx and broken connections, honouring Retry-After."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

import httpx
import numpy as np

from comptoir.chat.providers import RETRYABLE_STATUS, parse_retry_after
from comptoir.embedding.base import Embedder, Vectors
from comptoir.errors import ConfigurationError, ServiceError

logger = logging.getLogger(__name__)
MAX_ATTEMPTS = 3


class EmbeddingServiceError(ServiceError):
    code = "embedding_unavailable"


class RemoteEmbedder(Embedder):
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = None,
        timeout_s: float = 10.0,
        batch_size: int = 64,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(batch_size=batch_size)
        headers = {}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise ConfigurationError(
                    f"the embedding endpoint needs a key: set the environment variable {api_key_env}"
                )
            headers["Authorization"] = f"Bearer {key}"
        self.model = model
        self.timeout_s = timeout_s
        self._sleep = sleep
        self._client = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, transport=transport)
        self.name = f"remote:{model}"
        self.dimension = int(self._embed_batch(["dimension probe"]).shape[1])

    def close(self) -> None:
        self._client.close()

    def _embed_batch(self, texts: list[str]) -> Vectors:
        last = "no attempt"
        for attempt in range(MAX_ATTEMPTS):
            wait = 0.25 * 2**attempt
            try:
                response = self._client.post(
                    "/embeddings", json={"model": self.model, "input": texts}, timeout=self.timeout_s
                )
            except httpx.TransportError as exc:  # timeouts included
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 400:
                    try:
                        data = sorted(response.json()["data"], key=lambda item: item["index"])
                        return np.asarray([item["embedding"] for item in data], dtype=np.float32)
                    except (ValueError, KeyError, TypeError) as exc:
                        raise EmbeddingServiceError(
                            f"the embedding endpoint answered malformed data: {exc}"
                        ) from exc
                last = f"HTTP {response.status_code}"
                if response.status_code not in RETRYABLE_STATUS:
                    break
                wait = parse_retry_after(response.headers.get("retry-after")) or wait
            logger.warning("embedding request failed", extra={"attempt": attempt + 1, "error": last})
            if attempt + 1 < MAX_ATTEMPTS:
                self._sleep(min(wait, self.timeout_s))
        raise EmbeddingServiceError(f"the embedding endpoint failed: {last}")
