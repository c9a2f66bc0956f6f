"""The OpenAPI 3.1 document, generated from the route table and the pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from friction import __version__
from friction.api.route import Route
from friction.api.schemas import ErrorBody

_SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "api_key": [{"apiKey": []}],
    "session": [{"customerSession": []}],
    "either": [{"apiKey": []}, {"customerSession": []}],
}
_SCHEMES = {
    "apiKey": {"type": "http", "scheme": "bearer",
               "description": "A tenant's gateway API key (FRICTION_API_KEYS)."},
    "customerSession": {"type": "http", "scheme": "bearer",
                        "description": "A customer session token from "
                                       "POST /v1/customers/{customer_id}/sessions."},
}  # fmt: skip


def build_openapi(routes: tuple[Route, ...]) -> dict[str, Any]:
    """Paths, request bodies, responses, credentials and component schemas of ``routes``."""
    models: set[type[BaseModel]] = {ErrorBody}
    for route in routes:
        models.update(m for m in (route.body, route.response) if m is not None)
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "friction", "version": __version__},
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {}), "securitySchemes": _SCHEMES},
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(route: Route) -> dict[str, Any]:
    error = {"content": {"application/json": {"schema": _ref(ErrorBody)}}}
    ok: dict[str, Any] = {"description": "OK"}
    if route.response is not None:
        ok["content"] = {"application/json": {"schema": _ref(route.response)}}
    operation: dict[str, Any] = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": route.handler.__name__,
        "responses": {"200": ok, "404": {"description": "Not found", **error},
                      "422": {"description": "Invalid input", **error}},
    }  # fmt: skip
    params = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in re.findall(r"{(\w+)}", route.path)
    ]
    if route.query is not None:
        params += _query_parameters(route.query)
    if params:
        operation["parameters"] = params
    if route.body is not None:
        required = any(f.is_required() for f in route.body.model_fields.values())
        operation["requestBody"] = {
            "required": required,
            "content": {"application/json": {"schema": _ref(route.body)}},
        }
        operation["responses"]["409"] = {"description": "Conflict", **error}
    if route.auth in _SECURITY:
        operation["security"] = _SECURITY[route.auth]
        operation["responses"]["401"] = {"description": "No or unknown credential", **error}
        operation["responses"]["403"] = {"description": "Not yours", **error}
    return operation


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """One ``in: query`` parameter per field of ``model``, with its JSON schema."""
    properties = model.model_json_schema()["properties"]
    return [
        {
            "name": name,
            "in": "query",
            "required": field.is_required(),
            "schema": properties[name],
            **({"description": field.description} if field.description else {}),
        }
        for name, field in model.model_fields.items()
    ]
