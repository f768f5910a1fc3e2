"""The case panel of a review session's call: its agenda, and the case under discussion.

The call page of a room that belongs to a review session shows, beside the video, the session's
agenda and the case at the position the chair moved everyone to (signaling carries only that
position: signaling/agenda.py). The content comes from here, so it is authorized and audited like
the rest of the API: only people invited to the room reach these routes (404 otherwise), the
agenda names only the cases the caller may see (`casebook.access.can_view_case`; others show
their position alone), and a case's content is read through `cases.read` (404 unless the caller
may see it; audited `case.read`). Reading the agenda is audited `session.read`.

For the session's chair, a case they still owe the recommendation for comes with what the
panel's in-call form needs (`recommendation`): the addresses of the cases and sessions APIs it
posts to (which check and audit as always) and the consultants who may co-sign.
"""

from __future__ import annotations

import math

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import attachments, cases, opinions, review_sessions
from casebook.access import can_view_case
from casebook.cases import Caller, CaseView
from casebook.clock import as_utc, utcnow
from casebook.models import Case, CaseStatus, ReviewSession
from casebook.triage import Urgency
from casebook.workflow import CaseAction
from web.api.case_schemas import AttachmentOut, PatientOut, Ref, attachment_out, patient_out
from web.app.keys import SESSIONS
from web.calls.room_access import require_invite
from web.http.errors import NotFound
from web.http.routes import CLINICAL_READERS, Route, caller, int_param, json_reply

ROOM_AGENDA = "/api/rooms/{room_id}/agenda"
# Where the chair's in-call form posts: the cases and sessions APIs (their checks, their audit).
CASE_RECOMMENDATION = "/api/cases/{code}/recommendation"
SESSION_DISCUSSED = "/api/sessions/{session_id}/agenda/{code}/discussed"


class PanelItemOut(BaseModel):
    """One place on the agenda; `case_code` and `diagnosis` only for a case the caller may see."""

    item: int  # 1-based place on the agenda: what the chair moves the room to
    visible: bool
    case_code: str | None
    diagnosis: str | None


class PanelAgendaOut(BaseModel):
    """The session a call room belongs to, and its agenda in order."""

    session_id: int
    title: str
    chair_user_id: str
    # Seconds until the session starts (0 once it has): the chair's panel offers to mark a
    # case discussed only from then on, and reads the agenda again when that time comes.
    starts_in_seconds: int
    items: list[PanelItemOut]


class PanelRecommendationOut(BaseModel):
    """For the session's chair only: how to issue the nota from the call.

    `discussed_url` is set while the case is still only scheduled: the panel marks it discussed
    there first (the workflow issues only for discussed cases), then posts to `issue_url`. A
    case still only scheduled has no form before the session starts.
    """

    issue_url: str
    discussed_url: str | None
    signatories: list[Ref]  # the session's consultants who may co-sign


class PanelCaseOut(BaseModel):
    """The case at one place on the agenda, as the panel beside the video shows it."""

    item: int
    total: int
    code: str
    status: CaseStatus
    urgency: Urgency
    patient: PatientOut
    diagnosis: str
    icd10_code: str
    stage: str | None
    treatment_so_far: str
    clinical_question: str
    attachments: list[AttachmentOut]
    recommendation: PanelRecommendationOut | None = None


async def _session_for(db: AsyncSession, who: Caller, room_id: str) -> ReviewSession:
    """The room's session, for someone who takes part in it (404 otherwise)."""
    session = await review_sessions.session_of_room(db, room_id)
    if session is None:
        raise NotFound("this room belongs to no review session")
    # Audited `session.read`; refuses (404) anyone the session does not include.
    return await review_sessions.read(db, who, session.id)


async def room_agenda(request: web.Request) -> web.StreamResponse:
    """The agenda of the room's review session (audited)."""
    who = caller(request)
    _user, invite = await require_invite(request)  # 404 for anyone not invited to the room
    async with request.app[SESSIONS]() as db:
        session = await _session_for(db, who, invite.room_id)
        items = []
        for place, (_row, case) in enumerate(await review_sessions.agenda(db, session.id), 1):
            visible = can_view_case(who.person, await cases.facts_of(db, case))
            items.append(
                PanelItemOut(
                    item=place,
                    visible=visible,
                    case_code=case.code if visible else None,
                    diagnosis=case.diagnosis if visible else None,
                )
            )
        reply = PanelAgendaOut(
            session_id=session.id, title=session.title, chair_user_id=session.chair_user_id,
            starts_in_seconds=_starts_in(session), items=items,
        )
        await db.commit()
    return json_reply(reply)


