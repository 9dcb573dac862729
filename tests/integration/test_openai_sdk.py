"""The official openai SDK, unchanged, against Comptoir's OpenAI-compatible endpoints over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from comptoir.app import Comptoir
from comptoir.testing.server import serve_in_thread

DOCS = [
    {"title": "livraison", "text": "Livraison à Cocody : 1 500 FCFA.\n\nLivraison à Abobo : 2 500 FCFA."},
    {"title": "catalogue", "text": "Couches taille 4, lot de 300 : 45 000 F"},
]


@pytest.fixture
def served(comptoir: Comptoir) -> Iterator[tuple[str, str, str]]:
    _, key = comptoir.companies.create(company_id="awa", name="Chez Awa", language="fr")
    _, other = comptoir.companies.create(company_id="bob", name="Bob", language="fr")
    from comptoir.ingest.loaders import parse_text

    comptoir.documents.ingest(
        tenant_id="awa", documents=[parse_text(d["title"], d["text"], source=None, metadata={}) for d in DOCS]
    )
    with serve_in_thread(comptoir) as url:
        yield url, key, other


def test_sdk_lists_models_and_completes(served: tuple[str, str, str]) -> None:
    url, key, _ = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    assert [m.id for m in client.models.list()] == ["awa"]
    completion = client.chat.completions.create(
        model="awa",
        user="sdk-user",
        messages=[
            {"role": "system", "content": "ignored"},
            {"role": "user", "content": "Livraison à Cocody ?"},
        ],
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].finish_reason == "stop"
    content = completion.choices[0].message.content
    assert content is not None and "1 500 FCFA" in content
    extra = completion.model_extra or {}
    assert extra["comptoir"]["provider"] == "extractive" and extra["comptoir"]["sources"]


def test_sdk_streams(served: tuple[str, str, str]) -> None:
    url, key, _ = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    stream = client.chat.completions.create(
        model="awa", user="sdk-user", stream=True, messages=[{"role": "user", "content": "prix lot 300 ?"}]
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "45 000 F" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    # the conversation was remembered under the SDK's `user`
    turns = httpx.get(
        f"{url}/v1/companies/awa/conversations/sdk-user", headers={"Authorization": f"Bearer {key}"}
    )
    assert [t["question"] for t in turns.json()["turns"]] == ["prix lot 300 ?"]


def test_sdk_sees_errors_as_errors(served: tuple[str, str, str]) -> None:
    url, key, other = served
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="bob", messages=[{"role": "user", "content": "x"}])
    bob = openai.OpenAI(base_url=f"{url}/v1", api_key=other, max_retries=0)
    assert [m.id for m in bob.models.list()] == ["bob"]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{url}/v1", api_key="cpt_awa.wrong", max_retries=0).models.list()
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(
            model="awa", messages=[{"role": "assistant", "content": "no question"}]
        )
