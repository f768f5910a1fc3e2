"""A case's documents: the nota de interconsulta as PDF and the whole case as a FHIR R4 Bundle.

Both are reads of clinical content, audited like every other; rendering runs in a worker thread
(PDF layout is CPU work that must not stall calls).
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from casebook import cases, opinions, snapshots
from casebook.clock import utcnow
from casebook.fhir import FHIR_JSON, FHIR_MEDIA_TYPE, case_bundle
from casebook.nota_pdf import Nota, render_nota
from web.api.case_schemas import case_code
from web.app.keys import I18N, SESSIONS
from web.http.errors import WebError
from web.http.routes import CLINICAL_READERS, Route, caller
from web.render.context import request_locale


async def nota_pdf(request: web.Request) -> web.StreamResponse:
    """The issued nota de interconsulta as a PDF, in the caller's language (audited)."""
    who = caller(request)
    code = case_code(request)
    locale = request_locale(request)
    i18n = request.app[I18N]
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        await opinions.read(db, who, view)  # audited as `recommendation.read`; 404 if none yet
        base_url = str(request.url.origin())
        documents = await snapshots.case_documents(db, view.case, base_url=base_url)
        await db.commit()
    if documents.recommendation is None or documents.session is None:
        raise WebError(404, "not_found", "no recommendation has been issued for this case")
    nota = Nota(
        case=documents.case,
        session=documents.session,
        recommendation=documents.recommendation,
        issuing_center=documents.recommendation.chair.center,
    )
    pdf = await asyncio.to_thread(
        render_nota, nota, locale, lambda message: i18n.gettext(locale, message)
    )
    return web.Response(
        body=pdf,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="nota-{code}.pdf"',
            "Cache-Control": "no-store",
        },
    )


async def fhir_bundle(request: web.Request) -> web.StreamResponse:
    """The case as a FHIR R4 collection Bundle (audited as `case.exported`)."""
    who = caller(request)
    code = case_code(request)
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        documents = await snapshots.case_documents(db, view.case)
        await cases.record(db, who, "case.exported", view.case, format="fhir-r4")
        await db.commit()
    try:
        bundle = await asyncio.to_thread(
            case_bundle, documents.case, documents.session, documents.recommendation, utcnow()
        )
    except ValueError as error:
        raise WebError(422, "not_exportable", str(error)) from None
    return web.Response(
        text=json.dumps(bundle, ensure_ascii=False),
        headers={"Content-Type": f"{FHIR_JSON}; charset=utf-8", "Cache-Control": "no-store"},
    )


def routes() -> list[Route]:
    """The documents API."""
    return [
        Route(
            "GET", "/api/cases/{code}/recommendation.pdf", nota_pdf,
            name="api-case-nota-pdf",
            summary="The nota de interconsulta (PDF)",
            description=(
                "The issued recommendation as a printable PDF in the caller's language, with "
                "its signatories; 404 until it is issued. The read is audited."
            ),
            roles=CLINICAL_READERS, media_types=("application/pdf",),
        ),
        Route(
            "GET", "/api/cases/{code}/fhir", fhir_bundle, name="api-case-fhir",
            summary="Export the case as FHIR R4",
            description=(
                "A FHIR R4 collection Bundle (ServiceRequest, pseudonymous Patient, Condition, "
                "Task, Encounter, CarePlan) for the referring hospital's record system; audited."
            ),
            roles=CLINICAL_READERS, media_types=(FHIR_MEDIA_TYPE,),
        ),
    ]

