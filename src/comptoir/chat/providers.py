"""An ordered chain of OpenAI-compatible chat providers (Groq, OpenAI, vLLM, Ollama, llama.cpp server...):
one HTTP client, different base URLs.

Each request has a total deadline. Inside it, a provider gets at most ``max_attempts`` attempts, each
with its own timeout (seconds, not an SDK's 600 s default); 429 and 5xx answers, timeouts and broken
connections are retried after ``Retry-After`` (or a short backoff) when the deadline allows, else the
next provider is tried. A circuit breaker skips a provider after repeated failed requests and lets one
request through again after a cool-down. When every provider fails, the caller falls back to the
extractive answerer.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx
from pydantic import BaseModel, Field

from comptoir.errors import ConfigurationError
from comptoir.observability.metrics import count_provider_attempt, set_breaker_state

logger = logging.getLogger(__name__)

Messages = list[dict[str, str]]
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class ProviderConfig(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    base_url: str = Field(description="up to /v1, e.g. https://api.groq.com/openai/v1")
    model: str
    api_key_env: str | None = Field(default=None, description="environment variable holding the key")
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    max_attempts: int = Field(default=3, ge=1, le=3)
    temperature: float = Field(default=0.2, ge=0, le=2)
    max_tokens: int = Field(default=400, ge=1, le=8192)


#: why an attempt failed, in a few words fit for a metric's label
FailureKind = Literal["timeout", "rate_limited", "http_error", "connection", "malformed", "incomplete"]


class AttemptFailed(Exception):
    def __init__(
        self, reason: str, *, kind: FailureKind, retryable: bool, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.retryable = retryable
        self.retry_after = retry_after


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # unreadable: fall back to our own backoff
    return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failed requests; after ``cooldown_s`` lets one through."""

    def __init__(
        self, *, threshold: int = 3, cooldown_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ):
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._lock = threading.Lock()

    @property
    def state(self) -> Literal["closed", "open", "half-open"]:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "open" if self._clock() < self._opened_at + self.cooldown_s else "half-open"

    def allow(self) -> bool:
        return self.state != "open"

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._opened_at = None

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= self.threshold:
                self._opened_at = self._clock()


