"""Chat latency over HTTP with the extractive answerer (no LLM) on the demo companies.

    python benchmarks/bench_chat.py [--rounds 5]

Each demo question is asked by a fresh user (no follow-up, no memory effect), over a real uvicorn
server, with the answer cache disabled and the query-embedding cache cleared before each request, as
for questions never seen before. The baseline in the same run is the search endpoint on the same
questions: the difference is what the chat stages (memory, prompt, extractive answer, storing the turn)
add to retrieval.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from comptoir.app import Comptoir
from comptoir.config import Settings
from comptoir.demo_loader import load_demo
from comptoir.testing.server import serve_in_thread
from figures import summary

QUESTIONS = {
    "chez-awa-bebe": [
        "Prix lot 300 couches taille 4 ?",
        "Livraison à Cocody c'est combien ?",
        "Vous acceptez Wave ?",
        "horaires de la boutique ?",
        "lait Guigoz 2e âge prix",
        "livraison à Bingerville",
        "retour possible ?",
    ],
    "boulangerie-croix-rousse": [
        "prix de la tarte aux pralines 8 parts",
        "vous êtes ouverts le lundi ?",
        "prix baguette tradition",
        "paiement par titres-restaurant ?",
        "faites-vous du pain sans gluten ?",
    ],
    "atelier-mile-end": [
        "combien pour un écran iPhone 13 ?",
        "garantie ?",
        "batterie MacBook Air M1 prix",
        "heures d'ouverture samedi",
        "diagnostic ordinateur combien ?",
    ],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    # the pipeline itself: the answer cache (measured by bench_cache.py) would serve every later round
    settings = Settings(home=Path(tempfile.mkdtemp(prefix="comptoir-bench-chat-")), cache_enabled=False)
    comptoir = Comptoir.open(settings)
    try:
        keys = {company.id: company.api_key for company in load_demo(comptoir)}
        chat_ms: list[float] = []
        search_ms: list[float] = []
        stages: dict[str, list[float]] = {}
        with serve_in_thread(comptoir) as url, httpx.Client(base_url=url, timeout=60) as http:
            for round_ in range(args.rounds + 1):  # round 0 warms caches and plans, and is not counted
                for company, questions in QUESTIONS.items():
                    headers = {"Authorization": f"Bearer {keys[company]}"}
                    for question in questions:
                        comptoir.query_embedder.cache.clear()  # as for a question never seen before
                        started = time.perf_counter()
                        response = http.post(
                            "/v1/chat",
                            headers=headers,
                            json={
                                "company_id": company,
                                "user_id": f"bench-{uuid.uuid4().hex}",
                                "message": question,
                            },
                        )
                        elapsed = (time.perf_counter() - started) * 1000
                        assert response.status_code == 200, response.text
                        comptoir.query_embedder.cache.clear()
                        started = time.perf_counter()
                        found = http.post(
                            f"/v1/companies/{company}/search",
                            headers=headers,
                            json={"query": question, "k": 5},
                        )
                        searched = (time.perf_counter() - started) * 1000
                        assert found.status_code == 200, found.text
                        if round_:
                            chat_ms.append(elapsed)
                            search_ms.append(searched)
                            for stage, ms in response.json()["timings_ms"].items():
                                stages.setdefault(stage, []).append(ms)
        print(f"chat over HTTP, extractive answers, {len(chat_ms)} questions on 3 demo companies")
        print(f"  chat   (POST /v1/chat)                    {summary(chat_ms)}")
        print(f"  search (POST /v1/companies/ID/search)     {summary(search_ms)}   baseline, same questions")
        print(f"  chat / search, p50: {statistics.median(chat_ms) / statistics.median(search_ms):.2f}")
        print(
            "  median per stage (ms): "
            + "  ".join(f"{stage} {statistics.median(values):.2f}" for stage, values in stages.items())
        )
        print("  reference: the system Comptoir replaces took 68 s per answer and aimed at 5 s")
    finally:
        comptoir.close()


if __name__ == "__main__":
    main()
