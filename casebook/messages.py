"""What each workflow transition tells whom, as ready-to-send messages; pure.

The outbox (`casebook.notifications`) records *that* someone must hear of an event; this module
says *what* they read when it is drained. Who hears of a transition comes from
`workflow.notifications_for` (the one table of it); the wording depends on the audience and the
recipient's language, and so do the attachments: the referrer's own calendar entry when their
case goes on or off an agenda, the nota de interconsulta PDF when it is issued. Invitations to a
whole session (created, updated, cancelled) are `session_messages`.

Texts go through the caller's translations (`gettext_for(locale)`; msgids in English, marked
with `N_` for extraction). E-mail is not a clinical channel: texts name the case by its code,
never the patient's initials, diagnosis or question, and link into Junta for the rest. The one
clinical content mailed is the nota PDF itself (pseudonymous), sent to the referrer and the
coordinators only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from casebook.ics import Method, session_invitation
from casebook.models import CaseStatus
from casebook.summaries import CaseSummary, Clinician, SessionSummary
from casebook.triage import require_utc
from casebook.workflow import Audience, CaseAction, notifications_for

Gettext = Callable[[str], str]
GettextFor = Callable[[str], Gettext]  # locale ("es_MX", "en") → its gettext

DEFAULT_TIMEZONE = "America/Mexico_City"
AUDIENCE_ORDER = (
    Audience.REFERRER,
    Audience.COORDINATORS,
    Audience.SESSION_CHAIR,
    Audience.SESSION_INVITEES,
)


def N_(msgid: str) -> str:
    """Mark `msgid` for extraction; it is translated later, per recipient."""
    return msgid


@dataclass(frozen=True)
class Recipient:
    """A person a message goes to, with the language they read."""

    name: str
    email: str
    locale: str = "es_MX"
    user_id: str | None = None


@dataclass(frozen=True)
class MessageAttachment:
    """A file sent with a message; `method` is the iTIP method of a calendar (`text/calendar`)."""

    filename: str
    content_type: str
    data: bytes
    method: Method | None = None


@dataclass(frozen=True)
class Message:
    """One message to one person: the mailer turns it into an e-mail (text and HTML)."""

    recipient: Recipient
    event: str  # the outbox event: `case.submit`, ..., `session.created`, ...
    subject: str
    greeting: str
    paragraphs: tuple[str, ...]
    link: str
    link_label: str
    footer: str
    attachments: tuple[MessageAttachment, ...] = ()


@dataclass(frozen=True)
class _Wording:
    subject: str
    body: str


_CASE_LINK = N_("Open the case")
_SESSION_LINK = N_("Open the session")
_GREETING = N_("Hello %(name)s,")
_FOOTER = N_(
    "Automatic message from Junta, the pediatric oncology network's platform. It concerns a "
    "minor's care: do not forward it."
)

# Default wording of each action; `_FOR_AUDIENCE` overrides it where one audience needs another.
_WORDING: dict[CaseAction, _Wording] = {
    CaseAction.SUBMIT: _Wording(
        N_("New case %(code)s submitted for review"),
        N_("%(center)s submitted case %(code)s to the network. It awaits triage."),
    ),
    CaseAction.REQUEST_INFORMATION: _Wording(
        N_("More information requested on case %(code)s"),
        N_(
            "The network's coordinators need more information before they can review case "
            "%(code)s. Open the case to read their request and answer it."
        ),
    ),
    CaseAction.ANSWER_INFORMATION: _Wording(
        N_("Information received on case %(code)s"),
        N_(
            "The referring physician answered the request for information on case %(code)s. "
            "The case is back in the queue."
        ),
    ),
    CaseAction.ACCEPT: _Wording(
        N_("Case %(code)s accepted for review"),
        N_(
            "The network accepted case %(code)s for review. You will be told when it is "
            "scheduled for a review session."
        ),
    ),
    CaseAction.REJECT: _Wording(
        N_("Case %(code)s was not accepted"),
        N_("The network did not accept case %(code)s for review. Open the case to see why."),
    ),
    CaseAction.SCHEDULE: _Wording(
        N_("Case %(code)s added to “%(session)s”"),
        N_(
            "Case %(code)s was added to the agenda of the review session “%(session)s” on "
            "%(date)s."
        ),
    ),
    CaseAction.UNSCHEDULE: _Wording(
        N_("Case %(code)s removed from “%(session)s”"),
        N_(
            "Case %(code)s was taken off the agenda of the review session “%(session)s”. It "
            "remains accepted and will be scheduled again."
        ),
    ),
    CaseAction.MARK_DISCUSSED: _Wording(
        N_("Case %(code)s was discussed"),
        N_(
            "Case %(code)s was discussed in the review session “%(session)s”. The written "
            "recommendation (nota de interconsulta) will follow."
        ),
    ),
    CaseAction.ISSUE_RECOMMENDATION: _Wording(
        N_("Recommendation issued for case %(code)s"),
        N_(
            "The network issued its recommendation (nota de interconsulta) on case %(code)s. "
            "It is attached as a PDF and is also available in Junta."
        ),
    ),
    CaseAction.CLOSE: _Wording(
        N_("Case %(code)s closed"),
        N_("Case %(code)s was closed. Its recommendation stays available in Junta."),
    ),
    CaseAction.WITHDRAW: _Wording(
        N_("Case %(code)s withdrawn"),
        N_("Case %(code)s was withdrawn from the network's review."),
    ),
}
_FOR_AUDIENCE: dict[tuple[CaseAction, Audience], _Wording] = {
    (CaseAction.SCHEDULE, Audience.REFERRER): _Wording(
        N_("Case %(code)s scheduled for %(date)s"),
        N_(
            "Case %(code)s will be discussed in the review session “%(session)s” on %(date)s. "
            "The calendar invitation is attached: please join to present the case."
        ),
    ),
    (CaseAction.MARK_DISCUSSED, Audience.SESSION_CHAIR): _Wording(
        N_("Recommendation due for case %(code)s"),
        N_(
            "Case %(code)s was discussed in “%(session)s”. As the session's chair, please write "
            "and issue its recommendation (nota de interconsulta)."
        ),
    ),
}
# Actions after which the case is on no agenda: its referrer's calendar entry is cancelled.
_LEAVES_AGENDA: frozenset[CaseAction] = frozenset({CaseAction.UNSCHEDULE, CaseAction.WITHDRAW})
_NEEDS_SESSION: frozenset[CaseAction] = frozenset(
    {CaseAction.SCHEDULE, CaseAction.UNSCHEDULE, CaseAction.MARK_DISCUSSED}
)
SessionEvent = Literal["session.created", "session.updated", "session.cancelled"]
_SESSION_WORDING: dict[str, _Wording] = {
    "session.created": _Wording(
        N_("Invitation: %(session)s"),
        N_(
            "You are invited to the review session “%(session)s” on %(date)s. The calendar "
            "invitation is attached; join from Junta at the time of the session."
        ),
    ),
    "session.updated": _Wording(
        N_("Updated: %(session)s"),
        N_(
            "The review session “%(session)s” takes place on %(date)s. The updated calendar "
            "invitation is attached."
        ),
    ),
    "session.cancelled": _Wording(
        N_("Cancelled: %(session)s"),
        N_("The review session “%(session)s” of %(date)s was cancelled."),
    ),
}


def transition_messages(
    status: CaseStatus,
    action: CaseAction,
    *,
    case: CaseSummary,
    audiences: Mapping[Audience, Sequence[Recipient]],
    actor_user_id: str | None,
    case_url: str,
    gettext_for: GettextFor,
    now: datetime,
    session: SessionSummary | None = None,
    nota_pdf: bytes | None = None,
    timezone: tzinfo | None = None,
) -> list[Message]:
    """The messages `action` from `status` sends: one per person, in their language.

    Who is told comes from `workflow.notifications_for`; `audiences` gives the people of each
    audience (the service resolves them). The actor is skipped, and someone in two audiences
    gets one message, worded for the first in `AUDIENCE_ORDER`. `session` is the one that has
    (or had) the case on its agenda. Raises `WorkflowError` for an edge that does not exist.
    """
    wanted = notifications_for(status, action)
    if action not in _NEEDS_SESSION and status is not CaseStatus.SCHEDULED:
        session = None  # e.g. withdrawing an accepted case: no agenda, no calendar
    messages: list[Message] = []
    seen: set[str] = set()
    for audience in AUDIENCE_ORDER:
        if audience not in wanted:
            continue
        for recipient in audiences.get(audience, ()):
            key = recipient.user_id or recipient.email.strip().lower()
            if key in seen or (actor_user_id is not None and recipient.user_id == actor_user_id):
                continue
            seen.add(key)
            messages.append(
                case_message(
                    action,
                    audience,
                    recipient,
                    case=case,
                    case_url=case_url,
                    gettext=gettext_for(recipient.locale),
                    now=now,
                    session=session,
                    nota_pdf=nota_pdf,
                    timezone=timezone,
                )
            )
    return messages


def audience_of(
    user_id: str | None, case: CaseSummary, session: SessionSummary | None
) -> Audience:
    """How a person stands to a case, for wording a message to them from the outbox.

    Only the referrer and the session's chair get their own wording; anyone else reads what
    coordinators and invitees read.
    """
    if user_id is not None and user_id == case.referrer.user_id:
        return Audience.REFERRER
    if session is not None and user_id is not None and user_id == session.chair.user_id:
        return Audience.SESSION_CHAIR
    return Audience.COORDINATORS


def case_message(
    action: CaseAction,
    audience: Audience,
    recipient: Recipient,
    *,
    case: CaseSummary,
    case_url: str,
    gettext: Gettext,
    now: datetime,
    session: SessionSummary | None = None,
    nota_pdf: bytes | None = None,
    timezone: tzinfo | None = None,
) -> Message:
    """The message telling `recipient` (in `audience`) that `action` was taken on `case`.

    `session`: the session whose agenda has or had the case (required to schedule, unschedule
    and mark discussed; with a withdrawal it means the case left that agenda). `nota_pdf`: the
    rendered nota, required to announce an issued recommendation.
    """
    require_utc(now, "now")
    if session is None and action in _NEEDS_SESSION:
        raise ValueError(f"a {action.value} message needs the review session")
    if action is CaseAction.ISSUE_RECOMMENDATION and nota_pdf is None:
        raise ValueError("an issued recommendation is sent with its nota; pass nota_pdf")
    _ = gettext
    tz = timezone or ZoneInfo(DEFAULT_TIMEZONE)
    wording = _FOR_AUDIENCE.get((action, audience), _WORDING[action])
    values = {"code": case.code, "center": case.referring_center.name}
    if session is not None:
        values["session"] = session.title
        values["date"] = _when(session.starts_at, recipient.locale, tz)
    attachments: list[MessageAttachment] = []
    if audience is Audience.REFERRER and session is not None:
        if action is CaseAction.SCHEDULE:
            attachments.append(_case_slot(case, session, recipient, "REQUEST", _, now))
        elif action in _LEAVES_AGENDA:
            attachments.append(_case_slot(case, session, recipient, "CANCEL", _, now))
    if action is CaseAction.ISSUE_RECOMMENDATION and nota_pdf is not None:
        name = f"{_('Interconsultation note')} {case.code}.pdf"
        attachments.append(MessageAttachment(name, "application/pdf", nota_pdf))
    return Message(
        recipient=recipient,
        event=action.audit_action,
        subject=_(wording.subject) % values,
        greeting=_(_GREETING) % {"name": recipient.name},
        paragraphs=(_(wording.body) % values,),
        link=case_url,
        link_label=_(_CASE_LINK),
        footer=_(_FOOTER),
        attachments=tuple(attachments),
    )


def session_messages(
    event: SessionEvent,
    session: SessionSummary,
    invitees: Sequence[Recipient],
    *,
    session_url: str,
    gettext_for: GettextFor,
    now: datetime,
    timezone: tzinfo | None = None,
) -> list[Message]:
    """Everyone's invitation (created, updated: METHOD REQUEST) or cancellation (CANCEL).

    Each person gets the same event (UID `session.calendar_uid`, SEQUENCE `session.sequence`)
    listing every attendee, worded in their own language; the chair is the organizer. Pass
    the chair among `invitees` if they should get it too.
    """
    people = list({r.email.strip().lower(): r for r in invitees}.values())
    attendees = [(r.name, r.email) for r in people]
    return [
        session_message(
            event, session, recipient, attendees,
            session_url=session_url, gettext=gettext_for(recipient.locale), now=now,
            timezone=timezone,
        )
        for recipient in people
    ]


def session_message(
    event: SessionEvent,
    session: SessionSummary,
    recipient: Recipient,
    attendees: Sequence[tuple[str, str]],
    *,
    session_url: str,
    gettext: Gettext,
    now: datetime,
    timezone: tzinfo | None = None,
) -> Message:
    """One person's invitation to, update of or cancellation of a review session."""
    require_utc(now, "now")
    if event not in _SESSION_WORDING:
        raise ValueError(f"not a session event: {event!r}")
    _ = gettext
    tz = timezone or ZoneInfo(DEFAULT_TIMEZONE)
    wording = _SESSION_WORDING[event]
    values = {"session": session.title, "date": _when(session.starts_at, recipient.locale, tz)}
    method: Method = "CANCEL" if event == "session.cancelled" else "REQUEST"
    calendar = _calendar(
        session,
        uid=session.calendar_uid,
        method=method,
        summary=session.title,
        description=_(wording.body) % values,
        attendees=attendees,
        now=now,
    )
    return Message(
        recipient=recipient,
        event=event,
        subject=_(wording.subject) % values,
        greeting=_(_GREETING) % {"name": recipient.name},
        paragraphs=(_(wording.body) % values,),
        link=session_url,
        link_label=_(_SESSION_LINK),
        footer=_(_FOOTER),
        attachments=(calendar,),
    )


