"""Mounts the casebook's JSON API: its services' dependencies, its routes and the OpenAPI document.

`setup(app, settings)` is called once by the app factory. The notifier is the transactional
outbox (`casebook.notifications.OutboxNotifier`): services write who must hear of what in the
same transaction as the change, and the mailer delivers from the `notifications` table.
"""

from __future__ import annotations

from aiohttp import web

from casebook.notifications import OutboxNotifier
from casebook.storage import FileStore
from web.api import audit as api_audit
from web.api import call_cases as api_call_cases
from web.api import cases as api_cases
from web.api import documents as api_documents
from web.api import recordings as api_recordings
from web.api import rooms as api
from web.api import sessions as api_sessions
from web.app.keys import FILE_STORE, NOTIFIER
from web.app.settings import Settings
from web.http import openapi
from web.http.routes import ALL_ROLES, ApiRoute, describe, register


def setup(app: web.Application, settings: Settings) -> None:
    """Wire the casebook services and register the casebook API routes."""
    app[FILE_STORE] = FileStore(settings.storage_dir, settings.max_attachment_mb * 1024 * 1024)
    app[NOTIFIER] = OutboxNotifier()
    register(
        app,
        [
            *api_cases.routes(),
            *api_documents.routes(),
            *api_sessions.routes(),
            *api_call_cases.routes(),
            *api_audit.routes(),
            *api_recordings.routes(),
            *openapi.routes(),
        ],
    )
    # Routes `web.api.rooms` registers itself, described here so the document covers the whole API.
    describe(
        app,
        ApiRoute(
            "POST", "/api/rooms/{room_id}/join", api.join_room, name="api-join",
            summary="Join a call room",
            description=(
                "A short-lived signed join token, ICE servers (TURN credentials included) and "
                "the protocol version, for people invited to the room; 404 for anyone else."
            ),
            roles=ALL_ROLES, tag="calls",
        ),
    )
    describe(
        app,
        ApiRoute(
            "GET", "/healthz", api.healthz, name="healthz",
            summary="Liveness", description="The process serves requests.",
            roles=None, tag="meta",
        ),
    )
