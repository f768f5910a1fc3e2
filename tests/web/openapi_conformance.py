"""Checks an answer of the API against what `/api/openapi.json` declares for its operation.

The status picks the declared response (else `default`); the answer's media type must be one
of that response's `content` keys, none when it declares no content; a JSON answer must match
the declared schema (OpenAPI 3.1 schemas are JSON Schema 2020-12, checked with jsonschema-rs).
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema_rs


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    for template, item in document["paths"].items():
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template))
        if re.fullmatch(pattern, path) and method.lower() in item:
            operation: dict[str, Any] = item[method.lower()]
            return operation
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def conformance_problems(
    document: dict[str, Any],
    method: str,
    path: str,
    status: int,
    content_type: str | None,
    body: bytes,
) -> list[str]:
    """How the answer departs from the document; empty when it conforms."""
    where = f"{method} {path} → {status}"
    responses = _operation(document, method, path)["responses"]
    declared = responses.get(str(status)) or responses.get("default")
    if declared is None:
        return [f"{where}: status not declared"]
    content = declared.get("content", {})
    media = (content_type or "").split(";")[0].strip().lower()
    if not content:
        return [f"{where}: declares no body but answers {media}"] if body else []
    if media not in content:
        return [f"{where}: answers {media}, declared {sorted(content)}"]
    if not (media == "application/json" or media.endswith("+json")):
        return []
    schema = {**content[media]["schema"], "components": document["components"]}
    validator = jsonschema_rs.Draft202012Validator(schema)
    return [
        f"{where}: {error.instance_path}: {error.message[:200]}"
        for error in validator.iter_errors(json.loads(body))
    ]
