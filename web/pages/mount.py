"""The casebook's pages (cases, queue, sessions, audit, statistics), for the route table."""

from __future__ import annotations

from web.http.routes import Route
from web.pages import audit as audit_pages
from web.pages import case_edit as case_edit_page
from web.pages import case_steps
from web.pages import cases as casebook_pages
from web.pages import queue as queue_pages
from web.pages import sessions as session_pages
from web.pages import stats as stats_pages


def routes() -> list[Route]:
    """Every casebook page with the roles that may use it."""
    return [
        *casebook_pages.routes(),
        *case_steps.routes(),
        *queue_pages.routes(),
        *case_edit_page.routes(),
        *session_pages.routes(),
        *audit_pages.routes(),
        *stats_pages.routes(),
    ]
