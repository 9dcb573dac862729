"""Schemathesis against the real app: every operation of the OpenAPI document, called in-process (ASGI)
on a real per-test database, with the operator's admin key and with a company's admin key. Every
response must be no 5xx and conform to the document: a documented status, content type, headers and
body; invalid requests (negative cases) must be refused with a 4xx, and a 405 must say ``Allow``.

``make test`` runs ``COMPTOIR_FUZZ_EXAMPLES`` (default 50) examples per operation and mode (valid
requests, then invalid ones), the same every run; ``make fuzz`` runs 1,000 random ones
(``COMPTOIR_FUZZ_RANDOM=1``) and prints each operation's answers by status.

Schemathesis's own pytest loader (``schemathesis.pytest.from_fixture``) does not run on pytest 9.2 (it
sets ``Node._nodeid``): each operation's strategy is run here with Hypothesis directly.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.python.asgi import shutdown_lifespans

from comptoir.api.app import create_app
from comptoir.embedding.base import Embedder
from tests.conftest import ADMIN_KEY
from tests.integration.conftest import MakeComptoir, add_documents, admin, create_company

Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Operation]

EXAMPLES = int(os.environ.get("COMPTOIR_FUZZ_EXAMPLES", "50"))
#: random examples (make fuzz) rather than the same ones every run (make test)
RANDOM = os.environ.get("COMPTOIR_FUZZ_RANDOM") == "1"
#: the fuzzed company: path and body parameters naming a company mostly name it, so requests go deep
COMPANY = "fuzz-co"
#: of ten generated requests, how many name the fuzzed company (the others keep the generated value)
DEEP_IN_TEN = 9

#: checks excluded for one operation, with the reason: {operation label: {check names}}; none today
KNOWN_FINDINGS: dict[str, set[str]] = {}


@dataclass
class Caller:
    """Whom the fuzzer calls as; the fuzzer itself may rotate the company's key (POST .../keys/rotate)."""

    name: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class Target:
    app: FastAPI
    caller: Caller
    #: (operation, status): requests sent, printed by `make fuzz`
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            # the caller's key, not generated ones: requests that pass authentication go deep
            "generation": {"with-security-parameters": False},
            "operations": [
                {
                    # what no schema can say: a file's type is its name's extension (415), and a text
                    # must read in its format (`"format": "json"` with text that is not JSON: 422)
                    "include-name": "POST /v1/companies/{company_id}/documents",
                    "checks": {
                        "positive_data_acceptance": {"expected-statuses": ["2xx", "404", "413", "415", "422"]}
                    },
                }
            ],
        }
    )


@pytest.fixture
def target(make_comptoir: MakeComptoir, fake_embedder: Embedder, request: pytest.FixtureRequest) -> Target:
    comptoir = make_comptoir(
        fake_embedder,
        # the fuzzer sends thousands of requests a minute with one key: rates are not under test here
        admin_key_rate_per_minute=10**9,
        company_rate_per_minute=10**9,
    )
    app = create_app(comptoir)
    setup = TestClient(app)
    company_key = create_company(setup, COMPANY)
    add_documents(
        setup,
        COMPANY,
        company_key,
        {"title": "Horaires", "text": "Ouvert du mardi au samedi, de 9 h à 19 h."},
    )
    caller = Caller("operator", ADMIN_KEY) if request.param == "operator" else Caller("company", company_key)
    return Target(app, caller)


def _aimed_body(case: Case) -> Case:
    """``case`` with a chat body naming the fuzzed company (``company_id`` of /v1/chat, ``model`` of
    /v1/chat/completions), unless the body is the invalid part of a negative case."""
    body_info = case.meta.components.get("body") if case.meta is not None else None  # type: ignore[call-overload]
    valid = body_info is None or body_info.mode is schemathesis.GenerationMode.POSITIVE
    if valid and isinstance(case.body, dict):
        for name in ("company_id", "model"):
            if name in case.body:
                case.body[name] = COMPANY
    return case


@pytest.fixture
def fuzz_schema(target: Target) -> Iterator[schemathesis.BaseSchema]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app, config=_config())

    @schema.hook
    def flatmap_case(_: schemathesis.HookContext, case: Case) -> st.SearchStrategy[Any]:
        return st.integers(0, 9).map(lambda n: _aimed_body(case) if n < DEEP_IN_TEN else case)

    @schema.hook
    def after_call(_: schemathesis.HookContext, case: Case, response: schemathesis.Response) -> None:
        target.answers[(case.operation.label, response.status_code)] += 1
        _keep_usable(target, case, response)

    yield schema
    shutdown_lifespans()  # the app's lifespan (its database watch) ends with the test's database


def _keep_usable(target: Target, case: Case, response: schemathesis.Response) -> None:
    """Undo what the fuzzer did to the fuzzed company and the caller's key, so later requests go deep."""
    label = case.operation.label
    fuzzed = (case.path_parameters or {}).get("company_id") == COMPANY
    rotated = label == "POST /v1/companies/{company_id}/keys/rotate" and response.status_code == 200
    if rotated and fuzzed and target.caller.name == "company":
        target.caller.key = response.json()["api_key"]
    if label == "DELETE /v1/companies/{company_id}" and fuzzed and response.status_code == 204:
        created = TestClient(target.app).post(
            "/v1/companies", json={"id": COMPANY, "name": "Fuzz", "language": "fr"}, headers=admin()
        )
        assert created.status_code == 201, created.text


