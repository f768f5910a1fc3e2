"""The cases API's attachments: upload (streamed, checked by content, hashed) and download."""

from __future__ import annotations

from aiohttp import web

from casebook import attachments, cases, identifier_refusals
from casebook.filetypes import MEDIA_TYPES
from casebook.models import AttachmentKind
from web.api.case_schemas import AttachmentOut, attachment_out, case_code
from web.api.cases import CASE
from web.app.keys import FILE_STORE
from web.http.errors import WebError
from web.http.routes import (
    CLINICAL,
    CLINICAL_READERS,
    Route,
    caller,
    int_param,
    json_reply,
    transaction,
)
from web.http.uploads import refuse_oversized, uploaded_file


async def upload_attachment(request: web.Request) -> web.StreamResponse:
    """Attach a file (multipart field `file`), streamed, checked by content and hashed."""
    who = caller(request)
    code = case_code(request)
    store = request.app[FILE_STORE]
    # Short transactions around the body: no pooled connection is held while bytes come in.
    async with transaction(request) as db:
        attachments.require_upload(who, await cases.find_visible(db, who, code))
    refuse_oversized(request, store)
    upload = await uploaded_file(request)
    async with transaction(request) as db:
        view = await cases.find_visible(db, who, code)
        async with identifier_refusals.keeping_refusal_audit(db):
            name = await attachments.check_upload(db, who, view, upload.filename)
    stored = await store.receive(upload.chunks)
    async with transaction(request) as db:
        view = await cases.find_visible(db, who, code)
        attachment = await attachments.attach(db, who, view, name, stored)
        reply = attachment_out(view.case, attachment)
    return json_reply(reply, status=201)


async def download_attachment(request: web.Request) -> web.StreamResponse:
    """Download an attachment (audited)."""
    who = caller(request)
    code = case_code(request)
    attachment_id = int_param(request, "attachment_id")
    store = request.app[FILE_STORE]
    async with transaction(request) as db:
        view = await cases.find_visible(db, who, code)
        try:
            attachment, path = await attachments.open_for_download(
                db, who, view, store, attachment_id
            )
        except FileNotFoundError:
            raise WebError(410, "file_missing", "the stored file is missing") from None
    return web.FileResponse(
        path,
        headers={
            "Content-Type": MEDIA_TYPES[AttachmentKind(attachment.kind)],
            "Content-Disposition": f'attachment; filename="attachment-{attachment.id}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )



def routes() -> list[Route]:
    """A case's attachments."""
    return [
        Route(
            "POST", f"{CASE}/attachments", upload_attachment, name="api-case-attachments",
            summary="Upload an attachment",
            description=(
                "A PDF, JPEG, PNG or DICOM file as multipart field `file`, recognized by its "
                "content; 413 when too large, 415 when of another type."
            ),
            roles=CLINICAL, multipart=True, response=AttachmentOut, status=201,
        ),
        Route(
            "GET", CASE + r"/attachments/{attachment_id:\d+}", download_attachment,
            name="api-case-attachment",
            summary="Download an attachment",
            description="The stored file, exactly as uploaded (the download is audited).",
            roles=CLINICAL_READERS, media_types=tuple(MEDIA_TYPES.values()),
        ),
    ]
