"""A demo network of centers, people and call rooms, so a newcomer sees a working product at once.

Loading is idempotent: rows are matched by their natural keys (center name, e-mail, room slug) and
only what is missing is added; existing passwords are never reset. Every demo user's password is
`DEMO_PASSWORD`. Other engineers' tests rely on these exact e-mails and room slugs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casebook.models import Center, CenterKind, Role, Room, RoomInvite, RoomKind, User
from casebook.passwords import Passwords

log = logging.getLogger("junta.demo")

DEMO_PASSWORD = "junta-demo-2026"

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


async def load_demo(session: AsyncSession, passwords: Passwords) -> DemoSummary:
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
    summary = DemoSummary(new_centers, new_users, new_rooms, new_invites)
    log.info(
        "demo.loaded centers=%d users=%d rooms=%d invites=%d",
        summary.centers,
        summary.users,
        summary.rooms,
        summary.invites,
    )
    return summary
