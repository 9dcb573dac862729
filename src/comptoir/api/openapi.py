"""The OpenAPI document, made self-contained.

FastAPI writes a schema passed through ``openapi_extra`` as it is: a body read by hand (the documents
route takes JSON or files) brings its own ``$defs``, whose references point nowhere once the schema sits
inside the OpenAPI document (Schemathesis and code generators stop on them). This step moves such
definitions into ``components/schemas`` and points the references there, once, when the document is
first built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

COMPONENTS_PREFIX = "#/components/schemas/"
LOCAL_PREFIX = "#/$defs/"


#: (component, property) -> the bound that a setting gives it, which no static schema can say
Maxima = dict[tuple[str, str], int]


def install_openapi(app: FastAPI, maxima: Maxima) -> None:
    """Serve ``app``'s OpenAPI document with the definitions of hand-written bodies hoisted and the
    maxima that come from settings (``COMPTOIR_MAX_K``...) written in."""
    app.openapi = _hoisting(app, app.openapi, maxima)  # type: ignore[method-assign]


def _hoisting(
    app: FastAPI, build: Callable[[], dict[str, Any]], maxima: Maxima
) -> Callable[[], dict[str, Any]]:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = write_maxima(hoist_definitions(build()), maxima)
        return app.openapi_schema

    return openapi


def write_maxima(document: dict[str, Any], maxima: Maxima) -> dict[str, Any]:
    """``document`` with each ``(component, property)`` of ``maxima`` given its ``maximum``."""
    components: dict[str, Any] = document.get("components", {}).get("schemas", {})
    for (component, name), maximum in maxima.items():
        components[component]["properties"][name]["maximum"] = maximum
    return document


def hoist_definitions(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every ``$defs`` found under ``paths`` moved into ``components/schemas``.

    A definition named like a different component already there is kept under a suffixed name, so that
    no reference changes meaning."""
    components: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    document["paths"] = _hoist(document.get("paths", {}), components)
    return document


def _hoist(node: Any, components: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_hoist(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    definitions = node.get("$defs")
    if isinstance(definitions, dict):
        # compared with the components as they will read: references already pointed there
        as_components = _point(definitions, {name: name for name in definitions})
        renames = {name: _free_name(name, as_components[name], components) for name in definitions}
        for name, definition in definitions.items():
            components[renames[name]] = _hoist(_point(definition, renames), components)
        node = _point({key: value for key, value in node.items() if key != "$defs"}, renames)
    return {key: _hoist(value, components) for key, value in node.items()}


def _free_name(name: str, definition: Any, components: dict[str, Any]) -> str:
    candidate, number = name, 1
    while candidate in components and components[candidate] != definition:
        number += 1
        candidate = f"{name}{number}"
    return candidate


def _point(node: Any, renames: dict[str, str]) -> Any:
    """``node`` with its references to the hoisted definitions pointed at the components they became."""
    if isinstance(node, list):
        return [_point(item, renames) for item in node]
    if not isinstance(node, dict):
        return node
    pointed = {key: _point(value, renames) for key, value in node.items()}
    ref = pointed.get("$ref")
    if isinstance(ref, str):
        for prefix in (LOCAL_PREFIX, COMPONENTS_PREFIX):
            name = ref.removeprefix(prefix)
            if name != ref and name in renames:
                pointed["$ref"] = COMPONENTS_PREFIX + renames[name]
    return pointed
