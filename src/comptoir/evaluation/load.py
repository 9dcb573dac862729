"""Ingestion load phases over HTTP: FAQ-sized documents posted one per request by concurrent clients
to a fresh company of a running server, as the system Comptoir replaces tested its loads (100, 500 and
1,000 documents, 100% success expected).

A request counts as a success when it is answered 200 and names the document as indexed; after the
phase, the company's listing must hold every document sent (none missing, none twice), or the phase
reports the difference as failures.
"""

from __future__ import annotations

import logging
import random
import secrets
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

logger = logging.getLogger(__name__)

PHASES = (100, 500, 1000)

_SUBJECTS = (
    "la livraison",
    "le retrait en boutique",
    "le paiement en plusieurs fois",
    "les retours",
    "la garantie",
    "les horaires d'ouverture",
    "les commandes en gros",
    "la carte de fidélité",
    "les frais de dossier",
    "le service après-vente",
)
_SENTENCES = (
    "Le délai habituel est de {n} jours ouvrés après la confirmation de la commande.",
    "Le tarif appliqué est de {price} pour chaque commande concernée.",
    "Nos conseillers répondent du lundi au samedi, de {h} h à {h2} h.",
    "Un justificatif d'achat est demandé pour toute réclamation.",
    "La demande se fait en boutique, par téléphone ou par message.",
    "Au-delà de {n} articles, un devis personnalisé vous est proposé.",
    "Le remboursement intervient sous {n} jours par le moyen de paiement initial.",
    "Les articles soldés ne sont ni repris ni échangés.",
    "Une confirmation vous est envoyée dès que le dossier est traité.",
    "Les conditions peuvent changer pendant les périodes de fêtes.",
)


def faq_documents(count: int, *, seed: int = 7) -> list[dict[str, str]]:
    """``count`` distinct question-and-answer documents, the same for a given seed: a question and two
    to four sentences of answer, 30 to 60 words, as businesses write FAQ entries (the question/answer
    pairs of the business sample in `shared/data/business-dev` measure 37 words at the median, 26 and
    50 at the quartiles)."""
    rng = random.Random(seed)  # noqa: S311 - sample text, not secrets
    documents = []
    for number in range(1, count + 1):
        subject = rng.choice(_SUBJECTS)
        values = {
            "n": rng.randint(2, 30),
            "price": f"{rng.randint(5, 500) * 100:,} F".replace(",", " "),
            "h": rng.randint(7, 10),
            "h2": rng.randint(17, 20),
        }
        answer = " ".join(s.format(**values) for s in rng.sample(_SENTENCES, rng.randint(2, 4)))
        question = f"Question {number} : comment se passe {subject} pour la référence {number:05d} ?"
        documents.append({"title": f"FAQ {number:05d}", "text": f"{question}\n\n{answer}"})
    return documents


class LoadError(Exception):
    """The load cannot run at all (the server refused to create its company)."""


@dataclass
class Phase:
    size: int
    clients: int
    succeeded: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1

    @property
    def success_pct(self) -> float:
        return 100.0 * self.succeeded / self.size if self.size else 0.0

    @property
    def documents_per_s(self) -> float:
        return self.succeeded / self.elapsed_s if self.elapsed_s else 0.0

    def percentile_ms(self, q: int) -> float:
        if len(self.latencies_ms) < 2:
            return self.latencies_ms[0] if self.latencies_ms else 0.0
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[q - 1]

    def line(self) -> str:
        failures = ", ".join(f"{reason} x{n}" for reason, n in sorted(self.failures.items()))
        return (
            f"{self.size:>5} documents  success {self.success_pct:5.1f}%  "
            f"{self.documents_per_s:6.1f} documents/s  p50 {self.percentile_ms(50):6.1f} ms  "
            f"p95 {self.percentile_ms(95):6.1f} ms  ({self.clients} clients, {self.elapsed_s:.1f} s)"
            + (f"  failures: {failures}" if failures else "")
        )


class IngestLoad:
    """Runs load phases against ``base_url`` with the operator's ``admin_key``: each phase creates a
    company of its own, posts the documents and deletes the company afterwards."""

    def __init__(
        self,
        base_url: str,
        admin_key: str,
        *,
        timeout_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.admin_key = admin_key
        self.timeout_s = timeout_s
        self.transport = transport  # the unit tests' stand-in server

    def _client(self, key: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=self.timeout_s,
            transport=self.transport,
        )

    def run(self, size: int, *, clients: int, on_done: Callable[[], None] | None = None) -> Phase:
        company = f"bench-ingest-{size}-{secrets.token_hex(3)}"
        with self._client(self.admin_key) as admin:
            created = admin.post("/v1/companies", json={"id": company, "name": company, "language": "fr"})
            if created.status_code != 201:
                raise LoadError(f"cannot create the bench company: HTTP {created.status_code} {created.text}")
            key = created.json()["api_key"]
            try:
                return self._phase(company, key, size, clients, on_done)
            finally:
                admin.delete(f"/v1/companies/{company}")

    def _phase(
        self, company: str, key: str, size: int, clients: int, on_done: Callable[[], None] | None
    ) -> Phase:
        phase = Phase(size, clients)
        documents = faq_documents(size)
        lock = threading.Lock()
        local = threading.local()
        opened: list[httpx.Client] = []

        def post(document: dict[str, str]) -> None:
            if not hasattr(local, "client"):
                local.client = self._client(key)
                with lock:
                    opened.append(local.client)
            started = time.perf_counter()
            try:
                response = local.client.post(
                    f"/v1/companies/{company}/documents", json={"documents": [document]}
                )
                reason = None if _indexed(response) else f"HTTP {response.status_code}"
            except httpx.HTTPError as error:
                reason = type(error).__name__
            elapsed_ms = (time.perf_counter() - started) * 1000
            with lock:
                phase.latencies_ms.append(elapsed_ms)
                if reason is None:
                    phase.succeeded += 1
                else:
                    phase.fail(reason)
            if on_done:
                on_done()

        started = time.perf_counter()
        try:
            with ThreadPoolExecutor(max_workers=clients) as pool:
                list(pool.map(post, documents))
        finally:
            phase.elapsed_s = time.perf_counter() - started
            for client in opened:
                client.close()
        self._check_listing(company, key, phase)
        return phase

    def _check_listing(self, company: str, key: str, phase: Phase) -> None:
        """Every success must be listed once, with its chunks: what is missing, listed twice or listed
        empty turns into failures."""
        rows: list[dict[str, object]] = []
        with self._client(key) as client:
            while True:
                page = client.get(
                    f"/v1/companies/{company}/documents", params={"limit": 500, "offset": len(rows)}
                )
                if page.status_code != 200:
                    raise LoadError(f"cannot list the bench company's documents: HTTP {page.status_code}")
                batch = page.json()["documents"]
                rows += batch
                if len(batch) < 500:
                    break
        titles = Counter(str(row["title"]) for row in rows)
        checks = {
            "listed twice": sum(n - 1 for n in titles.values()),
            "listed without chunks": sum(1 for row in rows if not row["chunks"]),
            "not listed": phase.succeeded - len(titles),
        }
        for reason, count in checks.items():
            if count > 0:
                phase.failures[reason] = count
        phase.succeeded = min(phase.succeeded, len(titles) - checks["listed without chunks"])


def _indexed(response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    statuses = [d.get("status") for d in response.json().get("documents", [])]
    return statuses == ["indexed"]
