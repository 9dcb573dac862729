"""Load the demo companies shipped in ``comptoir/demo``: create them once, keep their keys in the data
directory (mode 0600) so every start can print them, and (re)ingest their documents idempotently."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from comptoir.app import Comptoir
from comptoir.errors import Conflict
from comptoir.ingest.loaders import SUPPORTED_SUFFIXES, parse_file

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoCompany:
    id: str
    name: str
    api_key: str
    documents: int
    example_question: str | None


def _folders() -> list[Traversable]:
    root = resources.files("comptoir") / "demo"
    return sorted(
        (p for p in root.iterdir() if p.is_dir() and (p / "company.json").is_file()), key=lambda p: p.name
    )


def load_demo(comptoir: Comptoir) -> list[DemoCompany]:
    keys_path = comptoir.home / "demo-keys.json"
    keys: dict[str, str] = json.loads(keys_path.read_text()) if keys_path.exists() else {}
    loaded = []
    for folder in _folders():
        spec = json.loads((folder / "company.json").read_text(encoding="utf-8"))
        company_id = spec["id"]
        try:
            _, keys[company_id] = comptoir.companies.create(
                company_id=company_id, name=spec["name"], language=spec["language"]
            )
        except Conflict:
            if company_id not in keys or comptoir.companies.authenticate(keys[company_id]) != company_id:
                keys[company_id] = comptoir.companies.rotate_key(company_id=company_id)
        documents = [
            parse_file(f.name, f.read_bytes(), source=f"demo/{f.name}")
            for f in sorted(folder.iterdir(), key=lambda f: f.name)
            if f.name != "company.json" and f.name.endswith(SUPPORTED_SUFFIXES)
        ]
        results = comptoir.documents.ingest(tenant_id=company_id, documents=documents)
        logger.info(
            "demo company ready",
            extra={"company": company_id, "documents": {r.title: r.status for r in results}},
        )
        loaded.append(
            DemoCompany(
                company_id, spec["name"], keys[company_id], len(documents), spec.get("example_question")
            )
        )
    fd = os.open(keys_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(keys, handle, indent=2)
    return loaded
