"""Registers the casebook's pages (cases, queue, sessions, audit, statistics) on the app."""

from __future__ import annotations

from aiohttp import web

from web.http.page_routes import PageRoute, register_pages
from web.pages import audit as audit_pages
from web.pages import case_edit as case_edit_page
from web.pages import cases as casebook_pages
from web.pages import sessions as session_pages
from web.pages import stats as stats_pages


def page_routes() -> list[PageRoute]:
    """Every casebook page with the roles that may use it."""
    return [
        *casebook_pages.routes(),
        *case_edit_page.routes(),
        *session_pages.routes(),
        *audit_pages.routes(),
        *stats_pages.routes(),
    ]


def add_routes(app: web.Application) -> None:
    """Every casebook page, behind its role gate (`web.http.page_routes`)."""
    register_pages(app, page_routes())