class Provider:
    """One OpenAI-compatible endpoint."""

    def __init__(
        self, config: ProviderConfig, *, breaker: CircuitBreaker, transport: httpx.BaseTransport | None = None
    ):
        self.config = config
        self.name = config.name
        self.breaker = breaker
        headers = {"Content-Type": "application/json"}
        if config.api_key_env:
            key = os.environ.get(config.api_key_env)
            if not key:
                raise ConfigurationError(
                    f"provider {config.name!r} needs an API key: "
                    f"set the environment variable {config.api_key_env}"
                )
            headers["Authorization"] = f"Bearer {key}"
        self._client = httpx.Client(
            base_url=config.base_url.rstrip("/"), headers=headers, transport=transport
        )

    def close(self) -> None:
        self._client.close()

    def _body(self, messages: Messages, *, stream: bool) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "messages": messages,
            "stream": stream,
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
        }

    @staticmethod
    def _check(response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise AttemptFailed(
            f"HTTP {response.status_code}",
            kind="rate_limited" if response.status_code == 429 else "http_error",
            retryable=response.status_code in RETRYABLE_STATUS,
            retry_after=retry_after,
        )

    def complete(self, messages: Messages, *, timeout: float) -> str:
        try:
            response = self._client.post(
                "/chat/completions", json=self._body(messages, stream=False), timeout=timeout
            )
            self._check(response)
            content = response.json()["choices"][0]["message"]["content"]
        except httpx.TimeoutException as exc:
            raise AttemptFailed(f"timed out after {timeout:.1f} s", kind="timeout", retryable=True) from exc
        except httpx.TransportError as exc:
            raise AttemptFailed(f"connection failed: {exc}", kind="connection", retryable=True) from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise AttemptFailed(f"malformed response: {exc}", kind="malformed", retryable=False) from exc
        if not isinstance(content, str) or not content.strip():
            raise AttemptFailed("empty answer", kind="incomplete", retryable=True)
        return content.strip()

    def stream(self, messages: Messages, *, timeout: float) -> Iterator[str]:
        """Token deltas; raises AttemptFailed when the stream breaks or ends without finishing."""
        ends_at = time.monotonic() + timeout
        finished = False
        try:
            with self._client.stream(
                "POST", "/chat/completions", json=self._body(messages, stream=True), timeout=timeout
            ) as response:
                self._check(response)
                for line in response.iter_lines():
                    if time.monotonic() > ends_at:
                        raise AttemptFailed(
                            f"stream exceeded {timeout:.1f} s", kind="timeout", retryable=True
                        )
                    if not line.startswith("data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        finished = True
                        break
                    choice = json.loads(payload)["choices"][0]
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        yield delta
                    if choice.get("finish_reason"):
                        finished = True
        except httpx.TimeoutException as exc:
            raise AttemptFailed(f"timed out after {timeout:.1f} s", kind="timeout", retryable=True) from exc
        except httpx.TransportError as exc:
            raise AttemptFailed(f"stream broken: {exc}", kind="connection", retryable=True) from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise AttemptFailed(f"malformed stream: {exc}", kind="malformed", retryable=False) from exc
        if not finished:
            raise AttemptFailed(
                "stream ended before the answer was complete", kind="incomplete", retryable=True
            )


Answer = TypeVar("Answer")


@dataclass(frozen=True)
class StreamEvent(Generic[Answer]):
    """One event of a streamed answer, one type from the provider chain to the HTTP response: ``delta``
    carries text, ``reset`` voids the text sent so far (a provider broke mid-answer), ``done`` ends the
    stream. From the chain, ``done`` names the provider that answered (None: none did); from the chat
    pipeline, it carries the whole answer (``StreamEvent[ChatAnswer]``)."""

    kind: Literal["delta", "reset", "done"]
    text: str = ""
    provider: str | None = None
    answer: Answer | None = None


class _Run:
    """The attempts of one request: yields (provider, timeout) while breakers, retries and the deadline
    allow; the caller reports each attempt's outcome with ``failed`` or ``succeeded``."""

    def __init__(self, chain: ProviderChain, deadline: float) -> None:
        self.chain = chain
        self.deadline = deadline
        self._error: AttemptFailed | None = None
        self._done = False

    def failed(self, provider: Provider, error: AttemptFailed) -> None:
        logger.warning("provider attempt failed", extra={"provider": provider.name, "error": str(error)})
        count_provider_attempt(provider.name, error.kind)
        self._error = error

    def succeeded(self, provider: Provider) -> None:
        provider.breaker.record_success()
        count_provider_attempt(provider.name, "success")
        set_breaker_state(provider.name, provider.breaker.state)
        self._done = True

    def __iter__(self) -> Iterator[tuple[Provider, float]]:
        clock = self.chain.clock
        for provider in self.chain.providers:
            # published whenever the breaker is consulted: an open one turns half-open with time alone
            set_breaker_state(provider.name, provider.breaker.state)
            if not provider.breaker.allow():
                logger.warning("provider skipped: circuit open", extra={"provider": provider.name})
                continue
            for attempt in range(provider.config.max_attempts):
                remaining = self.deadline - clock()
                if remaining <= 0.05:
                    return
                self._error = None
                yield provider, min(provider.config.timeout_s, remaining)
                if self._done:
                    return
                error = self._error
                if error is None or not error.retryable or attempt + 1 == provider.config.max_attempts:
                    break
                wait = error.retry_after if error.retry_after is not None else 0.25 * 2**attempt
                if clock() + wait >= self.deadline - 0.05:
                    logger.info(
                        "retry would pass the deadline", extra={"provider": provider.name, "wait_s": wait}
                    )
                    break
                self.chain.sleep(wait)
            provider.breaker.record_failure()
            set_breaker_state(provider.name, provider.breaker.state)


class ProviderChain:
    def __init__(
        self,
        providers: list[Provider],
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.providers = providers
        self.sleep = sleep
        self.clock = clock

    def close(self) -> None:
        for provider in self.providers:
            provider.close()

    def generate(self, messages: Messages, *, deadline: float) -> tuple[str, str] | None:
        """(answer, provider name), or None when no provider answered before the deadline."""
        run = _Run(self, deadline)
        for provider, timeout in run:
            try:
                text = provider.complete(messages, timeout=timeout)
            except AttemptFailed as error:
                run.failed(provider, error)
                continue
            run.succeeded(provider)
            return text, provider.name
        return None

    def stream(self, messages: Messages, *, deadline: float) -> Iterator[StreamEvent[None]]:
        """Deltas of the first provider that completes; a ``reset`` event when a stream broke after some
        deltas (the client drops what it has); ``done`` names the provider, or None if all failed."""
        run = _Run(self, deadline)
        for provider, timeout in run:
            sent = False
            try:
                for delta in provider.stream(messages, timeout=timeout):
                    sent = True
                    yield StreamEvent("delta", delta, provider.name)
            except AttemptFailed as error:
                run.failed(provider, error)
                if sent:
                    yield StreamEvent("reset")
                continue
            run.succeeded(provider)
            yield StreamEvent("done", provider=provider.name)
            return
        yield StreamEvent("done")


def build_chain(configs: list[ProviderConfig], *, threshold: int, cooldown_s: float) -> ProviderChain:
    return ProviderChain(
        [Provider(c, breaker=CircuitBreaker(threshold=threshold, cooldown_s=cooldown_s)) for c in configs]
    )
