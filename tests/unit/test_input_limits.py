"""Input limits without a database: JSON depth, lone surrogates, cleaning of each kind of field, the
limits of the readers, strict request schemas, and the parsing workers' budgets."""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import pytest
from pydantic import ValidationError

from comptoir.api.limits import lone_surrogate
from comptoir.api.schemas import (
    CacheSettingsIn,
    ChatIn,
    CompanyCreate,
    DocumentIn,
    OpenAIChatIn,
    SearchIn,
    read_documents,
)
from comptoir.cleaning import clean_content, clean_label, forbidden_in_identifier
from comptoir.errors import InvalidInput, PayloadTooLarge
from comptoir.ingest.chunking import Chunker
from comptoir.ingest.isolation import Budget, JsonDocuments, ParsingPool, UploadedFiles
from comptoir.ingest.limits import InputLimits, check_metadata, json_depth
from comptoir.ingest.loaders import html_to_text, parse_file, parse_text

HOSTILE_HTML = "<p>hi</p>" + "<a " * 8000  # 24 KB: 7.5 s with html.parser


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


def _random_json(rnd: random.Random, level: int = 0) -> Any:
    roll = rnd.random()
    if level > 6 or roll < 0.3:
        return rnd.choice(['a"b', "\\", "[{", 1, None, '\\"', "]", '\\\\"[', "é[{", "😀"])
    if roll < 0.65:
        return [_random_json(rnd, level + 1) for _ in range(rnd.randint(0, 3))]
    keys = ("k", "[", '\\"')
    return {rnd.choice(keys) + str(i): _random_json(rnd, level + 1) for i in range(rnd.randint(0, 3))}


def test_json_depth_matches_the_parsed_value_whatever_the_strings_hold() -> None:
    rnd = random.Random(7)
    for _ in range(2000):
        value = _random_json(rnd)
        text = json.dumps(value, ensure_ascii=rnd.random() < 0.5)
        assert json_depth(text.encode()) == _depth(value), text
    across_blocks = ["x" * ((1 << 20) - 3) + "[[[", [[[[1]]]]]
    assert json_depth(json.dumps(across_blocks).encode()) == 5


def test_json_depth_is_linear_on_ten_megabytes() -> None:
    for body in (b"[" * 10_000_000, b'{"a":' * 2_000_000, b'"\\"' * 3_000_000):
        started = time.perf_counter()
        json_depth(body)
        assert time.perf_counter() - started < 2


def test_lone_surrogates_are_found_and_escaped_backslashes_are_not_escapes() -> None:
    assert lone_surrogate(b'"\\ud800"') == "\\ud800"
    assert lone_surrogate(b'"\\udc00"') == "\\udc00"
    assert lone_surrogate(b'"\\\\\\ud800"') == "\\ud800"  # a backslash, then a lone surrogate
    assert lone_surrogate(b'"\\ud83d\\ude00"') is None  # a pair: one emoji
    assert lone_surrogate(b'"\\\\ud800"') is None  # a backslash, then text


def test_each_kind_of_field_is_cleaned_its_own_way() -> None:
    assert clean_content("a\x00b\ud800\tc\n") == "ab\ufffd\tc\n"
    assert clean_label(" Ｔａｒｉｆｓ\u202e\u200b\x00  2025\n") == "Tarifs 2025"
    assert forbidden_in_identifier("client-1") is None
    assert forbidden_in_identifier("client\x00") == "U+0000"
    assert forbidden_in_identifier("\ud800") == "U+D800"


def test_hostile_html_is_read_in_linear_time_with_the_same_output() -> None:
    started = time.perf_counter()
    assert html_to_text(HOSTILE_HTML) == ("", "hi")
    html_to_text("<p>hi</p>" + "<a " * 1_000_000)  # 3 MB: froze the server for 25 minutes
    html_to_text("<div>" * 200_000 + "x")
    html_to_text("<" * 3_000_000)
    assert time.perf_counter() - started < 3


