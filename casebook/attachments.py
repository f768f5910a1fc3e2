"""A case's files: upload into the content-addressed store (`casebook.storage`), list, download.

Uploading is for people who can still shape the case (its referrer and the referring center's
team, until the case is discussed); reading is for anyone who may see the case. Both are audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import audit
from casebook.access import REFERRING_CENTER_ROLES
from casebook.cases import Caller, CaseView
from casebook.errors import CasebookError
from casebook.identifier_refusals import refuse_identifiers
from casebook.identifiers import find_identifiers
from casebook.models import Attachment, CaseStatus
from casebook.storage import FileStore, StoredFile
from casebook.workflow import CLINICAL_ROLES, TERMINAL_STATUSES, WorkflowError

MAX_FILENAME = 255
# Once discussed, the case file is what the board saw; later files would rewrite history.
_UPLOAD_STATUSES = frozenset(CaseStatus) - TERMINAL_STATUSES - {
    CaseStatus.DISCUSSED,
    CaseStatus.RECOMMENDATION_ISSUED,
}


class AttachmentNotFound(CasebookError):
    """No such attachment on this case."""

    def __init__(self) -> None:
        super().__init__("not_found", "no such attachment")


def may_upload(caller: Caller, view: CaseView) -> bool:
    """The referrer, or the referring center's treating team, while the case is open."""
    if CaseStatus(view.case.status) not in _UPLOAD_STATUSES:
        return False
    if caller.role in CLINICAL_ROLES and caller.user_id == view.case.referrer_user_id:
        return True
    return (
        caller.role in REFERRING_CENTER_ROLES
        and caller.center_id == view.case.referring_center_id
    )


def require_upload(caller: Caller, view: CaseView) -> None:
    """Raise `WorkflowError` unless `may_upload` (checked before the body is read)."""
    if not may_upload(caller, view):
        raise WorkflowError(
            "not_allowed", "Only the referring team may add files, until the case is discussed."
        )


def clean_filename(name: str | None) -> str:
    """A display name safe to echo back: no path, no control characters, bounded length."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip()
    return base[:MAX_FILENAME] or "attachment"


async def check_upload(
    db: AsyncSession, caller: Caller, view: CaseView, filename: str | None
) -> str:
    """The file's cleaned name, once the caller may attach to the case and the name does not
    identify the patient (`IdentifiersFound`, audited).

    Checked before the file is received: files cannot be removed from a case. The bytes are
    then received by `FileStore.receive` outside any database session, so a slow upload holds
    none of the pool's connections, and `attach` records them.
    """
    require_upload(caller, view)
    name = clean_filename(filename)
    await refuse_identifiers(
        db, caller, view.case, "upload", find_identifiers({}, [name], [view.case.patient_initials])
    )
    return name


async def attach(
    db: AsyncSession, caller: Caller, view: CaseView, name: str, stored: StoredFile
) -> Attachment:
    """Attach a received file to the case; audited (`attachment.uploaded`). The case is read
    again by the caller, so a case that changed while the file came in is checked anew."""
    require_upload(caller, view)
    attachment = Attachment(
        case_id=view.case.id,
        filename=name,
        kind=stored.kind.value,
        size_bytes=stored.size,
        sha256=stored.sha256,
        uploaded_by_user_id=caller.user_id,
    )
    db.add(attachment)
    await db.flush()
    await _record(db, caller, "attachment.uploaded", attachment, view)
    return attachment


async def list_for(db: AsyncSession, case_id: int) -> Sequence[Attachment]:
    """The case's attachments, oldest first."""
    query = select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)
    return (await db.scalars(query)).all()


async def open_for_download(
    db: AsyncSession, caller: Caller, view: CaseView, store: FileStore, attachment_id: int
) -> tuple[Attachment, Path]:
    """The attachment and its stored file; audited (`attachment.read`)."""
    attachment = await db.get(Attachment, attachment_id)
    if attachment is None or attachment.case_id != view.case.id:
        raise AttachmentNotFound()
    path = store.open(attachment.sha256)
    await _record(db, caller, "attachment.read", attachment, view)
    return attachment, path


async def _record(
    db: AsyncSession, caller: Caller, action: str, attachment: Attachment, view: CaseView
) -> None:
    await audit.record(
        db,
        action,
        actor_user_id=caller.user_id,
        target_type="attachment",
        target_id=str(attachment.id),
        ip=caller.ip,
        detail={"case": view.case.code, "sha256": attachment.sha256},
    )
