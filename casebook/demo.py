"""A demo network of centers, people and call rooms, so a newcomer sees a working product at once.

Loading is idempotent: rows are matched by their natural keys (center name, e-mail, room slug) and
only what is missing is added; existing passwords are never reset. Every demo user's password is
`DEMO_PASSWORD`. Other engineers' tests rely on these exact e-mails and room slugs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook import two_factor
from casebook.case_code import format_case_code
from casebook.case_drafts import next_case_number
from casebook.clock import utcnow
from casebook.models import (
    AgendaItem,
    Case,
    CaseStatus,
    Center,
    CenterKind,
    ReviewSession,
    Role,
    Room,
    RoomInvite,
    RoomKind,
    SessionInvitee,
    Sex,
    User,
)
from casebook.passwords import Passwords
from casebook.secret_box import SecretBox
from casebook.triage import Urgency

log = logging.getLogger("junta.demo")

DEMO_PASSWORD = "junta-demo-2026"
# The demo's admin and coordinator must sign in with a second factor; their TOTP secret is fixed
# and public (README), so anyone trying the demo can add it to an authenticator app.
DEMO_TOTP_SECRET = "JUNTADEMOJUNTADEMOJUNTADEMOJUNTA"

SIGLO_XXI = "CMN Siglo XXI Hospital de Pediatría"
LA_RAZA = "CMN La Raza"
MERIDA = "UMAE Mérida"
HGR20 = "HGR No. 20"
ONCOCREAN_BC = "OncoCREAN Baja California"
ONCOCREAN_NAYARIT = "OncoCREAN Nayarit"

# (name, state, kind, CLUES)
CENTERS: list[tuple[str, str, CenterKind, str]] = [
    (LA_RAZA, "Ciudad de México", CenterKind.UMAE, "DFIMS000040"),
    (SIGLO_XXI, "Ciudad de México", CenterKind.UMAE, "DFIMS000062"),
    (MERIDA, "Yucatán", CenterKind.UMAE, "YNIMS000013"),
    (HGR20, "Baja California", CenterKind.GENERAL_HOSPITAL, "BCIMS000201"),
    (ONCOCREAN_BC, "Baja California", CenterKind.ONCOCREAN, "BCSSA001234"),
    (ONCOCREAN_NAYARIT, "Nayarit", CenterKind.ONCOCREAN, "NTSSA000987"),
    ("OncoCREAN Tabasco", "Tabasco", CenterKind.ONCOCREAN, "TCSSA001456"),
    ("OncoCREAN Chiapas", "Chiapas", CenterKind.ONCOCREAN, "CSSSA002345"),
]

ADMIN = "admin@junta.example"
COORDINATOR = "coordinacion@junta.example"
SPECIALIST_LA_RAZA = "especialista.laraza@junta.example"
SPECIALIST_MERIDA = "especialista.merida@junta.example"
REFERRER = "referente.hgr20@junta.example"
LECTURER = "ponente@junta.example"
TRAINEE = "residente@junta.example"

# (email, display name, role, center name)
USERS: list[tuple[str, str, Role, str]] = [
    (ADMIN, "Dra. Claudia Ramírez Ortega", Role.ADMIN, SIGLO_XXI),
    (COORDINATOR, "Dra. Mariana Velázquez Treviño", Role.COORDINATOR, SIGLO_XXI),
    (SPECIALIST_LA_RAZA, "Dr. Jorge Alberto Hernández Cruz", Role.SPECIALIST, LA_RAZA),
    (SPECIALIST_MERIDA, "Dra. Leticia Canul Pech", Role.SPECIALIST, MERIDA),
    (REFERRER, "Dr. Ramón Castañeda Ibarra", Role.REFERRER, HGR20),
    (LECTURER, "Dr. Alejandro Montes de Oca Ruiz", Role.LECTURER, ONCOCREAN_BC),
    (TRAINEE, "Dra. Fernanda Ríos Guzmán", Role.TRAINEE, ONCOCREAN_NAYARIT),
]

# (slug, title, kind, requires admission, {email: moderator})
ROOMS: list[tuple[str, str, RoomKind, bool, dict[str, bool]]] = [
    (
        "interconsulta-lla",
        "Interconsulta: LLA de alto riesgo",
        RoomKind.CONSULTATION,
        False,
        {SPECIALIST_LA_RAZA: True, SPECIALIST_MERIDA: False, COORDINATOR: True, REFERRER: False},
    ),
    (
        "junta-tumores-sn",
        "Junta de tumores del sistema nervioso central",
        RoomKind.BOARD,
        True,
        {COORDINATOR: True, SPECIALIST_LA_RAZA: False, SPECIALIST_MERIDA: False, LECTURER: False},
    ),
    (
        "sesion-academica",
        "Sesión académica: neuroblastoma",
        RoomKind.LECTURE,
        False,
        {LECTURER: True, TRAINEE: False, SPECIALIST_LA_RAZA: False, SPECIALIST_MERIDA: False},
    ),
]


@dataclass(frozen=True)
class DemoSummary:
    """How many rows a load added."""

    centers: int
    users: int
    rooms: int
    invites: int
    cases: int = 0
    sessions: int = 0


async def load_demo(session: AsyncSession, passwords: Passwords, box: SecretBox) -> DemoSummary:
    """Add whatever part of the demo network is missing; the caller commits."""
    centers: dict[str, Center] = {
        c.name: c for c in (await session.scalars(select(Center))).all()
    }
    new_centers = 0
    for name, state, kind, clues in CENTERS:
        if name not in centers:
            centers[name] = Center(name=name, state=state, kind=kind.value, clues=clues)
            session.add(centers[name])
            new_centers += 1
    await session.flush()

    emails = [email for email, *_ in USERS]
    users = {
        u.email: u for u in (await session.scalars(select(User).where(User.email.in_(emails))))
    }
    new_users = 0
    demo_hash: str | None = None
    for email, name, role, center in USERS:
        if email not in users:
            # One hash serves every new demo user: they share the password by design.
            demo_hash = demo_hash or passwords.hash(DEMO_PASSWORD)
            users[email] = User(
                email=email,
                display_name=name,
                password_hash=demo_hash,
                role=role.value,
                center_id=centers[center].id,
            )
            session.add(users[email])
            new_users += 1
    await session.flush()
    for user in users.values():
        if two_factor.is_required(user):
            await two_factor.enroll_with_secret(session, user, DEMO_TOTP_SECRET, box)
    await session.flush()

    new_rooms = new_invites = 0
    for slug, title, room_kind, admission, invitees in ROOMS:
        if await session.get(Room, slug) is None:
            room = Room(id=slug, title=title, kind=room_kind.value, requires_admission=admission)
            session.add(room)
            new_rooms += 1
            await session.flush()
        for email, moderator in invitees.items():
            user_id = users[email].id
            if await session.get(RoomInvite, (slug, user_id)) is None:
                session.add(RoomInvite(room_id=slug, user_id=user_id, moderator=moderator))
                new_invites += 1
    await session.flush()
    new_sessions, new_cases = await _load_casebook(session, users)
    summary = DemoSummary(
        new_centers, new_users, new_rooms, new_invites, new_cases, new_sessions
    )
    log.info(
        "demo.loaded centers=%d users=%d rooms=%d invites=%d cases=%d sessions=%d",
        summary.centers,
        summary.users,
        summary.rooms,
        summary.invites,
        summary.cases,
        summary.sessions,
    )
    return summary


# Pseudonymous demo cases of the HGR No. 20 referrer, in different states. Matched by diagnosis.
# (diagnosis, ICD-10, stage/risk, initials, age years, months, sex, urgency, specialty, status)
CASES: list[tuple[str, str, str, str, int, int, Sex, Urgency, str | None, CaseStatus]] = [
    (
        "LLA de alto riesgo, recaída medular temprana",
        "C91.0",
        "Alto riesgo; recaída a los 14 meses del diagnóstico",
        "JML", 9, 4, Sex.MALE, Urgency.URGENT, None, CaseStatus.SUBMITTED,
    ),
    (
        "Meduloblastoma grupo 3",
        "C71.6",
        "Metastásico (M2), resección subtotal",
        "ASR", 4, 7, Sex.FEMALE, Urgency.PRIORITY, "Neurooncología pediátrica",
        CaseStatus.SCHEDULED,
    ),
    (
        "Neuroblastoma estadio M",
        "C74.9",
        "INRG estadio M, MYCN amplificado",
        "LGT", 2, 11, Sex.MALE, Urgency.PRIORITY, "Oncología pediátrica", CaseStatus.ACCEPTED,
    ),
    (
        "Tumor de Wilms bilateral",
        "C64.9",
        "Estadio V",
        "MFC", 3, 2, Sex.FEMALE, Urgency.ROUTINE, None, CaseStatus.DRAFT,
    ),
]
QUESTIONS = {
    "C91.0": "¿Candidato a inmunoterapia (blinatumomab) como puente a trasplante alogénico?",
    "C71.6": "¿Radioterapia craneoespinal a dosis estándar o alta, y quimioterapia de sostén?",
    "C74.9": "¿Consolidación con trasplante autólogo en tándem disponible en la red?",
    "C64.9": "¿Cirugía conservadora de nefronas tras quimioterapia preoperatoria?",
}
BOARD_ROOM = "junta-tumores-sn"


async def _load_casebook(session: AsyncSession, users: dict[str, User]) -> tuple[int, int]:
    """The demo cases, and one scheduled tumor board on the `junta-tumores-sn` room."""
    now = utcnow()
    new_sessions = 0
    board = await session.scalar(select(ReviewSession).where(ReviewSession.room_id == BOARD_ROOM))
    if board is None:
        starts = (now + timedelta(days=3)).replace(hour=17, minute=0, second=0, microsecond=0)
        board = ReviewSession(
            kind=RoomKind.BOARD.value,
            title="Junta de tumores del sistema nervioso central",
            starts_at=starts,
            duration_minutes=90,
            chair_user_id=users[COORDINATOR].id,
            room_id=BOARD_ROOM,
            created_by_user_id=users[COORDINATOR].id,
        )
        session.add(board)
        await session.flush()
        for email in (SPECIALIST_LA_RAZA, SPECIALIST_MERIDA, LECTURER):
            session.add(SessionInvitee(session_id=board.id, user_id=users[email].id))
        new_sessions += 1

    referrer = users[REFERRER]
    existing = set(
        (
            await session.scalars(
                select(Case.diagnosis).where(Case.referrer_user_id == referrer.id)
            )
        ).all()
    )
    new_cases = 0
    for index, row in enumerate(CASES):
        diagnosis, icd10, stage, initials, years, months, sex, urgency, specialty, status = row
        if diagnosis in existing:
            continue
        submitted = None if status is CaseStatus.DRAFT else now - timedelta(days=6 - index)
        case = Case(
            code=format_case_code(now.year, await next_case_number(session, now.year)),
            status=status.value,
            referring_center_id=referrer.center_id,
            referrer_user_id=referrer.id,
            patient_initials=initials,
            patient_age_years=years,
            patient_age_months=months,
            patient_sex=sex.value,
            diagnosis=diagnosis,
            icd10_code=icd10,
            stage=stage,
            treatment_so_far="Ver resumen clínico adjunto.",
            clinical_question=QUESTIONS[icd10],
            urgency=urgency.value,
            specialty=specialty,
            created_at=now - timedelta(days=7),
            updated_at=now,
            submitted_at=submitted,
        )
        session.add(case)
        await session.flush()
        if status is CaseStatus.SCHEDULED:
            session.add(AgendaItem(session_id=board.id, case_id=case.id, position=1))
        new_cases += 1
    await session.flush()
    return new_sessions, new_cases