def test_limits_of_the_readers_name_their_setting() -> None:
    limits = InputLimits(max_field_chars=1000, max_fields_per_record=50, max_items_per_document=100)
    with pytest.raises(PayloadTooLarge, match="COMPTOIR_MAX_FIELD_CHARS"):
        parse_file("a.csv", b'"' + b"x" * 2000 + b'",1\n', limits=limits)
    with pytest.raises(PayloadTooLarge, match="COMPTOIR_MAX_FIELDS_PER_RECORD"):
        parse_file("b.csv", ",".join(["x"] * 100_000).encode() + b"\n", limits=limits)
    with pytest.raises(PayloadTooLarge, match="COMPTOIR_MAX_ITEMS_PER_DOCUMENT"):
        parse_file("c.json", b"[" + b"0," * 1_000_000 + b"0]", limits=limits)
    with pytest.raises(PayloadTooLarge, match="COMPTOIR_MAX_FIELDS_PER_RECORD"):
        parse_file("d.json", json.dumps({f"k{i}": i for i in range(60)}).encode(), limits=limits)
    with pytest.raises(InvalidInput, match="COMPTOIR_MAX_JSON_DEPTH"):
        parse_file("e.json", b"[" * 10_000 + b"]" * 10_000, limits=limits)
    with pytest.raises(InvalidInput, match="unreadable JSON"):
        parse_file("f.json", b"1" * 5000, limits=limits)  # more digits than Python converts


def test_nul_and_lone_surrogates_never_reach_the_blocks() -> None:
    txt = parse_file("a\x00b.txt", b"Ouvert\x00 le lundi.\n")
    assert txt.title == "ab.txt" and "\x00" not in txt.content and "Ouvert le lundi" in txt.content
    csv = parse_file("p.csv", b"Produit;Prix\nSav\x00on;500 F\n")
    assert "Savon" in csv.content
    from_json = parse_file("j.json", b'{"nom": "Sav\\u0000on", "prix": "5\\ud800 F"}')
    assert "\x00" not in from_json.content and "\ud800" not in from_json.content
    doc = parse_text("\u202eTitre\x00", "texte", source=None, metadata={})
    assert doc.title == "Titre"


def test_metadata_is_bounded_and_storable() -> None:
    limits = InputLimits(max_metadata_depth=4, max_metadata_bytes=200)
    check_metadata({"a": {"b": [1, "deux", None]}}, limits, title="t")
    nested: dict[str, Any] = {}
    for _ in range(300):
        nested = {"n": nested}
    with pytest.raises(InvalidInput, match="COMPTOIR_MAX_METADATA_DEPTH"):
        check_metadata(nested, limits, title="t")
    with pytest.raises(PayloadTooLarge, match="COMPTOIR_MAX_METADATA_BYTES"):
        check_metadata({"a": "x" * 300}, limits, title="t")
    with pytest.raises(InvalidInput):
        check_metadata({"k": float("inf")}, limits, title="t")


def test_metadata_loses_only_what_postgresql_cannot_store() -> None:
    from comptoir.api.schemas import DocumentIn

    given = {"k\x00": "v\x00\x04", "n": [{"d\x00eep": "\ud800"}], "x": 1.5}
    stored = DocumentIn.model_validate({"title": "t", "text": "x", "metadata": given}).metadata
    assert stored == {"k": "v\x04", "n": [{"deep": "\ufffd"}], "x": 1.5}


@pytest.mark.parametrize("k", ["5", True, 5.5, None, 0])
def test_request_numbers_are_strict(k: object) -> None:
    with pytest.raises(ValidationError):
        SearchIn.model_validate({"query": "x", "k": k})
    assert SearchIn.model_validate({"query": "x", "k": 5}).k == 5
    assert SearchIn.model_validate({"query": "x", "k": 5.0}).k == 5  # an integer to JSON Schema too


