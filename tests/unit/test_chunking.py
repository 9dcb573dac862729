from __future__ import annotations

import itertools

from comptoir.ingest.chunking import Chunker, estimate_tokens


def test_headings_become_a_path_prefix_and_split_sections() -> None:
    text = (
        "# Livraison\n\nIntro.\n\n## Abidjan\n\nCocody 1500 F.\n\n"
        "## Intérieur\n\nPar car.\n\n# Paiement\n\nWave."
    )
    assert Chunker().split(text) == [
        "Livraison\nIntro.",
        "Livraison > Abidjan\nCocody 1500 F.",
        "Livraison > Intérieur\nPar car.",
        "Paiement\nWave.",
    ]


def test_paragraphs_are_packed_up_to_the_budget_with_overlap() -> None:
    paragraphs = [f"Phrase {i} un deux trois quatre cinq six sept huit." for i in range(40)]
    chunks = Chunker(max_tokens=60, overlap_tokens=20).split("\n\n".join(paragraphs))
    assert len(chunks) > 5
    assert all(estimate_tokens(c) <= 60 for c in chunks)
    for previous, current in itertools.pairwise(chunks):
        # each chunk starts with the last sentence of the one before it
        assert current.split("\n\n")[0] == previous.split("\n\n")[-1]
    assert all(p in "\n".join(chunks) for p in paragraphs)


def test_an_oversized_paragraph_is_split_at_sentences_then_words() -> None:
    long_sentence = " ".join(f"mot{i}" for i in range(500))
    text = "Courte phrase. " + long_sentence + ". Fin."
    chunks = Chunker(max_tokens=100, overlap_tokens=0).split(text)
    assert all(estimate_tokens(c) <= 100 for c in chunks)
    words = " ".join(chunks).replace("\n\n", " ").split()
    assert [w for w in words if w.startswith("mot")] == [f"mot{i}" for i in range(499)] + ["mot499."]


def test_blank_text_gives_no_chunks() -> None:
    assert Chunker().split("\n\n  \n") == []
