"""Company facts: exact-number accuracy on the labelled demo questions, and extraction time.

    python benchmarks/bench_facts.py

Accuracy: every question of comptoir/demo/questions.json through the chat pipeline (extractive, no
LLM, no cache), counted right when the answer contains the exact expected figure, and when its first
line does; the baseline in the same run is the same pipeline without the facts stage. Extraction: a
generated 1,000-row catalog, in memory and through the database (learning conventions and storing
facts for the whole company, as ingestion does).
"""

from __future__ import annotations

import json
import logging
import random
import statistics
import tempfile
import time
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

from comptoir.app import Comptoir
from comptoir.chat.pipeline import ChatPipeline
from comptoir.config import Settings
from comptoir.demo_loader import load_demo
from comptoir.facts.extract import extract_facts
from comptoir.facts.money import Conventions
from comptoir.ingest.chunking import Chunker
from comptoir.ingest.loaders import parse_file


def accuracy(pipeline: ChatPipeline, questions: list[dict[str, Any]]) -> tuple[float, float, list[str]]:
    anywhere = first = 0
    missed = []
    for item in questions:
        answer = pipeline.answer(
            tenant_id=item["company"], user_id=uuid.uuid4().hex, message=item["question"]
        )
        lines = answer.answer.splitlines()
        # the first quoted line: after the intro when the answer lists several
        quoted = lines[1] if len(lines) > 1 and lines[0].endswith(":") else lines[0]
        anywhere += item["expected"] in answer.answer
        first += item["expected"] in quoted
        if item["expected"] not in answer.answer:
            missed.append(item["question"])
    return anywhere / len(questions), first / len(questions), missed


def catalog(rows: int) -> bytes:
    rng = random.Random(1)
    lines = ["Produit;Marque;Taille;Quantité;Prix"]
    for _ in range(rows):
        lot = rng.choice(["Paquet de 50", "Lot de 150", "Lot de 300"])
        lines.append(
            f"Couches;{rng.choice(['Pampers', 'Molfix', 'Huggies'])};T{rng.randint(1, 6)};{lot};"
            f"{rng.randint(5, 60) * 500:,} F".replace(",", " ")
        )
    return "\n".join(lines).encode()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    comptoir = Comptoir.open(
        Settings(home=Path(tempfile.mkdtemp(prefix="comptoir-bench-facts-")), cache_enabled=False)
    )
    try:
        load_demo(comptoir)
        questions = json.loads(
            (resources.files("comptoir") / "demo" / "questions.json").read_text(encoding="utf-8")
        )
        with_facts = accuracy(comptoir.chat, questions)
        without = ChatPipeline(
            settings=comptoir.settings,
            companies=comptoir.companies,
            embedder=comptoir.query_embedder,
            searcher=comptoir.searcher,
            memory=comptoir.conversations,
            prompts=comptoir.prompts,
            chain=None,
        )
        baseline = accuracy(without, questions)
        print(
            f"exact-number accuracy on {len(questions)} labelled demo questions "
            "(extractive, no LLM, no cache)"
        )
        print(
            f"  with facts     in the answer {with_facts[0]:6.1%}   first line {with_facts[1]:6.1%}   "
            "target >= 95%"
        )
        print(f"  without facts  in the answer {baseline[0]:6.1%}   first line {baseline[1]:6.1%}   baseline")
        for question in with_facts[2]:
            print(f"  missed with facts: {question!r}")

        doc = parse_file("catalogue.csv", catalog(1000))
        conventions = Conventions(currency="XOF")
        runs = []
        for _ in range(7):
            started = time.perf_counter()
            facts = extract_facts(Chunker().chunk_blocks(doc.blocks), conventions)
            runs.append((time.perf_counter() - started) * 1000)
        assert len(facts) == 1000
        comptoir.companies.create(company_id="facts-bench", name="bench", language="fr")
        comptoir.documents.ingest(tenant_id="facts-bench", documents=[doc])
        stored = []
        for _ in range(5):
            started = time.perf_counter()
            count = comptoir.fact_store.relearn_all(tenant_id="facts-bench")
            stored.append((time.perf_counter() - started) * 1000)
        assert count == 1000
        print("extraction per 1,000 catalog rows")
        print(f"  in memory                              median {statistics.median(runs):7.1f} ms")
        print(f"  learn + store in the database (relearn) median {statistics.median(stored):7.1f} ms")
        print("  reference: the replaced system answered price questions right about half the time")
    finally:
        comptoir.close()


if __name__ == "__main__":
    main()