def test_request_strings_are_cleaned_or_refused_by_kind() -> None:
    assert SearchIn.model_validate({"query": "pri\x00x"}).query == "prix"
    assert CompanyCreate.model_validate({"id": "awa", "name": "Chez\x00 \u202eAwa"}).name == "Chez Awa"
    with pytest.raises(ValidationError, match="U\\+0000"):
        ChatIn.model_validate({"company_id": "awa", "user_id": "u\x00", "message": "x"})
    with pytest.raises(ValidationError, match="U\\+0000"):
        OpenAIChatIn.model_validate({"model": "awa", "user": "u\x00", "messages": [{"role": "user"}]})
    with pytest.raises(ValidationError, match="visible"):
        DocumentIn.model_validate({"title": "\u200b\x00", "text": "x"})
    assert CacheSettingsIn.model_validate({"threshold": 2.2e-308}).threshold == 0.0
    with pytest.raises(ValidationError):
        CacheSettingsIn.model_validate({"threshold": True})


def _budget(**limits: Any) -> Budget:
    return Budget(InputLimits(**limits), Chunker(), seconds_per_document=10.0)


@pytest.fixture(scope="module")
def pool() -> Any:
    workers = ParsingPool(workers=1, memory_bytes=128 * 1024**2)
    yield workers
    workers.close()


def test_the_workers_parse_validate_and_chunk(pool: ParsingPool) -> None:
    body = json.dumps({"documents": [{"title": "Horaires", "text": "Ouvert de 8 h à 18 h.", "metadata": {}}]})
    [doc] = asyncio.run(pool.parse(JsonDocuments(body.encode(), read_documents, _budget()), timeout_s=30))
    assert doc.title == "Horaires" and doc.chunks == ["Ouvert de 8 h à 18 h."]
    files = UploadedFiles([("p.csv", b"Produit;Prix\nSavon;500 F\n")], _budget())
    [csv] = asyncio.run(pool.parse(files, timeout_s=30))
    assert csv.chunks == ["Savon — Prix : 500 F"] and csv.metadata == {"filename": "p.csv"}


def test_documents_are_counted_before_they_are_validated(pool: ParsingPool) -> None:
    body = b'{"documents": [' + b",".join([b"{}"] * 1_000_000) + b"]}"
    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge, match="at most 500"):
        asyncio.run(pool.parse(JsonDocuments(body, read_documents, _budget()), timeout_s=30))
    assert time.perf_counter() - started < 5


def test_a_document_over_its_memory_budget_is_refused_and_the_worker_replaced(pool: ParsingPool) -> None:
    big = b"[" + b",".join([b"[0]"] * 2_500_000) + b"]"  # 10 MB of text, ~200 MB of Python lists
    request = UploadedFiles([("big.json", big)], _budget(max_items_per_document=10**7))
    with pytest.raises(PayloadTooLarge, match="COMPTOIR_PARSE_MEMORY_BYTES"):
        asyncio.run(pool.parse(request, timeout_s=60))
    [ok] = asyncio.run(pool.parse(UploadedFiles([("a.txt", b"Bonjour.")], _budget()), timeout_s=30))
    assert ok.chunks == ["Bonjour."]


def test_time_budgets_per_document_and_per_request(pool: ParsingPool) -> None:
    slow = ("slow.md", ("Ligne de texte numéro un.\n" * 400_000).encode())
    per_document = Budget(InputLimits(max_chunks_per_document=10**6), Chunker(), seconds_per_document=0.2)
    with pytest.raises(PayloadTooLarge, match="COMPTOIR_PARSE_SECONDS"):
        asyncio.run(pool.parse(UploadedFiles([slow], per_document), timeout_s=60))
    patient = Budget(InputLimits(max_chunks_per_document=10**6), Chunker(), seconds_per_document=600)
    started = time.perf_counter()
    with pytest.raises(PayloadTooLarge, match="COMPTOIR_PARSE_REQUEST_SECONDS"):
        asyncio.run(pool.parse(UploadedFiles([slow], patient), timeout_s=0.5))
    assert time.perf_counter() - started < 3  # killed, not waited for
    [ok] = asyncio.run(pool.parse(UploadedFiles([("a.txt", b"Bonjour.")], _budget()), timeout_s=30))
    assert ok.chunks == ["Bonjour."]
