"""The casebook's JSON API (and its OpenAPI document), gathered for the route table."""

from __future__ import annotations

from web.api import audit as api_audit
from web.api import call_cases as api_call_cases
from web.api import case_attachments as api_case_attachments
from web.api import cases as api_cases
from web.api import documents as api_documents
from web.api import opinions as api_opinions
from web.api import recordings as api_recordings
from web.api import sessions as api_sessions
from web.http import openapi
from web.http.routes import Route


def routes() -> list[Route]:
    """Every operation of the casebook API."""
    return [
        *api_cases.routes(),
        *api_case_attachments.routes(),
        *api_opinions.routes(),
        *api_documents.routes(),
        *api_sessions.routes(),
        *api_call_cases.routes(),
        *api_audit.routes(),
        *api_recordings.routes(),
        *openapi.routes(),
    ]
