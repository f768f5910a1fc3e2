"""The cases API's attachments: upload (streamed, checked by content, hashed) and download."""

from __future__ import annotations

from typing import Any

from aiohttp import BodyPartReader, web

from casebook import attachments, cases
from casebook.filetypes import MEDIA_TYPES
from casebook.models import AttachmentKind
from casebook.storage import FileTooLarge
from web.api.case_schemas import AttachmentOut, attachment_out, case_code
from web.api.cases import CASE
from web.app.keys import FILE_STORE, SESSIONS
from web.http.errors import WebError
from web.http.routes import CLINICAL, CLINICAL_READERS, Route, caller, int_param, json_reply


async def upload_attachment(request: web.Request) -> web.StreamResponse:
    """Attach a file (multipart field `file`), streamed, checked by content and hashed."""
    who = caller(request)
    code = case_code(request)
    store = request.app[FILE_STORE]
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        attachments.require_upload(who, view)
        if request.content_length is not None and request.content_length > store.max_bytes + (
            64 * 1024
        ):
            raise FileTooLarge(store.max_bytes)
        part = await _file_part(request)
        async with cases.keeping_refusal_audit(db):
            attachment = await attachments.upload(
                db, who, view, store, part.filename, _chunks(part)
            )
        reply = attachment_out(view.case, attachment)
        await db.commit()
    return json_reply(reply, status=201)


async def _file_part(request: web.Request) -> BodyPartReader:
    if not request.content_type.startswith("multipart/"):
        raise WebError(400, "invalid_request", "send the file as multipart/form-data field `file`")
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, BodyPartReader) and part.name == "file":
                return part
            if isinstance(part, BodyPartReader):
                await part.release()
    except (ValueError, AssertionError) as error:
        raise WebError(400, "invalid_request", f"malformed multipart body: {error}") from None
    raise WebError(400, "invalid_request", "no multipart field named `file`")


async def _chunks(part: BodyPartReader) -> Any:
    while chunk := await part.read_chunk(64 * 1024):
        yield chunk


async def download_attachment(request: web.Request) -> web.StreamResponse:
    """Download an attachment (audited)."""
    who = caller(request)
    code = case_code(request)
    attachment_id = int_param(request, "attachment_id")
    store = request.app[FILE_STORE]
    async with request.app[SESSIONS]() as db:
        view = await cases.find_visible(db, who, code)
        try:
            attachment, path = await attachments.open_for_download(
                db, who, view, store, attachment_id
            )
        except FileNotFoundError:
            raise WebError(410, "file_missing", "the stored file is missing") from None
        await db.commit()
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
            roles=CLINICAL_READERS, binary_response=True,
        ),
    ]