def _starts_in(session: ReviewSession) -> int:
    """Whole seconds until the session starts, rounded up; 0 once it has started."""
    return max(0, math.ceil((as_utc(session.starts_at) - utcnow()).total_seconds()))


async def _case_at(db: AsyncSession, session: ReviewSession, item: int) -> tuple[Case, int]:
    rows = await review_sessions.agenda(db, session.id)
    if not 1 <= item <= len(rows):
        raise NotFound("no such place on the agenda")
    return rows[item - 1][1], len(rows)


async def room_agenda_case(request: web.Request) -> web.StreamResponse:
    """The case at one place of the room's agenda (audited; 404 unless the caller may see it)."""
    who = caller(request)
    item = int_param(request, "item")
    _user, invite = await require_invite(request)  # 404 for anyone not invited to the room
    async with request.app[SESSIONS]() as db:
        session = await _session_for(db, who, invite.room_id)
        found, total = await _case_at(db, session, item)
        view = await cases.read(db, who, found.code)  # can_view_case, audited `case.read`
        case = view.case
        reply = PanelCaseOut(
            item=item,
            total=total,
            code=case.code,
            status=CaseStatus(case.status),
            urgency=Urgency(case.urgency),
            patient=patient_out(case),
            diagnosis=case.diagnosis,
            icd10_code=case.icd10_code,
            stage=case.stage,
            treatment_so_far=case.treatment_so_far,
            clinical_question=case.clinical_question,
            # Links to the authorized, audited download route of the cases API.
            attachments=[attachment_out(case, a) for a in await attachments.list_for(db, case.id)],
            recommendation=await _chair_recommendation(db, who, session, view),
        )
        await db.commit()
    return json_reply(reply)


async def _chair_recommendation(
    db: AsyncSession, who: Caller, session: ReviewSession, view: CaseView
) -> PanelRecommendationOut | None:
    """The in-call recommendation form's data, for this session's chair while they owe it."""
    current = view.current_session()
    if (
        who.user_id != session.chair_user_id
        or current is None
        or current.session_id != str(session.id)
    ):
        return None
    allowed = view.allowed_actions(who)
    if CaseAction.ISSUE_RECOMMENDATION in allowed:
        discussed_url = None
    elif CaseAction.MARK_DISCUSSED in allowed and _starts_in(session) == 0:
        # Before the session starts the server refuses it (`session_not_started`): not offered.
        discussed_url = SESSION_DISCUSSED.format(session_id=session.id, code=view.case.code)
    else:
        return None
    return PanelRecommendationOut(
        issue_url=CASE_RECOMMENDATION.format(code=view.case.code),
        discussed_url=discussed_url,
        signatories=[
            Ref(id=u.id, name=u.display_name)
            for u in await opinions.signatory_choices(db, current)
            if u.id != who.user_id
        ],
    )


def routes() -> list[Route]:
    """The case panel's API."""
    return [
        Route(
            "GET", ROOM_AGENDA, room_agenda, name="api-room-agenda",
            summary="The agenda of a call room's review session",
            description=(
                "For people invited to the room who take part in its session: the agenda in "
                "order; cases the caller may not see show their place only. Audited."
            ),
            roles=CLINICAL_READERS, response=PanelAgendaOut, tag="calls",
        ),
        Route(
            "GET", ROOM_AGENDA + r"/{item:\d+}", room_agenda_case, name="api-room-agenda-case",
            summary="The case at a place of a call room's agenda",
            description=(
                "Summary (pseudonymous patient, diagnosis, stage, treatment so far), clinical "
                "question and attachments of the case the chair moved the call to; 404 unless "
                "the caller may see the case. Audited as a case read. For the session's chair, "
                "while the case awaits its recommendation: where to issue it and who may co-sign."
            ),
            roles=CLINICAL_READERS, response=PanelCaseOut, tag="calls",
        ),
    ]


__all__ = ["routes"]
