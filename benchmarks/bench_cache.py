"""The semantic cache over HTTP on the demo companies: hit vs miss latency in one run, and the hit rate
on a replay of demo questions with paraphrases.

    python benchmarks/bench_cache.py [--rounds 5]

Latency: each round purges the cache, asks every question once (a miss: retrieval, extractive answer,
store) and once more (a hit). Replay: after a purge the original questions are asked, then paraphrases
(which should hit) and near misses with other numbers or a negation (which must not). Every paraphrase
hit is compared with what the pipeline answers without the cache, by a second process on the same
database with the cache disabled.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from comptoir.app import Comptoir
from comptoir.config import Settings
from comptoir.demo_loader import load_demo
from comptoir.testing.server import serve_in_thread
from figures import summary

# (company, original question, paraphrases that mean the same, near misses that must not be served)
REPLAY: list[tuple[str, str, list[str], list[str]]] = [
    (
        "chez-awa-bebe",
        "Livraison à Cocody c'est combien ?",
        ["C'est combien la livraison à Cocody ?", "Combien coûte la livraison à Cocody ?"],
        ["Livraison à Cocody pour 2 paquets c'est combien ?"],
    ),
    (
        "chez-awa-bebe",
        "Prix lot 300 couches taille 4 ?",
        ["prix lot 300 couches taille 4", "Quel est le prix du lot 300 couches taille 4 ?"],
        ["Prix lot 300 couches taille 5 ?", "Prix lot 150 couches taille 4 ?"],
    ),
    (
        "chez-awa-bebe",
        "Vous acceptez Wave ?",
        ["Est-ce que vous acceptez Wave ?", "vous acceptez wave"],
        ["Vous n'acceptez pas Wave ?"],
    ),
    (
        "chez-awa-bebe",
        "Vous livrez à Abobo ?",
        ["Est-ce que vous livrez à Abobo ?", "vous livrez a Abobo ?"],
        ["Vous ne livrez pas à Abobo ?"],
    ),
    (
        "chez-awa-bebe",
        "Quels sont les horaires de la boutique ?",
        ["Quels sont les horaires de votre boutique ?", "quels sont les horaires de la boutique"],
        [],
    ),
    (
        "boulangerie-croix-rousse",
        "Prix de la tarte aux pralines 8 parts ?",
        ["Quel est le prix de la tarte aux pralines 8 parts ?", "prix tarte aux pralines 8 parts"],
        ["Prix de la tarte aux pralines 6 parts ?"],
    ),
    (
        "boulangerie-croix-rousse",
        "Vous êtes ouverts le dimanche ?",
        ["Êtes-vous ouverts le dimanche ?", "vous etes ouverts le dimanche ?"],
        ["Vous n'êtes pas ouverts le dimanche ?"],
    ),
    (
        "boulangerie-croix-rousse",
        "Vous faites du pain sans gluten ?",
        ["Faites-vous du pain sans gluten ?", "vous faites du pain sans gluten"],
        [],
    ),
    (
        "atelier-mile-end",
        "Combien pour un écran iPhone 13 ?",
        ["Combien coûte un écran iPhone 13 ?", "combien pour un ecran iphone 13"],
        ["Combien pour un écran iPhone 14 ?"],
    ),
    (
        "atelier-mile-end",
        "La garantie dure combien de temps ?",
        ["Combien de temps dure la garantie ?", "la garantie dure combien de temps"],
        [],
    ),
]


def post(http: httpx.Client, key: str, company: str, message: str) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    response = http.post(
        "/v1/chat",
        headers={"Authorization": f"Bearer {key}"},
        json={"company_id": company, "user_id": f"bench-{uuid.uuid4().hex}", "message": message},
    )
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return response.json(), elapsed


def p50(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    home = Path(tempfile.mkdtemp(prefix="comptoir-bench-cache-"))
    cached = Comptoir.open(Settings(home=home))
    uncached = Comptoir.open(Settings(home=home, cache_enabled=False))  # a second process, no cache
    try:
        keys = {company.id: company.api_key for company in load_demo(cached)}
        misses: list[float] = []
        warm_hits: list[float] = []
        cold_hits: list[float] = []
        paraphrase_hits: list[float] = []
        cache_stage: list[float] = []
        differing: list[tuple[str, str, str]] = []
        paraphrases = served = same = reordered = near_misses = wrong = 0
        with (
            serve_in_thread(cached) as url,
            serve_in_thread(uncached) as plain_url,
            httpx.Client(base_url=url, timeout=60) as http,
            httpx.Client(base_url=plain_url, timeout=60) as plain,
        ):

            def purge() -> None:
                for company, key in keys.items():
                    http.delete(f"/v1/companies/{company}/cache", headers={"Authorization": f"Bearer {key}"})

            for round_ in range(args.rounds + 1):  # round 0 warms up and is not counted
                purge()
                for company, question, _, _ in REPLAY:
                    cached.query_embedder.cache.clear()  # a miss pays for embedding the question
                    first, missed = post(http, keys[company], company, question)
                    second, warm = post(http, keys[company], company, question)  # this worker's L1
                    assert cached.answer_cache is not None
                    cached.answer_cache.l1.clear()  # as another worker process would find it
                    cached.query_embedder.cache.clear()
                    third, cold = post(http, keys[company], company, question)
                    assert not first["cached"]
                    assert second["cached"]
                    assert third["cached"]
                    if round_:
                        misses.append(missed)
                        warm_hits.append(warm)
                        cold_hits.append(cold)
                        cache_stage.append(second["timings_ms"]["cache"])

            purge()
            for company, question, _, _ in REPLAY:
                post(http, keys[company], company, question)
            for company, _, variants, negatives in REPLAY:
                for variant in variants:
                    answer, elapsed = post(http, keys[company], company, variant)
                    fresh, _ = post(plain, keys[company], company, variant)
                    paraphrases += 1
                    if answer["cached"]:
                        served += 1
                        paraphrase_hits.append(elapsed)
                        if answer["answer"] == fresh["answer"]:
                            same += 1
                        elif sorted(answer["answer"].splitlines()) == sorted(fresh["answer"].splitlines()):
                            reordered += 1
                        else:
                            differing.append((variant, answer["answer"], fresh["answer"]))
                for negative in negatives:
                    answer, _ = post(http, keys[company], company, negative)
                    near_misses += 1
                    wrong += answer["cached"]

        print(
            f"semantic cache over HTTP, {len(REPLAY)} demo questions x {args.rounds} rounds, "
            "extractive answers"
        )
        print(f"  miss (first ask)              {summary(misses)}")
        print(f"  hit, same worker (L1)         {summary(warm_hits)}   target p95 <= 10 ms")
        print(f"  hit, other worker (database)  {summary(cold_hits)}   exact text, no embedding")
        print(f"  hit, paraphrase (similarity)  {summary(paraphrase_hits)}   embedding + similarity lookup")
        print(
            f"  miss / hit, p50: {p50(misses) / p50(warm_hits):.1f}x and "
            f"{p50(misses) / p50(cold_hits):.1f}x; "
            f"cache stage on a hit, p50 {p50(cache_stage):.2f} ms"
        )
        print(
            f"  replay: exact repeats {len(REPLAY)}/{len(REPLAY)} hits; "
            f"paraphrases {served}/{paraphrases} hits ({served / paraphrases:.0%})"
        )
        print(
            f"  paraphrase hits against the uncached answer: {same} identical, {reordered} the same lines "
            f"in another order, {len(differing)} different"
        )
        print(f"  near misses (other numbers, negation): {wrong}/{near_misses} wrongly served from the cache")
        for variant, from_cache, fresh_answer in differing:
            print(f"  differs for {variant!r}:\n    cached: {from_cache!r}\n    fresh:  {fresh_answer!r}")
    finally:
        uncached.close()
        cached.close()


if __name__ == "__main__":
    main()
