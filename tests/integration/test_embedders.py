"""The embedding backends against each other and against real HTTP endpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from comptoir.embedding.base import Embedder
from comptoir.embedding.onnx import INT8_RECIPE, OnnxEmbedder
from comptoir.embedding.remote import EmbeddingServiceError, RemoteEmbedder
from comptoir.embedding.sentence import SentenceTransformerEmbedder, default_model_dir
from comptoir.testing.fake_openai import FakeOpenAI, Reply
from tests.integration.conftest import MakeComptoir, add_documents, bearer, create_company

TEXTS = [
    "Livraison à Cocody : 1 500 FCFA, livré en 2 à 4 heures.",
    "Produit: Couches bébé; Marque: Pampers Baby-Dry; Taille: T4; Quantité: Lot de 300; Prix: 45 000 F",
    "Toutes nos réparations sont garanties 90 jours, pièces et main-d'œuvre.",
    "x",
    " ".join(["Un paragraphe plus long sur les horaires et la livraison."] * 30),
]


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return SentenceTransformerEmbedder(device="cpu")


def test_onnx_gives_the_pytorch_vectors_in_the_callers_order(
    model_cache: Path, torch_embedder: Embedder
) -> None:
    fp32 = OnnxEmbedder(default_model_dir(), cache_dir=model_cache)
    assert fp32.name == "onnx:all-MiniLM-L6-v2" and fp32.model_id == torch_embedder.model_id
    vectors, reference = fp32.embed(TEXTS), torch_embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert np.min(np.sum(vectors * reference, axis=1)) > 0.9999
    assert np.allclose(fp32.embed_query(TEXTS[1]), vectors[1], atol=1e-5)


def test_the_default_int8_stays_close_and_keeps_the_sensitive_matmuls_in_float(
    real_embedder: Embedder, model_cache: Path, torch_embedder: Embedder
) -> None:
    assert real_embedder.name == "onnx-int8:all-MiniLM-L6-v2"
    assert real_embedder.model_id == torch_embedder.model_id
    vectors = real_embedder.embed(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    # cosines to fp32 here: 0.984-0.998, mean 0.994 (int8 in every MatMul: 0.977-0.992, mean 0.988)
    cosines = np.sum(vectors * torch_embedder.embed(TEXTS), axis=1)
    assert np.min(cosines) > 0.98 and np.mean(cosines) > 0.99
    # activations are quantized with one range per batch, so a text's vector moves a little with its
    # batch-mates (fp32 gives the same vector alone and in a batch; see the test above)
    alone = np.stack([real_embedder.embed_query(text) for text in TEXTS])
    assert np.min(np.sum(alone * vectors, axis=1)) > 0.975  # 0.980 at worst, for "x" (int8 everywhere: 0.971)
    assert np.array_equal(real_embedder.embed(TEXTS), vectors)  # the same batch, the same vectors
    (model,) = model_cache.glob(f"*-{INT8_RECIPE}.onnx")
    graph = onnx.load(str(model)).graph
    weights = {tensor.name for tensor in graph.initializer}
    in_float = [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights]
    assert in_float == [f"/inner/encoder/layer.{i}/output/dense/MatMul" for i in range(6)]
    assert sum(n.op_type == "MatMulInteger" for n in graph.node) == 30


def test_remote_backend_batches_and_retries() -> None:
    with FakeOpenAI() as fake:
        embedder = RemoteEmbedder(fake.base_url, "bge-m3", batch_size=2, sleep=lambda _: None)
        assert (embedder.dimension, embedder.model_id) == (16, "bge-m3/16")
        fake.script(Reply.status(429, retry_after="0"))
        vectors = embedder.embed(["a b", "c d", "e f", "a b"])
        assert vectors.shape == (4, 16) and np.allclose(vectors[0], vectors[3])
        bodies = [r.body for r in fake.requests[1:]]
        assert [len(b["input"]) for b in bodies] == [2, 2, 2]  # the 429 retried, then two batches
        assert bodies[0]["model"] == "bge-m3"
        fake.script(*[Reply.status(503)] * 3)
        with pytest.raises(EmbeddingServiceError, match="HTTP 503"):
            embedder.embed(["again"])
        fake.script(Reply.status(400))
        with pytest.raises(EmbeddingServiceError, match="HTTP 400"):
            embedder.embed(["bad"])
        embedder.close()


def test_another_model_is_refused_until_reembed(make_comptoir: MakeComptoir, fake_embedder: Embedder) -> None:
    old = make_comptoir(embedder=fake_embedder)
    with TestClient(create_app(old)) as client:
        key = create_company(client, "awa")
        add_documents(client, "awa", key, {"title": "livraison", "text": "Livraison à Cocody : 1 500 FCFA."})
    assert old.models.recorded(tenant_id="awa") == "fake/384"
    new = make_comptoir()  # the ONNX all-MiniLM-L6-v2
    with TestClient(create_app(new)) as client:
        for response in (
            client.post("/v1/companies/awa/search", json={"query": "livraison", "k": 1}, headers=bearer(key)),
            client.post(
                "/v1/chat",
                json={"company_id": "awa", "user_id": "u", "message": "livraison ?"},
                headers=bearer(key),
            ),
            client.post(
                "/v1/companies/awa/documents",
                json={"documents": [{"title": "b", "text": "Abobo 2 500 F"}]},
                headers=bearer(key),
            ),
        ):
            assert response.status_code == 409, response.text
            assert response.json()["error"]["code"] == "embedding_model_mismatch"
            assert "comptoir reembed --company awa" in response.json()["error"]["message"]
        version = client.get("/v1/companies/awa", headers=bearer(key)).json()["knowledge_version"]
        assert new.models.reembed(tenant_id="awa") == 1
        assert new.models.recorded(tenant_id="awa") == "all-MiniLM-L6-v2/384"
        assert client.get("/v1/companies/awa", headers=bearer(key)).json()["knowledge_version"] == version + 1
        found = client.post(
            "/v1/companies/awa/search", json={"query": "livraison Cocody", "k": 1}, headers=bearer(key)
        )
        assert found.status_code == 200 and "1 500 FCFA" in found.json()["results"][0]["text"]


def test_remote_backend_reports_malformed_answers() -> None:
    with FakeOpenAI() as fake:
        embedder = RemoteEmbedder(fake.base_url, "m", sleep=lambda _: None)
        fake.script(Reply.raw({"object": "list", "embeddings": [[0.1, 0.2]]}))
        with pytest.raises(EmbeddingServiceError, match="malformed"):
            embedder.embed(["x"])
        embedder.close()
