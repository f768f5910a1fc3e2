"""The OpenAPI 3.1 document of the JSON API, generated from the router and the route declarations.

Nothing here is written by hand per operation: every route of the app under `/api/` (and
`/healthz`) must have an `Route` declaration (`web.http.routes`), whose pydantic models give the
schemas. A route without one is listed with an empty description, which a test refuses.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from web.http.errors import is_api
from web.http.routes import (
    MAX_ID,
    Route,
    declarations,
    openapi_path,
    path_params,
    route_key,
)

REF = "#/components/schemas/{model}"


class IdentifierFinding(BaseModel):
    """A direct patient identifier found before submission or upload (the match masked)."""

    field: str
    kind: str
    masked: str


class ErrorDetail(BaseModel):
    """What went wrong: a stable machine-readable code and an English message."""

    code: str
    message: str
    # Only with `identifiers_found` (422): what to remove, and where.
    findings: list[IdentifierFinding] | None = None


class ErrorReply(BaseModel):
    """The body of every failed API request."""

    error: ErrorDetail


def api_routes(app: web.Application) -> list[tuple[str, str, str | None]]:
    """(method, aiohttp path, route name) of every JSON API route the router serves."""
    found = []
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if not path or route.method == "HEAD":
            continue
        if path.startswith("/api/") or path == "/healthz":
            found.append((route.method, path, route.name))
    return found


def document(app: web.Application) -> dict[str, Any]:
    """The whole OpenAPI document."""
    declared = declarations(app)
    models: set[type[BaseModel]] = {ErrorReply}
    for route in declared.values():
        if route.page:
            continue
        models.update(m for m in (route.body, route.response, route.query) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, defs = models_json_schema(
        [(m, "validation") for m in ordered], ref_template=REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for method, path, name in api_routes(app):
        found = declared.get(route_key(method, path, name))
        # The declared path keeps the parameters' patterns (`{session_id:\d+}`).
        paths.setdefault(openapi_path(path), {})[method.lower()] = _operation(
            method, found.path if found else path, name, found
        )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Junta API",
            "version": "1",
            "description": (
                "Second-opinion cases, review sessions and recommendations. Sign in through "
                "`/login` (session cookie); state-changing requests carry the session's CSRF "
                "token in `X-CSRF-Token`. Errors are `{error: {code, message}}`; a case or "
                "session you may not see is a 404."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "junta_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


def _operation(method: str, path: str, name: str | None, route: Route | None) -> dict[str, Any]:
    error = {"$ref": REF.format(model="ErrorReply")}
    operation: dict[str, Any] = {
        "operationId": name or f"{method.lower()}_{path}",
        "summary": route.summary if route else "",
        "description": route.description if route else "",
        "parameters": [_path_parameter(n, pattern) for n, pattern in path_params(path)],
        "responses": {"default": _json("Error", error)},
    }
    if route is None:
        return operation
    operation["tags"] = [route.tag]
    if route.roles is not None:
        roles = ", ".join(sorted(r.value for r in route.roles))
        operation["description"] += f"\n\nRoles: {roles}."
        unsafe = method in {"POST", "PUT", "PATCH", "DELETE"}
        operation["security"] = [{"session": [], "csrf": []} if unsafe else {"session": []}]
    if route.query is not None:
        operation["parameters"] += _query_parameters(route.query)
    if route.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=route.body.__name__)}}
            },
        }
    if route.multipart:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    status = str(route.status)
    if route.media_types:
        operation["responses"][status] = {
            "description": route.summary,
            "content": {media: {"schema": _media_schema(media)} for media in route.media_types},
        }
    elif route.response is not None:
        schema = {"$ref": REF.format(model=route.response.__name__)}
        operation["responses"][status] = _json(route.summary, schema)
    else:
        operation["responses"][status] = {"description": route.summary}
    operation.update(route.extra)
    return operation


def _media_schema(media_type: str) -> dict[str, Any]:
    # A JSON document of another format (FHIR) is an object; anything else is a file.
    if media_type.endswith("+json"):
        return {"type": "object"}
    return {"type": "string", "format": "binary"}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _path_parameter(name: str, pattern: str | None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if pattern == r"\d+":
        schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)."""

    openapi: str
    info: dict[str, Any]
    paths: dict[str, dict[str, Any]]
    components: dict[str, Any]


async def openapi_json(request: web.Request) -> web.Response:
    """The OpenAPI 3.1 document of this API."""
    return web.json_response(document(request.app))


def routes() -> list[Route]:
    """The document's own route."""
    return [
        Route(
            "GET",
            "/api/openapi.json",
            openapi_json,
            name="api-openapi",
            summary="OpenAPI document",
            description="This API described as OpenAPI 3.1, generated from the route table.",
            roles=None,
            response=OpenApiDocument,
            tag="meta",
        )
    ]


__all__ = ["api_routes", "document", "is_api", "routes"]