@pytest.mark.parametrize("target", ["operator", "company"], indirect=True)
def test_api_conforms_to_its_openapi_document(fuzz_schema: schemathesis.BaseSchema, target: Target) -> None:
    failures: dict[str, str] = {}
    operations = [operation for path in fuzz_schema.values() for operation in path.values()]
    for operation in operations:
        for mode in schemathesis.GenerationMode:
            try:
                _fuzz(operation, mode, target)()
            except Unsatisfiable:  # nothing in the operation to make invalid: no negative case
                continue
            except (Exception, schemathesis.errors.FailureGroup) as exc:  # reported below, all of them
                notes = getattr(exc, "__notes__", [])  # Hypothesis's falsifying example, for a crash
                failures[f"{operation.label} ({mode.value})"] = "\n".join([str(exc), *notes])
    _print_answers(target)
    assert not failures, "\n\n".join(f"== {name}\n{failure}" for name, failure in failures.items())


def _print_answers(target: Target) -> None:
    """How deep the requests went: one line per operation, its answers by status (``make fuzz``)."""
    by_operation: dict[str, list[str]] = {}
    for (label, status), count in sorted(target.answers.items()):
        by_operation.setdefault(label, []).append(f"{status}×{count}")
    total = sum(target.answers.values())
    print(f"\n{target.caller.name}: {total} requests, {len(by_operation)} operations")
    for label, answers in by_operation.items():
        print(f"  {label}: {' '.join(answers)}")


def _cases(operation: Operation, mode: schemathesis.GenerationMode) -> st.SearchStrategy[Case]:
    """The operation's cases, ``DEEP_IN_TEN`` in ten with the fuzzed company in the path. (Given to
    the strategy, not set afterwards: Schemathesis would check an edited path again, in its encoded
    form, and take a long user id for an invalid one.)"""
    free = operation.as_strategy(generation_mode=mode)
    if not any(parameter.name == "company_id" for parameter in operation.path_parameters):
        return free
    aimed = operation.as_strategy(generation_mode=mode, path_parameters={"company_id": COMPANY})
    return st.integers(0, 9).flatmap(lambda n: aimed if n < DEEP_IN_TEN else free)


def _fuzz(operation: Operation, mode: schemathesis.GenerationMode, target: Target) -> Any:
    known = KNOWN_FINDINGS.get(operation.label, set())
    excluded = [getattr(schemathesis.checks, name) for name in sorted(known)]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=not RANDOM,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=_cases(operation, mode))
    def test(case: Case) -> None:
        case.call_and_validate(headers=target.caller.headers, excluded_checks=excluded)

    return test


def _url(path: str) -> str:
    """``path`` with its parameters filled: the fuzzed company, and a UUID (a valid user id too)."""
    filled = path.replace("{company_id}", COMPANY)
    for name in ("document_id", "key_id", "user_id", "job_id"):
        filled = filled.replace("{" + name + "}", "8a0e3c55-6b1f-4c1e-9a55-3d7d2f0b7a11")
    assert "{" not in filled, f"fill the parameters of {path}"
    return filled


def _documented_methods(url: str, paths: dict[str, Any]) -> set[str]:
    """The methods documented for ``url``, on every path it matches (``.../keys/rotate`` is also a
    ``.../keys/{key_id}`` with a key id that is not one)."""
    methods: set[str] = set()
    for template, item in paths.items():
        if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)), url):
            methods |= {method.upper() for method in item}
    return methods


@pytest.mark.parametrize("target", ["operator", "company"], indirect=True)
def test_unsupported_methods_answer_405_with_allow(target: Target) -> None:
    """What Schemathesis's coverage phase checks (not run above): an undocumented method on a
    documented path is a 405 naming, in ``Allow``, exactly the documented methods (RFC 9110)."""
    client = TestClient(target.app)
    paths = target.app.openapi()["paths"]
    for path in paths:
        documented = _documented_methods(_url(path), paths)
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - documented):
            response = client.request(method, _url(path), headers=target.caller.headers)
            assert response.status_code == 405, (method, path, response.text)
            assert set(response.headers["allow"].split(", ")) == documented, (method, path)
            assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("target", ["operator"], indirect=True)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/chat", {"company_id": COMPANY, "user_id": "client-1", "message": "Vous ouvrez quand ?"}),
        ("/v1/chat/completions", {"model": COMPANY, "messages": [{"role": "user", "content": "Horaires ?"}]}),
    ],
)
def test_streams_conform_to_the_documented_events(
    fuzz_schema: schemathesis.BaseSchema, target: Target, path: str, body: dict[str, Any]
) -> None:
    """Each Server-Sent Event of a streamed answer is validated against the document's event schema."""
    case = fuzz_schema[path]["POST"].Case(body={**body, "stream": True}, media_type="application/json")
    response = case.call_and_validate(headers=target.caller.headers)
    assert response.headers["content-type"][0].startswith("text/event-stream")
    assert response.content.count(b"data:") >= 2


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


@pytest.mark.parametrize("target", ["operator"], indirect=True)
def test_every_reference_of_the_document_resolves(target: Target) -> None:
    """The document is self-contained: the documents body's definitions became components."""
    document = target.app.openapi()
    components = document["components"]["schemas"]
    references = set(_references(document))
    assert "#/components/schemas/DocumentIn" in references
    assert {ref.removeprefix("#/components/schemas/") for ref in references} <= set(components)
