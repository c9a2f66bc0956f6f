"""The OpenAPI 3.1 document, generated from the route table and the pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from friction import __version__
from friction.api.schemas import ErrorBody
from friction.routes import ROUTES


def build_openapi() -> dict[str, Any]:
    """Paths, request bodies, responses and component schemas of the API."""
    models: set[type[BaseModel]] = {ErrorBody}
    for route in ROUTES:
        models.update(m for m in (route.body, route.response) if m is not None)
    _, defs = models_json_schema(
        [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "friction", "version": __version__},
        "paths": paths,
        "components": {"schemas": defs.get("$defs", {})},
    }


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _operation(route: Any) -> dict[str, Any]:
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
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(route.body)}},
        }
        operation["responses"]["409"] = {"description": "Conflict", **error}
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
