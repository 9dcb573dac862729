"""Search modes, the BEIR evaluation command and the embedding benchmark helpers."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from click.testing import CliRunner

from comptoir.app import Comptoir
from comptoir.cli import main
from comptoir.embedding.base import Vectors
from comptoir.embedding.benchmark import measure, sample_texts
from comptoir.embedding.fake import FakeEmbedder
from comptoir.ingest.loaders import parse_text
from tests.conftest import ADMIN_KEY, ClonedDatabase

DOCS = {
    "d1": ("Photosynthesis", "Chloroplasts convert light energy into chemical energy in plant leaves."),
    "d2": ("Vaccines", "Vaccination trains the immune system to recognise a pathogen before infection."),
    "d3": ("Volcanoes", "Magma rises through the crust and erupts as lava and volcanic ash."),
    "d4": ("Tides", "The gravitational pull of the moon causes the rise and fall of ocean tides."),
    "d5": ("Bread", "Yeast ferments sugars in dough, releasing carbon dioxide that makes bread rise."),
}
QUERIES = {
    "q1": ("how do plants turn light into chemical energy", "d1"),
    "q2": ("what makes ocean tides rise and fall", "d4"),
    "q3": ("why does bread dough rise with yeast", "d5"),
}


def test_search_modes_use_one_leg_or_both(comptoir: Comptoir) -> None:
    comptoir.companies.create(company_id="sci", name="sci", language="en")
    comptoir.documents.ingest(
        tenant_id="sci", documents=[parse_text(t, x, source=i, metadata={}) for i, (t, x) in DOCS.items()]
    )
    vector = comptoir.embedder.embed_query("volcanic lava")
    dense = comptoir.searcher.search_vector(
        tenant_id="sci", query="volcanic lava", vector=vector, k=5, mode="dense"
    )
    fulltext = comptoir.searcher.search_vector(
        tenant_id="sci", query="volcanic lava", vector=vector, k=5, mode="fulltext"
    )
    hybrid = comptoir.searcher.search_vector(tenant_id="sci", query="volcanic lava", vector=vector, k=5)
    assert len(dense) == 5 and all(h.dense_rank is not None for h in dense)
    assert [h.title for h in fulltext] == ["Volcanoes"] and fulltext[0].lexical_rank == 1
    assert hybrid[0].title == "Volcanoes" and len(hybrid) == 5


def test_eval_retrieval_on_a_beir_folder(test_db: ClonedDatabase, tmp_path: Path) -> None:
    folder = tmp_path / "tiny-beir"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "\n".join(json.dumps({"_id": i, "title": t, "text": x}) for i, (t, x) in DOCS.items()),
        encoding="utf-8",
    )
    (folder / "queries.jsonl").write_text(
        "\n".join(json.dumps({"_id": q, "text": text}) for q, (text, _) in QUERIES.items()), encoding="utf-8"
    )
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t1\n" for q, (_, d) in QUERIES.items()),
        encoding="utf-8",
    )
    env = {
        "COMPTOIR_HOME": str(tmp_path / "home"),
        "COMPTOIR_DATABASE_URL": test_db.owner_url,
        "COMPTOIR_APP_DB_PASSWORD": "unused-with-local-trust",
        "COMPTOIR_ADMIN_KEY": ADMIN_KEY,
    }
    weights = ["--dense-weight", "1", "--dense-weight", "0"]
    result = CliRunner().invoke(main, ["eval", "retrieval", "--dataset", str(folder), *weights], env=env)
    assert result.exit_code == 0, result.output
    lines = {
        line.split()[0]: line
        for line in result.output.splitlines()
        if line.split()[:1] and line.split()[0].split("@")[0] in ("dense", "fulltext", "hybrid")
    }
    assert list(lines) == ["dense", "fulltext", "hybrid", "hybrid@1.00", "hybrid@0.00"]

    def metrics(label: str) -> list[str]:
        return lines[label].split("search p50")[0].split()[1:]  # the latency column aside

    # all of the fusion to one leg ranks as that leg alone
    assert metrics("hybrid@1.00") == metrics("dense") and metrics("hybrid@0.00") == metrics("fulltext")
    for mode in ("dense", "hybrid"):
        ndcg = float(re.search(r"nDCG@10 ([0-9.]+)", lines[mode]).group(1))  # type: ignore[union-attr]
        assert ndcg == 1.0, lines[mode]
    assert "5 documents, 3 queries (test)" in result.output
    listed = CliRunner().invoke(main, ["company", "list"], env=env)
    assert "eval-" not in listed.output  # the evaluation company is removed afterwards
    missing = CliRunner().invoke(main, ["eval", "retrieval", "--dataset", str(tmp_path)], env=env)
    assert missing.exit_code == 1 and "not a BEIR dataset" in missing.output


class SlowEmbedder(FakeEmbedder):
    name = "slow:fake"

    def _embed_batch(self, texts: list[str]) -> Vectors:
        time.sleep(0.002 * len(texts))
        return super()._embed_batch(texts)


def test_embed_benchmark_measures_on_demo_texts() -> None:
    texts = sample_texts(64)
    assert len(texts) == 64 and len(set(texts)) == 64
    speed, slower = measure([FakeEmbedder(), SlowEmbedder()], texts, rounds=2)
    assert speed.backend == "fake" and slower.backend == "slow"
    assert speed.chunks_per_s > 0 and speed.query_p50_ms > 0
    assert slower.chunks_per_s < 500 < speed.chunks_per_s and slower.query_p50_ms >= 2
    assert speed.line(baseline=speed).startswith("fake") and "x1.00 vs fake" in speed.line(baseline=speed)
    assert slower.line(baseline=speed).startswith("slow") and "vs fake" in slower.line(baseline=speed)
