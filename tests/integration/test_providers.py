"""The provider chain against a scripted OpenAI-compatible server over real HTTP: retries that honour
Retry-After, timeouts, fallback, broken streams, the deadline and the circuit breaker."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from comptoir.chat.providers import CircuitBreaker, Provider, ProviderChain, ProviderConfig, build_chain
from comptoir.errors import ConfigurationError
from comptoir.testing.fake_openai import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "Prix du lot de 300 ?"}]


@pytest.fixture
def servers() -> Iterator[tuple[FakeOpenAI, FakeOpenAI]]:
    with FakeOpenAI() as first, FakeOpenAI(Reply.ok("Réponse de secours.")) as second:
        yield first, second


def chain_for(*fakes: FakeOpenAI, timeout_s: float = 2.0, cooldown_s: float = 30.0) -> ProviderChain:
    configs = [
        ProviderConfig(name=f"p{i}", base_url=fake.base_url, model="m", timeout_s=timeout_s)
        for i, fake in enumerate(fakes, 1)
    ]
    return build_chain(configs, threshold=3, cooldown_s=cooldown_s)


def test_answers_and_streams(servers: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    first, _ = servers
    chain = chain_for(first)
    assert chain.generate(MESSAGES, deadline=time.monotonic() + 5) == ("Réponse de test.", "p1")
    events = list(chain.stream(MESSAGES, deadline=time.monotonic() + 5))
    assert "".join(e.text for e in events if e.kind == "delta") == "Réponse de test."
    assert events[-1].kind == "done" and events[-1].provider == "p1"
    assert first.requests[0].body["model"] == "m" and first.requests[1].body["stream"] is True


def test_429_waits_for_retry_after_then_succeeds(servers: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    first, second = servers
    first.script(Reply.status(429, retry_after="1"), Reply.ok("Enfin."))
    assert chain_for(first, second).generate(MESSAGES, deadline=time.monotonic() + 10) == ("Enfin.", "p1")
    assert len(first.requests) == 2 and not second.requests
    assert first.requests[1].at - first.requests[0].at >= 0.95


def test_repeated_5xx_falls_back_after_three_attempts(servers: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    first, second = servers
    first.script(*[Reply.status(500)] * 5)
    result = chain_for(first, second).generate(MESSAGES, deadline=time.monotonic() + 10)
    assert result == ("Réponse de secours.", "p2")
    assert len(first.requests) == 3


def test_client_errors_are_not_retried(servers: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    first, second = servers
    first.script(Reply.status(401))
    assert chain_for(first, second).generate(MESSAGES, deadline=time.monotonic() + 10) == (
        "Réponse de secours.",
        "p2",
    )
    assert len(first.requests) == 1


def test_slow_provider_times_out_within_the_deadline(servers: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    first, second = servers
    first.default = Reply.slow(3.0)
    second.default = Reply.slow(3.0)
    started = time.monotonic()
    result = chain_for(first, second, timeout_s=0.5).generate(MESSAGES, deadline=started + 2.0)
    elapsed = time.monotonic() - started
    assert result is None
    assert elapsed < 2.5  # the deadline holds, whatever the providers do
    assert 1 <= len(first.requests) <= 3


def test_retry_after_beyond_the_deadline_moves_on_at_once(servers: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    first, second = servers
    first.script(Reply.status(503, retry_after="60"))
    started = time.monotonic()
    result = chain_for(first, second).generate(MESSAGES, deadline=started + 5)
    assert result == ("Réponse de secours.", "p2")
    assert time.monotonic() - started < 1.5
    assert len(first.requests) == 1


def test_stream_cut_midway_resets_then_falls_back(servers: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    first, second = servers
    first.default = Reply.cut()
    events = list(chain_for(first, second).stream(MESSAGES, deadline=time.monotonic() + 10))
    kinds = [e.kind for e in events]
    assert "reset" in kinds
    after_last_reset = events[len(kinds) - 1 - kinds[::-1].index("reset") + 1 :]
    assert "".join(e.text for e in after_last_reset if e.kind == "delta") == "Réponse de secours."
    assert events[-1].provider == "p2"
    assert len(first.requests) == 3  # each cut attempt retried, at most three


def test_non_streamed_body_cut_midway_is_retried(servers: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    first, _ = servers
    first.script(Reply.cut(), Reply.ok("Entière."))
    assert chain_for(first).generate(MESSAGES, deadline=time.monotonic() + 10) == ("Entière.", "p1")


def test_breaker_opens_after_repeated_failures_and_closes_after_cooldown(
    servers: tuple[FakeOpenAI, FakeOpenAI],
) -> None:
    first, second = servers
    first.default = Reply.status(500)
    chain = chain_for(first, second, cooldown_s=1.0)
    for _ in range(3):
        assert chain.generate(MESSAGES, deadline=time.monotonic() + 10) == ("Réponse de secours.", "p2")
    breaker = chain.providers[0].breaker
    assert breaker.state == "open"
    seen = len(first.requests)
    assert chain.generate(MESSAGES, deadline=time.monotonic() + 10) == ("Réponse de secours.", "p2")
    assert len(first.requests) == seen  # skipped while open
    time.sleep(1.1)
    assert breaker.state == "half-open"
    first.default = Reply.ok("De retour.")
    assert chain.generate(MESSAGES, deadline=time.monotonic() + 10) == ("De retour.", "p1")
    assert breaker.state == "closed"


def test_breaker_counts_failed_requests_not_attempts() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, cooldown_s=10, clock=lambda: now[0])
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow()
    now[0] = 10.5
    assert breaker.state == "half-open"
    breaker.record_failure()  # the trial request failed: open again
    assert breaker.state == "open"


def test_missing_api_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPTOIR_TEST_GROQ_KEY", raising=False)
    config = ProviderConfig(
        name="groq", base_url="http://127.0.0.1:9/v1", model="m", api_key_env="COMPTOIR_TEST_GROQ_KEY"
    )
    with pytest.raises(ConfigurationError, match="COMPTOIR_TEST_GROQ_KEY"):
        Provider(config, breaker=CircuitBreaker())


def test_api_key_is_sent_as_bearer(
    servers: tuple[FakeOpenAI, FakeOpenAI], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = servers
    monkeypatch.setenv("COMPTOIR_TEST_KEY", "sk-test-123")
    config = ProviderConfig(name="p", base_url=first.base_url, model="m", api_key_env="COMPTOIR_TEST_KEY")
    chain = ProviderChain([Provider(config, breaker=CircuitBreaker())])
    chain.generate(MESSAGES, deadline=time.monotonic() + 5)
    assert first.requests[0].headers["Authorization"] == "Bearer sk-test-123"