def case_slot_uid(session: SessionSummary, case_code: str) -> str:
    """The UID of a referrer's calendar entry for presenting one case in one session."""
    return f"session-{session.session_id}-case-{case_code}@junta"


def _case_slot(
    case: CaseSummary,
    session: SessionSummary,
    referrer: Recipient,
    method: Method,
    _: Gettext,
    now: datetime,
) -> MessageAttachment:
    # The referrer's own event, separate from the session's: taking their case off the agenda
    # cancels it without touching the session, or another of their cases in it.
    summary = _("Case %(code)s in “%(session)s”") % {"code": case.code, "session": session.title}
    return _calendar(
        session,
        uid=case_slot_uid(session, case.code),
        method=method,
        summary=summary,
        description=summary,
        attendees=[(referrer.name, referrer.email)],
        now=now,
    )


def _calendar(
    session: SessionSummary,
    *,
    uid: str,
    method: Method,
    summary: str,
    description: str,
    attendees: Sequence[tuple[str, str]],
    now: datetime,
) -> MessageAttachment:
    text = session_invitation(
        uid=uid,
        sequence=session.sequence,
        method=method,
        start=session.starts_at,
        end=session.ends_at,
        summary=summary,
        description=description,
        location_url=session.room_url,
        organizer=_organizer(session.chair),
        attendees=attendees,
        now=now,
    )
    filename = "cancel.ics" if method == "CANCEL" else "invite.ics"
    return MessageAttachment(filename, "text/calendar", text.encode("utf-8"), method)


def _organizer(chair: Clinician) -> tuple[str, str]:
    if not chair.email:
        raise ValueError("the session's chair needs an e-mail address to organize invitations")
    return (chair.name, chair.email)


def _when(moment: datetime, locale: str, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    date = format_date(local, "full", locale=locale)
    time = format_time(local, "short", locale=locale)
    return f"{date}, {time} ({local.tzname()})"
